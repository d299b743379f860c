/* spm.h — SentencePiece models read and run in C: load a .model file, encode text, decode ids.
 *
 * A SentencePiece model file is a serialized protobuf ModelProto.  attn reads the fields that
 * change encoding or decoding with its own wire-format reader (no protobuf library) and checks
 * everything it reads; the results are those of the SentencePiece library (0.1.97, as Debian 12
 * ships it: `spm_encode --output_format=id`, `spm_decode --input_format=id`) id for id and byte for
 * byte, for all four model types (unigram, BPE, word, char).
 *
 * Usage:
 *     spm *m;  char why[256];
 *     if (spm_open(&m, "source.spm", why, sizeof why) < 0) { fprintf(stderr, "%s\n", why); ... }
 *     int32_t ids[1000];  size_t n;
 *     int rc = spm_encode(m, ids, 1000, &n, text, strlen(text));   // SPM_ERR_SPACE: n = needed
 *     char out[4096];  size_t k;
 *     rc = spm_decode(m, out, sizeof out, &k, ids, n);              // SPM_ERR_SPACE: k = needed
 *     spm_free(m);
 *
 * Thread safety: an spm is read-only once opened; any number of threads may share one.
 * spm_encode allocates its scratch per call; an spm_encoder keeps its scratch between calls (the
 * fast path for many lines) and belongs to one thread at a time.
 *
 * What the reader refuses (SPM_ERR_FORMAT, with the reason in why): a malformed protobuf (a
 * truncated varint or field, a length past the end, a group, a field with the wrong wire type, a
 * singular field given twice); no trainer_spec or no normalizer_spec (every spm_train model has
 * both); a piece that is empty, not valid UTF-8 or holds a NUL byte, a piece type outside 1..6, a
 * score that is not finite, the same piece text twice (whatever the types); no unknown piece or
 * two of them; a byte piece that is not <0xXX> or appears without byte_fallback, byte_fallback
 * without all 256 byte pieces; a model type outside 1..4; a unigram model with no normal,
 * user-defined or unused piece; a precompiled character map whose trie size is out of range or not
 * a whole number of units, or in whose trie a reachable node leads outside the array or to a
 * replacement outside the strings, or a path comes back to a node on it (a cycle); an unknown
 * surface that is not valid UTF-8 or holds a NUL byte.
 * Unknown fields are skipped, as protobuf does.  The library itself is laxer (it takes the same
 * text as a control and a normal piece, invalid UTF-8, and reads a charsmap unchecked); models
 * that spm_train writes pass every check.
 *
 * Encoding (each rule as the library has it):
 *  - normalization: the longest match of the precompiled character map (a darts-clone double
 *    array) at each position, else one UTF-8 character, an invalid byte becoming U+FFFD;
 *    user-defined pieces are copied unnormalized; remove_extra_whitespaces drops leading,
 *    trailing and repeated spaces; escape_whitespaces turns ' ' into U+2581; add_dummy_prefix adds
 *    one U+2581 in front (behind with treat_whitespace_as_suffix);
 *  - unigram: Viterbi over every normal and user-defined piece with the model's float scores;
 *    a character no piece covers is unknown (score: lowest score - 10); user-defined pieces score
 *    length * max(highest normal score, FLT_MIN) - 0.1; unused pieces never match;
 *  - BPE: adjacent symbols merge, highest piece score first (leftmost on ties); user-defined
 *    pieces are never merged; unused pieces split back into the pair that formed them;
 *  - word: the text is cut before each U+2581; char: one piece per character (or user-defined
 *    piece);
 *  - unknown pieces in a row become one unknown id, or, with byte_fallback, the ids of their
 *    bytes' <0xXX> pieces.
 * Decoding: control pieces decode to nothing, the unknown piece to the unknown surface (default
 * " \xE2\x81\x87 "), runs of byte pieces to their bytes (U+FFFD for each byte that does not start a
 * valid character), U+2581 to ' '; with add_dummy_prefix or remove_extra_whitespaces, one leading
 * U+2581 of the first normal piece is dropped (with remove_extra_whitespaces, of every piece while
 * the text is still empty); a denormalizer map, if the model has one, is applied last.
 */
#ifndef ATTN_SPM_H
#define ATTN_SPM_H

#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 success, negative errors. */
enum {
    SPM_OK = 0,
    SPM_ERR_NOMEM = -1,  /* out of memory */
    SPM_ERR_IO = -2,     /* the model file could not be read (errno tells why) */
    SPM_ERR_FORMAT = -3, /* the model file is malformed (why says how) */
    SPM_ERR_SPACE = -4,  /* the output buffer is too small: the needed size is reported */
    SPM_ERR_ID = -5,     /* a token id outside the vocabulary */
    SPM_ERR_STREAM = -6, /* decoding this model cannot be streamed (it has a denormalizer) */
};

/* Piece types, numbered as in the model file. */
enum {
    SPM_NORMAL = 1,
    SPM_UNKNOWN = 2,
    SPM_CONTROL = 3,
    SPM_USER_DEFINED = 4,
    SPM_UNUSED = 5,
    SPM_BYTE = 6,
};

