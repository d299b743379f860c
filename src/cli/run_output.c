/* run_output.c — `attn run`'s output: each source's outputs in input order, as text streamed
 * token by token (whole UTF-8 characters, through the tokenizer's stream decoder), as token ids
 * (--ids) or as one JSON object per source (--json). */
#include "run.h"

#include <stdlib.h>
#include <string.h>

int bytes_add(bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t want = b->cap ? b->cap : 256;
        while (want < b->n + n)
            want *= 2;
        char *q = realloc(b->p, want);
        if (!q) {
            cli_error("out of memory");
            return -1;
        }
        b->p = q;
        b->cap = want;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

int run_out_reserve(run *R, size_t n)
{
    if (n <= R->out_cap)
        return 0;
    char *p = realloc(R->out, n);
    if (!p) {
        cli_error("out of memory");
        return -1;
    }
    R->out = p;
    R->out_cap = n;
    return 0;
}

/* Returns 1 when id is written as text: not special, or --special given. */
static int id_shown(const run *R, int32_t id)
{
    return R->o.special || !tok_is_special(R->tok, id);
}

/* Writes ids[from..to) of an output: through the stream decoder (text) or as numbers (--ids). */
static void write_ids(run *R, const int32_t *ids, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (R->o.ids) {
            cli_printf(i ? " %d" : "%d", ids[i]);
            continue;
        }
        if (!id_shown(R, ids[i]))
            continue;
        size_t n;
        if (tok_stream_push(&R->stream, R->out, R->out_cap, &n, ids[i]) == TOK_OK)
            cli_write(R->out, n);
    }
}

/* Ends an item's output: the held bytes of an incomplete character, then (after the record's
 * last piece) the bytes after the piece and the record separator. */
static void end_item(run *R, const item *it)
{
    size_t n;
    if (!R->o.ids && tok_stream_flush(&R->stream, R->out, R->out_cap, &n) == TOK_OK)
        cli_write(R->out, n);
    if (!R->o.ids)
        tok_stream_init(&R->stream, R->tok);
    if (!it->last)
        return;
    size_t after = it->src_off + it->src_bytes;
    cli_write(it->text + after, it->text_len - after);
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
}

/* Writes the bytes before an item's piece (the separator after the previous piece), once. */
static void begin_item(item *it)
{
    if (!it->pre_done)
        cli_write(it->text, it->src_off);
    it->pre_done = 1;
}

/* Writes the text (or the id list with --ids) of ids (n) as a JSON string. */
static void json_output_text(run *R, const int32_t *ids, int n)
{
    if (R->o.ids) {
        cli_write("\"", 1);
        for (int i = 0; i < n; i++)
            cli_printf(i ? " %d" : "%d", ids[i]);
        cli_write("\"", 1);
        return;
    }
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t tl = 0;
        if (id_shown(R, ids[i]) && tok_token_bytes(R->tok, ids[i], &tl))
            len += tl;
    }
    if (run_out_reserve(R, len + 1) < 0)
        exit(CLI_FAIL);
    len = 0;
    for (int i = 0; i < n; i++) {
        size_t tl = 0;
        const char *b = id_shown(R, ids[i]) ? tok_token_bytes(R->tok, ids[i], &tl) : NULL;
        if (b) {
            memcpy(R->out + len, b, tl);
            len += tl;
        }
    }
    cli_quote(R->out, len, 1);
}

/* Writes the JSON number arrays of ids (n) and logprobs (m). */
static void json_arrays(const int32_t *ids, int n, const float *lps, int m)
{
    cli_puts(",\"ids\":[");
    for (int i = 0; i < n; i++)
        cli_printf(i ? ",%d" : "%d", ids[i]);
    cli_puts("],\"logprobs\":[");
    for (int i = 0; i < m; i++) {
        if (i)
            cli_write(",", 1);
        cli_json_number(lps[i]);
    }
    cli_write("]", 1);
}

/* Writes one hypothesis' fields (output, ids, logprobs, ended, score) into a JSON object. */
static void json_hyp(run *R, const item *it, int k)
{
    const int32_t *ids = it->ids + (size_t)k * R->max_new;
    const float *lps = it->lps + (size_t)k * (R->max_new + 1);
    cli_puts("\"output\":");
    json_output_text(R, ids, it->len[k]);
    json_arrays(ids, it->len[k], lps, it->len[k] + it->ended[k]);
    cli_printf(",\"ended\":%s,\"score\":", it->ended[k] ? "true" : "false");
    cli_json_number(it->score[k]);
}

/* Ends a record's JSON object: whether it was cut, in how many pieces, whether it failed. */
static void json_end(run *R, const item *it)
{
    cli_printf(",\"cut\":%s,\"pieces\":%d%s}", it->cut ? "true" : "false", it->n_pieces,
               it->failed ? ",\"failed\":true" : "");
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
}

