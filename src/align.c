/* align.c — word alignments from attention (see align.h): tokens to words, hard links, soft word
 * matrix. */
#include "align.h"

#include <string.h>

/* Returns 1 for the bytes that separate words. */
static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

int al_token_words(int *word_of, const int *start, const int *end, int n_tok, const char *text,
                   size_t len)
{
    /* word index of each byte is counted on the fly: tokens come in text order, but a caller's
     * tokens may skip bytes, so words are counted from the start of the text each time a token
     * begins before the last position counted */
    size_t pos = 0;
    int words = 0, in_word = 0;
    for (int i = 0; i < n_tok; i++) {
        word_of[i] = -1;
        if (start[i] < 0 || (size_t)end[i] > len || start[i] >= end[i])
            continue;
        size_t b = (size_t)start[i];
        while (b < (size_t)end[i] && is_space((unsigned char)text[b]))
            b++;
        if (b == (size_t)end[i])
            continue;
        if (b < pos) {
            pos = 0;
            words = in_word = 0;
        }
        for (; pos <= b; pos++) {
            int sp = is_space((unsigned char)text[pos]);
            if (!sp && !in_word)
                words++;
            in_word = !sp;
        }
        word_of[i] = words - 1;
    }
    int total = 0;
    in_word = 0;
    for (size_t p = 0; p < len; p++) {
        int sp = is_space((unsigned char)text[p]);
        total += !sp && !in_word;
        in_word = !sp;
    }
    return total;
}

/* Orders links by source word, then target word. */
static int link_before(al_link a, al_link b)
{
    return a.src < b.src || (a.src == b.src && a.tgt < b.tgt);
}

int al_hard(al_link *links, const float *att, size_t stride, const int *src_word, int n_src,
            const int *tgt_word, int n_tgt)
{
    int n = 0;
    for (int t = 0; t < n_tgt; t++) {
        if (tgt_word[t] < 0)
            continue;
        const float *row = att + (size_t)t * stride;
        int best = -1;
        for (int j = 0; j < n_src; j++)
            if (src_word[j] >= 0 && (best < 0 || row[j] > row[best]))
                best = j;
        if (best < 0)
            continue;
        al_link l = {src_word[best], tgt_word[t]};
        int k = n;
        while (k > 0 && link_before(l, links[k - 1]))
            k--;
        if (k > 0 && links[k - 1].src == l.src && links[k - 1].tgt == l.tgt)
            continue;
        memmove(links + k + 1, links + k, (size_t)(n - k) * sizeof *links);
        links[k] = l;
        n++;
    }
    return n;
}

void al_word_matrix(float *w, const float *att, size_t stride, const int *src_word, int n_src,
                    int n_src_words, const int *tgt_word, int n_tgt, int n_tgt_words)
{
    memset(w, 0, (size_t)n_tgt_words * n_src_words * sizeof *w);
    for (int u = 0; u < n_tgt_words; u++) {
        int count = 0;
        float *row = w + (size_t)u * n_src_words;
        for (int t = 0; t < n_tgt; t++) {
            if (tgt_word[t] != u)
                continue;
            count++;
            for (int j = 0; j < n_src; j++)
                if (src_word[j] >= 0 && src_word[j] < n_src_words)
                    row[src_word[j]] += att[(size_t)t * stride + j];
        }
        for (int v = 0; count > 1 && v < n_src_words; v++)
            row[v] /= (float)count;
    }
}
