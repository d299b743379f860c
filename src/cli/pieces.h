/* pieces.h — a source too long for the model cut into pieces that each fit, at clause
 * punctuation where possible.
 *
 * A piece is a byte span of the text; the white space at each cut belongs to no piece and is
 * the separator that joins the pieces' outputs again.  The cutter does not know the model: a
 * count function says how many tokens a span becomes (with whatever the caller adds around a
 * source), and the cutter keeps every piece within the limit.
 */
#ifndef ATTN_CLI_PIECES_H
#define ATTN_CLI_PIECES_H

#include <stddef.h>

/* One piece: bytes off .. off + len - 1 of the text. */
typedef struct piece {
    size_t off, len;
} piece;

/* Returns the tokens that s (n bytes) becomes as a source, or a negative status. */
typedef long (*pieces_count_fn)(void *ctx, const char *s, size_t n);

/* Cuts text (len bytes) into pieces of at most max tokens each: a piece ends at the last clause
 * punctuation (. , ; : ! ? and the full-width 、，；：) followed by white space that fits, else
 * at the last white space, else at the last whole UTF-8 character; a character that alone is
 * more than max tokens becomes a piece of its own.  token_bytes is the longest token's bytes (a
 * span longer than max * token_bytes is over the limit without being counted).  The pieces are
 * appended in order to *out (grown as needed; *cap entries), after the *n it holds, and *n
 * counts them.  Returns 0, -1 when out of memory, or count's negative status. */
int pieces_cut(piece **out, size_t *cap, size_t *n, const char *text, size_t len, long max,
               size_t token_bytes, pieces_count_fn count, void *ctx);

#endif
