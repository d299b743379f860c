/* run_output.c — `attn run`'s output: each record's output in input order, as text streamed
 * token by token (whole UTF-8 characters, through the tokenizer's stream decoder; written whole
 * once done when repaired, stripped or cleaned up) with the record's own text around and between
 * its sentences, as token ids (--ids) or as one JSON object per record (--json). */
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
            cli_write_utf8(R->out, n);
    }
}

/* Writes the record's text before item it (its separator, or the leading white space). */
static void write_lead(run *R, const item *it)
{
    if (!R->o.ids && !run_text_joined(&R->recs[it->rec]))
        cli_write(R->recs[it->rec].text + it->lead, it->off - it->lead);
}

/* Ends item it's output (its hypothesis k): the held bytes of an incomplete character, then,
 * after the record's last item, the record's trailing text, its alignment (--align) and the
 * record separator. */
static void end_item(run *R, const item *it, int k)
{
    size_t n;
    if (!R->o.ids) {
        if (tok_stream_flush(&R->stream, R->out, R->out_cap, &n) == TOK_OK)
            cli_write_utf8(R->out, n);
        tok_stream_init(&R->stream, R->tok);
    }
    if (!it->last)
        return;
    const record *r = &R->recs[it->rec];
    if (!R->o.ids && !run_text_joined(r))
        cli_write(r->text + it->off + it->size, r->text_len - it->off - it->size);
    run_align_text(R, it, k);
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
}

void run_append(run *R, size_t *at, const char *p, size_t n)
{
    if (run_out_reserve(R, *at + n + 1) < 0)
        exit(CLI_FAIL);
    memcpy(R->out + *at, p, n);
    *at += n;
}

/* Returns the fix-ups (tok_clean_text flags) of the model's output text (detok.*), 0 if none. */
static int cleans(const run *R)
{
    return eng_file_defaults(R->e)->clean_text;
}

void run_append_ids(run *R, size_t *at, const int32_t *ids, int n)
{
    if (run_out_reserve(R, *at + cli_decode_room(R->tok, n) + 1) < 0)
        exit(CLI_FAIL);
    size_t len = cli_decode_ids(R->out + *at, NULL, NULL, R->tok, R->o.special, ids, n);
    *at += tok_clean_text(R->out + *at, len, NULL, cleans(R));
}

/* Writes the text (or the id list with --ids) of output ids (n, hypothesis k) of item it as a
 * JSON string. */
static void json_output_text(run *R, const item *it, int k, const int32_t *ids, int n)
{
    if (R->o.ids) {
        cli_write("\"", 1);
        for (int i = 0; i < n; i++)
            cli_printf(i ? " %d" : "%d", ids[i]);
        cli_write("\"", 1);
        return;
    }
    size_t len = 0;
    if (run_text_joined(&R->recs[it->rec]))
        run_text_fixed(R, it, k, ids, n, &len);     /* the piece's own text, without tags */
    else if (it->repair)
        run_text_output(R, it, k, ids, n, &len);
    else
        run_append_ids(R, &len, ids, n);
    cli_quote(R->out, len, 1);
}

/* Writes one hypothesis' fields (output, ids, logprobs, ended, score) into a JSON object. */
static void json_hyp(run *R, const item *it, int k)
{
    const int32_t *ids = it->ids + (size_t)k * R->max_new;
    const float *lps = it->lps + (size_t)k * (R->max_new + 1);
    cli_puts("\"output\":");
    json_output_text(R, it, k, ids, it->len[k]);
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

/* Writes the "output" (the record's text with each sentence replaced by its output) and the
 * "sentences" (each one's source and json_hyp fields) of record r. */
static void json_sentences(run *R, const record *r)
{
    size_t len = 0;
    for (int k = 0; k < r->n; k++) {
        const item *it = &R->items[r->first + k];
        int joined = run_text_joined(r);
        if (!joined)
            run_append(R, &len, r->text + it->lead, it->off - it->lead);
        if (it->repair)
            run_text_output(R, it, 0, it->ids, it->len[0], &len);
        else
            run_append_ids(R, &len, it->ids, it->len[0]);
        if (it->last && !joined)
            run_append(R, &len, r->text + it->off + it->size, r->text_len - it->off - it->size);
    }
    cli_puts("\"output\":");
    cli_quote(R->out, len, 1);
    cli_puts(",\"sentences\":[");
    for (int k = 0; k < r->n; k++) {
        const item *it = &R->items[r->first + k];
        if (it->size == 0)
            continue;
        cli_puts(k ? ",{\"source\":" : "{\"source\":");
        cli_quote(r->text + it->off, it->size, 1);
        cli_write(",", 1);
        json_hyp(R, it, 0);
        cli_write("}", 1);
    }
    cli_write("]", 1);
}

/* Ends record r's JSON object: whether a sentence of it was cut, whether it failed. */
static void json_end(run *R, const record *r)
{
    cli_printf(",\"cut\":%s%s}", r->cut ? "true" : "false", r->failed ? ",\"failed\":true" : "");
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
}

/* Writes the record of item it (its last, finished) as one JSON object per line (or
 * NUL-terminated with -0). */
static void write_json(run *R, const item *it)
{
    const record *r = &R->recs[it->rec];
    cli_printf("{\"index\":%ld,\"source\":", R->first_index + it->rec);
    cli_quote(r->text, r->text_len, 1);
    cli_write(",", 1);
    if (R->split || r->n > 1) {
        json_sentences(R, r);
        run_align_record_json(R, it);
        json_end(R, r);
        return;
    }
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
    json_end(R, r);
}

/* Returns 1 when item it's outputs are written whole once done: repaired, or stripped or cleaned
 * up (the strip and the clean-up's rules span tokens, so a text cannot be written before its last
 * token). */
static int whole(const run *R, const item *it)
{
    return it->repair || (cleans(R) && !R->o.ids);
}

/* Writes the text of output ids (n, hypothesis k) of item it whole: repaired when it is, or as
 * decoded and cleaned up (nothing for an empty item that is not repaired). */
static void write_whole(run *R, const item *it, int k, const int32_t *ids, int n)
{
    size_t len = 0;
    if (it->repair)
        run_text_output(R, it, k, ids, n, &len);
    else if (n > 0)
        run_append_ids(R, &len, ids, n);
    cli_write_utf8(R->out, len);
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
        if ((it->empty || it->done) && it->last)
            write_json(R, it);
        return;
    }
    if (!it->started) {
        write_lead(R, it);
        it->started = 1;
    }
    if (it->empty) {
        for (int k = 0; k < R->gp.n_best; k++) {
            if (k > 0)
                write_lead(R, it);
            if (it->repair)
                write_whole(R, it, k, NULL, 0);
            end_item(R, it, k);
        }
        return;
    }
    if (!it->done) {
        if (!streams(R) || !it->running || whole(R, it))
            return;
        const gen_result *res = eng_result(R->er, it->gen_index);
        if ((size_t)res->n_settled > it->written) {
            write_ids(R, res->settled, it->written, (size_t)res->n_settled);
            it->written = (size_t)res->n_settled;
            cli_flush();
        }
        return;
    }
    for (int k = 0; k < it->n_hyps; k++) {
        const int32_t *ids = it->ids + (size_t)k * R->max_new;
        if (k > 0)
            write_lead(R, it);
        if (whole(R, it))
            write_whole(R, it, k, ids, it->len[k]);
        else
            write_ids(R, ids, k == 0 ? it->written : 0, (size_t)it->len[k]);
        end_item(R, it, k);
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
