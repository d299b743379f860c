/* tok.h — attn's tokenizer library: open a tokenizer of any kind, encode, decode, stream-decode.
 *
 * Callers open "a tokenizer" and use it without knowing which kind it is.  The kinds:
 *     bpe   byte-level BPE as in GPT-2 and tiktoken: attn tokenizer files and tiktoken rank files
 *           (format, pre-tokenizer and training: bpe.h)
 *     spm   SentencePiece .model files (unigram, BPE, word, char), exactly as the SentencePiece
 *           library encodes and decodes them (what the reader checks, every rule: spm.h)
 *     spm-map  a SentencePiece model seen through a model's own vocabulary (Marian's vocab.json,
 *           mBART's fairseq ids, T5's sentinels), as transformers' tokenizers use them (the file:
 *           man/attn-format.5; the rules: README.md "Hugging Face tokenizers"; spm_map.c)
 *
 * Usage:
 *     tokenizer *t;  char why[256];
 *     if (tok_open(&t, "gpt2.tok", why, sizeof why) < 0) { fprintf(stderr, "%s\n", why); ... }
 *     int32_t ids[1000];  size_t n;                          // n never exceeds the text's length
 *     int rc = tok_encode(t, ids, 1000, &n, text, strlen(text), 0);  // TOK_ERR_SPACE: n = needed
 *     char out[4096];  size_t m;
 *     rc = tok_decode(t, out, sizeof out, &m, ids, n);               // TOK_ERR_SPACE: m = needed
 *     tok_free(t);
 *
 * Status codes: every function that can fail returns an int, TOK_OK (0) on success and a negative
 * TOK_ERR_* on error; tok_strerror() names it.  Functions that open something also write a
 * one-line reason (without the file's path) into a caller's buffer `why` (may be NULL).  Results
 * go through out-parameters; on TOK_ERR_SPACE the out-parameter holds the size that was needed.
 * The library never prints and never exits.
 *
 * Ownership: tok_open* and tok_encoder_open hand the caller an object it frees with tok_free /
 * tok_encoder_free (both accept NULL).  A tok_stream is the caller's (no allocation).
 *
 * Thread safety: a tokenizer is read-only once opened (tok_set_pattern excepted); any number of
 * threads may use one at the same time through the functions that take `const tokenizer *`
 * (tok_encode allocates its scratch per call).  A tok_encoder (per-thread encoder with a cache of
 * the pieces it has seen; the fast path for large inputs) and a tok_stream belong to one thread at
 * a time.
 *
 * Special tokens (<s>, </s>, <|endoftext|>, >>fr<<, ...) are matched in the text only when the
 * caller passes TOK_SPECIAL; otherwise their literal text is encoded as plain text, so user text
 * never smuggles a control token in.  With TOK_SPECIAL the earliest occurrence wins, the longest
 * special token on a tie; the text between specials is encoded as usual.
 *
 * Adding a kind of tokenizer: write one file (e.g. tokenizer/spm_kind.c) that defines
 * `const tok_kind tok_kind_spm` (the table of functions in tok_impl.h; its objects start with the
 * `tokenizer` / `tok_encoder` base structs of tok_impl.h), then add `X(spm)` to TOK_KINDS in
 * tok.c.  tok_open and tok_open_mem give a file to the first kind whose `sniff` recognises its
 * bytes, and to the first kind in TOK_KINDS when none does.  A kind that cannot do something
 * optional (set a pattern, write its file) leaves that entry NULL and callers get
 * TOK_ERR_UNSUPPORTED; a kind whose streaming decoder needs more state adds it to tok_stream.
 */
#ifndef ATTN_TOK_H
#define ATTN_TOK_H

#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 success, negative errors. */
enum {
    TOK_OK = 0,
    TOK_ERR_NOMEM = -1,       /* out of memory */
    TOK_ERR_IO = -2,          /* a file could not be read or written (errno tells why) */
    TOK_ERR_FORMAT = -3,      /* malformed tokenizer file */
    TOK_ERR_PATTERN = -4,     /* the pre-tokenizer pattern does not compile */
    TOK_ERR_SPACE = -5,       /* the output buffer is too small: the needed size is reported */
    TOK_ERR_ID = -6,          /* a token id outside the vocabulary or an unused id */
    TOK_ERR_MATCH = -7,       /* the pre-tokenizer failed while matching (e.g. its match limit) */
    TOK_ERR_ARG = -8,         /* an invalid argument (e.g. vocab size too small, empty special) */
    TOK_ERR_UNSUPPORTED = -9, /* this kind of tokenizer cannot do that (e.g. no pattern to set) */
};

/* Flags for encoding. */
enum {
    TOK_SPECIAL = 1, /* recognise special tokens' literal text in the input */
};

typedef struct tokenizer tokenizer;     /* an opened tokenizer of any kind; read-only, shareable */
typedef struct tok_encoder tok_encoder; /* per-thread encoding state with a piece cache */

/* Returns a static English sentence for a status code. */
const char *tok_strerror(int status);

/* Opens a tokenizer file of any kind (for bpe: an attn tokenizer file, or a *.tiktoken rank file
 * whose pattern and specials follow from its name, see bpe.h); on error returns a status and
 * writes a one-line reason (without the path) into why. */
int tok_open(tokenizer **out, const char *path, char *why, size_t why_len);

/* Opens a tokenizer from the bytes of a tokenizer file (copied; data may be freed after); for bpe
 * only the attn format; returns a status and a reason in why on error. */
int tok_open_mem(tokenizer **out, const void *data, size_t len, char *why, size_t why_len);

/* Frees a tokenizer; accepts NULL. */
void tok_free(tokenizer *t);

