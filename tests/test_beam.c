/* test_beam.c — beam search checked on synthetic models (tests/gen_test.h): against a plain
 * reference of transformers' BeamSearchScorer (one source, whole sequences recomputed, no
 * caches or row reordering) and against exhaustive search on a tiny vocabulary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gen_test.h"

/* ---- reference beam search (HF BeamSearchScorer, one source, whole sequences) ---------------- */

typedef struct rhyp {
    double score;
    long order;
    int ended;
    int len;            /* ids after decoder start */
    int32_t ids[128];
} rhyp;

typedef struct rbeam {
    float score;
    int len;            /* including decoder start */
    int32_t seq[128];
} rbeam;

typedef struct rcand {
    float score;
    int flat;
} rcand;

static int cmp_cand(const void *a, const void *b)
{
    const rcand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->flat - y->flat;
}

typedef struct rlist {
    rhyp h[512];
    int n;
    long order;
    double worst;
} rlist;

static void rlist_add(rlist *l, int B, double lp, const int32_t *seq, int len, float sum, int ended)
{
    double score = (double)sum / pow((double)len, lp);
    if (l->n >= B && !(score > l->worst))
        return;
    rhyp *h = &l->h[l->n++];
    h->score = score;
    h->order = l->order++;
    h->ended = ended;
    h->len = len - 1;
    memcpy(h->ids, seq + 1, (size_t)(len - 1) * sizeof *seq);
    if (l->n > B) {
        int w = 0;
        for (int i = 1; i < l->n; i++)
            if (l->h[i].score < l->h[w].score)
                w = i;
        memmove(&l->h[w], &l->h[w + 1], (size_t)(l->n - w - 1) * sizeof *l->h);
        l->n--;
        l->worst = l->h[0].score;
        for (int i = 1; i < l->n; i++)
            if (l->h[i].score < l->worst)
                l->worst = l->h[i].score;
    } else if (score < l->worst) {
        l->worst = score;
    }
}

static int cmp_hyp_best(const void *a, const void *b)
{
    const rhyp *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->order > y->order ? -1 : 1;
}

/* Runs reference beam search; leaves the hypotheses sorted best first in *l. */
static void ref_beam(const synth *sy, const gen_params *p, const int32_t *src, int src_len,
                     rlist *l)
{
    int B = p->num_beams, V = sy->V, L = 1 + p->max_new_tokens;
    rbeam *beams = calloc((size_t)B, sizeof *beams), *next = calloc((size_t)B, sizeof *next);
    rcand *c = malloc((size_t)B * V * sizeof *c);
    float *x = malloc((size_t)V * sizeof *x);
    memset(l, 0, sizeof *l);
    l->worst = 1e9;
    for (int b = 0; b < B; b++) {
        beams[b].score = b == 0 ? 0.0f : -1e9f;
        beams[b].len = 1;
        beams[b].seq[0] = p->decoder_start_id;
    }
    int done = 0;
    for (int cur = 1; !done; cur++) {
        for (int b = 0; b < B; b++) {
            ref_logits(sy, x, src, src_len, beams[b].seq, cur);
            if (p->beam_mask_pad)
                x[p->pad_id] = -INFINITY;
            ref_log_softmax(x, V);
            ref_process(p, V, x, beams[b].seq, cur);
            for (int v = 0; v < V; v++) {
                c[b * V + v].score = x[v] + beams[b].score;
                c[b * V + v].flat = b * V + v;
            }
        }
        qsort(c, (size_t)B * V, sizeof *c, cmp_cand);
        int nb = 0;
        for (int k = 0; k < 2 * B && nb < B; k++) {
            int b = c[k].flat / V, v = c[k].flat % V;
            if (v == p->eos_id) {
                if (k < B)
                    rlist_add(l, B, p->length_penalty, beams[b].seq, cur, c[k].score, 1);
                continue;
            }
            next[nb] = beams[b];
            next[nb].seq[cur] = v;
            next[nb].len = cur + 1;
            next[nb].score = c[k].score;
            nb++;
        }
        memcpy(beams, next, (size_t)B * sizeof *beams);
        if (l->n >= B) {
            double len = cur, lp = p->length_penalty;
            if (p->early_stopping == GEN_STOP_EARLY)
                done = 1;
            else {
                if (p->early_stopping == GEN_STOP_NEVER && lp > 0)
                    len = L;
                done = l->worst >= (double)c[0].score / pow(len, lp);
            }
        }
        if (!done && cur + 1 >= L) {
            for (int b = 0; b < B; b++)
                rlist_add(l, B, p->length_penalty, beams[b].seq, cur + 1, beams[b].score, 0);
            done = 1;
        }
    }
    qsort(l->h, (size_t)l->n, sizeof *l->h, cmp_hyp_best);
    free(beams);
    free(next);
    free(c);
    free(x);
}


