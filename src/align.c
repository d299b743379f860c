/* align.c — word alignments from attention (see align.h): tokens to words, hard links, soft word
 * matrix, and links carried through the repairs of an output. */
#include "align.h"

#include <string.h>

int al_is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* al_is_space on a byte of a text. */
static int is_space(char c)
{
    return al_is_space((unsigned char)c);
}

int al_count_words(const char *text, size_t len)
{
    int n = 0, in_word = 0;
    for (size_t p = 0; p < len; p++) {
        int sp = is_space(text[p]);
        n += !sp && !in_word;
        in_word = !sp;
    }
    return n;
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
        while (b < (size_t)end[i] && is_space(text[b]))
            b++;
        if (b == (size_t)end[i])
            continue;
        if (b < pos) {
            pos = 0;
            words = in_word = 0;
        }
        for (; pos <= b; pos++) {
            int sp = is_space(text[pos]);
            if (!sp && !in_word)
                words++;
            in_word = !sp;
        }
        word_of[i] = words - 1;
    }
    return al_count_words(text, len);
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
        n = al_add_link(links, n, (al_link){src_word[best], tgt_word[t]});
    }
    return n;
}

int al_add_link(al_link *links, int n, al_link l)
{
    int k = n;
    while (k > 0 && link_before(l, links[k - 1]))
        k--;
    if (k > 0 && links[k - 1].src == l.src && links[k - 1].tgt == l.tgt)
        return n;
    memmove(links + k + 1, links + k, (size_t)(n - k) * sizeof *links);
    links[k] = l;
    return n + 1;
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

int al_project(const al_link *links, int n, int b, int n_src_words, int n_tgt_words)
{
    double rel = n_src_words ? (double)b * n_tgt_words / n_src_words : 0;
    int best = 0, best_cross = -1;
    double best_off = 0;
    for (int p = 0; p <= n_tgt_words; p++) {
        int cross = 0;
        for (int i = 0; i < n; i++)
            cross += links[i].src < b ? links[i].tgt >= p : links[i].tgt < p;
        double off = p > rel ? p - rel : rel - p;
        if (best_cross < 0 || cross < best_cross || (cross == best_cross && off < best_off)) {
            best = p;
            best_cross = cross;
            best_off = off;
        }
    }
    return best;
}

/* Words of a text read front to back: the offset reached and the words begun before it. */
typedef struct word_scan {
    const char *text;
    size_t len, at;
    int words;
} word_scan;

/* Returns the word of the scanned text that holds offset o, or the next word when o is in
 * white space, or -1 when no word is left; offsets asked for must not decrease. */
static int word_at(word_scan *w, size_t o)
{
    while (o < w->len && is_space(w->text[o]))
        o++;
    if (o >= w->len)
        return -1;
    for (; w->at <= o; w->at++)
        w->words += !is_space(w->text[w->at]) && (w->at == 0 || is_space(w->text[w->at - 1]));
    return w->words - 1;
}

void al_word_map(int *map, const char *old, size_t old_len, const al_edit *ed, int n_ed,
                 const char *new_text, size_t new_len)
{
    word_scan ws = {new_text, new_len, 0, 0};
    int w = 0, e = 0;
    long shift = 0;             /* (ins - del) of the edits before ed[e] */
    size_t p = 0;
    while (p < old_len) {
        while (p < old_len && is_space(old[p]))
            p++;
        if (p == old_len)
            break;
        size_t end = p;
        while (end < old_len && !is_space(old[end]))
            end++;
        long at = -1;               /* the new offset of the word */
        for (size_t q = p; q < end && at < 0; q++) {
            for (; e < n_ed && ed[e].pos + ed[e].del <= q; e++)     /* edits before byte q */
                shift += (long)ed[e].ins - (long)ed[e].del;
            if (e < n_ed && ed[e].pos <= q) {                       /* q is deleted */
                if (ed[e].ins > 0)
                    at = (long)ed[e].pos + shift;
                continue;
            }
            at = (long)q + shift;
        }
        map[w++] = at < 0 ? -1 : word_at(&ws, (size_t)at);
        p = end;
    }
}

int al_relink(al_link *links, int n, const int *map)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        al_link l = links[i];
        if (map[l.tgt] >= 0)
            m = al_add_link(links, m, (al_link){l.src, map[l.tgt]});
    }
    return m;
}
