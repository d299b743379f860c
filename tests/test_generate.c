/* test_generate.c — decoding checked on synthetic models (tests/gen_test.h): greedy against a
 * straightforward reference (full recomputation from each sequence, no caches, no row
 * reordering), sampling sets and frequencies, seeds across batch compositions, the logits
 * processors' guarantees, streaming, scoring and no allocation while decoding.  Beam search is
 * in test_beam.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gen_test.h"

/* ---- greedy ---------------------------------------------------------------------------------- */

/* Greedy decoding of n_src sources against the reference, the per-row work on the caller's
 * thread (pool NULL) or on pool; returns the decoder (the caller frees it). */
static gen *greedy_run(gen_params *p, synth *sy, int n_src, tp_pool *pool)
{
    gen *g;
    gen_model m = synth_model(sy);
    assert_int_equal(gen_open(&g, p, sy->V, n_src), ATTN_OK);
    assert_int_equal(gen_use_pool(g, pool), ATTN_OK);
    int32_t srcids[64][12];
    gen_source src[64];
    for (int s = 0; s < n_src; s++) {
        make_source(srcids[s], 3 + s % 9, s, sy->V);
        src[s] = (gen_source){srcids[s], 3 + s % 9, (uint64_t)s};
    }
    assert_int_equal(gen_run(g, &m, src, n_src, NULL, NULL), ATTN_OK);
    for (int s = 0; s < n_src; s++) {
        int32_t want[256];
        int ended, n = ref_greedy(sy, p, src[s].ids, src[s].len, want, &ended);
        const gen_result *r = gen_result_get(g, s);
        assert_true(r->done);
        assert_int_equal(r->n_hyps, 1);
        expect_hyp(&r->hyps[0], want, n, ended, 0, 0);
    }
    return g;
}

/* greedy_run on the caller's thread and on test_pool() (split by rows, or by vocabulary chunks
 * when the rows are fewer than its 3 threads): the same tokens and bit-identical
 * log-probabilities. */
static void greedy_case(gen_params *p, synth *sy, int n_src)
{
    gen *one = greedy_run(p, sy, n_src, NULL), *pooled = greedy_run(p, sy, n_src, test_pool());
    for (int s = 0; s < n_src; s++) {
        const gen_hyp *a = &gen_result_get(one, s)->hyps[0];
        const gen_hyp *b = &gen_result_get(pooled, s)->hyps[0];
        assert_memory_equal(a->logprobs, b->logprobs, (size_t)(a->len + a->ended) * sizeof(float));
    }
    gen_free(one);
    gen_free(pooled);
}

static void test_greedy_matches_reference(void **state)
{
    (void)state;
    synth *sy = synth_new(40, 2, 4.0f, 1.0f);
    gen_params p;
    gen_params_default(&p);
    p.max_new_tokens = 25;
    p.eos_id = 2;
    p.decoder_start_id = 0;
    greedy_case(&p, sy, 1);
    greedy_case(&p, sy, 30);
    /* every processor at once */
    int32_t bad[2] = {5, 7}, prefix[2] = {9, 11};
    p.repetition_penalty = 1.3f;
    p.no_repeat_ngram = 3;
    p.bad_ids = bad;
    p.n_bad_ids = 2;
    p.min_new_tokens = 4;
    p.forced_bos_id = 1;
    p.prefix = prefix;
    p.prefix_len = 2;
    p.forced_eos_id = 2;
    greedy_case(&p, sy, 30);
    free(sy);
    /* a vocabulary of several GEN_CHUNK columns: 1 and 2 rows split by chunks on the pool, with
     * the same processors */
    sy = synth_new(9000, 2, 4.0f, 30.0f);  /* eos would win every step: min length must ban it */
    greedy_case(&p, sy, 1);
    greedy_case(&p, sy, 2);
    greedy_case(&p, sy, 5);
    free(sy);
}

/* ---- sampling -------------------------------------------------------------------------------- */

