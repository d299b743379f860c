/* run_align.c — `attn run --align`: the engine's cross-attention of the chosen layers and heads
 * turned into word alignments of each output, written after the record's output line as
 * " ||| 0-0 1-2 ..." (Pharaoh: source word - output word, from 0, in the words of the whole
 * record and of its whole output line, its sentences' links put together) or into each JSON
 * object of a sentence or record ("alignment", and with --align soft "source_ids" and
 * "attention", in the sentence's own words and tokens). */
#include "run.h"

#include <stdlib.h>
#include <string.h>

int run_align_setup(run *R)
{
    if (!R->o.align)
        return 0;
    int rc = cli_align_attach(R->cmd, R->er, R->cfg, R->o.align_layer, R->o.align_heads);
    if (rc)
        return rc;
    return cli_align_open(&R->al, R->o.ids ? NULL : R->tok, R->o.special, R->max_src,
                          R->max_new);
}

int run_align_item(run *R, item *it)
{
    if (!R->o.align)
        return 0;
    size_t per = (size_t)R->gp.n_best * R->max_new;
    it->links = malloc(per * sizeof *it->links);
    if (R->o.align == ALIGN_SOFT)
        it->att = malloc(per * R->max_src * sizeof *it->att);
    return !it->links || (R->o.align == ALIGN_SOFT && !it->att) ? -1 : 0;
}

void run_align_keep(run *R, item *it, int k, const gen_hyp *h)
{
    if (!R->o.align)
        return;
    it->n_links[k] = 0;
    /* the item's text as the model read it (control characters as spaces, as run.c gives it) */
    if (it->size + 1 > R->al_cap) {
        char *p = realloc(R->al_text, it->size + 1);
        if (!p)
            return;
        R->al_text = p;
        R->al_cap = it->size + 1;
    }
    size_t len = cli_model_text(R->al_text, R->recs[it->rec].text + it->off, it->size,
                                R->o.delim != '\n');
    size_t stride = (size_t)eng_attn_width(R->er);
    if (cli_align_output(&R->al, R->al_text, len, it->src, it->src_len, h->ids, h->len, h->attn,
                         stride) != 0)
        return;
    size_t base = (size_t)k * R->max_new;
    memcpy(it->links + base, R->al.links, (size_t)R->al.n_links * sizeof *it->links);
    it->n_links[k] = R->al.n_links;
    if (it->att)
        for (int t = 0; t < h->len; t++)
            memcpy(it->att + (base + t) * R->max_src, h->attn + t * stride,
                   (size_t)it->src_len * sizeof *it->att);
}

/* Words counted over text written piece by piece: words begun so far, and whether the last
 * byte was inside a word. */
typedef struct words {
    int n, in_word;
} words;

/* Returns 1 for the bytes that separate words (as src/align.c). */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Counts the words of p (n bytes) into w. */
static void count(words *w, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int sp = is_space(p[i]);
        w->n += !sp && !w->in_word;
        w->in_word = !sp;
    }
}

/* Returns the index, among all the words so far, of the first word of text p (n bytes) that
 * follows: it continues the last word when it starts inside it. */
static int first_word(const words *w, const char *p, size_t n)
{
    return w->in_word && n > 0 && !is_space(p[0]) ? w->n - 1 : w->n;
}

/* Counts the words of hypothesis k of item it's output text (its shown tokens' bytes). */
static void count_output(const run *R, words *w, const item *it, int k, int *first)
{
    const int32_t *ids = it->ids + (size_t)k * R->max_new;
    int started = 0;
    for (int i = 0; i < it->len[k]; i++) {
        size_t tl = 0;
        const char *b = R->o.special || !tok_is_special(R->tok, ids[i])
                            ? tok_token_bytes(R->tok, ids[i], &tl) : NULL;
        if (!b || tl == 0)
            continue;
        if (!started) {
            *first = first_word(w, b, tl);
            started = 1;
        }
        count(w, b, tl);
    }
    if (!started)
        *first = w->n;
}

/* Writes the links of the record whose last item is last (hypothesis k), in the record's words
 * and its output line's. */
static void record_links(run *R, const item *last, int k)
{
    const record *r = &R->recs[last->rec];
    words sw = {0, 0}, tw = {0, 0};   /* sw: ids only (every token a word) */
    int printed = 0;
    for (int i = r->first; i < r->first + r->n; i++) {
        const item *it = &R->items[i];
        int kk = it == last ? k : 0, s0, t0;
        if (R->o.ids) {
            s0 = sw.n;
            t0 = tw.n;
            sw.n += it->src_len;
            tw.n += it->empty ? 0 : it->len[kk];
        } else {
            /* the record's text before the item is written before its output, as run_output.c
             * does (the lead), and the item's own text is what it translates */
            count(&tw, r->text + it->lead, it->off - it->lead);
            words before = {0, 0};
            count(&before, r->text, it->off);
            s0 = first_word(&before, r->text + it->off, it->size);
            if (!it->empty)
                count_output(R, &tw, it, kk, &t0);
        }
        if (it->empty)
            continue;
        const al_link *l = it->links + (size_t)kk * R->max_new;
        for (int j = 0; j < it->n_links[kk]; j++, printed++)
            cli_printf(printed ? " %d-%d" : "%d-%d", s0 + l[j].src, t0 + l[j].tgt);
    }
}

void run_align_text(run *R, const item *last, int k)
{
    if (!R->o.align)
        return;
    cli_puts(" ||| ");
    record_links(R, last, k);
}

void run_align_record_json(run *R, const item *last)
{
    if (!R->o.align)
        return;
    cli_puts(",\"alignment\":\"");
    record_links(R, last, 0);
    cli_write("\"", 1);
}

void run_align_json(run *R, const item *it, int k)
{
    if (!R->o.align)
        return;
    cli_puts(",\"alignment\":");
    cli_align_write(it->links + (size_t)k * R->max_new, it->empty ? 0 : it->n_links[k], 1);
    if (R->o.align != ALIGN_SOFT)
        return;
    cli_puts(",\"source_ids\":[");
    for (int j = 0; !it->empty && j < it->src_len; j++)
        cli_printf(j ? ",%d" : "%d", it->src[j]);
    cli_puts("],\"attention\":[");
    size_t base = (size_t)k * R->max_new;
    for (int t = 0; !it->empty && t < it->len[k]; t++) {
        cli_puts(t ? ",[" : "[");
        for (int j = 0; j < it->src_len; j++)
            cli_printf(j ? ",%.4g" : "%.4g", it->att[(base + t) * R->max_src + j]);
        cli_write("]", 1);
    }
    cli_write("]", 1);
}