/* Model types, numbered as in the model file. */
enum {
    SPM_UNIGRAM = 1,
    SPM_BPE = 2,
    SPM_WORD = 3,
    SPM_CHAR = 4,
};

typedef struct spm spm;                 /* a loaded model; read-only, shareable */
typedef struct spm_encoder spm_encoder; /* per-thread scratch for encoding */

/* Returns a static English sentence for a status code. */
const char *spm_strerror(int status);

/* Opens a SentencePiece .model file; on error returns a status and writes a one-line reason
 * (without the path) into why. */
int spm_open(spm **out, const char *path, char *why, size_t why_len);

/* Opens a model from the bytes of a .model file (copied; data may be freed after); returns a
 * status and a reason in why on error. */
int spm_open_mem(spm **out, const void *data, size_t len, char *why, size_t why_len);

/* Frees a model; accepts NULL. */
void spm_free(spm *m);

/* Returns the number of pieces (ids 0..n-1). */
size_t spm_vocab_size(const spm *m);

/* Returns the model type (SPM_UNIGRAM, SPM_BPE, SPM_WORD or SPM_CHAR). */
int spm_model_type(const spm *m);

/* Returns the text of piece id (NUL-terminated) and sets *len if len is not NULL, or NULL for an
 * id outside the vocabulary. */
const char *spm_piece(const spm *m, int32_t id, size_t *len);

/* Returns the type of piece id (SPM_NORMAL ... SPM_BYTE), or 0 for an id outside the vocabulary. */
int spm_piece_type(const spm *m, int32_t id);

/* Returns the score of piece id, or 0 for an id outside the vocabulary. */
float spm_piece_score(const spm *m, int32_t id);

/* Returns the id of the piece whose text is s[0..len-1], or -1 if there is none. */
int32_t spm_piece_id(const spm *m, const char *s, size_t len);

/* Returns the id of the unknown piece. */
int32_t spm_unk_id(const spm *m);

/* Returns the id of the model's bos, eos or pad piece (named in its trainer spec: <s>, </s>,
 * <pad> by default) when that piece exists as a control piece, else -1. */
int32_t spm_bos_id(const spm *m);
int32_t spm_eos_id(const spm *m);
int32_t spm_pad_id(const spm *m);

/* Encodes text[0..len-1] into ids[0..cap-1] and sets *n_ids to the count.  Returns SPM_ERR_SPACE
 * with *n_ids = the needed count when cap is too small, SPM_ERR_NOMEM when memory runs out or the
 * normalized text reaches 2 GiB.  Thread-safe on a shared spm. */
int spm_encode(const spm *m, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len);

/* Creates an encoder for m (m must outlive it); returns a status. */
int spm_encoder_open(spm_encoder **out, const spm *m);

/* Frees an encoder; accepts NULL. */
void spm_encoder_free(spm_encoder *e);

/* Same as spm_encode, reusing the encoder's scratch. */
int spm_encoder_encode(spm_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len);

/* Writes the normalized form of text[0..len-1] (what the model segments) into out[0..cap-1] and
 * sets *n_out; returns SPM_ERR_SPACE with *n_out = the needed size, or SPM_ERR_NOMEM. */
int spm_normalize(const spm *m, char *out, size_t cap, size_t *n_out, const char *text,
                  size_t len);

/* Decodes ids[0..n_ids-1] into out[0..cap-1] (no NUL) and sets *n_out; returns SPM_ERR_SPACE with
 * *n_out = the needed size when cap is too small, SPM_ERR_ID for an id outside the vocabulary,
 * SPM_ERR_NOMEM on failure. */
int spm_decode(const spm *m, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids);

/* Streaming decoder state for generation: the caller owns it (no allocation).  The text it hands
 * out, pushed id by id and then flushed, is exactly spm_decode's for the same ids; bytes of byte
 * pieces that may still become a character are held (at most 3) until a later id decides. */
typedef struct {
    const spm *m;
    unsigned char held[4]; /* byte-piece bytes of a character not complete yet */
    int n_held;
    int is_bos_ws, bos_ws_seen, any; /* the leading-space rule; any: some text is out */
} spm_stream;

/* Starts a stream over model m; returns SPM_OK, or SPM_ERR_STREAM for a model with a
 * denormalizer (its map applies to the whole text: use spm_decode). */
int spm_stream_init(spm_stream *s, const spm *m);

/* Returns an output size that always suffices for one spm_stream_push or spm_stream_flush. */
size_t spm_stream_cap(const spm *m);

/* Adds one id and writes the text now decided into out[0..cap-1], *n_out bytes.  Returns
 * SPM_ERR_ID (state unchanged) for an id outside the vocabulary, SPM_ERR_SPACE (state unchanged)
 * with *n_out = the needed size. */
int spm_stream_push(spm_stream *s, char *out, size_t cap, size_t *n_out, int32_t id);

/* Writes what is still held (each held byte as U+FFFD) and restarts the stream; returns SPM_OK
 * or SPM_ERR_SPACE (state unchanged) with *n_out = the needed size. */
int spm_stream_flush(spm_stream *s, char *out, size_t cap, size_t *n_out);

#endif
