/* test_attention.c — attention for the caller: the engine's cross- and encoder self-attention
 * probabilities against PyTorch's need_weights output (tests/data/ref/NAME.attnw, written by
 * scripts/goldens/attention.py), per head and averaged as average_attn_weights does, on every
 * instruction set; the histories kept by greedy, sampling and beam search against the same
 * steps taken one by one; no allocation in the token loop with capture on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "kernels.h"
#include "transformer.h"

#include "alloc_count.h"
#include "golden_text.h"

#define MAX_SRC 4
#define DIR "tests/data/ref"

typedef struct wsrc {
    int len, T;
    int32_t ids[64], steps[64];
    float *cross;               /* (L, H, T, len) */
    float *mean;                /* (L, T, len) */
    float *enc;                 /* (Le, H, len, len) */
} wsrc;

typedef struct wgold {
    char model[256];
    double tol;
    int n_src, L, H, Le;
    wsrc s[MAX_SRC];
} wgold;

/* Loads DIR/name.attnw. */
static void load(wgold *g, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.attnw", DIR, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (regenerate: python3 -m scripts.goldens.attention)", path);
    expect_word(f, "attn-weights");
    expect_word(f, "1");
    expect_word(f, "model");
    char m[200];
    assert_int_equal(fscanf(f, "%199s", m), 1);
    snprintf(g->model, sizeof g->model, "%s/%s", DIR, m);
    expect_word(f, "tol");
    assert_int_equal(fscanf(f, "%lf", &g->tol), 1);
    expect_word(f, "sources");
    assert_int_equal(fscanf(f, "%d", &g->n_src), 1);
    assert_true(g->n_src >= 1 && g->n_src <= MAX_SRC);
    for (int i = 0; i < g->n_src; i++) {
        wsrc *s = &g->s[i];
        int idx, a, b, c, d;
        expect_word(f, "source");
        assert_int_equal(fscanf(f, "%d %d", &idx, &s->len), 2);
        assert_true(s->len >= 1 && s->len <= 64);
        for (int j = 0; j < s->len; j++)
            assert_int_equal(fscanf(f, "%d", &s->ids[j]), 1);
        expect_word(f, "steps");
        assert_int_equal(fscanf(f, "%d", &s->T), 1);
        assert_true(s->T >= 1 && s->T <= 64);
        for (int j = 0; j < s->T; j++)
            assert_int_equal(fscanf(f, "%d", &s->steps[j]), 1);
        expect_word(f, "cross");
        assert_int_equal(fscanf(f, "%d %d %d %d", &g->L, &g->H, &a, &b), 4);
        assert_true(a == s->T && b == s->len);
        s->cross = read_floats(f, (size_t)g->L * g->H * a * b);
        expect_word(f, "mean");
        assert_int_equal(fscanf(f, "%d %d %d", &c, &a, &b), 3);
        s->mean = read_floats(f, (size_t)c * a * b);
        expect_word(f, "enc");
        assert_int_equal(fscanf(f, "%d %d %d %d", &g->Le, &c, &a, &d), 4);
        s->enc = read_floats(f, (size_t)g->Le * c * a * d);
    }
    fclose(f);
}

static void unload(wgold *g)
{
    for (int i = 0; i < g->n_src; i++) {
        free(g->s[i].cross);
        free(g->s[i].mean);
        free(g->s[i].enc);
    }
}

/* Max |a - b| over n values. */
static double maxdiff(const float *a, const float *b, int n)
{
    double mx = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= mx))
            mx = d;
    }
    return mx;
}

/* Mix of L*H one-head channels followed by L head-average channels. */
static float *head_mix(int L, int H)
{
    int LH = L * H, C = LH + L;
    float *mix = calloc((size_t)C * LH, sizeof *mix);
    assert_non_null(mix);
    for (int i = 0; i < LH; i++)
        mix[(size_t)i * LH + i] = 1.0f;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            mix[(size_t)(LH + l) * LH + l * H + h] = 1.0f / (float)H;
    return mix;
}

/* Every head and every layer's average, step by step, and the encoder's self-attention, against
 * PyTorch; two rows per source (beams of one source). */
