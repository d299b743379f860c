/* bpe_file.c — byte-level BPE tokenizer files: the attn format (read and write) and tiktoken rank
 * files (read).  Formats: bpe.h. */
#include "bpe_impl.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- parsing ------------------------------------------------------------------------------ */

/* A cursor over the lines of a buffer. */
typedef struct {
    const char *p, *end;
    size_t line; /* 1-based number of the line last returned */
} lines;

/* Returns the next line (without its '\n') in *s, *len; returns 0 at the end of the buffer. */
static int next_line(lines *c, const char **s, size_t *len)
{
    if (c->p >= c->end)
        return 0;
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    const char *e = nl ? nl : c->end;
    *s = c->p;
    *len = (size_t)(e - c->p);
    c->p = nl ? nl + 1 : c->end;
    c->line++;
    return 1;
}

/* Returns the value of a hex digit, or -1. */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex s[0..len-1] into out; returns the byte count or -1 when s is not hex. */
static long unhex(char *out, const char *s, size_t len)
{
    if (len % 2)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (char)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

/* Returns 1 if line s[0..len-1] starts with word followed by one space, else 0. */
static int keyword(const char *s, size_t len, const char *word)
{
    size_t w = strlen(word);
    return len > w && memcmp(s, word, w) == 0 && s[w] == ' ';
}

/* Parses a decimal number s[0..len-1] no larger than max; returns 0 or -1. */
static int parse_size(const char *s, size_t len, size_t max, size_t *out)
{
    size_t v = 0;
    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parses the attn tokenizer format (bpe.h) into a tokenizer. */
static int parse_attn(tokenizer **out, const char *data, size_t size, char *why, size_t why_len)
{
    lines c = {data, data + size, 0};
    const char *s = NULL;
    size_t len = 0, n = 0;
    char *pattern = NULL, *bytes = NULL;
    uint32_t *off = NULL, *rank = NULL;
    uint8_t *kind = NULL;
    int rc = TOK_ERR_FORMAT;
    if (!next_line(&c, &s, &len) || len != 16 || memcmp(s, "attn-tokenizer 1", 16) != 0) {
        if (len > 15 && memcmp(s, "attn-tokenizer ", 15) == 0)
            tok_why(why, why_len, "unsupported tokenizer file version (this attn reads 1)");
        else
            tok_why(why, why_len, "not an attn tokenizer file (no 'attn-tokenizer 1' line)");
        return TOK_ERR_FORMAT;
    }
    for (;;) {
        if (!next_line(&c, &s, &len)) {
            tok_why(why, why_len, "line %zu: missing 'tokens N' line", c.line + 1);
            goto fail;
        }
        if (len > 0 && s[0] == '#')
            continue;
        if (keyword(s, len, "pattern") || keyword(s, len, "regex")) {
            int hex = s[0] == 'r';
            size_t skip = hex ? 6 : 8;
            free(pattern);
            pattern = malloc(len - skip + 1);
            if (!pattern) {
                rc = TOK_ERR_NOMEM;
                tok_why(why, why_len, "out of memory");
                goto fail;
            }
            if (hex) {
                long m = unhex(pattern, s + skip, len - skip);
                if (m <= 0 || memchr(pattern, 0, (size_t)m)) {
                    tok_why(why, why_len, "line %zu: bad hex in 'regex'", c.line);
                    goto fail;
                }
                pattern[m] = 0;
            } else {
                memcpy(pattern, s + skip, len - skip);
                pattern[len - skip] = 0;
                if (strcmp(pattern, "gpt2") && strcmp(pattern, "cl100k") &&
                    strcmp(pattern, "o200k")) {
                    tok_why(why, why_len, "line %zu: unknown pattern name '%.40s'", c.line,
                            pattern);
                    goto fail;
                }
            }
            continue;
        }
        if (keyword(s, len, "tokens")) {
            if (parse_size(s + 7, len - 7, BPE_MAX_IDS, &n) < 0 || n < 256) {
                tok_why(why, why_len, "line %zu: bad token count (256 to %u)", c.line, BPE_MAX_IDS);
                goto fail;
            }
            break;
        }
        tok_why(why, why_len, "line %zu: unexpected line", c.line);
        goto fail;
    }
    if (!pattern) {
        tok_why(why, why_len, "no 'pattern' or 'regex' line");
        goto fail;
    }
    bytes = malloc(size / 2 + 1); /* each token byte takes two hex digits in the file */
    off = malloc((n + 1) * sizeof *off);
    kind = malloc(n);
    rank = malloc(n * sizeof *rank);
    if (!bytes || !off || !kind || !rank) {
        rc = TOK_ERR_NOMEM;
        tok_why(why, why_len, "out of memory");
        goto fail;
    }
    size_t used = 0;
    for (size_t id = 0; id < n; id++) {
        if (!next_line(&c, &s, &len)) {
            tok_why(why, why_len, "file ends after %zu of %zu tokens", id, n);
            goto fail;
        }
        off[id] = (uint32_t)used;
        kind[id] = ID_NORMAL;
        rank[id] = (uint32_t)id;
        if (len == 1 && s[0] == '-') {
            kind[id] = ID_UNUSED;
            continue;
        }
        if (len > 0 && s[0] == '!') {
            kind[id] = ID_SPECIAL;
            s++;
            len--;
        }
        const char *sp = memchr(s, ' ', len);
        if (sp && kind[id] == ID_NORMAL) {
            size_t r;
            if (parse_size(sp + 1, len - (size_t)(sp - s) - 1, UINT32_MAX - 1, &r) < 0) {
                tok_why(why, why_len, "line %zu: bad rank of token %zu", c.line, id);
                goto fail;
            }
            rank[id] = (uint32_t)r;
            len = (size_t)(sp - s);
        }
        long m = unhex(bytes + used, s, len);
        if (m <= 0) {
            tok_why(why, why_len, "line %zu: token %zu is not non-empty hex", c.line, id);
            goto fail;
        }
        used += (size_t)m;
    }
    off[n] = (uint32_t)used;
    if (!next_line(&c, &s, &len) || len != 3 || memcmp(s, "end", 3) != 0) {
        tok_why(why, why_len, "line %zu: expected 'end' after the tokens", c.line);
        goto fail;
    }
    if (c.p != c.end) {
        tok_why(why, why_len, "line %zu: data after 'end'", c.line + 1);
        goto fail;
    }
    rc = bpe_build(out, n, bytes, off, kind, rank, pattern, why, why_len);
    free(pattern);
    return rc;
fail:
    free(pattern);
    free(bytes);
    free(off);
    free(kind);
    free(rank);
    return rc;
}

/* The value of each base64 digit plus 1 (0: not a digit). */
static const unsigned char b64[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
    ['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
    ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
    ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
    ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
    ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
    ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
    ['/'] = 64,
};

/* Decodes padded base64 s[0..len-1] into out; returns the byte count or -1. */
static long unbase64(char *out, const char *s, size_t len)
{
    if (len == 0 || len % 4)
        return -1;
    const unsigned char *u = (const unsigned char *)s;
    int pad = (u[len - 1] == '=') + (u[len - 2] == '=' && u[len - 1] == '=');
    long n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        unsigned v0 = b64[u[i]], v1 = b64[u[i + 1]];
        unsigned v2 = last && pad == 2 ? 1 : b64[u[i + 2]];
        unsigned v3 = last && pad >= 1 ? 1 : b64[u[i + 3]];
        if (!v0 || !v1 || !v2 || !v3)
            return -1;
        uint32_t w = (v0 - 1) << 18 | (v1 - 1) << 12 | (v2 - 1) << 6 | (v3 - 1);
        out[n++] = (char)(w >> 16);
        if (!last || pad < 2)
            out[n++] = (char)(w >> 8);
        if (!last || pad < 1)
            out[n++] = (char)w;
    }
    return n;
}

int bpe_open_tiktoken(tokenizer **out, const void *data, size_t size, const char *pattern,
                      const char *const *specials, size_t n_specials, char *why, size_t why_len)
{
    *out = NULL;
    const char *d = data ? data : "";
    lines c = {d, d + size, 0};
    const char *s;
    size_t len, n = 0, lines_n = 0;
    for (const char *p = d, *e = d + size; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        lines_n++;
    lines_n++;
    /* pass 1: the largest id */
    for (size_t i = 0; i < n_specials; i++) {
        const char *eq = strrchr(specials[i], '=');
        size_t id;
        if (!eq || eq == specials[i] ||
            parse_size(eq + 1, strlen(eq + 1), BPE_MAX_IDS - 1, &id) < 0) {
            tok_why(why, why_len, "special token '%.40s' is not TEXT=ID", specials[i]);
            return TOK_ERR_ARG;
        }
        if (id + 1 > n)
            n = id + 1;
    }
    size_t *rank = malloc(lines_n * sizeof *rank);
    const char **tok = malloc(lines_n * sizeof *tok);
    size_t *tlen = malloc(lines_n * sizeof *tlen);
    char *bytes = NULL;
    uint32_t *off = NULL;
    uint8_t *kind = NULL;
    int rc = TOK_ERR_NOMEM;
    size_t m = 0;
    if (!rank || !tok || !tlen) {
        tok_why(why, why_len, "out of memory");
        goto fail;
    }
    rc = TOK_ERR_FORMAT;
    while (next_line(&c, &s, &len)) {
        if (len == 0 && c.p == c.end)
            break;
        const char *sp = memchr(s, ' ', len);
        if (!sp || parse_size(sp + 1, len - (size_t)(sp - s) - 1, BPE_MAX_IDS - 1, &rank[m]) < 0 ||
            sp == s) {
            tok_why(why, why_len, "line %zu: not 'BASE64 RANK'", c.line);
            goto fail;
        }
        tok[m] = s;
        tlen[m] = (size_t)(sp - s);
        m++;
    }
    if (m < 256) {
        tok_why(why, why_len, "fewer than 256 ranks");
        goto fail;
    }
    for (size_t i = 0; i < m; i++)
        if (rank[i] + 1 > n)
            n = rank[i] + 1;
    rc = TOK_ERR_NOMEM;
    bytes = malloc(size + 1);
    off = malloc((n + 1) * sizeof *off);
    kind = malloc(n ? n : 1);
    int32_t *where = malloc((n ? n : 1) * sizeof *where); /* line of each id or -1 */
    if (!bytes || !off || !kind || !where) {
        free(where);
        tok_why(why, why_len, "out of memory");
        goto fail;
    }
    memset(where, 0xff, n * sizeof *where);
    rc = TOK_ERR_FORMAT;
    for (size_t i = 0; i < m; i++) {
        if (where[rank[i]] >= 0) {
            free(where);
            tok_why(why, why_len, "rank %zu appears twice", rank[i]);
            goto fail;
        }
        where[rank[i]] = (int32_t)i;
    }
    for (size_t i = 0; i < n_specials; i++) {
        size_t id = 0;
        const char *eq = strrchr(specials[i], '=');
        parse_size(eq + 1, strlen(eq + 1), BPE_MAX_IDS - 1, &id);
        if (where[id] != -1) {
            free(where);
            tok_why(why, why_len, "special token id %zu is already a token", id);
            goto fail;
        }
        where[id] = (int32_t)(-2 - (long)i);
    }
    size_t used = 0;
    for (size_t id = 0; id < n; id++) {
        off[id] = (uint32_t)used;
        kind[id] = ID_UNUSED;
        if (where[id] >= 0) {
            long k = unbase64(bytes + used, tok[where[id]], tlen[where[id]]);
            if (k <= 0) {
                free(where);
                tok_why(why, why_len, "rank %zu: bad base64", id);
                goto fail;
            }
            kind[id] = ID_NORMAL;
            used += (size_t)k;
        } else if (where[id] <= -2) {
            const char *sp = specials[-2 - where[id]];
            size_t k = (size_t)(strrchr(sp, '=') - sp);
            char *nb = realloc(bytes, used + k + size + 1);
            if (!nb) {
                free(where);
                rc = TOK_ERR_NOMEM;
                tok_why(why, why_len, "out of memory");
                goto fail;
            }
            bytes = nb;
            memcpy(bytes + used, sp, k);
            kind[id] = ID_SPECIAL;
            used += k;
        }
    }
    off[n] = (uint32_t)used;
    free(where);
    free(rank);
    free(tok);
    free(tlen);
    return bpe_build(out, n, bytes, off, kind, NULL, pattern, why, why_len);
fail:
    free(rank);
    free(tok);
    free(tlen);
    free(bytes);
    free(off);
    free(kind);
    return rc;
}

int bpe_sniff(const void *data, size_t len)
{
    return len >= 15 && memcmp(data, "attn-tokenizer ", 15) == 0;
}

int bpe_open(tokenizer **out, const char *path, const void *data, size_t len, char *why,
             size_t why_len)
{
    static const char *const r50k[] = {"<|endoftext|>=50256"};
    static const char *const cl100k[] = {"<|endoftext|>=100257", "<|fim_prefix|>=100258",
                                         "<|fim_middle|>=100259", "<|fim_suffix|>=100260",
                                         "<|endofprompt|>=100276"};
    static const char *const o200k[] = {"<|endoftext|>=199999", "<|endofprompt|>=200018"};
    *out = NULL;
    if (!path || bpe_sniff(data, len))
        return parse_attn(out, data, len, why, why_len);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int rc;
    if (strstr(base, "cl100k"))
        rc = bpe_open_tiktoken(out, data, len, "cl100k", cl100k, 5, why, why_len);
    else if (strstr(base, "o200k"))
        rc = bpe_open_tiktoken(out, data, len, "o200k", o200k, 2, why, why_len);
    else
        rc = bpe_open_tiktoken(out, data, len, "gpt2", r50k, 1, why, why_len);
    if (rc == TOK_ERR_FORMAT && why && why_len) {
        char inner[256];
        snprintf(inner, sizeof inner, "%s", why);
        tok_why(why, why_len, "neither an attn tokenizer file nor a tiktoken rank file (%s)",
                inner);
    }
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------ */

int bpe_serialize(const tokenizer *base, char **buf, size_t *len)
{
    const bpe *t = as_bpe(base);
    const char *pat = t->pt.source;
    size_t need = 64 + 2 * strlen(pat) + 2 * t->off[t->n] + 14 * t->n;
    char *b = malloc(need), *p = b;
    static const char hex[] = "0123456789abcdef";
    if (!b)
        return TOK_ERR_NOMEM;
    p += sprintf(p, "attn-tokenizer 1\n%s ", t->pt.builtin ? "pattern" : "regex");
    for (const char *q = pat; *q; q++) {
        if (t->pt.builtin) {
            *p++ = *q;
        } else {
            *p++ = hex[(unsigned char)*q >> 4];
            *p++ = hex[(unsigned char)*q & 15];
        }
    }
    p += sprintf(p, "\ntokens %zu\n", t->n);
    for (size_t id = 0; id < t->n; id++) {
        if (t->kind[id] == ID_UNUSED) {
            *p++ = '-';
        } else {
            if (t->kind[id] == ID_SPECIAL)
                *p++ = '!';
            for (uint32_t i = t->off[id]; i < t->off[id + 1]; i++) {
                *p++ = hex[(unsigned char)t->bytes[i] >> 4];
                *p++ = hex[(unsigned char)t->bytes[i] & 15];
            }
            if (t->kind[id] == ID_NORMAL && t->rank[id] != id)
                p += sprintf(p, " %u", t->rank[id]);
        }
        *p++ = '\n';
    }
    memcpy(p, "end\n", 4);
    p += 4;
    *buf = b;
    *len = (size_t)(p - b);
    return TOK_OK;
}
