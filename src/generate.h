/* generate.h — decoding: greedy, sampling and beam search over any encoder-decoder model.
 *
 * The decoder is reached through a small table of functions (gen_model), so that the command
 * line plugs in the engine (src/transformer.h) and the tests plug in synthetic models.  Decoding
 * follows Hugging Face transformers 4.30's generate() step for step:
 *
 *   sequence   [decoder_start, t1, t2, ...]   cur_len counts decoder_start; generation stops at
 *              eos or when cur_len reaches max_length = 1 + max_new_tokens.
 *   each step  logits (V) of every live row, then the logits processors in this order:
 *                1. repetition penalty   every distinct id already in the sequence (decoder start
 *                                        and forced tokens included): s/p if s > 0, else s*p
 *                2. no-repeat n-gram     bans ids that would repeat an n-gram of the sequence
 *                3. bad ids              set to -inf at every step
 *                4. min length           eos is -inf while cur_len < 1 + min_new_tokens
 *                5. forced tokens        forced first token (forced BOS) at cur_len 1, then the
 *                                        target prefix: every other id -inf, the forced one 0
 *                6. forced eos           at cur_len == max_length - 1 only eos is allowed
 *   greedy     processors on the raw logits, argmax (lowest id on ties).
 *   sampling   processors, then temperature (divide), top-k (keep the k largest), top-p (keep the
 *              smallest set of largest probabilities whose mass reaches p), min-p (drop
 *              probabilities below min_p times the largest), each on what the previous left;
 *              then one draw from the source's own random stream.
 *   beam       (optionally pad -inf first, as Marian does), log_softmax, processors, plus the beam
 *              score; the 2*B best of B*V candidates (ties: lower beam, then lower id) are
 *              walked in order: eos of rank < B finishes a hypothesis scored
 *              sum / len^length_penalty (len counts decoder start, not eos), eos of rank >= B is
 *              skipped, the first B others are the new beams.  A source is done per HF's
 *              BeamHypotheses.is_done (early stopping true / false / never); at max_length live
 *              beams become hypotheses scored by sum / max_length^length_penalty.  Hypotheses
 *              are ranked by score; on equal scores the one added later comes first (as
 *              Python's sort-and-pop does).
 *
 * Random streams: every source carries a 64-bit stream number (the CLI uses its input position);
 * its draws come from a xoshiro256** generator seeded from (seed, stream), so sampled output does
 * not depend on which other sources share the batch or on thread counts.
 *
 * Memory: gen_open allocates everything for up to max_sources sources (gen_use_pool adds one
 * scratch per thread); gen_run and gen_score do not allocate.  A gen object is used by one
 * thread at a time; with gen_use_pool, its per-row work runs on the pool's threads (the
 * results do not depend on their number).
 *
 * Usage:
 *   gen_params p; gen_params_default(&p); p.max_new_tokens = 50; p.eos_id = 2; ...
 *   gen *g; if (gen_open(&g, &p, vocab_size, 32) < 0) ...
 *   gen_source src[2] = {{ids0, len0, 0}, {ids1, len1, 1}};
 *   gen_run(g, &model, src, 2, on_progress, user);    // on_progress(user, s) when s grows/ends
 *   const gen_result *r = gen_result_get(g, 0);        // r->hyps[0].ids, r->hyps[0].len, ...
 *   gen_free(g);
 */
#ifndef ATTN_GENERATE_H
#define ATTN_GENERATE_H

#include <stdint.h>

#include "status.h"

/* Status codes: gen_* functions return ATTN_OK (0) or a negative ATTN_ERR_* of status.h, which
 * attn_strerror() describes; when the model itself fails, ATTN_ERR_DECODER, and
 * gen_model_status() has the model's own status. */

/* The decoder seen by generation.  Every function returns 0 or a negative model status (the
 * engine's are ATTN_ERR_* codes). */
typedef struct gen_model {
    void *ctx;
    int vocab_size;
    /* encodes n_src sources (source s: src[s][0..len[s]-1]) */
    int (*encode)(void *ctx, const int32_t *const *src, const int *len, int n_src);
    /* starts n_rows decoder rows at position 0; row r reads source src_of_row[r] */
    int (*begin)(void *ctx, const int *src_of_row, int n_rows);
    /* feeds tokens[r] to each row and writes logits (n_rows, V) for the next position */
    int (*step)(void *ctx, float *logits, const int32_t *tokens, int n_rows);
    /* new row r continues old row parent[r]; n_rows may shrink (finished rows dropped) */
    int (*reorder)(void *ctx, const int *parent, int n_rows);
    /* the last step's attention (n_rows, attn_width), read when gen_params.attn_width > 0;
     * may be NULL otherwise */
    const float *(*attn)(void *ctx);
} gen_model;

typedef enum { GEN_GREEDY = 0, GEN_SAMPLE = 1, GEN_BEAM = 2 } gen_mode;

/* Beam search stopping rule (HF early_stopping): */
typedef enum {
    GEN_STOP_HEURISTIC = 0, /* False: done when the best live beam at cur_len cannot beat the
                             * worst kept hypothesis */
    GEN_STOP_EARLY = 1,     /* True: done as soon as num_beams hypotheses have finished */
    GEN_STOP_NEVER = 2,     /* "never": done only when no better hypothesis is possible */
} gen_stopping;

