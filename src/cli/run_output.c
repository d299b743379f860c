/* run_output.c — `attn run`'s output: each source's outputs in input order, as text streamed
 * token by token (whole UTF-8 characters, through the tokenizer's stream decoder), as token ids
 * (--ids) or as one JSON object per source (--json). */
#include "run.h"

#include <stdlib.h>
#include <string.h>

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

/* Ends hypothesis k of item it: the held bytes of an incomplete character, the alignment
 * (--align), then the separator. */
static void end_record(run *R, const item *it, int k)
{
    size_t n;
    if (!R->o.ids && tok_stream_flush(&R->stream, R->out, R->out_cap, &n) == TOK_OK)
        cli_write(R->out, n);
    run_align_text(R, it, k);
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
    if (!R->o.ids)
        tok_stream_init(&R->stream, R->tok);
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

/* Writes one hypothesis' fields (output, ids, logprobs, ended, score) into a JSON object. */
static void json_hyp(run *R, const item *it, int k)
{
    const int32_t *ids = it->ids + (size_t)k * R->max_new;
    const float *lps = it->lps + (size_t)k * (R->max_new + 1);
    cli_puts("\"output\":");
    json_output_text(R, ids, it->len[k]);
    cli_puts(",\"ids\":[");
    for (int i = 0; i < it->len[k]; i++)
        cli_printf(i ? ",%d" : "%d", ids[i]);
    cli_puts("],\"logprobs\":[");
    for (int i = 0; i < it->len[k] + it->ended[k]; i++) {
        if (i)
            cli_write(",", 1);
        cli_json_number(lps[i]);
    }
    cli_printf("],\"ended\":%s,\"score\":", it->ended[k] ? "true" : "false");
    cli_json_number(it->score[k]);
    run_align_json(R, it, k);
}

/* Writes a finished item as one JSON object per line (or NUL-terminated with -0). */
static void write_json(run *R, const item *it, long index)
{
    cli_printf("{\"index\":%ld,\"source\":", index);
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
    cli_write("}", 1);
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
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
    if (it->empty) {
        if (R->o.json)
            write_json(R, it, R->first_index + R->head);
        else
            for (int k = 0; k < R->gp.n_best; k++)
                end_record(R, it, k);
        return;
    }
    if (!it->done) {
        if (!streams(R) || !it->running)
            return;
        const gen_result *res = eng_result(R->er, it->gen_index);
        if ((size_t)res->n_settled > it->written) {
            write_ids(R, res->settled, it->written, (size_t)res->n_settled);
            it->written = (size_t)res->n_settled;
            cli_flush();
        }
        return;
    }
    if (R->o.json) {
        write_json(R, it, R->first_index + R->head);
        return;
    }
    for (int k = 0; k < it->n_hyps; k++) {
        const int32_t *ids = it->ids + (size_t)k * R->max_new;
        write_ids(R, ids, k == 0 ? it->written : 0, (size_t)it->len[k]);
        end_record(R, it, k);
    }
}

void run_advance(run *R)
{
    while (R->head < R->n_items) {
        item *it = &R->items[R->head];
        write_head(R);
        if (!it->empty && !it->done)
            break;
        R->head++;
    }
    cli_flush();
}
