/* run.c — `attn [run]`: one source per input record in, one generated output per record out.
 *
 * Data flow: records (lines, NUL-separated records or the whole input; input.c) -> tokenizer (or
 * --ids) -> windows of sources sorted by length -> batches through the engine (src/engine.h) ->
 * outputs written in input order by run_output.c, the record at the head of the order streamed
 * as its tokens settle (whole UTF-8 characters only, flushed), the others held until their turn.
 */
#include "run.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prints a warning naming the record just read ("attn: FILE:N: what"). */
static void record_warning(run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void record_warning(run *R, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cli_error("%s:%ld: %s", R->rd.name, R->rd.record, what);
}

/* generate.c progress callback: copies a finished source's outputs and writes what is due. */
static void on_progress(void *user, int s)
{
    run *R = user;
    const gen_result *res = eng_result(R->er, s);
    int idx = R->batch_item[s];
    item *it = &R->items[idx];
    if (R->t_first == 0 && res->n_settled > 0)
        R->t_first = eng_now();
    it->running = 1;
    if (res->done) {
        it->n_hyps = res->n_hyps;
        for (int k = 0; k < res->n_hyps; k++) {
            const gen_hyp *h = &res->hyps[k];
            memcpy(it->ids + (size_t)k * R->max_new, h->ids, (size_t)h->len * sizeof *h->ids);
            memcpy(it->lps + (size_t)k * (R->max_new + 1), h->logprobs,
                   (size_t)(h->len + h->ended) * sizeof *h->logprobs);
            it->len[k] = h->len;
            it->ended[k] = h->ended;
            it->score[k] = h->score;
        }
        it->done = 1;
        it->running = 0;
        R->pg.n_tokens += res->hyps[0].len + res->hyps[0].ended;
        if (R->o.progress)
            cli_progress_show(&R->pg, &R->rd, 0);
    }
    if (idx == R->head)
        run_advance(R);
}

/* Turns s (n bytes: text, or token ids with --ids) into source ids in ids (room for n + 2),
 * with the model's bos / eos around text; returns the count, or -1 with *why set. */
static long source_ids(run *R, int32_t *ids, const char *s, size_t n, const char **why)
{
    static char what[96];
    size_t k = 0;
    if (R->o.ids) {
        const char *end = s + n;
        while (s < end) {
            while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
                s++;
            if (s == end)
                break;
            long v = 0;
            const char *q = s;
            while (q < end && *q >= '0' && *q <= '9' && v < R->cfg->vocab_size)
                v = v * 10 + (*q++ - '0');
            if (q == s || v >= R->cfg->vocab_size ||
                (q < end && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')) {
                snprintf(what, sizeof what, "not a token id of this model: '%.20s'", s);
                *why = what;
                return -1;
            }
            ids[k++] = (int32_t)v;
            s = q;
        }
        return (long)k;
    }
    const eng_defaults *d = eng_file_defaults(R->e);
    size_t pre = d->src_bos_id >= 0;
    int rc = tok_encoder_encode(eng_encoder(R->e), ids + pre, n + 2 - pre, &k, s, n,
                                R->o.special ? TOK_SPECIAL : 0);
    if (rc < 0) {
        *why = tok_strerror(rc);
        return -1;
    }
    if (k > 0 && pre) {
        ids[0] = d->src_bos_id;
        k++;
    }
    if (k > 0 && d->src_eos_id >= 0)
        ids[k++] = d->src_eos_id;
    return (long)k;
}

/* pieces.c's count: the source tokens of a span (-1 when it cannot be encoded). */
static long count_tokens(void *ctx, const char *s, size_t n)
{
    run *R = ctx;
    const char *why;
    return source_ids(R, R->scratch, s, n, &why);
}

/* Cuts the record just read into R->pieces: one piece when it fits the model (or --truncate
 * cuts it), several when it is longer, one failed piece (empty output, warning) when it cannot
 * be translated. */
static void cut_record(run *R)
{
    R->next_piece = 0;
    R->n_pieces = 1;
    R->pieces[0] = (piece){0, R->rec_len};
    R->rec_cut = R->rec_failed = 0;
    if (cli_reader_overlong(&R->rd) && !R->o.truncate) {
        record_warning(R, "record of %zu bytes is longer than the %d bytes read of a record; "
                       "its output is empty", R->rd.bytes, CLI_MAX_RECORD);
        R->rec_failed = 1;
        return;
    }
    if (cli_reader_overlong(&R->rd)) {
        record_warning(R, "record of %zu bytes cut to its first %d bytes (--truncate)",
                       R->rd.bytes, CLI_MAX_RECORD);
        R->rec_cut = 1;
    }
    if (R->o.delim != '\0' && memchr(R->rec, '\0', R->rec_len))
        record_warning(R, "NUL bytes in the record (-0 reads NUL-separated records)");
    if (!R->o.ids && !cli_utf8_valid(R->rec, R->rec_len))
        record_warning(R, "not valid UTF-8 (its bytes go to the model as they are)");
    const char *why;
    long n = source_ids(R, R->scratch, R->rec, R->rec_len, &why);
    if (n < 0) {
        record_warning(R, "%s; its output is empty", why);
        R->rec_failed = 1;
    } else if (n > R->max_src && R->o.truncate) {
        if (!R->rec_cut)
            record_warning(R, "source of %ld tokens cut to %d (--truncate)", n, R->max_src);
        R->rec_cut = 1;
    } else if (n > R->max_src && R->gp.n_best > 1) {
        record_warning(R, "source of %ld tokens is longer than the model's %d and --n-best "
                       "outputs are not joined from pieces; its output is empty", n, R->max_src);
        R->rec_failed = 1;
    } else if (n > R->max_src) {
        size_t bytes = R->tok ? tok_max_token_bytes(R->tok) : 12;
        int rc = pieces_cut(&R->pieces, &R->pieces_cap, &R->n_pieces, R->rec, R->rec_len,
                            R->max_src, bytes, count_tokens, R);
        if (rc < 0) {
            record_warning(R, "%s; its output is empty", rc == -1 ? "out of memory" : why);
            R->n_pieces = 1;
            R->pieces[0] = (piece){0, R->rec_len};
            R->rec_failed = 1;
        } else {
            record_warning(R, "source of %ld tokens translated in %zu pieces", n, R->n_pieces);
            R->rec_cut = 1;
        }
    }
}

/* Makes item it the record's next piece: its text with the separators around it, and its source
 * ids; returns 0, or CLI_FAIL when out of memory (printed). */
static int add_piece(run *R, item *it)
{
    size_t k = R->next_piece++;
    const piece *pc = &R->pieces[k];
    size_t from = k == 0 ? 0 : R->pieces[k - 1].off + R->pieces[k - 1].len;
    int last = k + 1 == R->n_pieces;
    size_t to = last ? R->rec_len : pc->off + pc->len;
    if (it->text_cap < to - from + 1) {
        char *p = realloc(it->text, to - from + 1);
        int32_t *q = realloc(it->src, (to - from + 3) * sizeof *q);
        if (p)
            it->text = p;
        if (q)
            it->src = q;
        if (!p || !q) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        it->text_cap = to - from + 1;
    }
    memcpy(it->text, R->rec + from, to - from);
    it->text[to - from] = '\0';
    it->text_len = to - from;
    it->src_off = pc->off - from;
    it->src_bytes = pc->len;
    it->index = R->rec_index - 1;
    it->first = k == 0;
    it->last = last;
    it->n_pieces = (int)R->n_pieces;
    it->cut = R->rec_cut;
    it->failed = R->rec_failed;
    it->done = it->running = it->pre_done = 0;
    it->written = 0;
    long n = 0;
    if (!it->failed) {
        const char *why;
        n = source_ids(R, it->src, it->text + it->src_off, it->src_bytes, &why);
        if (n > R->max_src) {   /* --truncate: the first tokens, ending in eos */
            int eos = R->o.ids ? -1 : eng_file_defaults(R->e)->src_eos_id;
            n = R->max_src;
            if (eos >= 0)
                it->src[n - 1] = eos;
        }
    }
    it->src_len = n > 0 ? (int)n : 0;
    it->empty = it->src_len == 0;
    it->n_hyps = 0;
    if (it->empty) {
        it->n_hyps = 1;
        it->len[0] = it->ended[0] = 0;
        it->score[0] = 0;
    }
    return 0;
}

/* Orders item indices by source length, then input position (qsort_r comparison). */
static int by_length(const void *a, const void *b, void *items)
{
    const item *it = items;
    int x = *(const int *)a, y = *(const int *)b;
    int d = it[x].src_len - it[y].src_len;
    return d ? d : x - y;
}

/* Decodes the items of the window and writes them in order; returns 0 or CLI_FAIL. */
static int decode_window(run *R, long first_index)
{
    int n = 0;
    R->first_index = first_index;
    for (int i = 0; i < R->n_items; i++)
        if (!R->items[i].empty)
            R->order[n++] = i;
    qsort_r(R->order, (size_t)n, sizeof *R->order, by_length, R->items);
    R->head = 0;
    run_advance(R);
    for (int b = 0; b < n; b += (int)R->o.batch) {
        int k = n - b < R->o.batch ? n - b : (int)R->o.batch;
        for (int j = 0; j < k; j++) {
            item *it = &R->items[R->order[b + j]];
            R->batch_item[j] = R->order[b + j];
            R->batch_src[j] = (gen_source){it->src, it->src_len,
                                           (uint64_t)(first_index + R->order[b + j])};
            it->gen_index = j;
        }
        int rc = eng_generate(R->er, R->batch_src, k, on_progress, R);
        if (rc < 0)
            return cli_gen_error(R->er, "generate", rc);
    }
    run_advance(R);
    return 0;
}

/* Reads the input window by window and decodes it: a window ends when it is full or when no
 * more input is ready, so that every answer comes as soon as its record is in.  Returns the exit
 * status: 1 when a file could not be read or a record was left untranslated. */
static int run_all(run *R, char **files, int n_files)
{
    cli_reader_init(&R->rd, files, n_files, R->o.delim);
    R->rd.max = CLI_MAX_RECORD;
    long index = 0;
    int end = 0;
    while (!end) {
        R->n_items = 0;
        while (R->n_items < R->window) {
            if (R->next_piece == R->n_pieces) {
                if (R->n_items > 0 && !cli_reader_ready(&R->rd))
                    break;
                if (!cli_reader_next(&R->rd, &R->rec, &R->rec_cap, &R->rec_len)) {
                    end = 1;
                    break;
                }
                cut_record(R);
                R->n_failed += R->rec_failed;
                R->rec_index++;
            }
            if (add_piece(R, &R->items[R->n_items]) != 0)
                return CLI_FAIL;
            R->n_items++;
        }
        if (R->n_items > 0 && decode_window(R, index) != 0)
            return CLI_FAIL;
        index += R->n_items;
    }
    return R->rd.failed || R->n_failed ? CLI_FAIL : CLI_OK;
}

/* Parses --prefix into R->prefix (text through the tokenizer, or ids); returns 0 or CLI_USAGE. */
static int make_prefix(run *R)
{
    const char *p = R->o.prefix;
    if (!p)
        return 0;
    size_t len = strlen(p);
    R->prefix = malloc((len + 1) * sizeof *R->prefix);
    if (!R->prefix)
        return CLI_FAIL;
    size_t n = 0;
    if (R->o.ids) {
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || v >= R->cfg->vocab_size)
                return cli_usage_error(R->cmd, "--prefix: not a token id list: '%s'", R->o.prefix);
            R->prefix[n++] = (int32_t)v;
            p = end;
            while (*p == ' ')
                p++;
        }
    } else if (tok_encode(R->tok, R->prefix, len + 1, &n, p, len,
                          R->o.special ? TOK_SPECIAL : 0) < 0) {
        return cli_usage_error(R->cmd, "--prefix: cannot encode '%s'", p);
    }
    R->n_prefix = (int)n;
    return 0;
}

