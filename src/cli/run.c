/* run.c — `attn [run]`: records in, one generated output per record out.
 *
 * Data flow: records (lines, NUL-separated records or the whole input; input.c) -> sentences
 * (src/sentences.h; for a translator, else the record without the white space around it) ->
 * tokenizer (or --ids) -> windows of sources sorted by length -> batches through the engine
 * (src/engine.h) -> outputs written in input order by run_output.c, the source at the head of
 * the order streamed as its tokens settle (whole UTF-8 characters only, flushed), the others
 * held until their turn, each record rebuilt with its own text around its sentences.
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
            run_align_keep(R, it, k, h);
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

/* Turns s (n bytes of a record: token ids with --ids, else text, given to the model with its
 * control characters as spaces, cli_model_text) into source ids in ids (room for n + 2
 * + ENG_FRAME_MAX), framed as the model's tokenizer frames text (eng_frame_source); returns the
 * count, or -1 with *why set. */
static long source_ids(run *R, int32_t *ids, const char *s, size_t n, const char **why)
{
    static char what[96];
    size_t k = 0;
    if (R->o.ids) {
        const char *bad;
        long m = cli_parse_ids(ids, n + 2, s, n, R->cfg->vocab_size, &bad);
        if (m < 0) {
            snprintf(what, sizeof what, "not a token id of this model: '%.20s'", bad);
            *why = what;
        }
        return m;
    }
    if (n + 1 > R->clean_cap) {
        char *p = realloc(R->clean, n + 1);
        if (!p) {
            *why = "out of memory";
            return -1;
        }
        R->clean = p;
        R->clean_cap = n + 1;
    }
    size_t len = cli_model_text(R->clean, s, n, R->o.delim != '\n');
    int rc = tok_encoder_encode(eng_encoder(R->e), ids, n + 2, &k, R->clean, len,
                                R->o.special ? TOK_SPECIAL : 0);
    if (rc < 0) {
        *why = tok_strerror(rc);
        return -1;
    }
    return (long)eng_frame_source(R->e, ids, k);
}

/* pieces.c's count: the source tokens of a span (-1 when it cannot be encoded). */
static long count_tokens(void *ctx, const char *s, size_t n)
{
    run *R = ctx;
    const char *why;
    return source_ids(R, R->scratch, s, n, &why);
}

/* Turns item it's text into its source ids (cut to the model's length with --truncate: the
 * first tokens, ending in eos); returns 0, or CLI_FAIL when out of memory (printed). */
static int make_source(run *R, item *it)
{
    size_t need = it->size + 2 + ENG_FRAME_MAX;
    if ((size_t)it->src_cap < need) {
        int32_t *p = realloc(it->src, need * sizeof *p);
        if (!p) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        it->src = p;
        it->src_cap = (int)need;
    }
    const char *why;
    long n = it->size ? source_ids(R, it->src, R->recs[it->rec].text + it->off, it->size, &why)
                      : 0;
    if (n > R->max_src) {
        n = R->max_src;
        if (!R->o.ids)
            eng_truncate_source(R->e, it->src, (size_t)n);
    }
    it->src_len = n > 0 ? (int)n : 0;
    it->empty = it->src_len == 0;
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
    for (int b = 0; b < n; b += R->batch) {
        int k = n - b < R->batch ? n - b : R->batch;
        for (int j = 0; j < k; j++) {
            item *it = &R->items[R->order[b + j]];
            R->batch_item[j] = R->order[b + j];
            R->batch_src[j] = (gen_source){it->src, it->src_len,
                                           (uint64_t)(R->first_source + R->order[b + j])};
            it->gen_index = j;
        }
        int rc = eng_generate(R->er, R->batch_src, k, on_progress, R);
        if (rc < 0)
            return cli_gen_error(R->er, "generate", rc);
    }
    run_advance(R);
    return 0;
}

/* Makes room for n items (each with its output buffers); returns 0 or -1 (out of memory). */
static int grow_items(run *R, int n)
{
    if (n <= R->item_cap)
        return 0;
    int cap = n > 2 * R->item_cap ? n : 2 * R->item_cap;
    item *items = realloc(R->items, (size_t)cap * sizeof *items);
    if (items)
        R->items = items;
    int *order = items ? realloc(R->order, (size_t)cap * sizeof *order) : NULL;
    if (!order)
        return -1;
    R->order = order;
    memset(R->items + R->item_cap, 0, (size_t)(cap - R->item_cap) * sizeof *items);
    for (; R->item_cap < cap; R->item_cap++) {
        item *it = &R->items[R->item_cap];
        it->ids = malloc((size_t)R->gp.n_best * R->max_new * sizeof(int32_t));
        it->lps = malloc((size_t)R->gp.n_best * (R->max_new + 1) * sizeof(float));
        if (!it->ids || !it->lps || run_align_item(R, it))
            return -1;
    }
    return 0;
}

