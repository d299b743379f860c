/* gen_test.h — what the decoding tests share (include after cmocka.h): a synthetic model whose
 * logits hash the whole history, reference logits processors and greedy decoding written
 * plainly from transformers' descriptions, and small helpers. */
#ifndef ATTN_GEN_TEST_H
#define ATTN_GEN_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "threadpool.h"

/* Returns a pool of 3 threads for the decoders' per-row work (opened once; the process's exit
 * ends it), so that each case runs on the caller's thread and on several. */
static inline tp_pool *test_pool(void)
{
    static tp_pool *pool;
    if (!pool && tp_open(&pool, 3) != 0)
        fail_msg("tp_open failed");
    return pool;
}

/* ---- allocation counting: the token loop must not allocate (alloc_count.h) */
#include "alloc_count.h"

/* ---- a synthetic model --------------------------------------------------------------------------
 * The logits of a row are a hash of (source, every token fed so far), so a wrong reorder or a row
 * mixed up with another changes them.  With markov set they depend on (source, last token) only. */

#define MAXR 8192
#define MAXS 8192

typedef struct synth {
    int V, eos, markov, constant;
    float spread, eos_bias;
    uint64_t src_h[MAXS];
    uint64_t row_h[MAXR], tmp_h[MAXR];
    int row_src[MAXR], tmp_src[MAXR];
    int n_rows, steps, fail_at;
} synth;

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static inline uint64_t hash_ids(const int32_t *ids, int n)
{
    uint64_t h = 0x1234567ull + (uint64_t)n;
    for (int i = 0; i < n; i++)
        h = mix64(h + (uint64_t)ids[i] * 0x100000001b3ull);
    return h;
}

/* The history hash after feeding tok. */
static inline uint64_t feed_hash(const synth *sy, uint64_t h, uint64_t src_h, int32_t tok)
{
    return sy->markov ? mix64(src_h ^ ((uint64_t)tok * 0x9e3779b97f4a7c15ull))
                      : mix64(h * 31 + (uint64_t)tok + 7);
}

/* Logits of a history hash. */
static inline void hash_logits(const synth *sy, float *x, uint64_t h)
{
    for (int v = 0; v < sy->V; v++) {
        uint64_t z = mix64((sy->constant ? 99 : h) ^ ((uint64_t)(v + 1) * 0xda942042e4dd58b5ull));
        x[v] = sy->spread * (float)((double)(z >> 11) * 0x1.0p-53 * 2 - 1);
        if (v == sy->eos)
            x[v] += sy->eos_bias;
    }
}

static inline int sy_encode(void *ctx, const int32_t *const *src, const int *len, int n)
{
    synth *sy = ctx;
    for (int s = 0; s < n; s++)
        sy->src_h[s] = hash_ids(src[s], len[s]);
    return 0;
}

static inline int sy_begin(void *ctx, const int *src_of_row, int n)
{
    synth *sy = ctx;
    for (int r = 0; r < n; r++) {
        sy->row_src[r] = src_of_row[r];
        sy->row_h[r] = sy->src_h[src_of_row[r]];
    }
    sy->n_rows = n;
    sy->steps = 0;
    return 0;
}

static inline int sy_step(void *ctx, float *logits, const int32_t *tok, int n)
{
    synth *sy = ctx;
    if (n != sy->n_rows)
        return -77;
    if (sy->fail_at && ++sy->steps >= sy->fail_at)
        return -42;
    for (int r = 0; r < n; r++) {
        if (tok[r] < 0 || tok[r] >= sy->V)
            return -78;
        sy->row_h[r] = feed_hash(sy, sy->row_h[r], sy->src_h[sy->row_src[r]], tok[r]);
        hash_logits(sy, logits + (size_t)r * sy->V, sy->row_h[r]);
    }
    return 0;
}

static inline int sy_reorder(void *ctx, const int *parent, int n)
{
    synth *sy = ctx;
    for (int r = 0; r < n; r++) {
        if (parent[r] < 0 || parent[r] >= sy->n_rows)
            return -79;
        sy->tmp_h[r] = sy->row_h[parent[r]];
        sy->tmp_src[r] = sy->row_src[parent[r]];
    }
    memcpy(sy->row_h, sy->tmp_h, (size_t)n * sizeof *sy->row_h);
    memcpy(sy->row_src, sy->tmp_src, (size_t)n * sizeof *sy->row_src);
    sy->n_rows = n;
    return 0;
}

static inline synth *synth_new(int V, int eos, float spread, float eos_bias)
{
    synth *sy = calloc(1, sizeof *sy);
    sy->V = V;
    sy->eos = eos;
    sy->spread = spread;
    sy->eos_bias = eos_bias;
    return sy;
}

static inline gen_model synth_model(synth *sy)
{
    gen_model m = {sy, sy->V, sy_encode, sy_begin, sy_step, sy_reorder, NULL};
    return m;
}

