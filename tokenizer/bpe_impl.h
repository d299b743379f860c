/* bpe_impl.h — the byte-level BPE kind's internals, shared by the bpe_*.c files (not public). */
#ifndef ATTN_BPE_IMPL_H
#define ATTN_BPE_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "bpe.h"
#include "tok_impl.h"

#include <stdint.h>
#include <string.h>

#define BPE_MAX_IDS (1u << 24) /* the largest vocabulary a file may declare */

/* Kinds of ids. */
enum { ID_NORMAL = 0, ID_SPECIAL = 1, ID_UNUSED = 2 };

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

/* A byte-level BPE tokenizer. */
typedef struct bpe {
    tokenizer base;             /* first: the generic handle (tok_impl.h) */
    size_t n;                   /* number of ids */
    char *bytes;                /* every token's bytes, back to back */
    uint32_t *off;              /* (n + 1) offsets into bytes */
    uint8_t *kind;              /* (n) ID_* */
    uint32_t *rank;             /* (n) merge rank of each normal token (lower merges first) */
    int32_t byte_id[256];       /* id of each single byte */
    strmap normal;              /* normal tokens by bytes */
    uint64_t *tail;             /* (n) bytes 8 to 15 of each normal token, zero-padded (0 when
                                 * shorter): lookups of up to 16 bytes compare without memcmp */
    uint64_t *pair2;            /* (65536) merge key (rank << 32 | id) of the normal token of
                                 * bytes b0 b1 at b0 | b1 << 8, UINT64_MAX where none: two-byte
                                 * lookups, the commonest in merging, without hashing */
    int32_t *special;           /* (n_special) special ids, longest text first */
    size_t n_special;
    uint8_t special_first[256]; /* 1 if some special token starts with this byte */
    size_t max_len;             /* longest token in bytes */
    pretok pt;
} bpe;

/* The steps of bpe_hash: the start for a length, a whole 8-byte word, the zero-padded last
 * word, the finish. */
static inline uint64_t bpe_hash_start(size_t len)
{
    return 0x9E3779B97F4A7C15ull ^ (len * 0xFF51AFD7ED558CCDull);
}