/* Finds the sentences of record r (all of it with --ids, its text without the white space
 * around it without splitting) into R->spans; returns their number, or -1 (out of memory). */
static long find_spans(run *R, const record *r)
{
    size_t n = 0;
    if (R->o.ids || r->mk) {
        R->spans[0] = (sentence_span){0, r->text_len};
        return 1;
    }
    if (!R->split) {
        sentences_whole(R->spans, &n, r->text, r->text_len);
        return (long)n;
    }
    while (sentences_split(R->spans, R->span_cap, &n, r->text, r->text_len, R->lang) ==
           ATTN_ERR_SPACE) {
        sentence_span *p = realloc(R->spans, n * sizeof *p);
        if (!p)
            return -1;
        R->spans = p;
        R->span_cap = n;
    }
    return (long)n;
}

/* Appends source (off, len) of the record being read to R->pieces (*n of them); returns 0 or -1
 * (out of memory). */
static int push_source(run *R, size_t *n, size_t off, size_t len)
{
    if (*n == R->pieces_cap) {
        piece *p = realloc(R->pieces, 2 * R->pieces_cap * sizeof *p);
        if (!p)
            return -1;
        R->pieces = p;
        R->pieces_cap *= 2;
    }
    R->pieces[(*n)++] = (piece){off, len};
    return 0;
}

/* Turns the n_spans sentences of record r into its sources in R->pieces (*n of them): a sentence
 * that fits the model as it is, one longer cut into pieces (or by --truncate), with a warning
 * naming the record; sets r->failed (warning printed) when a sentence cannot be translated.
 * Returns 0, or -1 when out of memory. */
static int find_sources(run *R, record *r, long n_spans, size_t *n)
{
    for (long k = 0; k < n_spans; k++) {
        const sentence_span *sp = &R->spans[k];
        const char *why;
        long t = source_ids(R, R->scratch, r->text + sp->off, sp->len, &why);
        if (t < 0) {
            record_warning(R, "%s; its output is empty", why);
            r->failed = 1;
            return 0;
        }
        if (t > R->max_src && R->o.truncate) {
            record_warning(R, "sentence of %ld tokens cut to %d (--truncate)", t, R->max_src);
            r->cut = 1;
        } else if (t > R->max_src && R->gp.n_best > 1) {
            record_warning(R, "sentence of %ld tokens is longer than the model's %d and --n-best "
                           "outputs are not joined from pieces; its output is empty", t,
                           R->max_src);
            r->failed = 1;
            return 0;
        }
        if (t <= R->max_src || R->o.truncate) {
            if (push_source(R, n, sp->off, sp->len) < 0)
                return -1;
            continue;
        }
        size_t first = *n, bytes = R->tok ? tok_max_token_bytes(R->tok) : 12;
        int rc = pieces_cut(&R->pieces, &R->pieces_cap, n, r->text + sp->off, sp->len,
                            R->max_src, bytes, count_tokens, R);
        if (rc == -1)
            return -1;
        if (rc < 0) {
            record_warning(R, "cannot encode a piece; its output is empty");
            r->failed = 1;
            return 0;
        }
        for (size_t i = first; i < *n; i++)
            R->pieces[i].off += sp->off;
        record_warning(R, "sentence of %ld tokens translated in %zu pieces", t, *n - first);
        r->cut = 1;
    }
    return 0;
}

/* Checks the record just read (its length, NUL bytes, UTF-8), with a warning for each problem;
 * sets r->failed when it cannot be translated. */
static void check_record(run *R, record *r)
{
    r->cut = r->failed = 0;
    if (cli_reader_overlong(&R->rd) && !R->o.truncate) {
        record_warning(R, "record of %zu bytes is longer than the %d bytes read of a record; "
                       "its output is empty", R->rd.bytes, CLI_MAX_RECORD);
        r->failed = 1;
        return;
    }
    if (cli_reader_overlong(&R->rd)) {
        record_warning(R, "record of %zu bytes cut to its first %d bytes (--truncate)",
                       R->rd.bytes, CLI_MAX_RECORD);
        r->cut = 1;
    }
    if (R->o.delim != '\0' && memchr(r->text, '\0', r->text_len))
        record_warning(R, "NUL bytes in the record (-0 reads NUL-separated records)");
    if (!R->o.ids && !cli_utf8_valid(r->text, r->text_len))
        record_warning(R, "not valid UTF-8 (its bytes go to the model as they are)");
}