/* Adds a piece of a cut record to R->acc_*; after the last one writes the record's object, its
 * output the pieces' outputs joined by the separators, its ids and logprobs theirs in order,
 * its score their sum.  Exits 1 when out of memory. */
static void json_piece(run *R, const item *it)
{
    if (it->first) {
        R->acc_src.n = R->acc_out.n = R->acc_ids.n = R->acc_lps.n = 0;
        R->acc_ended = 1;
        R->acc_score = 0;
    }
    size_t after = it->src_off + it->src_bytes;
    const int32_t *ids = it->ids;
    if (bytes_add(&R->acc_out, it->text, it->src_off) < 0)
        exit(CLI_FAIL);
    for (int i = 0; i < it->len[0]; i++) {
        char num[16];
        size_t n = 0;
        const char *b = NULL;
        if (R->o.ids)
            n = (size_t)snprintf(num, sizeof num, i ? " %d" : "%d", ids[i]), b = num;
        else if (id_shown(R, ids[i]))
            b = tok_token_bytes(R->tok, ids[i], &n);
        if (b && bytes_add(&R->acc_out, b, n) < 0)
            exit(CLI_FAIL);
    }
    if (bytes_add(&R->acc_src, it->text, it->text_len) < 0 ||
        (it->last && bytes_add(&R->acc_out, it->text + after, it->text_len - after) < 0) ||
        bytes_add(&R->acc_ids, ids, (size_t)it->len[0] * sizeof *ids) < 0 ||
        bytes_add(&R->acc_lps, it->lps, (size_t)(it->len[0] + it->ended[0]) * sizeof(float)) < 0)
        exit(CLI_FAIL);
    R->acc_ended &= it->ended[0];
    R->acc_score += it->score[0];
    if (!it->last)
        return;
    cli_printf("{\"index\":%ld,\"source\":", it->index);
    cli_quote(R->acc_src.p, R->acc_src.n, 1);
    cli_puts(",\"output\":");
    cli_quote(R->acc_out.p, R->acc_out.n, 1);
    json_arrays((const int32_t *)(void *)R->acc_ids.p, (int)(R->acc_ids.n / sizeof(int32_t)),
                (const float *)(void *)R->acc_lps.p, (int)(R->acc_lps.n / sizeof(float)));
    cli_printf(",\"ended\":%s,\"score\":", R->acc_ended ? "true" : "false");
    cli_json_number(R->acc_score);
    json_end(R, it);
}

/* Writes a finished item: one JSON object per record (or NUL-terminated with -0). */
static void write_json(run *R, const item *it)
{
    if (it->n_pieces > 1) {
        json_piece(R, it);
        return;
    }
    cli_printf("{\"index\":%ld,\"source\":", it->index);
    cli_quote(it->text, it->text_len, 1);
    cli_write(",", 1);
    json_hyp(R, it, 0);
    if (R->gp.n_best > 1) {
        cli_puts(",\"n_best\":[");
        for (int k = 0; k < it->n_hyps; k++) {
            cli_puts(k ? ",{" : "{");
            json_hyp(R, it, k);
            cli_write("}", 1);
        }
        cli_write("]", 1);
    }
    json_end(R, it);
}

/* Returns 1 when outputs are written token by token. */
static int streams(const run *R)
{
    return !R->o.json && R->gp.n_best == 1;
}

/* Writes whatever the head item has that is not written yet; ends it when it is done. */
static void write_head(run *R)
{
    item *it = &R->items[R->head];
    if (R->o.json) {
        if (it->empty || it->done)
            write_json(R, it);
        return;
    }
    if (it->empty) {
        for (long k = 0; k < R->gp.n_best; k++) {
            begin_item(it);
            end_item(R, it);
        }
        return;
    }
    if (!it->done) {
        if (!streams(R) || !it->running)
            return;
        const gen_result *res = eng_result(R->er, it->gen_index);
        begin_item(it);
        if ((size_t)res->n_settled > it->written) {
            write_ids(R, res->settled, it->written, (size_t)res->n_settled);
            it->written = (size_t)res->n_settled;
            cli_flush();
        }
        return;
    }
    for (int k = 0; k < it->n_hyps; k++) {
        const int32_t *ids = it->ids + (size_t)k * R->max_new;
        begin_item(it);
        write_ids(R, ids, k == 0 ? it->written : 0, (size_t)it->len[k]);
        end_item(R, it);
        it->pre_done = 0;
    }
}

void run_advance(run *R)
{
    while (R->head < R->n_items) {
        item *it = &R->items[R->head];
        write_head(R);
        if (!it->empty && !it->done)
            break;
        R->pg.n_done += it->last;
        R->head++;
    }
    cli_flush();
}
