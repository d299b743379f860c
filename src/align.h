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
 * Every function works on the caller's buffers, allocates nothing and cannot fail.
 */
#ifndef ATTN_ALIGN_H
#define ATTN_ALIGN_H

#include <stddef.h>

/* One alignment link: source word src is aligned with target word tgt. */
typedef struct al_link {
    int src, tgt;
} al_link;

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

#endif
