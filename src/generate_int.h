/* generate_int.h — the decoder object's state, shared by generate.c (object, processors,
 * sampling, greedy runs, scoring) and generate_beam.c (beam search); not part of the API. */
#ifndef ATTN_GENERATE_INT_H
#define ATTN_GENERATE_INT_H

#include "generate.h"

#include "threadpool.h"

/* A xoshiro256** random stream. */
typedef struct rng {
    uint64_t s[4];
} rng;

/* Vocabulary columns per chunk of a greedy or sampled row's log-sum-exp: fixed, so that the
 * result does not depend on how the rows are split over threads. */
#define GEN_CHUNK 4096

/* A finished beam hypothesis kept in a source's list. */
typedef struct kept_hyp {
    int used;
    long order;         /* insertion number: later wins ties for best, earlier loses for worst */
    double score;
    int len, ended;
    int32_t *ids;       /* (max_len) */
    float *lps;         /* (max_len + 1) */
    float *att;         /* (max_len + 1, attn_width) like lps; NULL when attn_width is 0 */
} kept_hyp;

/* One thread's scratch for the per-row work of a step. */
typedef struct gen_scratch {
    uint32_t *mark;     /* (V) epoch marks for distinct ids (repetition penalty) */
    uint32_t epoch;
    int *heap;          /* (V) sampling order */
    float *row;         /* (V) a beam row's processed log_softmax (kept in this thread's cache
                         * rather than written out for every row) */
} gen_scratch;

/* Per-source state of one run. */
typedef struct srcstate {
    rng r;
    int done;
    int n_kept;         /* finished hypotheses kept (at most num_beams) */
    long next_order;
    double worst;
    kept_hyp *kept;     /* (num_beams) the source's finished hypotheses */
    int32_t *out_ids;   /* (max_len) greedy/sample output, beam settled prefix */
    float *out_lps;     /* (max_len + 1) */
    float *out_att;     /* (max_len + 1, attn_width) greedy/sample/score attention, or NULL */
} srcstate;

struct gen {
    gen_params p;
    int V, max_src, max_rows, max_len, B, K;   /* B beams per source, K = 2B candidates */
    float *logits;      /* (max_rows, V) */
    float *aux;         /* (max_rows, V) raw copy (greedy/sample); (1, V) unused (beam) */
    /* each next_* is the other half of a double buffer: beam search builds the next step's
     * rows there from the current ones, then copies them back */
    int32_t *seq, *next_seq;        /* (max_rows, max_len) each row's decoder sequence, start
                                     * included */
    float *lp, *next_lp;            /* (max_rows, max_len) model log-probability of seq[r][1..] */
    float *att, *next_att;          /* (max_rows, max_len, attn_width) beam: the attention of
                                     * the step that chose seq[r][j]; NULL when attn_width 0 */
    float *bscore, *next_bscore;    /* (max_rows) beam scores */
    int32_t *feed;      /* (max_rows) token fed to each row */
    int *row_src, *next_row_src;    /* (max_rows) run source of each row */
    int *parent;        /* (max_rows) */
    const int32_t **src_ids;  /* (max_src) source ids handed to encode */
    int *src_len;       /* (max_src) */
    tp_pool *pool;      /* gen_use_pool's, or NULL: the per-row work on the caller's thread */
    int n_scratch;      /* scratch entries: 1, or the pool's threads */
    gen_scratch *scratch;   /* (n_scratch) per thread: scratch0, or in pool_mem */
    gen_scratch *scratch0;  /* (1) the arena's entry */
    void *pool_mem;     /* gen_use_pool's scratch entries and their buffers */
    float *rscore;      /* (max_rows, K) beam: each row's best candidates (score with beam score) */
    int *rflat;         /* (max_rows, K) their beam * V + id */
    int *rhave;         /* (max_rows) how many */
    int n_chunks;       /* greedy/sample: vocabulary chunks of GEN_CHUNK columns per row */
    float *part_m, *part_s; /* (max_rows, n_chunks) each chunk's kn_sumexp maximum and sum */
    int *part_i;        /* (max_rows, n_chunks) each chunk's argmax (greedy, column split) */
    int32_t *rtok;      /* (max_rows) greedy/sample: each row's chosen token */
    float *rlp;         /* (max_rows) its model log-probability; beam: the row's log-sum-exp */
    float *cscore;      /* (max_src, K) candidate scores */
    int *cflat;         /* (max_src, K) candidate beam * V + id */
    int32_t *forced;    /* (max_len) forced new tokens: forced BOS then prefix */
    int n_forced;
    srcstate *src;      /* (max_src) */
    kept_hyp *kept;     /* (max_src, B) finished hypotheses of every source */
    gen_hyp *hyps;      /* (max_src, n_best) */
    gen_result *res;    /* (max_src) */
    int model_status;
    void *arena;
};

/* Records a model failure in g; returns ATTN_ERR_DECODER. */
int gen_model_failed(gen *g, int status);

/* Returns 1 when gen_process_row may change rows whose sequences have length cur_len, 0 when it
 * leaves every such row as it is. */
int gen_processes(const gen *g, int cur_len);

/* Applies the processors 1-6 of generate.h to one row x (V) whose sequence is seq[0..cur_len),
 * with the scratch of thread `thread`. */
void gen_process_row(gen *g, int thread, float *x, const int32_t *seq, int cur_len);

/* Runs fn(ctx, row, thread) for every row < rows: on g's pool when it has one and there are
 * several rows, else on the caller's thread. */
void gen_for_rows(gen *g, tp_fn fn, void *ctx, int rows);

/* Runs beam search over the n sources that gen_run started (generate_beam.c); returns ATTN_OK or
 * ATTN_ERR_DECODER. */
int gen_run_beam(gen *g, const gen_model *m, int n, gen_progress_fn fn, void *user);

#endif
