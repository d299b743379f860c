/* bpe.h — attn's byte-level BPE tokenizer: load, encode, decode, stream-decode, train.
 *
 * The tokenizer works as GPT-2 and tiktoken do: a pre-tokenizer regular expression (PCRE2, UTF +
 * UCP, JIT when available) splits the text into pieces, each piece is taken as bytes and its
 * adjacent parts are merged, lowest rank first (leftmost on ties), until no adjacent pair forms a
 * token.  The rank of a token is its id unless the tokenizer file gives another.  Every byte
 * string can be encoded and decode(encode(x)) == x for every x, invalid UTF-8 included.
 *
 * Usage:
 *     bpe *t;  char why[256];
 *     if (bpe_open(&t, "gpt2.tok", why, sizeof why) < 0) { fprintf(stderr, "%s\n", why); ... }
 *     int32_t ids[1000];  size_t n;                          // n never exceeds the text's length
 *     int rc = bpe_encode(t, ids, 1000, &n, text, strlen(text), 0);  // BPE_ERR_SPACE: n = needed
 *     char out[4096];  size_t m;
 *     rc = bpe_decode(t, out, sizeof out, &m, ids, n);               // BPE_ERR_SPACE: m = needed
 *     bpe_free(t);
 *
 * Thread safety: a bpe is read-only once opened; any number of threads may use one bpe at the
 * same time through the functions that take `const bpe *` (bpe_encode allocates its scratch per
 * call).  A bpe_encoder (per-thread encoder with a cache of the pieces it has seen; the fast path
 * for large inputs) and a bpe_stream belong to one thread at a time.  A bpe_trainer belongs to one
 * thread.
 *
 * Invalid UTF-8 (documented behaviour): the pre-tokenizer matches with PCRE2_MATCH_INVALID_UTF, so
 * no pattern item ever matches an ill-formed sequence; every maximal run of bytes that no match
 * covers (the invalid bytes, in practice) becomes a piece of its own and is merged by rank like
 * any other piece.  The result is deterministic and round-trips; on valid UTF-8 it is exactly
 * tiktoken's.
 *
 * Special tokens (<s>, </s>, <|endoftext|>, >>fr<<, ...) are matched in the text only when the
 * caller passes BPE_SPECIAL; otherwise their literal text is encoded as plain bytes, so user text
 * never smuggles a control token in.  With BPE_SPECIAL the earliest occurrence wins, the longest
 * special token on a tie; the text between specials is encoded as usual.
 *
 * Tokenizer file (attn-tokenizer version 1), a text file, UTF-8 free (bytes are hex):
 *     attn-tokenizer 1\n
 *     pattern NAME\n            NAME is gpt2, cl100k or o200k; or:
 *     regex HEX\n               the pre-tokenizer pattern itself, hex-encoded
 *     tokens N\n                N = vocabulary size (ids 0..N-1), 256 <= N <= 16777216
 *     then N lines, line i describing id i:
 *       HEX\n                   a byte-level token (its bytes in lower- or upper-case hex)
 *                               whose merge rank is its id, as in tiktoken
 *       HEX RANK\n              a byte-level token with an explicit decimal merge rank (for
 *                               vocabularies whose ids are not in merge order, e.g. BART's);
 *                               equal ranks merge the lower id first
 *       !HEX\n                  a special token (its literal text)
 *       -\n                     an unused id (never produced, decodes to an error)
 *     end\n
 * Lines starting with '#' before "tokens" are comments.  The loader rejects a file that does not
 * follow this exactly: a bad magic or version, an unknown pattern, a pattern PCRE2 refuses, bad
 * hex, an empty token, a duplicate token, a missing single-byte token (all 256 must exist), a
 * missing "end" or trailing data.  A `*.tiktoken` rank file (lines "BASE64 RANK") loads too:
 * bpe_open picks the pattern and special tokens from the file name (cl100k_base, o200k_base, else
 * r50k's gpt2 pattern and <|endoftext|> = 50256); bpe_open_tiktoken takes them explicitly.
 *
 * Unicode: PCRE2's tables (Debian 12: 10.42, Unicode 14) are older than the Rust regex tables
 * tiktoken uses, so letters, digits and marks added in Unicode 15 and 16 may split differently.
 */
