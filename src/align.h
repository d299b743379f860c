/* align.h — word alignments from attention: which source word each output word looks at.
 *
 * Words are the maximal runs of non-whitespace bytes (space, tab, CR, LF, FF, VT) of a text; a
 * token belongs to the word that holds its first non-whitespace byte, and tokens outside the text
 * (special tokens such as <s> and </s>) or of whitespace only belong to none.  Attention rows are
 * those the engine keeps (engine.h: eng_run_attention): row t is the distribution over the source
 * tokens at the step that produced output token t.
 *
 *     int sw[S], tw[T];
 *     int n_sw = al_token_words(sw, s_start, s_end, S, src_text, src_len);
 *     int n_tw = al_token_words(tw, t_start, t_end, T, out_text, out_len);
 *     al_link links[T];
 *     int n = al_hard(links, att, stride, sw, S, tw, T);       // Pharaoh pairs, sorted
 *     float w[n_tw * n_sw];
 *     al_word_matrix(w, att, stride, sw, S, n_sw, tw, T, n_tw); // soft, per word
 *
 * Links serve the repairs of an output too: al_project finds where a point of the source (a
 * boundary between words: a void tag, a missing protected span) goes in the output, and when a
 * repair edits the output text, al_word_map and al_relink move the links onto its words.
 *
 * Every function works on the caller's buffers, allocates nothing and cannot fail.
 */
#ifndef ATTN_ALIGN_H
#define ATTN_ALIGN_H

#include <stddef.h>

/* One alignment link: source word src is aligned with target word tgt. */
typedef struct al_link {
    int src, tgt;
} al_link;

/* Returns 1 for the bytes that separate words, else 0. */
int al_is_space(int c);

/* Returns the number of words of text (len bytes). */
int al_count_words(const char *text, size_t len);

/* Writes word_of[i], the word of token i covering bytes [start[i], end[i]) of text (len bytes;
 * start[i] < 0: a token outside the text), or -1; returns the number of words of the text. */
int al_token_words(int *word_of, const int *start, const int *end, int n_tok, const char *text,
                   size_t len);

/* Hard alignment: each output token t with a word links its word with the word of the source
 * token it attends to most (att[t * stride + j] over source tokens j with a word; ties: the
 * first); writes the distinct links into links (room for n_tgt), sorted by source word then
 * target word, and returns how many. */
int al_hard(al_link *links, const float *att, size_t stride, const int *src_word, int n_src,
            const int *tgt_word, int n_tgt);

/* Soft word alignment w (n_tgt_words, n_src_words): for target word u and source word v, the
 * mean over u's tokens of the attention mass on v's tokens (rows of words without tokens are
 * zero). */
void al_word_matrix(float *w, const float *att, size_t stride, const int *src_word, int n_src,
                    int n_src_words, const int *tgt_word, int n_tgt, int n_tgt_words);

/* Returns the output word boundary (0..n_tgt_words; boundary p stands before output word p) of
 * source word boundary b (0..n_src_words): the one the fewest of links (n) cross, a link
 * crossing when its source word is before b and its output word after the boundary or the
 * reverse; on a tie the one nearest b's relative position, then the first. */
int al_project(const al_link *links, int n, int b, int n_src_words, int n_tgt_words);

/* One edit of a text: del bytes at pos (an offset of the text before any edit) replaced by ins
 * bytes.  Edits are given in text order and do not overlap. */
typedef struct al_edit {
    size_t pos, del, ins;
} al_edit;

/* Writes map[w] for every word w of old (old_len bytes) edited by ed (n_ed) into new (new_len
 * bytes): the word of new that holds the new place of w's first byte that is kept (a deleted
 * byte's new place is the start of what replaced it), or -1 when all of w's bytes were deleted
 * with nothing in their place; map has room for al_count_words(old, old_len). */
void al_word_map(int *map, const char *old, size_t old_len, const al_edit *ed, int n_ed,
                 const char *new_text, size_t new_len);

/* Rewrites the output words of links (n) through map (map[-1] is never read; a word mapped to
 * -1 drops its links), sorted by source word then output word with duplicates removed;
 * returns how many remain. */
int al_relink(al_link *links, int n, const int *map);

/* Inserts link l into links (n, sorted as al_hard leaves them, room for one more) unless it is
 * there; returns the new count. */
int al_add_link(al_link *links, int n, al_link l);

#endif
