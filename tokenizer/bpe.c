/* bpe.c — the tokenizer: token table, file formats (attn, tiktoken), encoding, decoding and the
 * streaming decoder.  Format and contracts: bpe.h. */
#include "bpe_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_IDS (1u << 24)
#define SMALL_PIECE 24      /* pieces up to this many bytes merge with the quadratic scan */
#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_PIECE 64
#define CACHE_BYTES (1u << 20)   /* cached piece bytes */
#define CACHE_IDS (1u << 18)     /* cached ids */
#define ONE_SHOT_CACHE (1u << 16) /* bpe_encode uses a piece cache from this many bytes on */

/* ---- status ------------------------------------------------------------------------------- */

const char *bpe_strerror(int status)
{
    switch (status) {
    case BPE_OK: return "success";
    case BPE_ERR_NOMEM: return "out of memory";
    case BPE_ERR_IO: return "input/output error";
    case BPE_ERR_FORMAT: return "malformed tokenizer file";
    case BPE_ERR_PATTERN: return "invalid pre-tokenizer pattern";
    case BPE_ERR_SPACE: return "output buffer too small";
    case BPE_ERR_ID: return "token id out of range";
    case BPE_ERR_MATCH: return "pattern matching failed";
    case BPE_ERR_ARG: return "invalid argument";
    default: return "unknown status";
    }
}

/* ---- building the table ------------------------------------------------------------------- */

/* Returns the token length of id. */
static inline size_t tok_len(const bpe *t, size_t id)
{
    return t->off[id + 1] - t->off[id];
}

/* Sorts the special ids by decreasing text length (longest match first); insertion sort. */
static void sort_specials(bpe *t)
{
    for (size_t i = 1; i < t->n_special; i++) {
        int32_t x = t->special[i];
        size_t j = i;
        while (j > 0 && tok_len(t, (size_t)t->special[j - 1]) < tok_len(t, (size_t)x)) {
            t->special[j] = t->special[j - 1];
            j--;
        }
        t->special[j] = x;
    }
}

int bpe_build(bpe **out, size_t n, char *bytes, uint32_t *off, uint8_t *kind, uint32_t *rank,
              const char *pattern, char *why, size_t why_len)
{
    *out = NULL;
    bpe *t = calloc(1, sizeof *t);
    if (!rank && (rank = malloc((n ? n : 1) * sizeof *rank)) != NULL)
        for (size_t i = 0; i < n; i++)
            rank[i] = (uint32_t)i;
    if (!t || !rank) {
        free(t);
        free(bytes);
        free(off);
        free(kind);
        free(rank);
        bpe_why(why, why_len, "out of memory");
        return BPE_ERR_NOMEM;
    }
    t->n = n;
    t->bytes = bytes;
    t->off = off;
    t->kind = kind;
    t->rank = rank;
    int rc = BPE_ERR_NOMEM;
    size_t cap = 1024;
    while (cap < 2 * n)
        cap *= 2;
    t->normal.slot = malloc(cap * sizeof *t->normal.slot);
    t->special = malloc((n ? n : 1) * sizeof *t->special);
    if (!t->normal.slot || !t->special) {
        bpe_why(why, why_len, "out of memory");
        goto fail;
    }
    memset(t->normal.slot, 0xff, cap * sizeof *t->normal.slot);
    t->normal.mask = cap - 1;
    for (int b = 0; b < 256; b++)
        t->byte_id[b] = -1;
    rc = BPE_ERR_FORMAT;
    for (size_t id = 0; id < n; id++) {
        size_t len = tok_len(t, id);
        const char *s = t->bytes + t->off[id];
        if (kind[id] == TOK_UNUSED)
            continue;
        if (len == 0) {
            bpe_why(why, why_len, "token %zu is empty", id);
            goto fail;
        }
        if (len > t->max_len)
            t->max_len = len;
        if (kind[id] == TOK_SPECIAL) {
            if (bpe_special_id(t, s, len) >= 0) {
                bpe_why(why, why_len, "special token %zu repeats an earlier one", id);
                goto fail;
            }
            t->special[t->n_special++] = (int32_t)id;
            t->special_first[(unsigned char)s[0]] = 1;
            continue;
        }
        uint64_t h = bpe_hash(s, len);
        size_t i = h & t->normal.mask;
        while (t->normal.slot[i].id >= 0) {
            int32_t o = t->normal.slot[i].id;
            if (tok_len(t, (size_t)o) == len && memcmp(t->bytes + t->off[o], s, len) == 0) {
                bpe_why(why, why_len, "token %zu repeats token %d", id, (int)o);
                goto fail;
            }
            i = (i + 1) & t->normal.mask;
        }
        t->normal.slot[i] = (strmap_slot){bpe_head(s, len), (int32_t)id, (uint32_t)len};
        if (len == 1)
            t->byte_id[(unsigned char)s[0]] = (int32_t)id;
    }
    for (int b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) {
            bpe_why(why, why_len, "no token for the single byte 0x%02x", b);
            goto fail;
        }
    sort_specials(t);
    rc = pretok_compile(&t->pt, pattern, why, why_len);
    if (rc < 0)
        goto fail;
    *out = t;
    return BPE_OK;
fail:
    bpe_free(t);
    return rc;
}