static void check_name(const char *name, double *worst)
{
    wgold g;
    load(&g, name);
    tf_model *m;
    char why[256];
    assert_int_equal(tf_model_open(&m, g.model, why, sizeof why), ATTN_OK);
    int L = g.L, H = g.H, C = L * H + L;
    float *mix = head_mix(L, H);
    const tf_config *cfg = tf_model_config(m);
    float *lg = malloc((size_t)2 * cfg->vocab_size * sizeof *lg);
    assert_non_null(lg);
    for (int i = 0; i < g.n_src; i++) {
        wsrc *s = &g.s[i];
        tf_state *st;
        assert_int_equal(tf_state_open(&st, m, 1, 2, s->len, s->T, 2), ATTN_OK);
        assert_int_equal(tf_attn_capture(st, mix, C, 1), ATTN_OK);
        const int32_t *srcp = s->ids;
        assert_int_equal(tf_encode(st, &srcp, &s->len, 1), ATTN_OK);
        for (int l = 0; l < g.Le; l++)
            for (int h = 0; h < H; h++) {
                int n = 0;
                const float *e = tf_attn_encoder(st, l, h, &n);
                assert_non_null(e);
                assert_int_equal(n, s->len);
                const float *want = s->enc + ((size_t)l * H + h) * s->len * s->len;
                double d = maxdiff(e, want, s->len * s->len);
                *worst = d > *worst ? d : *worst;
            }
        int rows[2] = {0, 0};
        assert_int_equal(tf_decode_begin(st, rows, 2), ATTN_OK);
        for (int t = 0; t < s->T; t++) {
            int32_t tok[2] = {s->steps[t], s->steps[t]};
            assert_int_equal(tf_decode_step(st, lg, tok, 2), ATTN_OK);
            int W;
            const float *a = tf_attn_last(st, &W);
            assert_non_null(a);
            assert_int_equal(W, C * s->len);
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < C; c++) {
                    const float *got = a + (size_t)r * W + (size_t)c * s->len;
                    const float *want =
                        c < L * H ? s->cross + ((size_t)c * s->T + t) * s->len
                                  : s->mean + ((size_t)(c - L * H) * s->T + t) * s->len;
                    double d = maxdiff(got, want, s->len);
                    if (!(d <= g.tol))
                        printf("  %s source %d step %d channel %d: max|diff| %.3g "
                               "(attn %.7g, torch %.7g)\n", name, i, t, c, d, got[0], want[0]);
                    *worst = d > *worst ? d : *worst;
                }
        }
        tf_state_free(st);
    }
    free(lg);
    free(mix);
    tf_model_free(m);
    unload(&g);
}

static void test_matches_pytorch(void **state)
{
    (void)state;
    static const char *const names[] = {"post_relu_tied", "pre_gelu_untied",
                                        "post_gelu_learned"};
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        assert_int_equal(kn_set_isa(isa), isa);
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            double worst = 0;
            check_name(names[k], &worst);
            printf("  %-18s %-8s cross (per head, mean) and encoder attention: max|diff| "
                   "%.2e (tol 1e-5)\n", names[k], kn_isa_name(isa), worst);
            assert_true(worst <= 1e-5);
        }
    }
    kn_set_isa(best);
}

/* Replays hypothesis h of source ids (len) step by step on a fresh state and compares each
 * step's channels with the history generation kept; returns the max difference. */
static double replay(const tf_model *m, const float *mix, int C, int Ls, const int32_t *ids,
                     int len, const gen_hyp *h)
{
    const tf_config *cfg = tf_model_config(m);
    tf_state *st;
    assert_int_equal(tf_state_open(&st, m, 1, 1, Ls, h->len + 2, 1), ATTN_OK);
    assert_int_equal(tf_attn_capture(st, mix, C, 0), ATTN_OK);
    assert_int_equal(tf_encode(st, &ids, &len, 1), ATTN_OK);
    int row = 0;
    assert_int_equal(tf_decode_begin(st, &row, 1), ATTN_OK);
    float *lg = malloc((size_t)cfg->vocab_size * sizeof *lg);
    assert_non_null(lg);
    double worst = 0;
    for (int t = 0; t < h->len + h->ended; t++) {
        int32_t tok = t == 0 ? cfg->decoder_start_id : h->ids[t - 1];
        assert_int_equal(tf_decode_step(st, lg, &tok, 1), ATTN_OK);
        int W;
        const float *a = tf_attn_last(st, &W);
        double d = maxdiff(a, h->attn + (size_t)t * W, W);
        worst = d > worst ? d : worst;
    }
    free(lg);
    tf_state_free(st);
    return worst;
}