/* Turns the options into generation settings R->gp (the model's defaults with the command line's
 * overrides, src/engine.c); returns 0 or CLI_USAGE after the error. */
static int make_params(run *R)
{
    R->o.ov.prefix = R->prefix;
    R->o.ov.prefix_len = R->n_prefix;
    int rc = eng_params(R->e, &R->o.ov, &R->gp);
    if (rc == ATTN_ERR_LENGTH)
        return cli_usage_error(R->cmd, "-n %d: the model generates at most %d tokens",
                               R->o.ov.max_new_tokens, R->cfg->max_positions);
    if (rc < 0)
        return cli_usage_error(R->cmd, "these generation settings do not fit the model");
    if (R->o.ov.min_new_tokens > R->gp.max_new_tokens)
        return cli_usage_error(R->cmd, "--min-tokens %d is more than the %d tokens generated at "
                               "most (-n, default: the model's)", R->o.ov.min_new_tokens,
                               R->gp.max_new_tokens);
    R->max_new = R->gp.max_new_tokens;
    return 0;
}

/* Opens the engine run and allocates the window; returns 0 or CLI_FAIL after the error. */
static int setup(run *R)
{
    int batch = (int)R->o.batch;
    R->max_src = R->cfg->max_positions;
    R->window = batch == 1 ? 1 : batch * 8;
    int rc = eng_run_open(&R->er, R->e, &R->gp, batch, R->max_src, (int)R->o.threads);
    if (rc < 0) {
        cli_error("engine: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    R->items = calloc((size_t)R->window, sizeof *R->items);
    R->order = calloc((size_t)R->window, sizeof *R->order);
    R->batch_src = calloc((size_t)batch, sizeof *R->batch_src);
    R->batch_item = calloc((size_t)batch, sizeof *R->batch_item);
    R->scratch = malloc((CLI_MAX_RECORD + 3) * sizeof *R->scratch);
    R->pieces = malloc(sizeof *R->pieces);
    R->pieces_cap = 1;
    if (!R->items || !R->order || !R->batch_src || !R->batch_item || !R->scratch || !R->pieces)
        goto nomem;
    for (int i = 0; i < R->window; i++) {
        R->items[i].ids = malloc((size_t)R->gp.n_best * R->max_new * sizeof(int32_t));
        R->items[i].lps = malloc((size_t)R->gp.n_best * (R->max_new + 1) * sizeof(float));
        if (!R->items[i].ids || !R->items[i].lps)
            goto nomem;
    }
    if (run_out_reserve(R, (R->tok ? tok_max_token_bytes(R->tok) : 0) + 64) < 0)
        return CLI_FAIL;
    if (R->tok)
        tok_stream_init(&R->stream, R->tok);
    return 0;
nomem:
    cli_error("out of memory");
    return CLI_FAIL;
}

/* Frees everything R holds. */
static void teardown(run *R)
{
    for (int i = 0; R->items && i < R->window; i++) {
        free(R->items[i].text);
        free(R->items[i].src);
        free(R->items[i].ids);
        free(R->items[i].lps);
    }
    free(R->items);
    free(R->order);
    free(R->batch_src);
    free(R->batch_item);
    free(R->out);
    free(R->prefix);
    free(R->rec);
    free(R->pieces);
    free(R->scratch);
    free(R->acc_src.p);
    free(R->acc_out.p);
    free(R->acc_ids.p);
    free(R->acc_lps.p);
    cli_reader_close(&R->rd);
    eng_run_free(R->er);
    eng_free(R->e);
}

int cli_run(int argc, char **argv)
{
    run R;
    memset(&R, 0, sizeof R);
    R.cmd = argv[0];
    int rc = run_parse_options(&R.o, argc, argv);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    double t0 = eng_now();
    int status = CLI_OK;
    if (!(R.e = cli_open_engine(R.o.model, R.o.ids)))
        status = CLI_FAIL;
    if (status == 0) {
        R.cfg = eng_config(R.e);
        R.tok = eng_tokenizer(R.e);
        status = make_prefix(&R);
    }
    if (status == 0)
        status = make_params(&R);
    if (status == 0)
        status = setup(&R);
    if (status == 0) {
        double t_load = eng_now() - t0;
        if (R.o.verbose) {
            cli_error("model loaded in %.0f ms (%d layers + %d, d_model %d, vocab %d, %d threads)",
                      t_load * 1e3, R.cfg->n_enc_layers, R.cfg->n_dec_layers, R.cfg->d_model,
                      R.cfg->vocab_size, (int)R.o.threads);
            if (R.gp.mode == GEN_SAMPLE)
                cli_error("seed %llu", (unsigned long long)R.gp.seed);
        }
        R.pg.t_start = eng_now();
        status = run_all(&R, argv + optind, argc - optind);
        double el = eng_now() - R.pg.t_start;
        if (R.o.progress)
            cli_progress_end(&R.pg, &R.rd);
        if (R.o.verbose)
            cli_error("%ld records, %ld tokens in %.3f s: encode %.0f ms, first token %.0f ms, "
                      "%.1f tokens/s", R.pg.n_done, R.pg.n_tokens, el,
                      eng_encode_seconds(R.er) * 1e3,
                      R.t_first > 0 ? (R.t_first - R.pg.t_start) * 1e3 : 0.0,
                      el > 0 ? R.pg.n_tokens / el : 0.0);
    }
    teardown(&R);
    return status;
}