/* Logits after the sequence seq[0..len) on source src (recomputed from scratch). */
static inline void ref_logits(const synth *sy, float *x, const int32_t *src, int src_len,
                       const int32_t *seq, int len)
{
    uint64_t sh = hash_ids(src, src_len), h = sh;
    for (int i = 0; i < len; i++)
        h = feed_hash(sy, h, sh, seq[i]);
    hash_logits(sy, x, h);
}

/* ---- reference processors, written plainly from HF's descriptions ---------------------------- */

static inline void ref_process(const gen_params *p, int V, float *x, const int32_t *seq, int cur_len)
{
    if (p->repetition_penalty != 1.0f) {
        char *seen = calloc((size_t)V, 1);
        for (int i = 0; i < cur_len; i++)
            seen[seq[i]] = 1;
        for (int v = 0; v < V; v++)
            if (seen[v])
                x[v] = x[v] < 0 ? x[v] * p->repetition_penalty : x[v] / p->repetition_penalty;
        free(seen);
    }
    int n = p->no_repeat_ngram;
    if (n > 0 && cur_len >= n - 1) {
        for (int start = 0; start + n - 1 < cur_len; start++) {
            int same = 1;
            for (int j = 0; j < n - 1; j++)
                if (seq[start + j] != seq[cur_len - (n - 1) + j])
                    same = 0;
            if (same)
                x[seq[start + n - 1]] = -INFINITY;
        }
    }
    for (int i = 0; i < p->n_bad_ids; i++)
        x[p->bad_ids[i]] = -INFINITY;
    if (p->eos_id >= 0 && cur_len - 1 < p->min_new_tokens)
        x[p->eos_id] = -INFINITY;
    int forced[64], nf = 0;
    if (p->forced_bos_id >= 0)
        forced[nf++] = p->forced_bos_id;
    for (int i = 0; i < p->prefix_len; i++)
        forced[nf++] = p->prefix[i];
    int f = -1;
    if (cur_len - 1 < nf)
        f = forced[cur_len - 1];
    if (p->forced_eos_id >= 0 && cur_len == p->max_new_tokens)
        f = p->forced_eos_id;
    if (f >= 0)
        for (int v = 0; v < V; v++)
            x[v] = v == f ? 0.0f : -INFINITY;
}

static inline void ref_log_softmax(float *x, int V)
{
    float m = -INFINITY;
    for (int v = 0; v < V; v++)
        m = x[v] > m ? x[v] : m;
    double s = 0;
    for (int v = 0; v < V; v++)
        s += exp((double)x[v] - m);
    float lse = m + (float)log(s);
    for (int v = 0; v < V; v++)
        x[v] -= lse;
}

/* ---- reference greedy ------------------------------------------------------------------------ */

/* Greedy output ids of one source (eos excluded) into out; returns its length, *ended set. */
static inline int ref_greedy(const synth *sy, const gen_params *p, const int32_t *src, int src_len,
                      int32_t *out, int *ended)
{
    int32_t seq[256];
    float *x = malloc((size_t)sy->V * sizeof *x);
    int len = 1;
    seq[0] = p->decoder_start_id;
    *ended = 0;
    while (len < 1 + p->max_new_tokens) {
        ref_logits(sy, x, src, src_len, seq, len);
        ref_process(p, sy->V, x, seq, len);
        int best = 0;
        for (int v = 1; v < sy->V; v++)
            if (x[v] > x[best])
                best = v;
        if (best == p->eos_id) {
            *ended = 1;
            break;
        }
        seq[len++] = best;
    }
    free(x);
    memcpy(out, seq + 1, (size_t)(len - 1) * sizeof *out);
    return len - 1;
}


/* ---- helpers --------------------------------------------------------------------------------- */

static inline void make_source(int32_t *ids, int len, int seed, int V)
{
    for (int i = 0; i < len; i++)
        ids[i] = (int32_t)(mix64((uint64_t)seed * 1000 + (uint64_t)i) % (uint64_t)V);
}

static inline void print_ids(const char *what, const int32_t *ids, int n)
{
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* Asserts that hypothesis h has the ids (n) and, when check_score, the score. */
static inline void expect_hyp(const gen_hyp *h, const int32_t *ids, int n, int ended, double score,
                       int check_score)
{
    if (h->len != n || memcmp(h->ids, ids, (size_t)n * sizeof *ids) != 0 || h->ended != ended) {
        print_ids("expected", ids, n);
        print_ids("got     ", h->ids, h->len);
        fprintf(stderr, "  ended expected %d got %d\n", ended, h->ended);
        fail();
    }
    if (check_score && fabs(h->score - score) > 1e-4 * (1 + fabs(score))) {
        fprintf(stderr, "  score expected %.7f got %.7f\n", score, h->score);
        fail();
    }
}


#endif
