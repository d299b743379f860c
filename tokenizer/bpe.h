/* bpe.h — the byte-level BPE kind of tokenizer: its behaviour, its file formats, opening a
 * tiktoken rank file with explicit specials, and training.  Everything else (open, encode, decode,
 * stream-decode, save) goes through the generic interface, tok.h.
 *
 * The tokenizer works as GPT-2 and tiktoken do: a pre-tokenizer regular expression (PCRE2, UTF +
 * UCP, JIT when available) splits the text into pieces, each piece is taken as bytes and its
 * adjacent parts are merged, lowest rank first (leftmost on ties), until no adjacent pair forms a
 * token.  The rank of a token is its id unless the tokenizer file gives another.  Every byte
 * string can be encoded and decode(encode(x)) == x for every x, invalid UTF-8 included.
 *
 * Thread safety: as tok.h says; a bpe_trainer belongs to one thread.
 *
 * Invalid UTF-8 (documented behaviour): the pre-tokenizer matches with PCRE2_MATCH_INVALID_UTF, so
 * no pattern item ever matches an ill-formed sequence; every maximal run of bytes that no match
 * covers (the invalid bytes, in practice) becomes a piece of its own and is merged by rank like
 * any other piece.  The result is deterministic and round-trips; on valid UTF-8 it is exactly
 * tiktoken's.
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
 * tok_open picks the pattern and special tokens from the file name (cl100k_base, o200k_base, else
 * r50k's gpt2 pattern and <|endoftext|> = 50256); bpe_open_tiktoken takes them explicitly.
 *
 * Unicode: PCRE2's tables (Debian 12: 10.42, Unicode 14) are older than the Rust regex tables
 * tiktoken uses, so letters, digits and marks added in Unicode 15 and 16 may split differently.
 */
#ifndef ATTN_BPE_H
#define ATTN_BPE_H

#include "tok.h"

typedef struct bpe_trainer bpe_trainer; /* learns a vocabulary */

/* Opens a tiktoken rank file's bytes with a pattern (a built-in name or a regex) and special tokens
 * given as "TEXT=ID" strings; returns a status and a reason in why on error. */
int bpe_open_tiktoken(tokenizer **out, const void *data, size_t len, const char *pattern,
                      const char *const *specials, size_t n_specials, char *why, size_t why_len);

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
 * early when no pair occurs any more (*out then has fewer ids).  Returns a status (TOK_ERR_ARG when
 * vocab_size < n_specials + 256 or a special is empty or repeated) and a reason in why. */
int bpe_trainer_finish(bpe_trainer *tr, tokenizer **out, size_t vocab_size,
                       const char *const *specials, size_t n_specials, char *why, size_t why_len);

#endif