static inline uint64_t bpe_hash_word(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

static inline uint64_t bpe_hash_last(uint64_t h, uint64_t w)
{
    return (h ^ w) * 0xC4CEB9FE1A85EC53ull;
}

static inline uint64_t bpe_hash_end(uint64_t h)
{
    h ^= h >> 32;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

/* Returns a 64-bit hash of s[0..len-1]. */
static inline uint64_t bpe_hash(const void *s, size_t len)
{
    const unsigned char *p = s;
    uint64_t h = bpe_hash_start(len);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = bpe_hash_word(h, w);
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = bpe_hash_last(h, w);
    }
    return bpe_hash_end(h);
}

/* Returns bpe_hash of a string of 1 to 16 bytes given as its bytes zero-padded to 16, key. */
static inline uint64_t bpe_hash16(const uint64_t key[2], size_t len)
{
    uint64_t h = bpe_hash_start(len);
    if (len < 8)
        return bpe_hash_end(bpe_hash_last(h, key[0]));
    h = bpe_hash_word(h, key[0]);
    if (len == 16)
        h = bpe_hash_word(h, key[1]);
    else if (len > 8)
        h = bpe_hash_last(h, key[1]);
    return bpe_hash_end(h);
}

/* Returns the first 8 bytes of s[0..len-1], zero-padded. */
static inline uint64_t bpe_head(const char *s, size_t len)
{
    uint64_t w = 0;
    memcpy(&w, s, len < 8 ? len : 8);
    return w;
}

/* Returns bytes 8 to 15 of s[0..len-1], zero-padded (0 when len <= 8). */
static inline uint64_t bpe_tail(const char *s, size_t len)
{
    uint64_t w = 0;
    if (len > 8)
        memcpy(&w, s + 8, len < 16 ? len - 8 : 8);
    return w;
}

/* Looks s[0..len-1], whose bpe_hash is h, bpe_head head and bpe_tail tail, up among the normal
 * tokens of t; returns its id or -1. */
static inline int32_t bpe_lookup_hashed(const bpe *t, const char *s, size_t len, uint64_t h,
                                        uint64_t head, uint64_t tail)
{
    size_t i = h & t->normal.mask;
    for (;;) {
        strmap_slot e = t->normal.slot[i];
        if (e.id < 0)
            return -1;
        if (e.head == head && e.len == len &&
            (len <= 8 || (t->tail[e.id] == tail &&
                          (len <= 16 ||
                           memcmp(t->bytes + t->off[e.id] + 16, s + 16, len - 16) == 0))))
            return e.id;
        i = (i + 1) & t->normal.mask;
    }
}

/* Looks s[0..len-1] up among the normal tokens of t; returns its id or -1. */
static inline int32_t bpe_lookup(const bpe *t, const char *s, size_t len)
{
    return bpe_lookup_hashed(t, s, len, bpe_hash(s, len), bpe_head(s, len), bpe_tail(s, len));
}

/* Returns the slot of the two-byte string s in a bpe's pair2 table. */
static inline unsigned bpe_pair2_slot(const char *s)
{
    return (unsigned char)s[0] | (unsigned)(unsigned char)s[1] << 8;
}

/* Returns the merge key (rank << 32 | id) of the two-byte string s as a normal token of t, or
 * UINT64_MAX when it is none. */
static inline uint64_t bpe_pair2(const bpe *t, const char *s)
{
    return t->pair2[bpe_pair2_slot(s)];
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
 * TOK_ERR_MATCH. Bytes no match covers form pieces of their own. */
int pretok_next(pretok_iter *it, const char *text, size_t len, size_t *start, size_t *end);

/* Finds up to max (<= INT_MAX) next pieces of text[0..len-1]: they follow one another from where
 * the last ended (0 after a reset), and ends[i] is where piece i ends; returns how many (fewer
 * than max only at the end of the text) or TOK_ERR_MATCH. */
int pretok_split(pretok_iter *it, const char *text, size_t len, size_t *ends, size_t max);

/* The kind's table of functions (bpe_kind.c). */
extern const tok_kind tok_kind_bpe;

/* Returns the tokenizer behind a generic handle made by this kind. */
static inline const bpe *as_bpe(const tokenizer *t)
{
    return (const bpe *)t;
}

/* Returns the length in bytes of token id. */
static inline size_t id_len(const bpe *t, size_t id)
{
    return t->off[id + 1] - t->off[id];
}

/* Returns 1 if id names a token of t that decodes (a normal or special token), else 0. */
static inline int bpe_valid_id(const bpe *t, int32_t id)
{
    return id >= 0 && (size_t)id < t->n && t->kind[id] != ID_UNUSED;
}

/* Builds a tokenizer from a token table: n ids, tokens' bytes at bytes+off[i], kinds, merge ranks
 * (NULL: rank = id); takes ownership of bytes, off, kind and rank (freed on error too); returns a
 * status and a reason in why. */
int bpe_build(tokenizer **out, size_t n, char *bytes, uint32_t *off, uint8_t *kind,
              uint32_t *rank, const char *pattern, char *why, size_t why_len);

/* Returns 1 if data[0..len-1] starts like an attn tokenizer file, else 0 (tok_kind.sniff). */
int bpe_sniff(const void *data, size_t len);

/* Opens an attn tokenizer file's bytes, or with a path and no attn magic a tiktoken rank file
 * whose pattern and specials follow from the file's name (tok_kind.open); returns a status and a
 * reason in why. */
int bpe_open(tokenizer **out, const char *path, const void *data, size_t len, char *why,
             size_t why_len);

/* The kind's implementation of the tok.h functions of the same name, in the files named after the
 * job: bpe_vocab.c (the token table), bpe_file.c (file formats), bpe_encode.c, bpe_decode.c. */
void bpe_free(tokenizer *t);
int bpe_set_pattern(tokenizer *t, const char *pattern, char *why, size_t why_len);
size_t bpe_vocab_size(const tokenizer *t);
const char *bpe_pattern(const tokenizer *t);
const char *bpe_token_bytes(const tokenizer *t, int32_t id, size_t *len);
int bpe_is_special(const tokenizer *t, int32_t id);
int32_t bpe_special_id(const tokenizer *t, const char *s, size_t len);
int32_t bpe_token_id(const tokenizer *t, const char *s, size_t len);
size_t bpe_max_token_bytes(const tokenizer *t);
int bpe_serialize(const tokenizer *t, char **buf, size_t *len);
int bpe_encode(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags);
int bpe_encoder_open(tok_encoder **out, const tokenizer *t);
void bpe_encoder_free(tok_encoder *e);
int bpe_encoder_encode(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len, int flags);
int bpe_decode(const tokenizer *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids);
int bpe_stream_push(tok_stream *s, char *out, size_t cap, size_t *n_out, int32_t id);

#endif
