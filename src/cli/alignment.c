/* alignment.c — head choice and word alignment shared by run, score and attention (see
 * alignment.h). */
#include "alignment.h"

#include <stdlib.h>
#include <string.h>

/* Marks the items of list ("all", or comma-separated numbers 1..n, or -1..-n from the end when
 * negative is set) in use (n); returns how many, or -1 when list is not one. */
static int parse_list(char *use, int n, const char *list, int negative)
{
    memset(use, 0, (size_t)n);
    if (strcmp(list, "all") == 0) {
        memset(use, 1, (size_t)n);
        return n;
    }
    int count = 0;
    const char *p = list;
    while (*p) {
        char num[16];
        size_t k = strcspn(p, ",");
        long v;
        snprintf(num, sizeof num, "%.*s", (int)(k < 15 ? k : 15), p);
        if (k == 0 || k > 15 || cli_parse_long(num, negative ? -n : 1, n, &v) != 0 || v == 0)
            return -1;
        int i = v > 0 ? (int)v - 1 : n + (int)v;
        count += !use[i];
        use[i] = 1;
        p += k;
        if (*p == ',' && *++p == '\0')
            return -1;
    }
    return count;
}

int cli_align_mix(const char *cmd, const tf_config *c, const char *layer, const char *heads,
                  float **mix)
{
    int L = c->n_dec_layers, H = c->n_heads;
    char *use_l = calloc((size_t)L, 1), *use_h = calloc((size_t)H, 1);
    *mix = calloc((size_t)L * H, sizeof **mix);
    if (!use_l || !use_h || !*mix) {
        free(use_l);
        free(use_h);
        free(*mix);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int n_l = L - L / 2;
    if (layer)
        n_l = parse_list(use_l, L, layer, 1);
    else
        memset(use_l + L / 2, 1, (size_t)n_l);     /* the default: the upper half */
    int n_h = parse_list(use_h, H, heads ? heads : "all", 0);
    int rc = 0;
    if (n_l < 0)
        rc = cli_usage_error(cmd, "--align-layer: '%s' is not 'all' or a list of layers 1..%d "
                             "(-1..-%d from the last)", layer, L, L);
    else if (n_h < 0)
        rc = cli_usage_error(cmd, "--align-heads: '%s' is not 'all' or a list of heads 1..%d",
                             heads, H);
    for (int l = 0; rc == 0 && l < L; l++)
        for (int h = 0; h < H; h++)
            (*mix)[l * H + h] = use_l[l] && use_h[h] ? 1.0f / (float)(n_l * n_h) : 0.0f;
    free(use_l);
    free(use_h);
    if (rc) {
        free(*mix);
        *mix = NULL;
    }
    return rc;
}

int cli_align_attach(const char *cmd, eng_run *r, const tf_config *c, const char *layer,
                     const char *heads)
{
    float *mix;
    int rc = cli_align_mix(cmd, c, layer, heads, &mix);
    if (rc)
        return rc;
    rc = eng_run_attention(r, mix, 1, 0);
    free(mix);
    if (rc < 0) {
        cli_error("%s: %s", cmd, attn_strerror(rc));
        return CLI_FAIL;
    }
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
    a->text_len = 0;
    if (!a->tok) {
        token_words(a->sw, n_src);
        token_words(a->tw, n_out);
        a->n_src_words = n_src;
        a->n_tgt_words = n_out;
    } else {
        spans(a, a->ss, a->se, src, n_src, text, len);
        a->n_src_words = al_token_words(a->sw, a->ss, a->se, n_src, text, len);
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
        a->n_tgt_words = al_token_words(a->tw, a->ts, a->te, n_out, a->text, n);
        a->text_len = n;
    }
    a->n_links = att ? al_hard(a->links, att, stride, a->sw, n_src, a->tw, n_out) : 0;
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
