/* spm_impl.h — the inside of a loaded SentencePiece model, shared by the tokenizer/spm*.c files. */
#ifndef ATTN_SPM_IMPL_H
#define ATTN_SPM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "spm.h"
#include "tok_impl.h"

/* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space. */
#define SPM_SPACE "\xe2\x96\x81"
#define SPM_SPACE_LEN 3

/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t n, cap;
} spm_buf;

/* One slot of the piece trie's double array. */
typedef struct {
    int32_t base;  /* a node's children sit at base + byte */
    int32_t check; /* the slot of this slot's parent; -1 for a free slot */
    int32_t id;    /* the piece id that ends here, -1 for none */
} spm_slot;

/* A trie over piece texts as a double array: slot 0 is the root; from slot s, byte c leads to
 * slot a[s].base + c when that slot's check is s.  The array reaches 256 slots past the largest
 * base, so no transition needs a bounds check. */
typedef struct {
    spm_slot *a; /* [n] */
    size_t n;
} spm_trie;

/* One normalizer: a precompiled character map and three switches (a NormalizerSpec). */
typedef struct {
    uint32_t *units;   /* [n_units] darts-clone double-array units; NULL: no map */
    size_t n_units;
    char *strs;        /* [strs_len] replacement strings, each ending at a NUL or the end */
    size_t strs_len;
    int add_dummy_prefix, remove_extra_ws, escape_ws;
    uint8_t plain[256]; /* for an ASCII byte that stays itself: 1 always (no map entry starts
                         * with it), 2 when no ASCII byte follows (no entry is that byte alone
                         * or goes on with an ASCII byte); else 0 */
} spm_norm;

/* A loaded model (a tokenizer of kind spm). */
typedef struct spm {
    tokenizer base;       /* kind: &tok_kind_spm */
    char *file;           /* the model file's bytes, for tok_serialize */
    size_t file_len;
    size_t max_piece;     /* the longest piece or unknown surface, in bytes */
    int has_special;      /* some piece is a control piece (TOK_SPECIAL has work to do) */
    int32_t n;            /* number of pieces */
    char *text;           /* every piece's text, each followed by a NUL */
    uint32_t *off, *len;  /* [n] where piece i's text starts in text, and its length */
    float *score;         /* [n] */
    double *vscore;       /* [n] unigram: a piece's score in the lattice, NaN if not in it */
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
    int bpe_words;        /* BPE whose merges never cross a word: no unused piece, U+2581 only
                           * at the start of mergeable pieces, not treat_whitespace_as_suffix */
    uint8_t user_first[256]; /* 1 for a byte that starts a user-defined piece */
    spm_trie trie;        /* every piece */
    spm_norm norm;        /* the normalizer */
    spm_norm denorm;      /* applied to decoded text when units != NULL */
} spm;

/* Appends s[0..k-1] to b; returns TOK_OK or TOK_ERR_NOMEM. */
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

extern const tok_kind tok_kind_spm;

/* The kind's implementation of the tok.h functions of the same name (contracts: tok.h, spm.h), in
 * the files named after the job: spm.c (opening, lookups), spm_encode.c, spm_decode.c. */
int spm_sniff(const void *data, size_t len);
int spm_open(tokenizer **out, const char *path, const void *data, size_t len, char *why,
             size_t why_len);
void spm_free(tokenizer *t);
size_t spm_vocab_size(const tokenizer *t);
size_t spm_max_token_bytes(const tokenizer *t);
const char *spm_token_bytes(const tokenizer *t, int32_t id, size_t *len);
int spm_is_special(const tokenizer *t, int32_t id);
int32_t spm_special_id(const tokenizer *t, const char *s, size_t len);
int32_t spm_token_id(const tokenizer *t, const char *s, size_t len);
int spm_serialize(const tokenizer *t, char **buf, size_t *len);
int spm_encode(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags);
int spm_encoder_open(tok_encoder **out, const tokenizer *t);
void spm_encoder_free(tok_encoder *e);
int spm_encoder_encode(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len, int flags);
/* Encodes text[0..len-1] as spm_encoder_encode does without flags, and puts the surface of each
 * unknown id it writes (its run of normalized text; none with byte fallback) into unk, one after
 * the other, with their lengths as uint32_t values in unk_len (both replaced); returns a status. */
int spm_encoder_encode_unk(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids,
                           const char *text, size_t len, spm_buf *unk, spm_buf *unk_len);
int spm_decode(const tokenizer *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids);
int spm_stream_push(tok_stream *s, char *out, size_t cap, size_t *n_out, int32_t id);
int spm_stream_flush(tok_stream *s, char *out, size_t cap, size_t *n_out);

/* Parses and checks the ModelProto in data[0..len-1] into m (zeroed by the caller); returns a
 * status and a reason in why. */
int spm_parse(spm *m, const uint8_t *data, size_t len, char *why, size_t why_len);

/* Builds the trie over m's pieces; returns TOK_ERR_FORMAT (reason in why) for a duplicate piece,
 * or TOK_ERR_NOMEM. */
int spm_trie_build(spm *m, char *why, size_t why_len);

/* Frees a trie's tables. */
void spm_trie_free(spm_trie *t);

/* Returns the slot reached from slot s by byte c, or 0 if there is none. */
static inline uint32_t spm_trie_next(const spm_trie *t, uint32_t s, unsigned char c)
{
    uint32_t i = (uint32_t)t->a[s].base + c;
    return t->a[i].check == (int32_t)s ? i : 0;
}

/* Returns the id of the piece that ends at slot s, or -1. */
static inline int32_t spm_trie_id(const spm_trie *t, uint32_t s)
{
    return t->a[s].id;
}

/* Returns the id of the piece s[0..k-1], or -1. */
int32_t spm_trie_find(const spm_trie *t, const char *s, size_t k);

/* Returns the length of the longest user-defined piece that starts s[0..n-1] (n >= 1), or 0. */
size_t spm_user_match(const spm *m, const char *s, size_t n);

/* Checks a precompiled character map blob and loads it into nm (its switches untouched); returns
 * TOK_ERR_FORMAT with a reason in why, or TOK_ERR_NOMEM. */
int spm_norm_load(spm_norm *nm, const uint8_t *blob, size_t len, char *why, size_t why_len);

/* Sets nm->plain from its map (every ASCII byte when it has none). */
void spm_norm_plain(spm_norm *nm);

/* Frees a normalizer's tables. */
void spm_norm_free(spm_norm *nm);

/* Normalizes text[0..len-1] with nm into out (replacing its contents): user-defined pieces of um
 * (NULL: none) pass unchanged, ws_suffix puts the dummy space at the end; returns a status. */
int spm_norm_run(const spm_norm *nm, const spm *um, int ws_suffix, spm_buf *out, const char *text,
                 size_t len);

#endif