/* Returns the name of the tokenizer's kind ("bpe" or "spm"). */
const char *tok_kind_name(const tokenizer *t);

/* Returns the number of ids (the largest id + 1). */
size_t tok_vocab_size(const tokenizer *t);

/* Returns the length in bytes of the longest token (a buffer of this size + 4 always suffices for
 * one tok_stream_push). */
size_t tok_max_token_bytes(const tokenizer *t);

/* Returns the bytes of token id (not NUL-terminated) and sets *len, or NULL for an invalid id. */
const char *tok_token_bytes(const tokenizer *t, int32_t id, size_t *len);

/* Returns 1 if id is a special token, else 0. */
int tok_is_special(const tokenizer *t, int32_t id);

/* Returns the id of the special token whose text is s[0..len-1], or -1 if there is none. */
int32_t tok_special_id(const tokenizer *t, const char *s, size_t len);

/* Returns the id of the ordinary token whose bytes are s[0..len-1], or -1 if there is none. */
int32_t tok_token_id(const tokenizer *t, const char *s, size_t len);

/* Returns the pre-tokenizer pattern's built-in name ("gpt2", "cl100k", "o200k") or the regex
 * itself, or NULL for a kind without a pattern. */
const char *tok_pattern(const tokenizer *t);

/* Replaces the pre-tokenizer pattern (a built-in name or a regex); only before the tokenizer is
 * shared with other threads or encoders.  Returns a status (TOK_ERR_PATTERN, reason in why;
 * TOK_ERR_UNSUPPORTED for a kind without a pattern); on error the old pattern stays. */
int tok_set_pattern(tokenizer *t, const char *pattern, char *why, size_t why_len);

/* Writes the tokenizer in its kind's file format into a malloc'd buffer the caller frees; returns
 * a status (TOK_ERR_UNSUPPORTED for a kind that cannot be written). */
int tok_serialize(const tokenizer *t, char **buf, size_t *len);

/* Writes the tokenizer in its kind's file format to path; returns a status (TOK_ERR_IO with errno
 * set). */
int tok_save(const tokenizer *t, const char *path);

/* Encodes text[0..len-1] into ids[0..cap-1] and sets *n_ids to the count (never more than len);
 * flags: TOK_SPECIAL or 0.  Returns TOK_ERR_SPACE with *n_ids = the needed count when cap is too
 * small, TOK_ERR_NOMEM or TOK_ERR_MATCH on failure.  Thread-safe on a shared tokenizer. */
int tok_encode(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags);

/* Creates a per-thread encoder for t (t must outlive it); returns a status. */
int tok_encoder_open(tok_encoder **out, const tokenizer *t);

/* Frees an encoder; accepts NULL. */
void tok_encoder_free(tok_encoder *e);

/* Same as tok_encode, through the encoder's piece cache (faster on large inputs). */
int tok_encoder_encode(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len, int flags);

/* Decodes ids[0..n_ids-1] into out[0..cap-1] (no NUL) and sets *n_out; returns TOK_ERR_SPACE with
 * *n_out = the needed size when cap is too small, TOK_ERR_ID for an invalid id.  Specials decode
 * to their text. */
int tok_decode(const tokenizer *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids);

/* Flags of tok_clean_text: the fix-ups that transformers' slow tokenizers make to decoded text. */
enum {
    TOK_CLEAN_STRIP = 1,  /* the str.strip() that ends convert_tokens_to_string */
    TOK_CLEAN_SPACES = 2, /* decode()'s clean_up_tokenization_spaces */
};

/* Applies the fix-ups of flags to text s (n bytes) in place, in the order transformers' decode()
 * makes them, and returns the new length: TOK_CLEAN_STRIP takes the white space off both ends
 * (Python's str.isspace: \t \n \v \f \r, U+001C-U+001F, space, U+0085, U+00A0, U+1680,
 * U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000); then TOK_CLEAN_SPACES applies the
 * clean-up's rules, each a replace-all over the whole text, in order: " ." " ?" " !" " ," lose
 * their space, " ' " becomes "'", " n't" " 'm" " 's" " 've" " 're" lose their space.  orig (may
 * be NULL; n entries) receives for each byte of the result its offset in s. */
size_t tok_clean_text(char *s, size_t n, int *orig, int flags);

/* Streaming decoder state for generation: the caller owns it (no allocation).  It hands out only
 * complete UTF-8 characters and holds back an incomplete tail (at most 3 bytes) until a later token
 * completes it; bytes that can never start or continue a valid character go out as they are (bpe)
 * or as U+FFFD (spm, as its library decodes them). */
typedef struct {
    const tokenizer *t;
    unsigned char tail[4]; /* held bytes: a lead byte and fewer continuation bytes than it needs */
    int n_tail;
    int spm_out, spm_past_bos, spm_bos_ws; /* spm: text handed out; leading-space rule (spm.h) */
} tok_stream;

/* Starts a stream over tokenizer t. */
void tok_stream_init(tok_stream *s, const tokenizer *t);

/* Adds one token and writes the bytes now complete into out[0..cap-1], *n_out bytes; cap of
 * tok_max_token_bytes(t) + 4 always suffices.  Returns TOK_ERR_ID (state unchanged) for an invalid
 * id, TOK_ERR_SPACE with *n_out = the needed size. */
int tok_stream_push(tok_stream *s, char *out, size_t cap, size_t *n_out, int32_t id);

/* Writes the held tail (an incomplete character: as its raw bytes for bpe, a U+FFFD per byte for
 * spm) into out (cap >= 12 suffices) and resets the stream; returns TOK_OK or TOK_ERR_SPACE. */
int tok_stream_flush(tok_stream *s, char *out, size_t cap, size_t *n_out);

#endif
