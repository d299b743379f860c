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
    a->sw = malloc((size_t)max_src * sizeof(int));
    a->ts = malloc((size_t)max_tgt * 3 * sizeof(int));
    a->links = malloc((size_t)max_tgt * sizeof *a->links);
    if (!a->sw || !a->ts || !a->links) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    a->te = a->ts + max_tgt;
    a->tw = a->te + max_tgt;
    return 0;
}

void cli_align_close(cli_align *a)
{
    free(a->sw);
    free(a->ts);
    free(a->links);
    free(a->text);
    free(a->orig);
    free(a->enc);
    memset(a, 0, sizeof *a);
}

size_t cli_decode_room(const tokenizer *tok, int n)
{
    return (size_t)n * (tok_max_token_bytes(tok) + 4) + 16;
}

size_t cli_decode_ids(char *out, int *start, int *end, const tokenizer *tok, int special,
                      const int32_t *ids, int n)
{
    tok_stream st;
    tok_stream_init(&st, tok);
    size_t len = 0, room = tok_max_token_bytes(tok) + 4, got;
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (start)
            start[i] = end[i] = -1;
        if (!special && tok_is_special(tok, ids[i]))
            continue;
        if (tok_stream_push(&st, out + len, room, &got, ids[i]) != TOK_OK)
            continue;
        if (start) {
            start[i] = (int)len;
            end[i] = (int)(len + got);
        }
        len += got;
        last = i;
    }
    if (tok_stream_flush(&st, out + len, 16, &got) == TOK_OK) {
        len += got;
        if (start && last >= 0)
            end[last] = (int)len;       /* the held bytes of its character */
    }
    return len;
}

/* Makes room for n ids in a->enc; returns 0 or -1. */
static int enc_room(cli_align *a, size_t n)
{
    if (n <= a->enc_cap)
        return 0;
    int32_t *p = realloc(a->enc, n * sizeof *p);
    if (!p)
        return -1;
    a->enc = p;
    a->enc_cap = n;
    return 0;
}

/* Returns the number of tokens text (len bytes) encodes to, as the source was encoded, or -1
 * when it cannot be encoded (out of memory included); the ids are left in a->enc. */
static long encode_count(cli_align *a, const char *text, size_t len)
{
    size_t n = 0;
    if (enc_room(a, len + 1) < 0 ||
        tok_encode(a->tok, a->enc, a->enc_cap, &n, text, len, a->special ? TOK_SPECIAL : 0) < 0)
        return -1;
    return (long)n;
}

/* Sets word_of[j], the word of each token of ids (n_src) that encode text (len bytes): the
 * tokens of the text are the run of ids that text encodes to (the model's bos and eos around it
 * stand outside, with -1), and the tokens of word w are those that the text up to w's end
 * encodes to beyond the text up to the word before; returns 0 or -1 (out of memory). */
static int text_words(cli_align *a, int *word_of, const char *text, size_t len,
                      const int32_t *src, int n_src)
{
    for (int j = 0; j < n_src; j++)
        word_of[j] = -1;
    long n_text = encode_count(a, text, len);
    if (n_text < 0)
        return -1;
    int off = 0;                /* where the text's tokens begin in src */
    for (; off < n_src; off++) {
        long k = 0;
        while (k < n_text && off + k < n_src && src[off + k] == a->enc[k])
            k++;
        if (k > 0 && (k == n_text || off + k == n_src))
            break;
    }
    long done = 0;              /* text tokens given a word so far */
    int w = 0;
    for (size_t p = 0; p < len && off < n_src;) {
        while (p < len && al_is_space((unsigned char)text[p]))
            p++;
        if (p == len)
            break;
        while (p < len && !al_is_space((unsigned char)text[p]))
            p++;
        long upto = encode_count(a, text, p);
        if (upto < 0)
            return -1;
        for (; done < upto && done < n_text && off + done < n_src; done++)
            word_of[off + done] = w;
        w++;
    }
    return 0;
}

/* Returns how many bytes of a cleaned-up text (len bytes, orig: their offsets before) came from
 * before offset o. */
static int cleaned_offset(const int *orig, size_t len, int o)
{
    size_t lo = 0, hi = len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (orig[mid] < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int)lo;
}

/* Strips and cleans a->text up (tok_clean_text, a->clean) and moves the byte spans a->ts, a->te
 * of its n tokens into the cleaned text. */
static void clean_text(cli_align *a, int n)
{
    size_t len = tok_clean_text(a->text, a->text_len, a->orig, a->clean);
    for (int i = 0; i < n; i++) {
        if (a->ts[i] < 0)
            continue;
        a->ts[i] = cleaned_offset(a->orig, len, a->ts[i]);
        a->te[i] = cleaned_offset(a->orig, len, a->te[i]);
    }
    a->text_len = len;
}

/* With ids and no tokenizer: every token is a word. */
static void token_words(int *word, int n)
{
    for (int i = 0; i < n; i++)
        word[i] = i;
}

int cli_align_output(cli_align *a, const char *text, size_t len, const int32_t *src, int n_src,
                     const int32_t *out, int n_out, const char *out_text, size_t out_len,
                     const float *att, size_t stride)
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
        size_t need = out_text ? out_len + 1 : cli_decode_room(a->tok, n_out);
        if (need > a->text_cap) {
            char *p = realloc(a->text, need);
            if (!p) {
                cli_error("out of memory");
                return CLI_FAIL;
            }
            a->text = p;
            if (a->clean) {
                int *o = realloc(a->orig, need * sizeof *o);
                if (!o) {
                    cli_error("out of memory");
                    return CLI_FAIL;
                }
                a->orig = o;
            }
            a->text_cap = need;
        }
        if (text_words(a, a->sw, text, len, src, n_src) < 0 ||
            (out_text && text_words(a, a->tw, out_text, out_len, out, n_out) < 0)) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        a->n_src_words = al_count_words(text, len);
        if (out_text) {
            memcpy(a->text, out_text, out_len);
            a->text_len = out_len;
            a->n_tgt_words = al_count_words(out_text, out_len);
        } else {
            a->text_len = cli_decode_ids(a->text, a->ts, a->te, a->tok, a->special, out, n_out);
            if (a->clean)
                clean_text(a, n_out);
            a->n_tgt_words = al_token_words(a->tw, a->ts, a->te, n_out, a->text, a->text_len);
        }
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