#ifndef ATTN_BPE_H
#define ATTN_BPE_H

#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 success, negative errors. */
enum {
    BPE_OK = 0,
    BPE_ERR_NOMEM = -1,   /* out of memory */
    BPE_ERR_IO = -2,      /* a file could not be read or written (errno tells why) */
    BPE_ERR_FORMAT = -3,  /* malformed tokenizer file */
    BPE_ERR_PATTERN = -4, /* the pre-tokenizer pattern does not compile */
    BPE_ERR_SPACE = -5,   /* the output buffer is too small: the needed size is reported */
    BPE_ERR_ID = -6,      /* a token id outside the vocabulary or an unused id */
    BPE_ERR_MATCH = -7,   /* PCRE2 failed while matching (e.g. its match limit) */
    BPE_ERR_ARG = -8,     /* an invalid argument (e.g. vocab size too small, empty special) */
};

/* Flags for encoding. */
enum {
    BPE_SPECIAL = 1, /* recognise special tokens' literal text in the input */
};

typedef struct bpe bpe;               /* a loaded tokenizer; read-only, shareable */
typedef struct bpe_encoder bpe_encoder; /* per-thread encoder with a piece cache */
typedef struct bpe_trainer bpe_trainer; /* learns a vocabulary */

/* Returns a static English sentence for a status code. */
const char *bpe_strerror(int status);

/* Opens a tokenizer file (attn format or *.tiktoken with the gpt2 pattern chosen by the file name:
 * cl100k_base / o200k_base names pick their pattern); on error returns a status and writes a
 * one-line reason (without the path) into why. */
int bpe_open(bpe **out, const char *path, char *why, size_t why_len);

/* Opens a tokenizer from the bytes of an attn tokenizer file (copied; data may be freed after);
 * returns a status and a reason in why on error. */
int bpe_open_mem(bpe **out, const void *data, size_t len, char *why, size_t why_len);

/* Opens a tiktoken rank file's bytes with a pattern (a built-in name or a regex) and special tokens
 * given as "TEXT=ID" strings; returns a status and a reason in why on error. */
int bpe_open_tiktoken(bpe **out, const void *data, size_t len, const char *pattern,
                      const char *const *specials, size_t n_specials, char *why, size_t why_len);

/* Frees a tokenizer; accepts NULL. */
void bpe_free(bpe *t);

/* Replaces the pre-tokenizer pattern (a built-in name or a regex); only before the tokenizer is
 * shared with other threads or encoders.  Returns a status (BPE_ERR_PATTERN, reason in why); on
 * error the old pattern stays. */
int bpe_set_pattern(bpe *t, const char *pattern, char *why, size_t why_len);

/* Writes the tokenizer in the attn file format into a malloc'd buffer the caller frees; returns a
 * status. */
int bpe_serialize(const bpe *t, char **buf, size_t *len);

/* Writes the tokenizer in the attn file format to path; returns a status (BPE_ERR_IO with errno
 * set). */
int bpe_save(const bpe *t, const char *path);

/* Returns the number of ids (the largest id + 1). */
size_t bpe_vocab_size(const bpe *t);

/* Returns the pattern's built-in name ("gpt2", "cl100k", "o200k") or the regex itself. */
const char *bpe_pattern(const bpe *t);

/* Returns the bytes of token id (not NUL-terminated) and sets *len, or NULL for an invalid id. */
const char *bpe_token_bytes(const bpe *t, int32_t id, size_t *len);

/* Returns 1 if id is a special token, else 0. */
int bpe_is_special(const bpe *t, int32_t id);

/* Returns the id of the special token whose text is s[0..len-1], or -1 if there is none. */
int32_t bpe_special_id(const bpe *t, const char *s, size_t len);

