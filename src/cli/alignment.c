/* alignment.c — head choice and word alignment shared by run, score and attention (see
 * alignment.h). */
#include "alignment.h"

#include <stdlib.h>
#include <string.h>

int cli_align_mix(const char *cmd, const tf_config *c, const char *layer, const char *heads,
                  float **mix)
{
    int L = c->n_dec_layers, H = c->n_heads;
    int lo = 0, hi = L - 1;
    if (!layer)
        layer = L >= 2 ? ALIGN_DEFAULT_LAYER : "-1";
    if (strcmp(layer, "all") != 0) {
        long v;
        if (cli_parse_long(layer, -L, L, &v) != 0 || v == 0)
            return cli_usage_error(cmd, "--align-layer: '%s' is not 'all', 1..%d or -1..-%d",
                                   layer, L, L);
        lo = hi = v > 0 ? (int)v - 1 : L + (int)v;
    }
    char *use = calloc((size_t)H, 1);
    *mix = calloc((size_t)L * H, sizeof **mix);
    if (!use || !*mix) {
        free(use);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int n_heads = 0;
    if (!heads || strcmp(heads, "all") == 0) {
        memset(use, 1, (size_t)H);
        n_heads = H;
    } else {
        const char *p = heads;
        while (*p) {
            char num[16];
            size_t k = strcspn(p, ",");
            long v;
            snprintf(num, sizeof num, "%.*s", (int)(k < 15 ? k : 15), p);
            if (k == 0 || k > 15 || cli_parse_long(num, 1, H, &v) != 0) {
                free(use);
                free(*mix);
                *mix = NULL;
                return cli_usage_error(cmd, "--align-heads: '%s' is not 'all' or a list of "
                                       "heads 1..%d", heads, H);
            }
            n_heads += !use[v - 1];
            use[v - 1] = 1;
            p += k + (p[k] == ',');
        }
    }
    float w = 1.0f / (float)(n_heads * (hi - lo + 1));
    for (int l = lo; l <= hi; l++)
        for (int h = 0; h < H; h++)
            (*mix)[l * H + h] = use[h] ? w : 0.0f;
    free(use);
    return 0;
}

int cli_align_open(cli_align *a, const tokenizer *tok, int special, int max_src, int max_tgt)
{
    memset(a, 0, sizeof *a);
    a->tok = tok;
    a->special = special;
    a->max_src = max_src;
    a->max_tgt = max_tgt;
    a->ss = malloc((size_t)max_src * 3 * sizeof(int));
    a->ts = malloc((size_t)max_tgt * 3 * sizeof(int));
    a->links = malloc((size_t)max_tgt * sizeof *a->links);
    if (!a->ss || !a->ts || !a->links) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    a->se = a->ss + max_src;
    a->sw = a->se + max_src;
    a->te = a->ts + max_tgt;
    a->tw = a->te + max_tgt;
    return 0;
}

void cli_align_close(cli_align *a)
{
    free(a->ss);
    free(a->ts);
    free(a->links);
    free(a->text);
    memset(a, 0, sizeof *a);
}

/* Sets the byte span of each of ids (n) in text (len bytes) by matching the tokens' bytes in
 * order: a token whose bytes are not next in the text (special tokens, unless shown) gets -1. */
static void spans(const cli_align *a, int *start, int *end, const int32_t *ids, int n,
                  const char *text, size_t len)
{
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        size_t tl = 0;
        const char *b = a->special || !tok_is_special(a->tok, ids[i])
                            ? tok_token_bytes(a->tok, ids[i], &tl) : NULL;
        start[i] = end[i] = -1;
        if (b && tl > 0 && pos + tl <= len && memcmp(text + pos, b, tl) == 0) {
            start[i] = (int)pos;
            end[i] = (int)(pos + tl);
            pos += tl;
        }
    }
}

/* With ids and no tokenizer: every token is a word. */
static void token_words(int *word, int n)
{
    for (int i = 0; i < n; i++)
        word[i] = i;
}

int cli_align_output(cli_align *a, const char *text, size_t len, const int32_t *src, int n_src,
                     const int32_t *out, int n_out, const float *att, size_t stride)
{
    if (n_src > a->max_src)
        n_src = a->max_src;
    if (n_out > a->max_tgt)
        n_out = a->max_tgt;
    if (!a->tok) {
        token_words(a->sw, n_src);
        token_words(a->tw, n_out);
    } else {
        spans(a, a->ss, a->se, src, n_src, text, len);
        al_token_words(a->sw, a->ss, a->se, n_src, text, len);
        size_t need = 0;
        for (int i = 0; i < n_out; i++) {
            size_t tl = 0;
            if (tok_token_bytes(a->tok, out[i], &tl))
                need += tl;
        }
        if (need + 1 > a->text_cap) {
            char *p = realloc(a->text, need + 1);
            if (!p) {
                cli_error("out of memory");
                return CLI_FAIL;
            }
            a->text = p;
            a->text_cap = need + 1;
        }
        size_t n = 0;
        for (int i = 0; i < n_out; i++) {
            size_t tl = 0;
            const char *b = a->special || !tok_is_special(a->tok, out[i])
                                ? tok_token_bytes(a->tok, out[i], &tl) : NULL;
            if (b) {
                memcpy(a->text + n, b, tl);
                n += tl;
            }
        }
        spans(a, a->ts, a->te, out, n_out, a->text, n);
        al_token_words(a->tw, a->ts, a->te, n_out, a->text, n);
    }
    a->n_links = al_hard(a->links, att, stride, a->sw, n_src, a->tw, n_out);
    return 0;
}

void cli_align_write(const al_link *links, int n, int json)
{
    if (json)
        cli_write("\"", 1);
    for (int i = 0; i < n; i++)
        cli_printf(i ? " %d-%d" : "%d-%d", links[i].src, links[i].tgt);
    if (json)
        cli_write("\"", 1);
}