void bpe_free(bpe *t)
{
    if (!t)
        return;
    free(t->bytes);
    free(t->off);
    free(t->kind);
    free(t->rank);
    free(t->normal.slot);
    free(t->special);
    pretok_free(&t->pt);
    free(t);
}

int bpe_set_pattern(bpe *t, const char *pattern, char *why, size_t why_len)
{
    pretok pt;
    int rc = pretok_compile(&pt, pattern, why, why_len);
    if (rc < 0)
        return rc;
    pretok_free(&t->pt);
    t->pt = pt;
    return BPE_OK;
}

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
static int parse_attn(bpe **out, const char *data, size_t size, char *why, size_t why_len)
{
    lines c = {data, data + size, 0};
    const char *s = NULL;
    size_t len = 0, n = 0;
    char *pattern = NULL, *bytes = NULL;
    uint32_t *off = NULL, *rank = NULL;
    uint8_t *kind = NULL;
    int rc = BPE_ERR_FORMAT;
    if (!next_line(&c, &s, &len) || len != 16 || memcmp(s, "attn-tokenizer 1", 16) != 0) {
        if (len > 15 && memcmp(s, "attn-tokenizer ", 15) == 0)
            bpe_why(why, why_len, "unsupported tokenizer file version (this attn reads 1)");
        else
            bpe_why(why, why_len, "not an attn tokenizer file (no 'attn-tokenizer 1' line)");
        return BPE_ERR_FORMAT;
    }
    for (;;) {
        if (!next_line(&c, &s, &len)) {
            bpe_why(why, why_len, "line %zu: missing 'tokens N' line", c.line + 1);
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
                rc = BPE_ERR_NOMEM;
                bpe_why(why, why_len, "out of memory");
                goto fail;
            }
            if (hex) {
                long m = unhex(pattern, s + skip, len - skip);
                if (m <= 0 || memchr(pattern, 0, (size_t)m)) {
                    bpe_why(why, why_len, "line %zu: bad hex in 'regex'", c.line);
                    goto fail;
                }
                pattern[m] = 0;
            } else {
                memcpy(pattern, s + skip, len - skip);
                pattern[len - skip] = 0;
                if (strcmp(pattern, "gpt2") && strcmp(pattern, "cl100k") && strcmp(pattern, "o200k")) {
                    bpe_why(why, why_len, "line %zu: unknown pattern name '%.40s'", c.line, pattern);
                    goto fail;
                }
            }
            continue;
        }
        if (keyword(s, len, "tokens")) {
            if (parse_size(s + 7, len - 7, MAX_IDS, &n) < 0 || n < 256) {
                bpe_why(why, why_len, "line %zu: bad token count (256 to %u)", c.line, MAX_IDS);
                goto fail;
            }
            break;
        }
        bpe_why(why, why_len, "line %zu: unexpected line", c.line);
        goto fail;
    }
    if (!pattern) {
        bpe_why(why, why_len, "no 'pattern' or 'regex' line");
        goto fail;
    }
    bytes = malloc(size / 2 + 1); /* each token byte takes two hex digits in the file */
    off = malloc((n + 1) * sizeof *off);
    kind = malloc(n);
    rank = malloc(n * sizeof *rank);
    if (!bytes || !off || !kind || !rank) {
        rc = BPE_ERR_NOMEM;
        bpe_why(why, why_len, "out of memory");
        goto fail;
    }
    size_t used = 0;
    for (size_t id = 0; id < n; id++) {
        if (!next_line(&c, &s, &len)) {
            bpe_why(why, why_len, "file ends after %zu of %zu tokens", id, n);
            goto fail;
        }
        off[id] = (uint32_t)used;
        kind[id] = TOK_NORMAL;
        rank[id] = (uint32_t)id;
        if (len == 1 && s[0] == '-') {
            kind[id] = TOK_UNUSED;
            continue;
        }
        if (len > 0 && s[0] == '!') {
            kind[id] = TOK_SPECIAL;
            s++;
            len--;
        }
        const char *sp = memchr(s, ' ', len);
        if (sp && kind[id] == TOK_NORMAL) {
            size_t r;
            if (parse_size(sp + 1, len - (size_t)(sp - s) - 1, UINT32_MAX - 1, &r) < 0) {
                bpe_why(why, why_len, "line %zu: bad rank of token %zu", c.line, id);
                goto fail;
            }
            rank[id] = (uint32_t)r;
            len = (size_t)(sp - s);
        }
        long m = unhex(bytes + used, s, len);
        if (m <= 0) {
            bpe_why(why, why_len, "line %zu: token %zu is not non-empty hex", c.line, id);
            goto fail;
        }
        used += (size_t)m;
    }
    off[n] = (uint32_t)used;
    if (!next_line(&c, &s, &len) || len != 3 || memcmp(s, "end", 3) != 0) {
        bpe_why(why, why_len, "line %zu: expected 'end' after the tokens", c.line);
        goto fail;
    }
    if (c.p != c.end) {
        bpe_why(why, why_len, "line %zu: data after 'end'", c.line + 1);
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

int bpe_open_mem(bpe **out, const void *data, size_t len, char *why, size_t why_len)
{
    *out = NULL;
    if (!data && len)
        return BPE_ERR_ARG;
    return parse_attn(out, data ? data : "", len, why, why_len);
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

int bpe_open_tiktoken(bpe **out, const void *data, size_t size, const char *pattern,
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
        if (!eq || eq == specials[i] || parse_size(eq + 1, strlen(eq + 1), MAX_IDS - 1, &id) < 0) {
            bpe_why(why, why_len, "special token '%.40s' is not TEXT=ID", specials[i]);
            return BPE_ERR_ARG;
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
    int rc = BPE_ERR_NOMEM;
    size_t m = 0;
    if (!rank || !tok || !tlen) {
        bpe_why(why, why_len, "out of memory");
        goto fail;
    }
    rc = BPE_ERR_FORMAT;
    while (next_line(&c, &s, &len)) {
        if (len == 0 && c.p == c.end)
            break;
        const char *sp = memchr(s, ' ', len);
        if (!sp || parse_size(sp + 1, len - (size_t)(sp - s) - 1, MAX_IDS - 1, &rank[m]) < 0 ||
            sp == s) {
            bpe_why(why, why_len, "line %zu: not 'BASE64 RANK'", c.line);
            goto fail;
        }
        tok[m] = s;
        tlen[m] = (size_t)(sp - s);
        if (rank[m] + 1 > n)
            n = rank[m] + 1;
        m++;
    }
    rc = BPE_ERR_NOMEM;
    bytes = malloc(size + 1);
    off = malloc((n + 1) * sizeof *off);
    kind = malloc(n ? n : 1);
    int32_t *where = malloc((n ? n : 1) * sizeof *where); /* line of each id or -1 */
    if (!bytes || !off || !kind || !where) {
        free(where);
        bpe_why(why, why_len, "out of memory");
        goto fail;
    }
    memset(where, 0xff, n * sizeof *where);
    rc = BPE_ERR_FORMAT;
    for (size_t i = 0; i < m; i++) {
        if (where[rank[i]] >= 0) {
            free(where);
            bpe_why(why, why_len, "rank %zu appears twice", rank[i]);
            goto fail;
        }
        where[rank[i]] = (int32_t)i;
    }
    for (size_t i = 0; i < n_specials; i++) {
        size_t id = 0;
        const char *eq = strrchr(specials[i], '=');
        parse_size(eq + 1, strlen(eq + 1), MAX_IDS - 1, &id);
        if (where[id] != -1) {
            free(where);
            bpe_why(why, why_len, "special token id %zu is already a token", id);
            goto fail;
        }
        where[id] = (int32_t)(-2 - (long)i);
    }
    size_t used = 0;
    if (n < 256) {
        free(where);
        bpe_why(why, why_len, "fewer than 256 ranks");
        goto fail;
    }
    for (size_t id = 0; id < n; id++) {
        off[id] = (uint32_t)used;
        kind[id] = TOK_UNUSED;
        if (where[id] >= 0) {
            long k = unbase64(bytes + used, tok[where[id]], tlen[where[id]]);
            if (k <= 0) {
                free(where);
                bpe_why(why, why_len, "rank %zu: bad base64", id);
                goto fail;
            }
            kind[id] = TOK_NORMAL;
            used += (size_t)k;
        } else if (where[id] <= -2) {
            const char *sp = specials[-2 - where[id]];
            size_t k = (size_t)(strrchr(sp, '=') - sp);
            char *nb = realloc(bytes, used + k + size + 1);
            if (!nb) {
                free(where);
                rc = BPE_ERR_NOMEM;
                bpe_why(why, why_len, "out of memory");
                goto fail;
            }
            bytes = nb;
            memcpy(bytes + used, sp, k);
            kind[id] = TOK_SPECIAL;
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

/* Reads a whole file into a malloc'd buffer; returns a status with errno set on BPE_ERR_IO. */
static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return BPE_ERR_IO;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) {
            fclose(f);
            return BPE_ERR_NOMEM;
        }
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(b, cap);
        if (!nb)
            free(b);
        b = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        errno = EIO;
        return BPE_ERR_IO;
    }
    *buf = b;
    *len = n;
    return BPE_OK;
}

int bpe_open(bpe **out, const char *path, char *why, size_t why_len)
{
    *out = NULL;
    char *buf;
    size_t len;
    int rc = read_file(path, &buf, &len);
    if (rc < 0) {
        bpe_why(why, why_len, "%s", rc == BPE_ERR_IO ? strerror(errno) : bpe_strerror(rc));
        return rc;
    }
    if (len >= 15 && memcmp(buf, "attn-tokenizer ", 15) == 0) {
        rc = parse_attn(out, buf, len, why, why_len);
    } else {
        static const char *const r50k[] = {"<|endoftext|>=50256"};
        static const char *const cl100k[] = {"<|endoftext|>=100257", "<|fim_prefix|>=100258",
                                             "<|fim_middle|>=100259", "<|fim_suffix|>=100260",
                                             "<|endofprompt|>=100276"};
        static const char *const o200k[] = {"<|endoftext|>=199999", "<|endofprompt|>=200018"};
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strstr(base, "cl100k"))
            rc = bpe_open_tiktoken(out, buf, len, "cl100k", cl100k, 5, why, why_len);
        else if (strstr(base, "o200k"))
            rc = bpe_open_tiktoken(out, buf, len, "o200k", o200k, 2, why, why_len);
        else
            rc = bpe_open_tiktoken(out, buf, len, "gpt2", r50k, 1, why, why_len);
        if (rc == BPE_ERR_FORMAT && why && why_len) {
            char inner[256];
            snprintf(inner, sizeof inner, "%s", why);
            bpe_why(why, why_len, "neither an attn tokenizer file nor a tiktoken rank file (%s)",
                    inner);
        }
    }
    free(buf);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------ */

int bpe_serialize(const bpe *t, char **buf, size_t *len)
{
    const char *pat = t->pt.source;
    size_t need = 64 + 2 * strlen(pat) + 2 * t->off[t->n] + 14 * t->n;
    char *b = malloc(need), *p = b;
    static const char hex[] = "0123456789abcdef";
    if (!b)
        return BPE_ERR_NOMEM;
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
        if (t->kind[id] == TOK_UNUSED) {
            *p++ = '-';
        } else {
            if (t->kind[id] == TOK_SPECIAL)
                *p++ = '!';
            for (uint32_t i = t->off[id]; i < t->off[id + 1]; i++) {
                *p++ = hex[(unsigned char)t->bytes[i] >> 4];
                *p++ = hex[(unsigned char)t->bytes[i] & 15];
            }
            if (t->kind[id] == TOK_NORMAL && t->rank[id] != id)
                p += sprintf(p, " %u", t->rank[id]);
        }
        *p++ = '\n';
    }
    memcpy(p, "end\n", 4);
    p += 4;
    *buf = b;
    *len = (size_t)(p - b);
    return BPE_OK;
}

int bpe_save(const bpe *t, const char *path)
{
    char *buf;
    size_t len;
    int rc = bpe_serialize(t, &buf, &len);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return BPE_ERR_IO;
    }
    size_t w = fwrite(buf, 1, len, f);
    free(buf);
    int bad = w != len || ferror(f);
    if (fclose(f) != 0 || bad)
        return BPE_ERR_IO;
    return BPE_OK;
}

/* ---- lookups ------------------------------------------------------------------------------ */

size_t bpe_vocab_size(const bpe *t)
{
    return t->n;
}

const char *bpe_pattern(const bpe *t)
{
    return t->pt.source;
}

const char *bpe_token_bytes(const bpe *t, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= t->n || t->kind[id] == TOK_UNUSED)
        return NULL;
    *len = tok_len(t, (size_t)id);
    return t->bytes + t->off[id];
}

