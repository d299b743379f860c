/* spm.h — the SentencePiece kind of tokenizer: its behaviour, what its reader checks, and the
 * accessors only it has.  Opening, encoding, decoding, stream-decoding and writing go through the
 * generic interface, tok.h (tok_open recognises a .model file by its first protobuf field).
 *
 * A SentencePiece model file is a serialized protobuf ModelProto.  attn reads the fields that
 * change encoding or decoding with its own wire-format reader (no protobuf library) and checks
 * everything it reads; the results are those of the SentencePiece library (0.1.97, as Debian 12
 * ships it: `spm_encode --output_format=id`, `spm_decode --input_format=id`) id for id and byte for
 * byte, for all four model types (unigram, BPE, word, char).  tok_serialize gives the file's bytes
 * back unchanged.
 *
 * In tok.h's terms: the special tokens are the control pieces and the unknown piece (<s>, </s>,
 * <unk>, <2fr>, ...); SentencePiece itself never finds them in text, and neither does tok_encode
 * unless TOK_SPECIAL is given: then each occurrence (earliest first, longest on a tie) becomes
 * its id and the text around it is encoded piece by piece, as SentencePiece-based tokenizers
 * encode text split at special tokens.  tok_token_bytes gives a piece's text (U+2581 for spaces);
 * tok_max_token_bytes is the longest piece or unknown surface plus 8, so that its + 4 covers a
 * stream push that also lets out three held bytes as U+FFFD.  A model with a denormalizer map
 * (spm_train --denormalization_rule_tsv) cannot be stream-decoded: tok_stream_push returns
 * TOK_ERR_UNSUPPORTED (tok_decode works).
 *
 * What the reader refuses (TOK_ERR_FORMAT, with the reason in why): a malformed protobuf (a
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

#include "tok.h"

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

/* Opens data[0..len-1] as a SentencePiece model whatever its first bytes look like (tok_open_mem
 * gives it to the kind whose sniff recognises it); returns a status and a reason in why. */
int spm_open_mem(tokenizer **out, const void *data, size_t len, char *why, size_t why_len);

/* The functions below take a tokenizer whose kind is "spm" (tok_kind_name). */

/* Returns the model type (SPM_UNIGRAM, SPM_BPE, SPM_WORD or SPM_CHAR). */
int spm_model_type(const tokenizer *t);

/* Returns the type of piece id (SPM_NORMAL ... SPM_BYTE), or 0 for an id outside the vocabulary. */
int spm_piece_type(const tokenizer *t, int32_t id);

/* Returns the score of piece id, or 0 for an id outside the vocabulary. */
float spm_piece_score(const tokenizer *t, int32_t id);

/* Returns the id of the unknown piece. */
int32_t spm_unk_id(const tokenizer *t);

/* Returns the id of the model's bos, eos or pad piece (named in its trainer spec: <s>, </s>,
 * <pad> by default) when that piece exists as a control piece, else -1. */
int32_t spm_bos_id(const tokenizer *t);
int32_t spm_eos_id(const tokenizer *t);
int32_t spm_pad_id(const tokenizer *t);

/* Writes the normalized form of text[0..len-1] (what the model segments) into out[0..cap-1] and
 * sets *n_out; returns TOK_ERR_SPACE with *n_out = the needed size, or TOK_ERR_NOMEM. */
int spm_normalize(const tokenizer *t, char *out, size_t cap, size_t *n_out, const char *text,
                  size_t len);

/* The functions below take a tokenizer of any kind and answer for kind "spm-map" (a SentencePiece
 * model seen through a model's vocabulary, described above); other kinds have no language codes. */

/* Returns 1 if id is a special token always found in text (an 'a' or 'l' entry: T5's sentinels,
 * mBART's <mask> and language codes), else 0. */
int spm_map_is_added(const tokenizer *t, int32_t id);

/* Returns 1 if id is a language-code token (an 'l' entry: mBART's en_XX), else 0. */
int spm_map_is_lang(const tokenizer *t, int32_t id);

/* Returns the id of language code code (NUL-terminated), or -1 when t has no such code. */
int32_t spm_map_lang_id(const tokenizer *t, const char *code);

#endif