/* ---- beam search ----------------------------------------------------------------------------- */

/* Beam search over n_src sources against the reference, the per-row work on the caller's thread
 * (pool NULL) or on pool. */
static void beam_run(gen_params *p, synth *sy, int n_src, tp_pool *pool)
{
    gen *g;
    gen_model m = synth_model(sy);
    assert_int_equal(gen_open(&g, p, sy->V, n_src), ATTN_OK);
    assert_int_equal(gen_use_pool(g, pool), ATTN_OK);
    int32_t srcids[16][12];
    gen_source src[16];
    for (int s = 0; s < n_src; s++) {
        make_source(srcids[s], 2 + s % 7, s + 100, sy->V);
        src[s] = (gen_source){srcids[s], 2 + s % 7, (uint64_t)s};
    }
    assert_int_equal(gen_run(g, &m, src, n_src, NULL, NULL), ATTN_OK);
    rlist *l = malloc(sizeof *l);
    for (int s = 0; s < n_src; s++) {
        ref_beam(sy, p, src[s].ids, src[s].len, l);
        const gen_result *r = gen_result_get(g, s);
        assert_true(r->done);
        assert_int_equal(r->n_hyps, p->n_best);
        for (int k = 0; k < p->n_best; k++) {
            const rhyp *h = &l->h[k];
            expect_hyp(&r->hyps[k], h->ids, h->len, h->ended, h->score, 1);
        }
    }
    free(l);
    gen_free(g);
}

/* beam_run on the caller's thread and on test_pool(). */
static void beam_case(gen_params *p, synth *sy, int n_src)
{
    beam_run(p, sy, n_src, NULL);
    beam_run(p, sy, n_src, test_pool());
}

static void test_beam_matches_reference(void **state)
{
    (void)state;
    synth *sy = synth_new(50, 3, 5.0f, 1.5f);
    gen_params p;
    gen_params_default(&p);
    p.mode = GEN_BEAM;
    p.max_new_tokens = 14;
    p.eos_id = 3;
    p.pad_id = 1;
    p.decoder_start_id = 1;
    p.num_beams = 4;
    p.n_best = 4;
    const float lps[] = {1.0f, 0.0f, 2.0f, -0.5f};
    const gen_stopping stops[] = {GEN_STOP_EARLY, GEN_STOP_HEURISTIC, GEN_STOP_NEVER};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            p.length_penalty = lps[i];
            p.early_stopping = stops[j];
            beam_case(&p, sy, 1);
            beam_case(&p, sy, 9);
        }
    /* Marian-like pad mask, bad ids, forced eos, repetition penalty, n-grams, min length */
    int32_t bad[1] = {1};
    p.length_penalty = 1.0f;
    p.early_stopping = GEN_STOP_EARLY;
    p.beam_mask_pad = 1;
    p.bad_ids = bad;
    p.n_bad_ids = 1;
    p.forced_eos_id = 3;
    p.repetition_penalty = 1.3f;
    p.no_repeat_ngram = 2;
    p.min_new_tokens = 3;
    beam_case(&p, sy, 9);
    /* forced first token and a prefix, 6 beams, 3 best */
    int32_t prefix[3] = {20, 21, 22};
    p.forced_bos_id = 0;
    p.prefix = prefix;
    p.prefix_len = 3;
    p.num_beams = 6;
    p.n_best = 3;
    beam_case(&p, sy, 9);
    free(sy);
}