int bpe_is_special(const bpe *t, int32_t id)
{
    return id >= 0 && (size_t)id < t->n && t->kind[id] == TOK_SPECIAL;
}

int32_t bpe_special_id(const bpe *t, const char *s, size_t len)
{
    for (size_t i = 0; i < t->n_special; i++) {
        int32_t id = t->special[i];
        if (tok_len(t, (size_t)id) == len && memcmp(t->bytes + t->off[id], s, len) == 0)
            return id;
    }
    return -1;
}

int32_t bpe_token_id(const bpe *t, const char *s, size_t len)
{
    return len ? bpe_lookup(t, s, len) : -1;
}

size_t bpe_max_token_bytes(const bpe *t)
{
    return t->max_len;
}

/* ---- encoding ----------------------------------------------------------------------------- */

typedef struct {
    uint64_t key;       /* rank << 32 | id of the merged token */
    uint32_t left, end; /* pair (left node, its right neighbour) spanning [left, end) */
} heap_ent;

typedef struct {
    uint64_t hash;
    uint32_t key, key_len, ids, n_ids; /* offsets into the cache arenas */
} cache_ent;

struct bpe_encoder {
    const bpe *t;
    pretok_iter it;
    size_t cap;         /* piece length the scratch arrays hold */
    uint32_t *next;     /* (cap + 1) next part start, per part start */
    int32_t *id;        /* (cap) token of the part starting here */
    uint32_t *prev;     /* (cap) start of the previous part, per part start */
    heap_ent *heap;     /* (3 * cap) */
    cache_ent *cache;   /* (CACHE_SLOTS) */
    size_t cache_used;
    char *ckeys;        /* (CACHE_BYTES) cached piece bytes */
    int32_t *cids;      /* (CACHE_IDS) cached ids */
    size_t ckeys_used, cids_used;
};