/* Returns the id of the byte-level token whose bytes are s[0..len-1], or -1 if there is none. */
int32_t bpe_token_id(const bpe *t, const char *s, size_t len);

/* Returns the length in bytes of the longest token (a buffer of this size + 4 always suffices for
 * one bpe_stream_push). */
size_t bpe_max_token_bytes(const bpe *t);

/* Encodes text[0..len-1] into ids[0..cap-1] and sets *n_ids to the count (never more than len);
 * flags: BPE_SPECIAL or 0.  Returns BPE_ERR_SPACE with *n_ids = the needed count when cap is too
 * small, BPE_ERR_NOMEM or BPE_ERR_MATCH on failure. Thread-safe on a shared bpe. */
int bpe_encode(const bpe *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags);

/* Creates a per-thread encoder for t (t must outlive it); returns a status. */
int bpe_encoder_open(bpe_encoder **out, const bpe *t);

/* Frees an encoder; accepts NULL. */
void bpe_encoder_free(bpe_encoder *e);

/* Same as bpe_encode, through the encoder's piece cache (faster on large inputs). */
int bpe_encoder_encode(bpe_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len, int flags);

/* Decodes ids[0..n_ids-1] into out[0..cap-1] (no NUL) and sets *n_out; returns BPE_ERR_SPACE with
 * *n_out = the needed size when cap is too small, BPE_ERR_ID for an invalid id. Specials decode to
 * their text. */
int bpe_decode(const bpe *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids);

/* Streaming decoder state for generation: the caller owns it (no allocation). It hands out only
 * complete UTF-8 characters and holds back an incomplete tail (at most 3 bytes) until a later token
 * completes it; bytes that can never start or continue a valid character go out as they are. */
typedef struct {
    const bpe *t;
    unsigned char tail[4]; /* held bytes: a lead byte and fewer continuation bytes than it needs */
    int n_tail;
} bpe_stream;

/* Starts a stream over tokenizer t. */
void bpe_stream_init(bpe_stream *s, const bpe *t);

/* Adds one token and writes the bytes now complete into out[0..cap-1], *n_out bytes; cap of
 * bpe_max_token_bytes(t) + 4 always suffices. Returns BPE_ERR_ID (state unchanged) for an invalid
 * id, BPE_ERR_SPACE with *n_out = the needed size. */
int bpe_stream_push(bpe_stream *s, char *out, size_t cap, size_t *n_out, int32_t id);

/* Writes the held tail (an incomplete character, as its raw bytes) into out (cap >= 4 suffices)
 * and resets the stream; returns BPE_OK or BPE_ERR_SPACE. */
int bpe_stream_flush(bpe_stream *s, char *out, size_t cap, size_t *n_out);

/* Creates a trainer that pre-tokenizes with pattern (a built-in name or a regex; NULL = gpt2);
 * returns a status and a reason in why. */
int bpe_trainer_open(bpe_trainer **out, const char *pattern, char *why, size_t why_len);

/* Frees a trainer; accepts NULL. */
void bpe_trainer_free(bpe_trainer *tr);

/* Splits text[0..len-1] into pieces and counts them; returns a status. */
int bpe_trainer_feed(bpe_trainer *tr, const char *text, size_t len);

/* Learns merges until the vocabulary has vocab_size ids: specials[0..n_specials-1] get ids
 * 0..n_specials-1, the 256 bytes the next ids (in byte order), then one id per merge.  The merge
 * each step is the adjacent pair with the highest count over all pieces (weighted by piece
 * frequency); ties go to the pair whose left id is lowest, then whose right id is lowest.  Stops
 * early when no pair occurs any more (*out then has fewer ids).  Returns a status (BPE_ERR_ARG when
 * vocab_size < n_specials + 256 or a special is empty or repeated) and a reason in why. */
int bpe_trainer_finish(bpe_trainer *tr, bpe **out, size_t vocab_size,
                       const char *const *specials, size_t n_specials, char *why, size_t why_len);

#endif
