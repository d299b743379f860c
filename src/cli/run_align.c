/* run_align.c — `attn run --align`: the engine's cross-attention of the chosen layers and heads
 * turned into word alignments of each output, written after the record's output line as
 * " ||| 0-0 1-2 ..." (Pharaoh: source word - output word, from 0, in the words of the whole
 * record and of its whole output line as written, its sentences' links put together) or into
 * each JSON object of a sentence or record ("alignment", and with --align soft "source_ids" and
 * "attention", in the sentence's own words and tokens). With --markup the words are those of
 * the text the model translates (the record with its tags taken out) and of the output before
 * the tags are put back; --markup makes the alignments even without --align, to place tags. */
#include "run.h"

#include <stdlib.h>
#include <string.h>

int run_align_setup(run *R)
{
    R->aligning = R->o.align || R->o.markup;
    if (!R->aligning)
        return 0;
    int rc = cli_align_attach(R->cmd, R->er, R->cfg, R->o.align_layer, R->o.align_heads);
    if (rc)
        return rc;
    rc = cli_align_open(&R->al, R->o.ids ? NULL : R->tok, R->o.special, R->max_src, R->max_new);
    R->al.clean = eng_file_defaults(R->e)->clean_text;
    return rc;
}

int run_align_item(run *R, item *it)
{
    if (!R->aligning)
        return 0;
    size_t per = (size_t)R->gp.n_best * R->max_new;
    it->links = malloc(per * sizeof *it->links);
    it->wlinks = malloc(2 * per * sizeof *it->wlinks);
    if (R->o.align == ALIGN_SOFT)
        it->att = malloc(per * R->max_src * sizeof *it->att);
    return !it->links || !it->wlinks || (R->o.align == ALIGN_SOFT && !it->att) ? -1 : 0;
}

void run_align_keep(run *R, item *it, int k, const gen_hyp *h)
{
    if (!R->aligning)
        return;
    it->n_links[k] = it->n_wlinks[k] = 0;
    it->ow[k] = (text_words){0, 0, 0};
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
    if (cli_align_output(&R->al, R->al_text, len, it->src, it->src_len, h->ids, h->len, NULL, 0,
                         h->attn, stride) != 0)
        return;
    size_t base = (size_t)k * R->max_new;
    memcpy(it->links + base, R->al.links, (size_t)R->al.n_links * sizeof *it->links);
    it->n_links[k] = R->al.n_links;
    if (run_text_links(R, it, k, R->al.text, R->al.text_len) < 0)
        return;
    if (it->att)
        for (int t = 0; t < h->len; t++)
            memcpy(it->att + (base + t) * R->max_src, h->attn + t * stride,
                   (size_t)it->src_len * sizeof *it->att);
}

/* Counts the words of p (n bytes) into w, which ends in a word or not (w->last_in). */
static void count(text_words *w, const char *p, size_t n)
{
    text_words t = run_text_words(p, n);
    w->n += t.n - (w->last_in && t.first_in);
    if (n > 0)
        w->last_in = t.last_in;
}

void run_align_offsets(const run *R, const item *it, int k, text_words *tw, int *s0, int *t0)
{
    const record *r = &R->recs[it->rec];
    /* the record's text before the item is written before its output, as run_output.c does
     * (the lead), and the item's own text is what it translates */
    count(tw, r->text + it->lead, it->off - it->lead);
    text_words before = {0, 0, 0};
    count(&before, r->text, it->off);
    *s0 = before.n - (before.last_in && it->size > 0 &&
                      !al_is_space((unsigned char)r->text[it->off]));
    const text_words *ow = &it->ow[k];
    *t0 = tw->n - (tw->last_in && ow->first_in);
    if (!it->empty) {
        tw->n = *t0 + ow->n;
        if (ow->n > 0 || ow->first_in)
            tw->last_in = ow->last_in;
    }
}

/* Writes the links of the record whose last item is last (hypothesis k), in the record's words
 * and its output line's. */
static void record_links(run *R, const item *last, int k)
{
    const record *r = &R->recs[last->rec];
    text_words sw = {0, 0, 0}, tw = {0, 0, 0};   /* sw: ids only (every token a word) */
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
            run_align_offsets(R, it, kk, &tw, &s0, &t0);
        }
        if (it->empty)
            continue;
        const al_link *l = it->wlinks + (size_t)kk * 2 * R->max_new;
        for (int j = 0; j < it->n_wlinks[kk]; j++, printed++)
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
    cli_align_write(it->wlinks + (size_t)k * 2 * R->max_new, it->empty ? 0 : it->n_wlinks[k], 1);
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
