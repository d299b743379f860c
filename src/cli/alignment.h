/* alignment.h — what run, score and attention share about attention: the --align-layer and
 * --align-heads choice turned into the engine's head mix, and the word alignment of one output
 * (src/align.h) through the generic tokenizer interface, for every kind of tokenizer: the
 * output's words are those of its text as the stream decoder writes it (a token's word: the
 * one its bytes start; SentencePiece's pieces joined, U+2581 a space), and the source's (and a
 * given target's) are those of its text, a word holding the tokens that the text up to its end
 * encodes to beyond the text up to the word before. */
#ifndef ATTN_CLI_ALIGNMENT_H
#define ATTN_CLI_ALIGNMENT_H

#include "align.h"
#include "cli.h"

/* Scratch for the word alignment of outputs of up to max_src source and max_tgt output tokens. */
typedef struct cli_align {
    const tokenizer *tok;       /* NULL with ids: every token is a word */
    int special;                /* special tokens are shown (and are words) */
    int clean;                  /* tok_clean_text flags of decoded outputs (detok.*), or 0 */
    int max_src, max_tgt;
    int *sw;                    /* (max_src) source token words */
    int *ts, *te, *tw;          /* (max_tgt) output token byte spans and words */
    char *text;                 /* (text_cap) the output's decoded text (text_len) */
    int *orig;                  /* (text_cap) with clean: each byte's offset before the fix-ups */
    size_t text_cap, text_len;
    int32_t *enc;               /* (enc_cap) ids of a prefix of the source */
    size_t enc_cap;
    int n_src_words, n_tgt_words;   /* of the last cli_align_output */
    al_link *links;             /* (max_tgt) */
    int n_links;
} cli_align;

/* Builds the head mix (n_dec_layers * n_heads floats, allocated into *mix): the average of
 * --align-heads heads ("all" or a comma-separated list of heads from 1; NULL: all) of
 * --align-layer layers ("all" or a comma-separated list of layers from 1, or from -1 the last;
 * NULL: the default, the upper half of the layers, e.g. 2,3 of 3 and 4,5,6 of 6, the best
 * choice by alignment error rate on tests/data/align, README: Alignments); returns 0, or
 * CLI_USAGE after the error, or CLI_FAIL (out of memory). */
int cli_align_mix(const char *cmd, const tf_config *c, const char *layer, const char *heads,
                  float **mix);

/* Asks run r for the attention --align-layer layer and --align-heads heads choose (one channel,
 * cli_align_mix); returns 0, or CLI_USAGE or CLI_FAIL after the error. */
int cli_align_attach(const char *cmd, eng_run *r, const tf_config *c, const char *layer,
                     const char *heads);

/* Allocates the scratch; returns 0 or CLI_FAIL after the error. */
int cli_align_open(cli_align *a, const tokenizer *tok, int special, int max_src, int max_tgt);

/* Frees the scratch (a zeroed one is fine). */
void cli_align_close(cli_align *a);

/* Returns the room cli_decode_ids needs for n ids. */
size_t cli_decode_room(const tokenizer *tok, int n);

/* Decodes ids (n; special tokens only when special) into out (room: cli_decode_room) as the
 * stream decoder writes them, and returns the length; start and end (n, may be NULL) receive
 * each token's bytes: where the decoder held a token's bytes back to complete a character they
 * go to the token that completes it, and an unshown token gets -1. */
size_t cli_decode_ids(char *out, int *start, int *end, const tokenizer *tok, int special,
                      const int32_t *ids, int n);

/* Aligns one output: source text (the record, len bytes) encoded as src (n_src ids, special
 * tokens included), output ids out (n_out) with their text out_text (out_len bytes: a target
 * the ids encode, its words counted as the source's) or NULL (the ids decoded), att (n_out rows
 * stride floats apart: attention over the source tokens); leaves the links in a->links,
 * a->n_links and the output's text in a->text; returns 0 or CLI_FAIL (out of memory, printed). */
int cli_align_output(cli_align *a, const char *text, size_t len, const int32_t *src, int n_src,
                     const int32_t *out, int n_out, const char *out_text, size_t out_len,
                     const float *att, size_t stride);

/* Writes links (n) as Pharaoh text ("0-0 1-2 ..."), as a JSON string when json. */
void cli_align_write(const al_link *links, int n, int json);

#endif