/* Appends id to the output (counting past cap). */
static inline void emit(int32_t *ids, size_t cap, size_t *n, int32_t id)
{
    if (*n < cap)
        ids[*n] = id;
    (*n)++;
}

/* Makes the scratch arrays hold a piece of len bytes; returns a status. */
static int reserve(bpe_encoder *e, size_t len)
{
    if (len <= e->cap)
        return BPE_OK;
    size_t cap = e->cap ? e->cap : 256;
    while (cap < len)
        cap *= 2;
    uint32_t *next = realloc(e->next, (cap + 1) * sizeof *next);
    if (next)
        e->next = next;
    int32_t *id = realloc(e->id, cap * sizeof *id);
    if (id)
        e->id = id;
    uint32_t *prev = realloc(e->prev, cap * sizeof *prev);
    if (prev)
        e->prev = prev;
    heap_ent *heap = realloc(e->heap, 3 * cap * sizeof *heap);
    if (heap)
        e->heap = heap;
    if (!next || !id || !prev || !heap)
        return BPE_ERR_NOMEM;
    e->cap = cap;
    return BPE_OK;
}

/* Returns the merge key of bytes [a, b) of s (rank << 32 | id: lower merges first), or
 * UINT64_MAX when they are not a token. */
static inline uint64_t pair_key(const bpe *t, const char *s, uint32_t a, uint32_t b)
{
    int32_t id = bpe_lookup(t, s + a, b - a);
    return id < 0 ? UINT64_MAX : (uint64_t)t->rank[id] << 32 | (uint32_t)id;
}