/* Greedy, sampling and beam search keep each hypothesis's attention history: the beams' rows are
 * reordered with their parents, finished hypotheses keep theirs; nothing allocates. */
static void test_generation_history(void **state)
{
    (void)state;
    wgold g;
    load(&g, "pre_gelu_untied");
    engine *e;
    char why[256];
    assert_int_equal(eng_open(&e, g.model, why, sizeof why), ATTN_OK);
    const tf_config *cfg = eng_config(e);
    int L = cfg->n_dec_layers, H = cfg->n_heads, LH = L * H, Ls = 16;
    float *mix = calloc((size_t)2 * LH, sizeof *mix);
    assert_non_null(mix);
    for (int h = 0; h < H; h++) {
        mix[(size_t)(L - 1) * H + h] = 1.0f / (float)H;    /* last layer's average */
        mix[LH + h] = h == 0 ? 1.0f : 0.0f;                /* first layer's first head */
    }
    static const int modes[3] = {GEN_GREEDY, GEN_SAMPLE, GEN_BEAM};
    for (int k = 0; k < 3; k++) {
        eng_overrides o;
        eng_overrides_default(&o);
        o.mode = modes[k];
        o.num_beams = modes[k] == GEN_BEAM ? 3 : 1;
        o.n_best = o.num_beams;
        o.max_new_tokens = 10;
        o.has_seed = 1;
        o.seed = 7;
        gen_params p;
        assert_int_equal(eng_params(e, &o, &p), ATTN_OK);
        eng_run *r;
        assert_int_equal(eng_run_open(&r, e, &p, g.n_src, Ls, 2), ATTN_OK);
        assert_int_equal(eng_run_attention(r, mix, 2, 0), ATTN_OK);
        assert_int_equal(eng_attn_width(r), 2 * Ls);
        gen_source src[MAX_SRC];
        for (int i = 0; i < g.n_src; i++)
            src[i] = (gen_source){g.s[i].ids, g.s[i].len, (uint64_t)i};
#if COUNT_ALLOCS
        n_allocs = 0;
        counting = 1;
#endif
        assert_int_equal(eng_generate(r, src, g.n_src, NULL, NULL), ATTN_OK);
#if COUNT_ALLOCS
        counting = 0;
        printf("  mode %d: %ld allocations while generating with attention\n", modes[k],
               n_allocs);
        assert_int_equal(n_allocs, 0);
#endif
        double worst = 0;
        int n_hyps = 0;
        for (int i = 0; i < g.n_src; i++) {
            const gen_result *res = eng_result(r, i);
            for (int j = 0; j < res->n_hyps; j++, n_hyps++) {
                assert_non_null(res->hyps[j].attn);
                double d = replay(eng_model(e), mix, 2, Ls, g.s[i].ids, g.s[i].len,
                                  &res->hyps[j]);
                worst = d > worst ? d : worst;
            }
        }
        printf("  mode %d: %d hypotheses, kept attention vs step-by-step replay max|diff| "
               "%.2e\n", modes[k], n_hyps, worst);
        assert_true(worst <= 1e-5);
        eng_run_free(r);
    }
    free(mix);
    eng_free(e);
    unload(&g);
}

/* Bad requests: a mix that selects no head; off again with 0 channels. */
static void test_errors(void **state)
{
    (void)state;
    tf_model *m;
    char why[256];
    assert_int_equal(tf_model_open(&m, DIR "/post_relu_tied.attn", why, sizeof why), ATTN_OK);
    tf_state *st;
    assert_int_equal(tf_state_open(&st, m, 1, 1, 8, 8, 1), ATTN_OK);
    const tf_config *c = tf_model_config(m);
    float *zero = calloc((size_t)c->n_dec_layers * c->n_heads, sizeof *zero);
    assert_int_equal(tf_attn_capture(st, zero, 1, 0), ATTN_ERR_ARG);
    assert_int_equal(tf_attn_capture(st, NULL, 0, 0), ATTN_OK);
    int W = 1;
    assert_null(tf_attn_last(st, &W));
    assert_int_equal(W, 0);
    int n;
    assert_null(tf_attn_encoder(st, 0, 0, &n));
    free(zero);
    tf_state_free(st);
    tf_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_pytorch),
        cmocka_unit_test(test_generation_history),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