/* Draws n single tokens from the constant model with p; counts them in count (V). */
static void draw_many(gen_params *p, synth *sy, int n, int *count)
{
    gen *g;
    gen_model m = synth_model(sy);
    assert_int_equal(gen_open(&g, p, sy->V, n), ATTN_OK);
    gen_source *src = calloc((size_t)n, sizeof *src);
    int32_t one = 5;
    for (int s = 0; s < n; s++)
        src[s] = (gen_source){&one, 1, (uint64_t)s};
    assert_int_equal(gen_run(g, &m, src, n, NULL, NULL), ATTN_OK);
    memset(count, 0, (size_t)sy->V * sizeof *count);
    for (int s = 0; s < n; s++) {
        const gen_result *r = gen_result_get(g, s);
        assert_int_equal(r->hyps[0].len, 1);
        count[r->hyps[0].ids[0]]++;
    }
    free(src);
    gen_free(g);
}

/* The allowed set and probabilities (prob, V) the rules of generate.h give for the constant
 * model; returns the set size. */
static int allowed_set(const gen_params *p, const synth *sy, double *prob)
{
    int V = sy->V, order[64];
    float x[64];
    hash_logits(sy, x, 0);
    for (int v = 0; v < V; v++) {
        x[v] /= p->temperature;
        order[v] = v;
    }
    for (int i = 0; i < V; i++)
        for (int j = i + 1; j < V; j++)
            if (x[order[j]] > x[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    int keep = V;
    if (p->top_k > 0 && p->top_k < keep)
        keep = p->top_k;
    double z = 0, cum = 0;
    for (int i = 0; i < keep; i++)
        z += exp(x[order[i]] - x[order[0]]);
    int kp = 0;
    while (kp < keep && cum < p->top_p * z)
        cum += exp(x[order[kp++]] - x[order[0]]);
    keep = kp;
    int n = 0;
    z = 0;
    for (int v = 0; v < V; v++)
        prob[v] = 0;
    for (int i = 0; i < keep; i++) {
        double e = exp(x[order[i]] - x[order[0]]);
        if (e >= p->min_p) {
            prob[order[i]] = e;
            z += e;
            n++;
        }
    }
    for (int v = 0; v < V; v++)
        prob[v] /= z;
    return n;
}

static void test_sampling_sets(void **state)
{
    (void)state;
    synth *sy = synth_new(30, -1, 3.0f, 0.0f);
    sy->constant = 1;
    gen_params p;
    gen_params_default(&p);
    p.mode = GEN_SAMPLE;
    p.max_new_tokens = 1;
    p.seed = 12345;
    struct { float t; int k; float pp, mp; int expect_n; } cases[] = {
        {1.0f, 0, 1.0f, 0.0f, 30}, {1.0f, 5, 1.0f, 0.0f, 5}, {0.7f, 0, 0.6f, 0.0f, -1},
        {1.3f, 8, 0.8f, 0.0f, -1}, {1.0f, 0, 1.0f, 0.2f, -1}, {2.0f, 10, 0.9f, 0.1f, -1},
        {1.0f, 1, 1.0f, 0.0f, 1},
    };
    int n = 6000, count[64];
    double prob[64];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        p.temperature = cases[c].t;
        p.top_k = cases[c].k;
        p.top_p = cases[c].pp;
        p.min_p = cases[c].mp;
        int size = allowed_set(&p, sy, prob);
        if (cases[c].expect_n > 0)
            assert_int_equal(size, cases[c].expect_n);
        assert_true(size >= 1 && size <= sy->V);
        draw_many(&p, sy, n, count);
        for (int v = 0; v < sy->V; v++) {
            if (prob[v] == 0 && count[v] != 0) {
                fprintf(stderr, "  case %zu: token %d drawn %d times outside the set\n", c, v,
                        count[v]);
                fail();
            }
            /* frequencies within 5 standard deviations of the expected ones */
            double sd = sqrt(n * prob[v] * (1 - prob[v])) + 1;
            if (fabs(count[v] - n * prob[v]) > 5 * sd) {
                fprintf(stderr, "  case %zu: token %d drawn %d times, expected %.1f\n", c, v,
                        count[v], n * prob[v]);
                fail();
            }
        }
    }
    free(sy);
}

/* Samples the sources [0, n) in batches of size batch with seed; writes each output into out. */
static void sample_batches(gen_params *p, synth *sy, int n, int batch, int32_t out[][40], int *len,
                           tp_pool *pool)
{
    int32_t srcids[64][12];
    gen_source src[64];
    for (int s = 0; s < n; s++) {
        make_source(srcids[s], 2 + s % 10, s + 300, sy->V);
        src[s] = (gen_source){srcids[s], 2 + s % 10, (uint64_t)s};
    }
    gen *g;
    gen_model m = synth_model(sy);
    assert_int_equal(gen_open(&g, p, sy->V, batch), ATTN_OK);
    assert_int_equal(gen_use_pool(g, pool), ATTN_OK);
    for (int b = 0; b < n; b += batch) {
        int k = n - b < batch ? n - b : batch;
        /* reversed order inside the batch: position in the batch must not matter */
        gen_source rev[64];
        for (int i = 0; i < k; i++)
            rev[i] = src[b + k - 1 - i];
        assert_int_equal(gen_run(g, &m, rev, k, NULL, NULL), ATTN_OK);
        for (int i = 0; i < k; i++) {
            const gen_result *r = gen_result_get(g, i);
            int s = b + k - 1 - i;
            len[s] = r->hyps[0].len;
            memcpy(out[s], r->hyps[0].ids, (size_t)len[s] * sizeof(int32_t));
        }
    }
    gen_free(g);
}

static void test_seed_reproduces_across_batches(void **state)
{
    (void)state;
    synth *sy = synth_new(60, 2, 2.0f, -1.0f);
    gen_params p;
    gen_params_default(&p);
    p.mode = GEN_SAMPLE;
    p.max_new_tokens = 30;
    p.eos_id = 2;
    p.temperature = 0.9f;
    p.top_p = 0.95f;
    p.seed = 777;
    int n = 40, len1[64], len7[64], len40[64], len_other[64];
    static int32_t o1[64][40], o7[64][40], o40[64][40], other[64][40];
    sample_batches(&p, sy, n, 1, o1, len1, NULL);
    sample_batches(&p, sy, n, 7, o7, len7, test_pool());
    sample_batches(&p, sy, n, 40, o40, len40, test_pool());
    p.seed = 778;
    sample_batches(&p, sy, n, 40, other, len_other, NULL);
    int differ = 0;
    for (int s = 0; s < n; s++) {
        assert_int_equal(len1[s], len7[s]);
        assert_int_equal(len1[s], len40[s]);
        assert_memory_equal(o1[s], o7[s], (size_t)len1[s] * sizeof(int32_t));
        assert_memory_equal(o1[s], o40[s], (size_t)len1[s] * sizeof(int32_t));
        differ += len_other[s] != len1[s] || memcmp(other[s], o1[s], (size_t)len1[s] * 4) != 0;
    }
    assert_true(differ > n / 2);
    free(sy);
}

/* ---- processor guarantees -------------------------------------------------------------------- */

static void test_min_length_holds(void **state)
{
    (void)state;
    synth *sy = synth_new(30, 2, 1.0f, 6.0f);   /* eos almost always wins */
    gen_params p;
    gen_params_default(&p);
    p.max_new_tokens = 20;
    p.eos_id = 2;
    for (int mode = 0; mode < 3; mode++) {
        p.mode = (gen_mode)mode;
        p.num_beams = mode == GEN_BEAM ? 3 : 1;
        for (int min = 0; min <= 6; min += 6) {
            p.min_new_tokens = min;
            gen *g;
            gen_model m = synth_model(sy);
            assert_int_equal(gen_open(&g, &p, sy->V, 20), ATTN_OK);
            int32_t ids[20][4];
            gen_source src[20];
            for (int s = 0; s < 20; s++) {
                make_source(ids[s], 4, s, sy->V);
                src[s] = (gen_source){ids[s], 4, (uint64_t)s};
            }
            assert_int_equal(gen_run(g, &m, src, 20, NULL, NULL), ATTN_OK);
            int shortest = 99;
            for (int s = 0; s < 20; s++) {
                const gen_hyp *h = &gen_result_get(g, s)->hyps[0];
                int n = h->len + h->ended;
                shortest = n < shortest ? n : shortest;
            }
            if (min)
                assert_true(shortest >= min + 1);
            else
                assert_true(shortest < 3);   /* the check above can fail */
            gen_free(g);
        }
    }
    free(sy);
}

/* Returns 1 when some n-gram occurs twice in seq (len). */
static int has_repeat(const int32_t *seq, int len, int n)
{
    for (int i = 0; i + n <= len; i++)
        for (int j = i + 1; j + n <= len; j++)
            if (memcmp(seq + i, seq + j, (size_t)n * sizeof *seq) == 0)
                return 1;
    return 0;
}

static void test_no_repeat_ngram_holds(void **state)
{
    (void)state;
    synth *sy = synth_new(12, 0, 3.0f, -10.0f);
    sy->markov = 1;   /* greedy cycles through the same tokens */
    gen_params p;
    gen_params_default(&p);
    p.max_new_tokens = 30;
    p.eos_id = 0;
    p.decoder_start_id = 1;
    for (int mode = 0; mode < 3; mode++) {
        p.mode = (gen_mode)mode;
        p.num_beams = mode == GEN_BEAM ? 4 : 1;
        for (int n = 0; n <= 3; n++) {
            if (n == 1)
                continue;
            p.no_repeat_ngram = n;
            gen *g;
            gen_model m = synth_model(sy);
            assert_int_equal(gen_open(&g, &p, sy->V, 10), ATTN_OK);
            int32_t ids[10][3];
            gen_source src[10];
            for (int s = 0; s < 10; s++) {
                make_source(ids[s], 3, s + 50, sy->V);
                src[s] = (gen_source){ids[s], 3, (uint64_t)s};
            }
            assert_int_equal(gen_run(g, &m, src, 10, NULL, NULL), ATTN_OK);
            int repeats = 0;
            for (int s = 0; s < 10; s++) {
                const gen_hyp *h = &gen_result_get(g, s)->hyps[0];
                int32_t seq[64] = {1};
                memcpy(seq + 1, h->ids, (size_t)h->len * sizeof *seq);
                if (n)
                    assert_false(has_repeat(seq, h->len + 1, n));
                repeats += has_repeat(seq, h->len + 1, 3);
            }
            if (!n && mode == GEN_GREEDY)
                assert_true(repeats > 0);   /* without the processor, repeats do occur */
            gen_free(g);
        }
    }
    free(sy);
}

static void test_forced_tokens_and_bad_ids(void **state)
{
    (void)state;
    synth *sy = synth_new(25, 2, 3.0f, -20.0f);
    gen_params p;
    gen_params_default(&p);
    int32_t bad[3] = {4, 5, 6}, prefix[2] = {4, 9};
    p.max_new_tokens = 10;
    p.eos_id = 2;
    p.forced_bos_id = 5;
    p.forced_eos_id = 2;
    p.prefix = prefix;
    p.prefix_len = 2;
    p.bad_ids = bad;
    p.n_bad_ids = 3;
    for (int mode = 0; mode < 3; mode++) {
        p.mode = (gen_mode)mode;
        p.num_beams = mode == GEN_BEAM ? 3 : 1;
        gen *g;
        gen_model m = synth_model(sy);
        assert_int_equal(gen_open(&g, &p, sy->V, 8), ATTN_OK);
        int32_t ids[8][3];
        gen_source src[8];
        for (int s = 0; s < 8; s++) {
            make_source(ids[s], 3, s, sy->V);
            src[s] = (gen_source){ids[s], 3, (uint64_t)s};
        }
        assert_int_equal(gen_run(g, &m, src, 8, NULL, NULL), ATTN_OK);
        for (int s = 0; s < 8; s++) {
            const gen_hyp *h = &gen_result_get(g, s)->hyps[0];
            /* eos is very unlikely, so every output runs to the forced eos */
            assert_int_equal(h->len, 9);
            assert_int_equal(h->ended, 1);
            assert_int_equal(h->ids[0], 5);
            assert_int_equal(h->ids[1], 4);
            assert_int_equal(h->ids[2], 9);
            for (int i = 3; i < h->len; i++)
                assert_true(h->ids[i] < 4 || h->ids[i] > 6);
        }
        gen_free(g);
    }
    free(sy);
}

/* ---- streaming ------------------------------------------------------------------------------- */

typedef struct watch {
    const gen *g;
    int last[16], calls, done_calls;
    int32_t seen[16][64];
} watch;

static void on_progress(void *user, int s)
{
    watch *w = user;
    const gen_result *r = gen_result_get(w->g, s);
    w->calls++;
    assert_true(r->n_settled >= w->last[s]);
    assert_memory_equal(r->settled, w->seen[s], (size_t)w->last[s] * sizeof(int32_t));
    memcpy(w->seen[s], r->settled, (size_t)r->n_settled * sizeof(int32_t));
    w->last[s] = r->n_settled;
    if (r->done) {
        w->done_calls++;
        for (int k = 0; k < r->n_hyps; k++) {
            assert_true(r->hyps[k].len >= r->n_settled);
            assert_memory_equal(r->hyps[k].ids, w->seen[s], (size_t)r->n_settled * sizeof(int32_t));
        }
    }
}

static void test_settled_prefix_streams(void **state)
{
    (void)state;
    synth *sy = synth_new(20, 2, 6.0f, 0.0f);
    gen_params p;
    gen_params_default(&p);
    p.max_new_tokens = 20;
    p.eos_id = 2;
    for (int mode = 0; mode < 3; mode++) {
        p.mode = (gen_mode)mode;
        p.num_beams = mode == GEN_BEAM ? 4 : 1;
        p.n_best = mode == GEN_BEAM ? 2 : 1;
        gen *g;
        gen_model m = synth_model(sy);
        assert_int_equal(gen_open(&g, &p, sy->V, 10), ATTN_OK);
        int32_t ids[10][5];
        gen_source src[10];
        for (int s = 0; s < 10; s++) {
            make_source(ids[s], 5, s + 9, sy->V);
            src[s] = (gen_source){ids[s], 5, (uint64_t)s};
        }
        watch w = {.g = g};
        assert_int_equal(gen_run(g, &m, src, 10, on_progress, &w), ATTN_OK);
        assert_int_equal(w.done_calls, 10);
        int streamed = 0;
        for (int s = 0; s < 10; s++)
            streamed += w.last[s];
        assert_true(streamed > 0);
        if (mode != GEN_BEAM)
            for (int s = 0; s < 10; s++)
                assert_int_equal(w.last[s], gen_result_get(g, s)->hyps[0].len);
        gen_free(g);
    }
    free(sy);
}

/* ---- scoring --------------------------------------------------------------------------------- */

static void test_score_matches_generation(void **state)
{
    (void)state;
    synth *sy = synth_new(30, 2, 4.0f, 0.5f);
    gen_params p;
    gen_params_default(&p);
    p.max_new_tokens = 16;
    p.eos_id = 2;
    p.forced_bos_id = 7;
    gen *g, *sc;
    gen_model m = synth_model(sy);
    assert_int_equal(gen_open(&g, &p, sy->V, 6), ATTN_OK);
    p.max_new_tokens = 17;   /* scoring a 16-token output and its eos feeds 17 tokens */
    assert_int_equal(gen_open(&sc, &p, sy->V, 6), ATTN_OK);
    int32_t ids[6][4];
    gen_source src[6];
    for (int s = 0; s < 6; s++) {
        make_source(ids[s], 4, s + 77, sy->V);
        src[s] = (gen_source){ids[s], 4, (uint64_t)s};
    }
    assert_int_equal(gen_run(g, &m, src, 6, NULL, NULL), ATTN_OK);
    const int32_t *tgt[6];
    int tlen[6];
    float lp[6][20], *lpp[6];
    for (int s = 0; s < 6; s++) {
        const gen_hyp *h = &gen_result_get(g, s)->hyps[0];
        assert_int_equal(h->ids[0], 7);
        tgt[s] = h->ids + 1;            /* the forced first token is fed, not scored */
        tlen[s] = h->len - 1 - (s == 3 ? 2 : 0);   /* one target cut short */
        lpp[s] = lp[s];
    }
    assert_int_equal(gen_score(sc, &m, lpp, src, tgt, tlen, 6), ATTN_OK);
    for (int s = 0; s < 6; s++) {
        const gen_hyp *h = &gen_result_get(g, s)->hyps[0];
        for (int j = 0; j < tlen[s]; j++)
            assert_float_equal(lp[s][j], h->logprobs[j + 1], 1e-6);
        /* the eos log-probability, recomputed from the reference logits */
        int32_t seq[32] = {0, 7};
        memcpy(seq + 2, tgt[s], (size_t)tlen[s] * sizeof *seq);
        float x[32];
        ref_logits(sy, x, src[s].ids, 4, seq, 2 + tlen[s]);
        ref_log_softmax(x, sy->V);
        assert_float_equal(lp[s][tlen[s]], x[2], 1e-5);
    }
    int too_long = 16;   /* 1 + 1 + 16 fed tokens > 17 */
    assert_int_equal(gen_score(sc, &m, lpp, src, tgt, &too_long, 1), ATTN_ERR_TOO_LONG);
    gen_free(g);
    gen_free(sc);
    free(sy);
}

/* ---- no allocation while decoding ------------------------------------------------------------ */

static void test_no_allocation_in_decoding(void **state)
{
    (void)state;
#if COUNT_ALLOCS
    synth *sy = synth_new(300, 2, 4.0f, 0.0f);
    gen_model m = synth_model(sy);
    int32_t ids[8][6], prefix[2] = {7, 8};
    gen_source src[8];
    for (int s = 0; s < 8; s++) {
        make_source(ids[s], 6, s, sy->V);
        src[s] = (gen_source){ids[s], 6, (uint64_t)s};
    }
    for (int mode = 0; mode < 3; mode++) {
        gen_params p;
        gen_params_default(&p);
        p.mode = (gen_mode)mode;
        p.max_new_tokens = 30;
        p.eos_id = 2;
        p.num_beams = mode == GEN_BEAM ? 4 : 1;
        p.n_best = mode == GEN_BEAM ? 2 : 1;
        p.repetition_penalty = 1.2f;
        p.no_repeat_ngram = 2;
        p.top_k = 20;
        p.top_p = 0.9f;
        p.prefix = prefix;
        p.prefix_len = 2;
        gen *g;
        assert_int_equal(gen_open(&g, &p, sy->V, 8), ATTN_OK);
        float lp[8][40], *lpp[8];
        const int32_t *tgt[8];
        int tlen[8];
        for (int s = 0; s < 8; s++) {
            lpp[s] = lp[s];
            tgt[s] = ids[s];
            tlen[s] = 6;
        }
        n_allocs = 0;
        counting = 1;
        int rc = gen_run(g, &m, src, 8, NULL, NULL);
        int rc2 = gen_score(g, &m, lpp, src, tgt, tlen, 8);
        counting = 0;
        assert_int_equal(rc, ATTN_OK);
        assert_int_equal(rc2, ATTN_OK);
        assert_int_equal(n_allocs, 0);
        /* the counter works: gen_open allocates */
        gen *g2;
        counting = 1;
        assert_int_equal(gen_open(&g2, &p, sy->V, 8), ATTN_OK);
        counting = 0;
        assert_true(n_allocs > 0);
        gen_free(g2);
        gen_free(g);
    }
    free(sy);
#else
    skip();
#endif
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    gen_params p;
    gen_params_default(&p);
    gen *g = (gen *)&p;
    assert_int_equal(gen_open(&g, &p, 0, 1), ATTN_ERR_PARAM);
    assert_null(g);
    p.top_p = 0;
    assert_int_equal(gen_params_check(&p, 10), ATTN_ERR_PARAM);
    gen_params_default(&p);
    p.eos_id = 10;
    assert_int_equal(gen_params_check(&p, 10), ATTN_ERR_PARAM);
    gen_params_default(&p);
    p.n_best = 2;
    assert_int_equal(gen_params_check(&p, 10), ATTN_ERR_PARAM);
    p.mode = GEN_BEAM;
    p.num_beams = 2;
    assert_int_equal(gen_params_check(&p, 10), ATTN_OK);
    assert_int_equal(gen_open(&g, &p, 10, 2), ATTN_OK);
    synth *sy = synth_new(10, 2, 1.0f, 0.0f);
    sy->fail_at = 3;
    gen_model m = synth_model(sy);
    int32_t one = 1;
    gen_source src[3] = {{&one, 1, 0}, {&one, 1, 1}, {&one, 1, 2}};
    assert_int_equal(gen_run(g, &m, src, 3, NULL, NULL), ATTN_ERR_TOO_MANY);
    assert_int_equal(gen_run(g, &m, src, 2, NULL, NULL), ATTN_ERR_DECODER);
    assert_int_equal(gen_model_status(g), -42);
    assert_string_equal(attn_strerror(ATTN_ERR_DECODER), "the model failed");
    gen_free(g);
    gen_free(NULL);
    free(sy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_matches_reference),
        cmocka_unit_test(test_sampling_sets),
        cmocka_unit_test(test_seed_reproduces_across_batches),
        cmocka_unit_test(test_min_length_holds),
        cmocka_unit_test(test_no_repeat_ngram_holds),
        cmocka_unit_test(test_forced_tokens_and_bad_ids),
        cmocka_unit_test(test_settled_prefix_streams),
        cmocka_unit_test(test_score_matches_generation),
        cmocka_unit_test(test_no_allocation_in_decoding),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
