/* pieces.c — a source too long for the model cut into pieces that each fit (see pieces.h). */
#include "pieces.h"

#include <stdlib.h>
#include <string.h>

/* Returns 1 when c is ASCII white space. */
static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Returns the bytes of the clause punctuation that ends at s + i (i bytes before it), or 0. */
static size_t clause_end(const unsigned char *s, size_t i)
{
    if (i >= 1 && strchr(".,;:!?", s[i - 1]) && s[i - 1])
        return 1;
    /* 、 (E3 80 81), ， (EF BC 8C), ； (EF BC 9B), ： (EF BC 9A) */
    if (i >= 3 && ((s[i - 3] == 0xe3 && s[i - 2] == 0x80 && s[i - 1] == 0x81) ||
                   (s[i - 3] == 0xef && s[i - 2] == 0xbc &&
                    (s[i - 1] == 0x8c || s[i - 1] == 0x9b || s[i - 1] == 0x9a))))
        return 3;
    return 0;
}

/* Picks where a piece of s that may hold up to fit bytes (0 < fit < rem) ends; returns its
 * length (at least 1). */
static size_t choose_end(const unsigned char *s, size_t fit, size_t rem)
{
    /* clause punctuation followed by white space (or a full-width mark), in the last half */
    for (size_t i = fit; i > fit / 2 && i > 0; i--) {
        size_t k = clause_end(s, i);
        if (k == 1 && i < rem && is_space(s[i]))
            return i;
        if (k == 3)
            return i;
    }
    for (size_t i = fit; i > 1; i--)
        if (i < rem && is_space(s[i]) && !is_space(s[i - 1]))
            return i;
    size_t i = fit;
    while (i > 0 && (s[i] & 0xc0) == 0x80)
        i--;
    return i > 0 ? i : fit;
}

/* Returns the bytes of the UTF-8 character at s (rem bytes left; an invalid byte is one). */
static size_t char_len(const unsigned char *s, size_t rem)
{
    size_t i = 1;
    if (s[0] >= 0xc0)
        while (i < rem && i < 4 && (s[i] & 0xc0) == 0x80)
            i++;
    return i;
}

/* Appends piece (off, len) to *out; returns 0 or -1 when out of memory. */
static int push(piece **out, size_t *cap, size_t *n, size_t off, size_t len)
{
    if (*n == *cap) {
        size_t want = *cap ? *cap * 2 : 16;
        piece *p = realloc(*out, want * sizeof *p);
        if (!p)
            return -1;
        *out = p;
        *cap = want;
    }
    (*out)[(*n)++] = (piece){off, len};
    return 0;
}

int pieces_cut(piece **out, size_t *cap, size_t *n, const char *text, size_t len, long max,
               size_t token_bytes, pieces_count_fn count, void *ctx)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t start = 0, span = (size_t)max * (token_bytes ? token_bytes : 1);
    for (;;) {
        size_t rem = len - start;
        if (rem <= span) {
            long c = count(ctx, text + start, rem);
            if (c < 0)
                return (int)c;
            if (c <= max)
                return push(out, cap, n, start, rem);
        }
        /* the longest prefix that fits (token counts grow with the prefix): doubling from
           max / 2 bytes, then halving the last step */
        size_t lo = 0, hi = rem < span ? rem : span, step = max > 2 ? (size_t)max / 2 : 1;
        while (step < hi) {
            long c = count(ctx, text + start, step);
            if (c < 0)
                return (int)c;
            if (c > max) {
                hi = step - 1;
                break;
            }
            lo = step;
            step *= 2;
        }
        while (lo < hi) {
            size_t mid = lo + (hi - lo + 1) / 2;
            long c = count(ctx, text + start, mid);
            if (c < 0)
                return (int)c;
            if (c <= max)
                lo = mid;
            else
                hi = mid - 1;
        }
        size_t end = lo > 0 ? choose_end(s + start, lo, rem) : char_len(s + start, rem);
        if (push(out, cap, n, start, end) < 0)
            return -1;
        start += end;
        while (start < len && is_space(s[start]))
            start++;
        if (start == len)
            return 0;
    }
}