typedef struct gen_params {
    gen_mode mode;
    int max_new_tokens;        /* >= 1: tokens generated after decoder start, eos included */
    int min_new_tokens;        /* eos banned before this many new tokens */
    int decoder_start_id;      /* first decoder input */
    int eos_id;                /* -1: never stops before max_new_tokens */
    int pad_id;                /* -1 if none; used only by beam_mask_pad */
    int forced_bos_id;         /* -1, or the id forced as the first new token */
    int forced_eos_id;         /* -1, or the id forced as the last possible new token */
    const int32_t *bad_ids;    /* (n_bad_ids) ids banned at every step; caller keeps them alive */
    int n_bad_ids;
    int beam_mask_pad;         /* 1: beam search sets pad to -inf before log_softmax (Marian) */
    const int32_t *prefix;     /* (prefix_len) target prefix forced after the forced first token */
    int prefix_len;
    float repetition_penalty;  /* 1 = off */
    int no_repeat_ngram;       /* 0 = off */
    float temperature;         /* sampling: > 0 */
    int top_k;                 /* sampling: 0 = off */
    float top_p;               /* sampling: 1 = off */
    float min_p;               /* sampling: 0 = off */
    uint64_t seed;             /* sampling */
    int num_beams;             /* beam: >= 1 */
    float length_penalty;      /* beam: exponent of the length divisor */
    gen_stopping early_stopping;
    int n_best;                /* beam: hypotheses returned per source, 1..num_beams */
    int attn_width;            /* floats of the model's attention kept per output token (0: none) */
} gen_params;

/* One source to decode: its ids and its random stream number. */
typedef struct gen_source {
    const int32_t *ids;        /* (len) */
    int len;
    uint64_t stream;
} gen_source;

/* One output hypothesis. */
typedef struct gen_hyp {
    const int32_t *ids;        /* (len) new ids: forced and prefix ids included, eos excluded */
    const float *logprobs;     /* (len + ended) model log-probability of each id (before the
                                  processors; beam: after the pad mask), then of eos if ended */
    int len;
    int ended;                 /* 1 when the hypothesis ended with eos */
    double score;              /* beam: HF hypothesis score; else the sum of logprobs */
    const float *attn;         /* (len + ended, attn_width): the model's attention at the step
                                  that chose each id (and eos); NULL when attn_width is 0 */
} gen_hyp;

/* A source's results; valid until the next gen_run or gen_score on the same object. */
typedef struct gen_result {
    const int32_t *settled;    /* (n_settled) ids every possible output starts with (streamable) */
    int n_settled;
    int done;                  /* 1 when hyps are final */
    int n_hyps;                /* greedy/sample: 1; beam: n_best */
    const gen_hyp *hyps;       /* (n_hyps) best first */
} gen_result;

/* Called when source s's settled prefix grew or the source finished (then r->done is 1). */
typedef void (*gen_progress_fn)(void *user, int s);

typedef struct gen gen;
struct tp_pool;

/* Fills p with defaults: greedy, 20 new tokens, eos/pad/forced ids -1, no processors,
 * temperature 1, top-p 1, 1 beam, length penalty 1, early stopping heuristic, n_best 1. */
void gen_params_default(gen_params *p);

/* Checks p against vocab_size; returns ATTN_OK or ATTN_ERR_PARAM. */
int gen_params_check(const gen_params *p, int vocab_size);

/* Allocates a decoder for up to max_sources sources per run (copies p; p's arrays must outlive
 * the object); returns ATTN_OK, ATTN_ERR_PARAM or ATTN_ERR_NOMEM (*out is NULL on error). */
int gen_open(gen **out, const gen_params *p, int vocab_size, int max_sources);

/* Runs the per-row work of each step (log-softmax, processors, candidate selection, argmax or
 * sampling) on pool's threads from now on (NULL: on the caller's thread); the pool must outlive
 * g's runs and may be the model's own (steps and per-row work never overlap).  Allocates one
 * scratch per thread; returns ATTN_OK or ATTN_ERR_NOMEM (g is unchanged then). */
int gen_use_pool(gen *g, struct tp_pool *pool);

/* Frees g; accepts NULL. */
void gen_free(gen *g);

/* Decoder rows the model must hold for a run of n sources (n * num_beams). */
int gen_rows(const gen *g, int n_sources);

/* Decodes n_src sources with model m, calling fn (may be NULL) as outputs settle; returns ATTN_OK,
 * ATTN_ERR_TOO_MANY, ATTN_ERR_DECODER (see gen_model_status) or ATTN_ERR_PARAM. */
int gen_run(gen *g, const gen_model *m, const gen_source *src, int n_src, gen_progress_fn fn,
            void *user);

/* Source s's result after gen_run (NULL when s is out of range). */
const gen_result *gen_result_get(const gen *g, int s);

/* Teacher-forces target t (tgt[t], tgt_len[t] ids) on source t for n pairs and writes
 * logprobs[t] (tgt_len[t] + 1 values when eos_id >= 0, else tgt_len[t]): the model
 * log-probability of each target id, then of eos; a forced first token is fed but not scored.
 * Returns ATTN_OK, ATTN_ERR_TOO_MANY, ATTN_ERR_TOO_LONG or ATTN_ERR_DECODER. */
int gen_score(gen *g, const gen_model *m, float *const *logprobs, const gen_source *src,
              const int32_t *const *tgt, const int *tgt_len, int n);

/* Pair t's attention after gen_score with attn_width > 0: (tgt_len[t] + 1, attn_width), row j
 * the step that scored target id j (then eos); NULL when out of range or attn_width is 0. */
const float *gen_score_attn(const gen *g, int t);

/* The model status behind the last ATTN_ERR_DECODER. */
int gen_model_status(const gen *g);

#endif