/* Exhaustive search: every sequence of a 4-token vocabulary up to 4 new tokens, scored as HF scores
 * hypotheses (eos ends: sum / (1 + tokens before eos)^lp; max length: sum / (1 + max)^lp). */
typedef struct ex {
    const synth *sy;
    const gen_params *p;
    const int32_t *src;
    int src_len;
    rhyp all[4096];
    int n;
} ex;

static void ex_walk(ex *e, int32_t *seq, int len, float sum)
{
    int V = e->sy->V, L = 1 + e->p->max_new_tokens;
    float x[8];
    ref_logits(e->sy, x, e->src, e->src_len, seq, len);
    ref_log_softmax(x, V);
    ref_process(e->p, V, x, seq, len);
    for (int v = 0; v < V; v++) {
        float s = sum + x[v];
        if (x[v] == -INFINITY)
            continue;
        if (v == e->p->eos_id || len + 1 == L) {
            rhyp *h = &e->all[e->n++];
            int hl = v == e->p->eos_id ? len : len + 1;
            seq[len] = v;
            h->score = (double)s / pow((double)hl, e->p->length_penalty);
            h->len = hl - 1;
            h->order = 0;
            h->ended = v == e->p->eos_id;
            memcpy(h->ids, seq + 1, (size_t)h->len * sizeof *seq);
            continue;
        }
        seq[len] = v;
        ex_walk(e, seq, len + 1, s);
    }
}

static int cmp_score(const void *a, const void *b)
{
    const rhyp *x = a, *y = b;
    return x->score > y->score ? -1 : x->score < y->score ? 1 : 0;
}

static void test_beam_equals_exhaustive(void **state)
{
    (void)state;
    synth *sy = synth_new(4, 0, 3.0f, 0.0f);
    gen_params p;
    gen_params_default(&p);
    p.mode = GEN_BEAM;
    p.max_new_tokens = 4;
    p.eos_id = 0;
    p.decoder_start_id = 1;
    p.num_beams = 128;   /* more beams than live sequences: nothing is ever pruned */
    p.n_best = 5;
    p.early_stopping = GEN_STOP_NEVER;
    ex *e = malloc(sizeof *e);
    const float lps[] = {1.0f, 0.0f, 2.0f};
    for (int i = 0; i < 3; i++) {
        p.length_penalty = lps[i];
        p.repetition_penalty = i == 2 ? 1.5f : 1.0f;
        for (int s = 0; s < 6; s++) {
            int32_t src[5];
            make_source(src, 5, s + 7, 4);
            gen *g;
            gen_model m = synth_model(sy);
            assert_int_equal(gen_open(&g, &p, 4, 1), ATTN_OK);
            gen_source gs = {src, 5, 0};
            assert_int_equal(gen_run(g, &m, &gs, 1, NULL, NULL), ATTN_OK);
            e->sy = sy;
            e->p = &p;
            e->src = src;
            e->src_len = 5;
            e->n = 0;
            int32_t seq[8] = {1};
            ex_walk(e, seq, 1, 0.0f);
            qsort(e->all, (size_t)e->n, sizeof *e->all, cmp_score);
            assert_int_equal(e->n, 1 + 3 + 9 + 27 + 81);   /* eos after 0..3 tokens, or 4 tokens */
            const gen_result *r = gen_result_get(g, 0);
            for (int k = 0; k < 5; k++)
                expect_hyp(&r->hyps[k], e->all[k].ids, e->all[k].len, e->all[k].ended,
                           e->all[k].score, 1);
            gen_free(g);
        }
    }
    free(e);
    free(sy);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beam_matches_reference),
        cmocka_unit_test(test_beam_equals_exhaustive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
