/* bpe_impl.h — internals shared by the tokenizer's source files (not installed, not public). */
#ifndef ATTN_BPE_IMPL_H
#define ATTN_BPE_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "bpe.h"

#include <stdint.h>
#include <string.h>

/* Kinds of ids. */
enum { TOK_NORMAL = 0, TOK_SPECIAL = 1, TOK_UNUSED = 2 };

/* A compiled pre-tokenizer pattern; read-only once built. */
typedef struct {
    pcre2_code *re;
    char *source; /* built-in name or the regex as given (NUL-terminated) */
    int builtin;  /* 1 if source is a built-in name */
    int jit;      /* 1 if the JIT compiled the pattern (pcre2_jit_match may be called) */
    int fast;     /* 1 gpt2, 2 cl100k, 3 o200k (built-in): ASCII text is split without PCRE2 */
} pretok;

/* Per-thread matching state for a pretok. */
typedef struct {
    const pretok *pt;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    pcre2_jit_stack *js;
    size_t pos;                  /* where the next search starts */
    size_t pend_start, pend_end; /* a match found after a gap, returned next */
    int pending;
} pretok_iter;

/* One slot of a strmap: the token's first 8 bytes (zero-padded), its id (-1 = empty) and its
 * length, so that most lookups touch only the slot. */
typedef struct {
    uint64_t head;
    int32_t id;
    uint32_t len;
} strmap_slot;

/* Open-addressing table from byte strings to ids (the ids index a token table). */
typedef struct {
    strmap_slot *slot; /* (mask + 1) */
    size_t mask;
} strmap;

struct bpe {
    size_t n;                   /* number of ids */
    char *bytes;                /* every token's bytes, back to back */
    uint32_t *off;              /* (n + 1) offsets into bytes */
    uint8_t *kind;              /* (n) TOK_* */
    uint32_t *rank;             /* (n) merge rank of each normal token (lower merges first) */
    int32_t byte_id[256];       /* id of each single byte */
    strmap normal;              /* normal tokens by bytes */
    int32_t *special;           /* (n_special) special ids, longest text first */
    size_t n_special;
    uint8_t special_first[256]; /* 1 if some special token starts with this byte */
    size_t max_len;             /* longest token in bytes */
    pretok pt;
};

/* Returns a 64-bit hash of s[0..len-1]. */
static inline uint64_t bpe_hash(const void *s, size_t len)
{
    const unsigned char *p = s;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xFF51AFD7ED558CCDull);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    }
    h ^= h >> 32;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

/* Returns the first 8 bytes of s[0..len-1], zero-padded. */
static inline uint64_t bpe_head(const char *s, size_t len)
{
    uint64_t w = 0;
    memcpy(&w, s, len < 8 ? len : 8);
    return w;
}

/* Looks s[0..len-1], whose bpe_hash is h, up among the normal tokens of t; returns its id or
 * -1. */
static inline int32_t bpe_lookup_hashed(const struct bpe *t, const char *s, size_t len, uint64_t h)
{
    uint64_t head = bpe_head(s, len);
    size_t i = h & t->normal.mask;
    for (;;) {
        strmap_slot e = t->normal.slot[i];
        if (e.id < 0)
            return -1;
        if (e.head == head && e.len == len &&
            (len <= 8 || memcmp(t->bytes + t->off[e.id] + 8, s + 8, len - 8) == 0))
            return e.id;
        i = (i + 1) & t->normal.mask;
    }
}

/* Looks s[0..len-1] up among the normal tokens of t; returns its id or -1. */
static inline int32_t bpe_lookup(const struct bpe *t, const char *s, size_t len)
{
    return bpe_lookup_hashed(t, s, len, bpe_hash(s, len));
}

/* Compiles a built-in pattern name or a regex into pt; returns a status and a reason in why. */
int pretok_compile(pretok *pt, const char *pattern, char *why, size_t why_len);

/* Frees a compiled pattern; accepts a zeroed pretok. */
void pretok_free(pretok *pt);

/* Creates the matching state for pt; returns a status. */
int pretok_iter_open(pretok_iter *it, const pretok *pt);

/* Frees the matching state; accepts a zeroed iterator. */
void pretok_iter_free(pretok_iter *it);

/* Starts splitting a new text. */
void pretok_iter_reset(pretok_iter *it);

/* Finds the next piece of text[0..len-1] as [*start, *end); returns 1, 0 at the end, or
 * BPE_ERR_MATCH. Bytes no match covers form pieces of their own. */
int pretok_next(pretok_iter *it, const char *text, size_t len, size_t *start, size_t *end);

/* Writes a formatted reason into why (when why_len > 0). */
void bpe_why(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Builds a tokenizer from a token table: n ids, tokens' bytes at bytes+off[i], kinds, merge ranks
 * (NULL: rank = id); takes ownership of bytes, off, kind and rank (freed on error too); returns a
 * status and a reason in why. */
int bpe_build(bpe **out, size_t n, char *bytes, uint32_t *off, uint8_t *kind, uint32_t *rank,
              const char *pattern, char *why, size_t why_len);

#endif