/* Turns the record just read into R->recs[R->n_recs] into items (one per sentence or piece of
 * one, or one without a source for a record without any or that cannot be translated) with
 * their sources; returns 0 or CLI_FAIL (out of memory, printed). */
static int add_record(run *R)
{
    record *r = &R->recs[R->n_recs];
    size_t n = 0;
    check_record(R, r);
    if (!r->failed && run_text_record(R, r, R->rd.record) != 0)
        return CLI_FAIL;
    long n_spans = r->failed ? 0 : find_spans(R, r);
    if (n_spans < 0 || find_sources(R, r, n_spans, &n) < 0)
        goto nomem;
    if (r->failed) {
        n = 0;
        R->n_failed++;
    }
    if (grow_items(R, R->n_items + (n > 0 ? (int)n : 1)) < 0)
        goto nomem;
    r->first = R->n_items;
    r->n = n > 0 ? (int)n : 1;
    size_t lead = r->failed ? r->text_len : 0;
    for (int k = 0; k < r->n; k++) {
        item *it = &R->items[R->n_items++];
        it->rec = R->n_recs;
        it->lead = lead;
        it->off = n > 0 ? R->pieces[k].off : r->text_len;
        it->size = n > 0 ? R->pieces[k].len : 0;
        it->last = k == r->n - 1;
        lead = it->off + it->size;
        it->done = it->running = it->started = 0;
        it->written = 0;
        it->n_hyps = 0;
        if (make_source(R, it) != 0 || run_text_item(R, it) != 0) {
            R->n_items = r->first; /* the records before this one are still written */
            return CLI_FAIL;
        }
        if (it->empty) {
            it->n_hyps = 1;
            it->len[0] = it->ended[0] = 0;
            it->score[0] = 0;
        }
    }
    R->n_recs++;
    return 0;
nomem:
    cli_error("out of memory");
    return CLI_FAIL;
}

/* Reads the input window by window (whole records, at least R->window sources unless the input
 * ends or no more input is ready, so that every answer comes as soon as its record is in) and
 * decodes it; returns the exit status: 1 when a file could not be read or a record was left
 * untranslated. */
