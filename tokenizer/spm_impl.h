/* spm_impl.h — the inside of a loaded SentencePiece model, shared by the tokenizer/spm*.c files. */
#ifndef ATTN_SPM_IMPL_H
#define ATTN_SPM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "spm.h"

/* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space. */
#define SPM_SPACE "\xe2\x96\x81"
#define SPM_SPACE_LEN 3

/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t n, cap;
} spm_buf;

/* A trie over piece texts: node 0 is the root, its children are a direct table, deeper edges
 * live in an open-addressing hash table keyed by (node, byte). */
typedef struct {
    uint32_t root[256]; /* child of the root for each byte, 0 = none */
    uint64_t *keys;     /* [mask + 1] (node << 8 | byte) + 1, 0 = empty slot */
    uint32_t *child;    /* [mask + 1] the child node of that edge */
    size_t mask;        /* table size - 1 (a power of two minus one) */
    int32_t *id;        /* [n_nodes] the piece id that ends at a node, -1 for none */
    uint32_t n_nodes;
} spm_trie;

/* One normalizer: a precompiled character map and three switches (a NormalizerSpec). */
typedef struct {
    uint32_t *units;   /* [n_units] darts-clone double-array units; NULL: no map */
    size_t n_units;
    char *strs;        /* [strs_len] replacement strings, each ending at a NUL or the end */
    size_t strs_len;
    int add_dummy_prefix, remove_extra_ws, escape_ws;
} spm_norm;

struct spm {
    int32_t n;            /* number of pieces */
    char *text;           /* every piece's text, each followed by a NUL */
    uint32_t *off, *len;  /* [n] where piece i's text starts in text, and its length */
    float *score;         /* [n] */
    uint8_t *type;        /* [n] SPM_NORMAL ... SPM_BYTE */
    int model_type;       /* SPM_UNIGRAM ... SPM_CHAR */
    int byte_fallback, ws_suffix;
    int32_t unk_id, bos_id, eos_id, pad_id;
    int32_t byte_id[256]; /* id of <0xXX> for each byte, -1 without byte_fallback */
    float min_score;      /* lowest normal score (FLT_MAX when none) */
    float max_score;      /* highest normal score, at least FLT_MIN */
    char *unk_surface;    /* what the unknown piece decodes to */
    size_t unk_surface_len;
    int has_user;         /* some piece is user-defined */
    spm_trie trie;        /* every piece */
    spm_norm norm;        /* the normalizer */
    spm_norm denorm;      /* applied to decoded text when units != NULL */
};

/* Appends s[0..k-1] to b; returns SPM_OK or SPM_ERR_NOMEM. */
int spm_buf_put(spm_buf *b, const char *s, size_t k);

/* Returns the length of the valid UTF-8 character at s[0..n-1] (n >= 1) as SentencePiece decodes
 * it (no overlong forms, no surrogates, at most U+10FFFF), or 0 if it is not one. */
size_t spm_utf8_len(const char *s, size_t n);

/* Returns the byte count SentencePiece assigns to the character starting with byte c (1 to 4,
 * from the lead byte alone). */
static inline size_t spm_char_len(unsigned char c)
{
    return (size_t)("\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[c >> 4]);
}

/* Parses and checks the ModelProto in data[0..len-1] into m (zeroed by the caller); returns a
 * status and a reason in why. */
int spm_parse(spm *m, const uint8_t *data, size_t len, char *why, size_t why_len);

/* Builds the trie over m's pieces; returns SPM_ERR_FORMAT (reason in why) for a duplicate piece,
 * or SPM_ERR_NOMEM. */
int spm_trie_build(spm *m, char *why, size_t why_len);

/* Frees a trie's tables. */
void spm_trie_free(spm_trie *t);

/* Returns the node reached from node by byte c, or 0 if there is none. */
static inline uint32_t spm_trie_next(const spm_trie *t, uint32_t node, unsigned char c)
{
    if (node == 0)
        return t->root[c];
    uint64_t key = ((uint64_t)node << 8 | c) + 1;
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & t->mask;
    for (;;) {
        if (t->keys[h] == key)
            return t->child[h];
        if (t->keys[h] == 0)
            return 0;
        h = (h + 1) & t->mask;
    }
}

/* Returns the id of the piece s[0..k-1], or -1. */
int32_t spm_trie_find(const spm_trie *t, const char *s, size_t k);

/* Returns the length of the longest user-defined piece that starts s[0..n-1] (n >= 1), or 0. */
size_t spm_user_match(const spm *m, const char *s, size_t n);

/* Checks a precompiled character map blob and loads it into nm (its switches untouched); returns
 * SPM_ERR_FORMAT with a reason in why, or SPM_ERR_NOMEM. */
int spm_norm_load(spm_norm *nm, const uint8_t *blob, size_t len, char *why, size_t why_len);

/* Frees a normalizer's tables. */
void spm_norm_free(spm_norm *nm);

/* Normalizes text[0..len-1] with nm into out (replacing its contents): user-defined pieces of um
 * (NULL: none) pass unchanged, ws_suffix puts the dummy space at the end; returns a status. */
int spm_norm_run(const spm_norm *nm, const spm *um, int ws_suffix, spm_buf *out, const char *text,
                 size_t len);

#endif