/* Merges a short piece by scanning for the lowest-rank pair each round (quadratic, small n);
 * leaves the parts in e->next / e->id from offset 0. */
static void merge_small(bpe_encoder *e, const char *s, uint32_t n)
{
    const bpe *t = e->t;
    uint32_t pos[SMALL_PIECE + 1];
    uint64_t rank[SMALL_PIECE]; /* merge key of the pair starting at each part */
    int32_t id[SMALL_PIECE];
    uint32_t m = n;
    for (uint32_t i = 0; i <= n; i++)
        pos[i] = i;
    for (uint32_t i = 0; i < n; i++) {
        id[i] = t->byte_id[(unsigned char)s[i]];
        rank[i] = i + 1 < n ? pair_key(t, s, i, i + 2) : UINT64_MAX;
    }
    for (;;) {
        uint64_t best = UINT64_MAX;
        uint32_t bi = 0;
        for (uint32_t i = 0; i + 1 < m; i++)
            if (rank[i] < best) {
                best = rank[i];
                bi = i;
            }
        if (best == UINT64_MAX)
            break;
        id[bi] = (int32_t)(uint32_t)best;
        memmove(pos + bi + 1, pos + bi + 2, (m - bi - 1) * sizeof *pos);
        memmove(id + bi + 1, id + bi + 2, (m - bi - 2) * sizeof *id);
        memmove(rank + bi + 1, rank + bi + 2, (m - bi - 2) * sizeof *rank);
        m--;
        rank[bi] = bi + 1 < m ? pair_key(t, s, pos[bi], pos[bi + 2]) : UINT64_MAX;
        if (bi > 0)
            rank[bi - 1] = pair_key(t, s, pos[bi - 1], pos[bi + 1]);
    }
    for (uint32_t i = 0; i < m; i++) {
        e->next[pos[i]] = pos[i + 1];
        e->id[pos[i]] = id[i];
    }
}

