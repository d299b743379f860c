/* run.c — `attn [run]`: one source per input record in, one generated output per record out.
 *
 * Data flow: records (lines, NUL-separated records or the whole input; input.c) -> tokenizer (or
 * --ids) -> windows of sources sorted by length -> batches through the engine (src/engine.h) ->
 * outputs written in input order by run_output.c, the record at the head of the order streamed
 * as its tokens settle (whole UTF-8 characters only, flushed), the others held until their turn.
 */
#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prints a runtime error naming the input record; returns CLI_FAIL. */
static int record_error(run *R, long record, const char *what)
{
    cli_error("%s:%ld: %s", R->rd.name, record, what);
    return CLI_FAIL;
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
        R->pg.n_done++;
        R->pg.n_tokens += res->hyps[0].len + res->hyps[0].ended;
        if (R->o.progress)
            cli_progress_show(&R->pg, &R->rd, 0);
    }
    if (idx == R->head)
        run_advance(R);
}

/* Turns record text into source ids for item it; returns 0, or CLI_FAIL after the error. */
static int make_source(run *R, item *it, long record)
{
    size_t need = it->text_len + 2;
    if ((size_t)it->src_cap < need) {
        int32_t *p = realloc(it->src, need * sizeof *p);
        if (!p) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        it->src = p;
        it->src_cap = (int)need;
    }
    size_t n = 0;
    if (R->o.ids) {
        const char *s = it->text;
        while (*s) {
            while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
            if (!*s)
                break;
            char *end;
            errno = 0;
            long v = strtol(s, &end, 10);
            if (end == s || errno || v < 0 || v >= R->cfg->vocab_size ||
                (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')) {
                char what[96];
                snprintf(what, sizeof what, "not a token id of this model: '%.20s'", s);
                return record_error(R, record, what);
            }
            it->src[n++] = (int32_t)v;
            s = end;
        }
    } else {
        const eng_defaults *d = eng_file_defaults(R->e);
        size_t pre = d->src_bos_id >= 0;
        int rc = tok_encoder_encode(eng_encoder(R->e), it->src + pre, (size_t)it->src_cap - pre,
                                    &n, it->text, it->text_len, R->o.special ? TOK_SPECIAL : 0);
        if (rc < 0)
            return record_error(R, record, tok_strerror(rc));
        if (n > 0 && pre) {
            it->src[0] = d->src_bos_id;
            n++;
        }
        if (n > 0 && d->src_eos_id >= 0)
            it->src[n++] = d->src_eos_id;
    }
    it->empty = n == 0;
    if (n > (size_t)R->max_src) {
        if (!R->o.truncate) {
            char what[160];
            snprintf(what, sizeof what, "source has %zu tokens, the model accepts at most %d "
                     "(--truncate cuts it)", n, R->max_src);
            return record_error(R, record, what);
        }
        int eos = R->o.ids ? -1 : eng_file_defaults(R->e)->src_eos_id;
        n = (size_t)R->max_src;
        if (eos >= 0)
            it->src[n - 1] = eos;
    }
    it->src_len = (int)n;
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

/* Reads the input window by window and decodes it; returns the exit status. */
static int run_all(run *R, char **files, int n_files)
{
    cli_reader_init(&R->rd, files, n_files, R->o.delim);
    long index = 0;
    int status = CLI_OK, end = 0;
    while (!end && status == CLI_OK) {
        R->n_items = 0;
        while (R->n_items < R->window) {
            item *it = &R->items[R->n_items];
            int rc = cli_reader_next(&R->rd, &it->text, &it->text_cap, &it->text_len);
            if (rc <= 0) {
                end = 1;
                if (rc < 0)
                    status = CLI_FAIL;
                break;
            }
            if (make_source(R, it, R->rd.record) != 0) {
                end = 1;
                status = CLI_FAIL;
                break;
            }
            it->done = it->running = 0;
            it->written = 0;
            it->n_hyps = 0;
            if (it->empty) {
                it->n_hyps = 1;
                it->len[0] = it->ended[0] = 0;
                it->score[0] = 0;
            }
            R->n_items++;
        }
        if (R->n_items > 0 && decode_window(R, index) != 0)
            return CLI_FAIL;
        index += R->n_items;
    }
    return status;
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
    if (!R->items || !R->order || !R->batch_src || !R->batch_item)
        goto nomem;
    for (int i = 0; i < R->window; i++) {
        R->items[i].ids = malloc((size_t)R->gp.n_best * R->max_new * sizeof(int32_t));
        R->items[i].lps = malloc((size_t)R->gp.n_best * (R->max_new + 1) * sizeof(float));
        if (!R->items[i].ids || !R->items[i].lps)
            goto nomem;
    }
    if (run_out_reserve(R, (R->tok ? tok_max_token_bytes(R->tok) : 0) + 64) < 0)
        return CLI_FAIL;
    if ((rc = run_align_setup(R)) != 0)
        return rc;
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
        free(R->items[i].links);
        free(R->items[i].att);
    }
    cli_align_close(&R->al);
    free(R->items);
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
            cli_error("%ld sources, %ld tokens in %.3f s: encode %.0f ms, first token %.0f ms, "
                      "%.1f tokens/s", R.pg.n_done, R.pg.n_tokens, el,
                      eng_encode_seconds(R.er) * 1e3,
                      R.t_first > 0 ? (R.t_first - R.pg.t_start) * 1e3 : 0.0,
                      el > 0 ? R.pg.n_tokens / el : 0.0);
    }
    teardown(&R);
    return status;
}
