/* run_align.c — `attn run --align`: the engine's cross-attention of the chosen layer and heads
 * turned into word alignments of each output, written after the output line as
 * " ||| 0-0 1-2 ..." (Pharaoh: source word - output word, from 0) or into the JSON object
 * ("alignment", and with --align soft "source_ids" and "attention"). */
#include "run.h"

#include <stdlib.h>

int run_align_setup(run *R)
{
    if (!R->o.align)
        return 0;
    int rc = cli_align_attach(R->cmd, R->er, R->cfg, R->o.align_layer, R->o.align_heads);
    if (rc)
        return rc;
    if (cli_align_open(&R->al, R->o.ids ? NULL : R->tok, R->o.special, R->max_src, R->max_new))
        return CLI_FAIL;
    size_t per = (size_t)R->gp.n_best * R->max_new;
    for (int i = 0; i < R->window; i++) {
        item *it = &R->items[i];
        it->links = malloc(per * sizeof *it->links);
        if (R->o.align == ALIGN_SOFT)
            it->att = malloc(per * R->max_src * sizeof *it->att);
        if (!it->links || (R->o.align == ALIGN_SOFT && !it->att)) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
    }
    return 0;
}

void run_align_keep(run *R, item *it, int k, const gen_hyp *h)
{
    if (!R->o.align)
        return;
    size_t stride = (size_t)eng_attn_width(R->er);
    it->n_links[k] = 0;
    if (cli_align_output(&R->al, it->text, it->text_len, it->src, it->src_len, h->ids, h->len,
                         h->attn, stride) != 0)
        return;
    size_t base = (size_t)k * R->max_new;
    for (int i = 0; i < R->al.n_links; i++)
        it->links[base + i] = R->al.links[i];
    it->n_links[k] = R->al.n_links;
    if (it->att)
        for (int t = 0; t < h->len; t++)
            for (int j = 0; j < it->src_len; j++)
                it->att[(base + t) * R->max_src + j] = h->attn[t * stride + j];
}

void run_align_text(run *R, const item *it, int k)
{
    if (!R->o.align)
        return;
    cli_puts(" ||| ");
    if (!it->empty)
        cli_align_write(it->links + (size_t)k * R->max_new, it->n_links[k], 0);
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