/* Returns 1 if heap entry a comes before b (lower rank, then leftmost). */
static inline int heap_less(heap_ent a, heap_ent b)
{
    return a.key < b.key || (a.key == b.key && a.left < b.left);
}

/* Pushes an entry onto the min-heap of h[0..*n-1]. */
static void heap_push(heap_ent *h, size_t *n, heap_ent x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(x, h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

/* Removes and returns the smallest entry of the non-empty heap h[0..*n-1]. */
static heap_ent heap_pop(heap_ent *h, size_t *n)
{
    heap_ent top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && heap_less(h[c + 1], h[c]))
            c++;
        if (!heap_less(h[c], x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

/* Merges a long piece with a heap of candidate pairs and lazy invalidation: O(n log n).
 * Leaves the parts in e->next / e->id (a part starting at i ends at e->next[i]). */
static void merge_large(bpe_encoder *e, const char *s, uint32_t n)
{
    const bpe *t = e->t;
    uint32_t *next = e->next;
    int32_t *id = e->id;
    uint32_t *prev = e->prev;
    size_t hn = 0;
    for (uint32_t i = 0; i < n; i++) {
        next[i] = i + 1;
        prev[i] = i ? i - 1 : UINT32_MAX;
        id[i] = t->byte_id[(unsigned char)s[i]];
    }
    next[n] = n;
    for (uint32_t i = 0; i + 1 < n; i++) {
        uint64_t r = pair_key(t, s, i, i + 2);
        if (r != UINT64_MAX)
            heap_push(e->heap, &hn, (heap_ent){r, i, i + 2});
    }
    while (hn > 0) {
        heap_ent x = heap_pop(e->heap, &hn);
        uint32_t l = x.left;
        if (id[l] < 0 || next[l] >= n || next[next[l]] != x.end)
            continue; /* stale: the left part was absorbed or a neighbour changed */
        uint32_t r = next[l];
        id[l] = (int32_t)(uint32_t)x.key;
        id[r] = -1;
        next[l] = next[r];
        if (next[l] < n)
            prev[next[l]] = l;
        if (next[l] < n) {
            uint64_t rr = pair_key(t, s, l, next[next[l]]);
            if (rr != UINT64_MAX)
                heap_push(e->heap, &hn, (heap_ent){rr, l, next[next[l]]});
        }
        if (prev[l] != UINT32_MAX) {
            uint32_t p = prev[l];
            uint64_t rr = pair_key(t, s, p, next[l]);
            if (rr != UINT64_MAX)
                heap_push(e->heap, &hn, (heap_ent){rr, p, next[l]});
        }
    }
}

/* Encodes one piece s[0..n-1] (no specials) into the output; returns a status. */
static int encode_piece(bpe_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *s,
                        size_t n)
{
    const bpe *t = e->t;
    if (n == 1) {
        emit(ids, cap, n_ids, t->byte_id[(unsigned char)s[0]]);
        return BPE_OK;
    }
    uint64_t h = bpe_hash(s, n);
    int32_t whole = bpe_lookup_hashed(t, s, n, h);
    if (whole >= 0) {
        emit(ids, cap, n_ids, whole);
        return BPE_OK;
    }
    size_t slot = 0;
    if (e->cache && n <= CACHE_MAX_PIECE) {
        slot = h & (CACHE_SLOTS - 1);
        for (;;) {
            cache_ent *c = &e->cache[slot];
            if (c->n_ids == 0)
                break;
            if (c->hash == h && c->key_len == n && memcmp(e->ckeys + c->key, s, n) == 0) {
                for (uint32_t i = 0; i < c->n_ids; i++)
                    emit(ids, cap, n_ids, e->cids[c->ids + i]);
                return BPE_OK;
            }
            slot = (slot + 1) & (CACHE_SLOTS - 1);
        }
    }
    if (reserve(e, n) < 0)
        return BPE_ERR_NOMEM;
    if (n <= SMALL_PIECE)
        merge_small(e, s, (uint32_t)n);
    else
        merge_large(e, s, (uint32_t)n);
    size_t first = *n_ids;
    for (uint32_t i = 0; i < n; i = e->next[i])
        emit(ids, cap, n_ids, e->id[i]);
    if (e->cache && n <= CACHE_MAX_PIECE && *n_ids <= cap) {
        size_t k = *n_ids - first;
        if (e->cache_used >= CACHE_SLOTS / 2 || e->ckeys_used + n > CACHE_BYTES ||
            e->cids_used + k > CACHE_IDS) {
            memset(e->cache, 0, CACHE_SLOTS * sizeof *e->cache);
            e->cache_used = e->ckeys_used = e->cids_used = 0;
            slot = h & (CACHE_SLOTS - 1);
        }
        cache_ent *c = &e->cache[slot];
        c->hash = h;
        c->key = (uint32_t)e->ckeys_used;
        c->key_len = (uint32_t)n;
        c->ids = (uint32_t)e->cids_used;
        c->n_ids = (uint32_t)k;
        memcpy(e->ckeys + e->ckeys_used, s, n);
        memcpy(e->cids + e->cids_used, ids + first, k * sizeof *ids);
        e->ckeys_used += n;
        e->cids_used += k;
        e->cache_used++;
    }
    return BPE_OK;
}

/* Encodes text with no special-token recognition; returns a status. */
static int encode_ordinary(bpe_encoder *e, int32_t *ids, size_t cap, size_t *n_ids,
                           const char *text, size_t len)
{
    size_t a, b;
    int rc;
    pretok_iter_reset(&e->it);
    while ((rc = pretok_next(&e->it, text, len, &a, &b)) == 1) {
        rc = encode_piece(e, ids, cap, n_ids, text + a, b - a);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* Finds the first special token in text[0..len-1]; returns its offset (len if none), *id. */
static size_t find_special(const bpe *t, const char *text, size_t len, int32_t *id)
{
    for (size_t i = 0; i < len; i++) {
        if (!t->special_first[(unsigned char)text[i]])
            continue;
        for (size_t k = 0; k < t->n_special; k++) {
            int32_t s = t->special[k];
            size_t l = tok_len(t, (size_t)s);
            if (l <= len - i && memcmp(text + i, t->bytes + t->off[s], l) == 0) {
                *id = s;
                return i;
            }
        }
    }
    return len;
}

int bpe_encoder_encode(bpe_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len, int flags)
{
    *n_ids = 0;
    int rc = BPE_OK;
    if (!(flags & BPE_SPECIAL) || e->t->n_special == 0) {
        rc = encode_ordinary(e, ids, cap, n_ids, text, len);
    } else {
        while (len > 0) {
            int32_t sid = -1;
            size_t at = find_special(e->t, text, len, &sid);
            rc = encode_ordinary(e, ids, cap, n_ids, text, at);
            if (rc < 0 || at == len)
                break;
            emit(ids, cap, n_ids, sid);
            size_t l = tok_len(e->t, (size_t)sid);
            text += at + l;
            len -= at + l;
        }
    }
    if (rc < 0)
        return rc;
    return *n_ids > cap ? BPE_ERR_SPACE : BPE_OK;
}

/* Creates an encoder, with a piece cache (about 3.5 MB) or without; returns a status. */
static int encoder_new(bpe_encoder **out, const bpe *t, int with_cache)
{
    *out = NULL;
    bpe_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return BPE_ERR_NOMEM;
    e->t = t;
    if (with_cache) {
        e->cache = calloc(CACHE_SLOTS, sizeof *e->cache);
        e->ckeys = malloc(CACHE_BYTES);
        e->cids = malloc(CACHE_IDS * sizeof *e->cids);
    }
    if ((with_cache && (!e->cache || !e->ckeys || !e->cids)) ||
        pretok_iter_open(&e->it, &t->pt) < 0 || reserve(e, 256) < 0) {
        bpe_encoder_free(e);
        return BPE_ERR_NOMEM;
    }
    *out = e;
    return BPE_OK;
}

int bpe_encoder_open(bpe_encoder **out, const bpe *t)
{
    return encoder_new(out, t, 1);
}

void bpe_encoder_free(bpe_encoder *e)
{
    if (!e)
        return;
    pretok_iter_free(&e->it);
    free(e->next);
    free(e->id);
    free(e->prev);
    free(e->heap);
    free(e->cache);
    free(e->ckeys);
    free(e->cids);
    free(e);
}

int bpe_encode(const bpe *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags)
{
    bpe_encoder *e;
    *n_ids = 0;
    int rc = encoder_new(&e, t, len >= ONE_SHOT_CACHE);
    if (rc < 0)
        return rc;
    rc = bpe_encoder_encode(e, ids, cap, n_ids, text, len, flags);
    bpe_encoder_free(e);
    return rc;
}

/* ---- decoding ----------------------------------------------------------------------------- */

int bpe_decode(const bpe *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids)
{
    size_t n = 0;
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= t->n || t->kind[id] == TOK_UNUSED) {
            *n_out = n;
            return BPE_ERR_ID;
        }
        size_t l = tok_len(t, (size_t)id);
        if (n + l <= cap)
            memcpy(out + n, t->bytes + t->off[id], l);
        n += l;
    }
    *n_out = n;
    return n > cap ? BPE_ERR_SPACE : BPE_OK;
}

void bpe_stream_init(bpe_stream *s, const bpe *t)
{
    memset(s, 0, sizeof *s);
    s->t = t;
}

/* Returns how many bytes the character led by byte c needs (1 for bytes that cannot lead). */
static int utf8_need(unsigned char c)
{
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 1;
}

int bpe_stream_push(bpe_stream *s, char *out, size_t cap, size_t *n_out, int32_t id)
{
    const bpe *t = s->t;
    *n_out = 0;
    if (id < 0 || (size_t)id >= t->n || t->kind[id] == TOK_UNUSED)
        return BPE_ERR_ID;
    size_t l = tok_len(t, (size_t)id);
    const unsigned char *b = (const unsigned char *)t->bytes + t->off[id];
    if ((size_t)s->n_tail + l > cap) {
        *n_out = (size_t)s->n_tail + l;
        return BPE_ERR_SPACE;
    }
    size_t n = (size_t)s->n_tail;
    memcpy(out, s->tail, n);
    memcpy(out + n, b, l);
    n += l;
    /* hold back a trailing lead byte with fewer continuation bytes than it needs */
    size_t keep = 0;
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)out[n - back];
        if ((c & 0xC0) == 0x80)
            continue;
        if (utf8_need(c) > (int)back)
            keep = back;
        break;
    }
    memcpy(s->tail, out + n - keep, keep);
    s->n_tail = (int)keep;
    *n_out = n - keep;
    return BPE_OK;
}

int bpe_stream_flush(bpe_stream *s, char *out, size_t cap, size_t *n_out)
{
    *n_out = (size_t)s->n_tail;
    if ((size_t)s->n_tail > cap)
        return BPE_ERR_SPACE;
    memcpy(out, s->tail, (size_t)s->n_tail);
    s->n_tail = 0;
    return BPE_OK;
}