static int run_all(run *R, char **files, int n_files)
{
    cli_reader_init(&R->rd, files, n_files, R->o.delim);
    R->rd.max = CLI_MAX_RECORD;
    long index = 0, source = 0;
    int status = CLI_OK, end = 0;
    while (!end && status == CLI_OK) {
        R->n_items = R->n_recs = 0;
        while (R->n_items < R->window) {
            if (R->n_items > 0 && !cli_reader_ready(&R->rd))
                break;
            if (R->n_recs == R->rec_cap) {
                record *p = realloc(R->recs, (size_t)(2 * R->rec_cap) * sizeof *p);
                if (!p) {
                    cli_error("out of memory");
                    return CLI_FAIL;
                }
                memset(p + R->rec_cap, 0, (size_t)R->rec_cap * sizeof *p);
                R->recs = p;
                R->rec_cap *= 2;
            }
            record *r = &R->recs[R->n_recs];
            int rc = cli_reader_next(&R->rd, &r->text, &r->text_cap, &r->text_len);
            if (rc <= 0) {
                end = 1;
                if (rc < 0)
                    status = CLI_FAIL;
                break;
            }
            if (add_record(R) != 0) {
                end = 1;
                status = CLI_FAIL;
                break;
            }
        }
        R->first_source = source;
        if (R->n_items > 0 && decode_window(R, index) != 0)
            return CLI_FAIL;
        index += R->n_recs;
        source += R->n_items;
    }
    return R->rd.failed || R->n_failed ? CLI_FAIL : status;
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
        const char *bad;
        long m = cli_parse_ids(R->prefix, len + 1, p, len, R->cfg->vocab_size, &bad);
        if (m < 0)
            return cli_usage_error(R->cmd, "--prefix: not a token id of this model: '%.20s'",
                                   bad);
        n = (size_t)m;
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

/* Decides whether records are split into sentences, and in which language; returns 0 or
 * CLI_USAGE after the error. */
static int choose_split(run *R)
{
    const eng_defaults *d = eng_file_defaults(R->e);
    const char *why = R->o.ids ? "--ids" : R->o.prefix ? "--prefix" : R->gp.n_best > 1 ?
                      "--n-best" : R->o.markup ? "--markup" : NULL;
    if (R->o.split == 1 && why)
        return cli_usage_error(R->cmd, "--split cannot be combined with %s", why);
    R->split = !why && (R->o.split == 1 || (R->o.split < 0 && d->translator));
    R->lang = sentences_lang_known(d->source_lang) ? d->source_lang : NULL;
    return 0;
}

/* The sources of a record decoded together when its sentences are: up to this many at once. */
#define SPLIT_BATCH 16

/* Opens the engine run and allocates the window; returns 0 or CLI_FAIL after the error. */
static int setup(run *R)
{
    int batch = (int)R->o.batch;
    R->batch = R->split && batch < SPLIT_BATCH ? SPLIT_BATCH : batch;
    R->max_src = R->cfg->max_positions;
    R->window = batch == 1 ? 1 : batch * 8;
    int rc = eng_run_open(&R->er, R->e, &R->gp, R->batch, R->max_src, (int)R->o.threads);
    if (rc < 0) {
        cli_error("engine: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    if ((rc = run_align_setup(R)) != 0)
        return rc;
    R->rec_cap = R->window;
    R->span_cap = 64;
    R->recs = calloc((size_t)R->rec_cap, sizeof *R->recs);
    R->spans = malloc(R->span_cap * sizeof *R->spans);
    R->batch_src = calloc((size_t)R->batch, sizeof *R->batch_src);
    R->batch_item = calloc((size_t)R->batch, sizeof *R->batch_item);
    R->scratch = malloc((CLI_MAX_RECORD + 2 + ENG_FRAME_MAX) * sizeof *R->scratch);
    R->pieces_cap = 16;
    R->pieces = malloc(R->pieces_cap * sizeof *R->pieces);
    if (!R->recs || !R->spans || !R->batch_src || !R->batch_item || !R->scratch || !R->pieces ||
        grow_items(R, R->window))
        goto nomem;
    if (run_out_reserve(R, (R->tok ? tok_max_token_bytes(R->tok) : 0) + 64) < 0)
        return CLI_FAIL;
    if (R->tok)
        tok_stream_init(&R->stream, R->tok);
    if (R->o.protect && !R->o.ids && spans_open(&R->finder) < 0)
        goto nomem;
    return 0;
nomem:
    cli_error("out of memory");
    return CLI_FAIL;
}

/* Frees everything R holds. */
static void teardown(run *R)
{
    for (int i = 0; R->items && i < R->item_cap; i++) {
        free(R->items[i].src);
        free(R->items[i].ids);
        free(R->items[i].lps);
        free(R->items[i].links);
        free(R->items[i].att);
        free(R->items[i].wlinks);
    }
    cli_align_close(&R->al);
    free(R->al_text);
    for (int i = 0; R->recs && i < R->rec_cap; i++) {
        free(R->recs[i].text);
        markup_free(R->recs[i].mk);
    }
    spans_free(R->finder);
    free(R->items);
    free(R->recs);
    free(R->spans);
    free(R->clean);
    free(R->scratch);
    free(R->pieces);
    free(R->order);
    free(R->batch_src);
    free(R->batch_item);
    free(R->out);
    free(R->prefix);
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
        R.tok = eng_target_tokenizer(R.e);
        char why[256];
        if ((R.o.src_lang || R.o.tgt_lang) &&
            eng_set_langs(R.e, R.o.src_lang, R.o.tgt_lang, why, sizeof why) < 0) {
            cli_error("%s", why);
            status = CLI_FAIL;
        }
    }
    if (status == 0) {
        status = make_prefix(&R);
    }
    if (status == 0)
        status = make_params(&R);
    if (status == 0)
        status = choose_split(&R);
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
        if (R.o.verbose && R.finder) {
            const spans_stats *st = &R.span_stats;
            cli_error("protected spans: %ld, reproduced by the model %ld, replaced %ld, "
                      "inserted %ld, surplus copies removed %ld", st->n_spans, st->n_kept,
                      st->n_replaced, st->n_inserted, st->n_removed);
        }
    }
    teardown(&R);
    return status;
}
