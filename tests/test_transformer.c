/* test_transformer.c — the engine against PyTorch goldens (tests/data/ref, written by
 * scripts/goldens/reference.py from torch.nn.Transformer): encoder output and decoder logits within
 * the golden's tolerance (1e-4 absolute), greedy ids identical; on every instruction set and on 1
 * and 2 threads; beam reordering; bf16 / q8 drift; errors.
 *
 * ATTN_REF_DIR and ATTN_REF_NAMES (comma-separated) select other goldens (make check-reference).
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

#include "kernels.h"
#include "modelfile.h"
#include "transformer.h"

#define MAX_SRC 8

/* ---- allocation counting: encode and decode must not allocate (alloc_count.h) */
#include "alloc_count.h"
#include "golden_text.h"

/* ---- golden files ------------------------------------------------------------------------ */

typedef struct golden {
    char model[256];
    double tol;
    int n_src;
    int src_len[MAX_SRC];
    int32_t *src[MAX_SRC];
    float *enc[MAX_SRC];        /* (src_len, d) */
    int d;
    int n_tgt, tgt_len;
    int32_t *tgt;               /* (n_tgt, tgt_len) */
    int vocab;
    float *logits;              /* (n_tgt, tgt_len, vocab) */
    int greedy_len[MAX_SRC];
    int32_t *greedy[MAX_SRC];
    double margin;
} golden;

/* Loads dir/name.ref. */
static void load_golden(golden *g, const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.ref", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    memset(g, 0, sizeof *g);
    int version;
    expect_word(f, "attn-ref");
    assert_int_equal(fscanf(f, "%d", &version), 1);
    expect_word(f, "model");
    assert_int_equal(fscanf(f, "%255s", g->model), 1);
    expect_word(f, "tol");
    assert_int_equal(fscanf(f, "%lf", &g->tol), 1);
    expect_word(f, "sources");
    assert_int_equal(fscanf(f, "%d", &g->n_src), 1);
    assert_true(g->n_src >= 1 && g->n_src <= MAX_SRC);
    for (int s = 0; s < g->n_src; s++) {
        assert_int_equal(fscanf(f, "%d", &g->src_len[s]), 1);
        g->src[s] = read_ints(f, (size_t)g->src_len[s]);
    }
    for (int s = 0; s < g->n_src; s++) {
        int idx, len;
        expect_word(f, "enc");
        assert_int_equal(fscanf(f, "%d %d %d", &idx, &len, &g->d), 3);
        assert_int_equal(idx, s);
        assert_int_equal(len, g->src_len[s]);
        g->enc[s] = read_floats(f, (size_t)len * g->d);
    }
    expect_word(f, "targets");
    assert_int_equal(fscanf(f, "%d %d", &g->n_tgt, &g->tgt_len), 2);
    g->tgt = read_ints(f, (size_t)g->n_tgt * g->tgt_len);
    int a, b;
    expect_word(f, "logits");
    assert_int_equal(fscanf(f, "%d %d %d", &a, &b, &g->vocab), 3);
    g->logits = read_floats(f, (size_t)a * b * g->vocab);
    for (int s = 0; s < g->n_src; s++) {
        int idx;
        expect_word(f, "greedy");
        assert_int_equal(fscanf(f, "%d %d", &idx, &g->greedy_len[s]), 2);
        g->greedy[s] = read_ints(f, (size_t)g->greedy_len[s]);
    }
    expect_word(f, "margin");
    assert_int_equal(fscanf(f, "%lf", &g->margin), 1);
    fclose(f);
}

/* Frees a golden's arrays. */
static void free_golden(golden *g)
{
    for (int s = 0; s < g->n_src; s++) {
        free(g->src[s]);
        free(g->enc[s]);
        free(g->greedy[s]);
    }
    free(g->tgt);
    free(g->logits);
}

/* Returns the largest |a - b| over n values, printing the first values side by side and the
 * first difference above tol. */
static double compare(const char *what, const float *got, const float *want, size_t n, double tol)
{
    double mx = 0.0;
    size_t first_bad = n;
    for (size_t i = 0; i < n; i++) {
        double dlt = fabs((double)got[i] - (double)want[i]);
        if (!(dlt <= mx))
            mx = dlt;
        if (!(dlt <= tol) && first_bad == n)
            first_bad = i;
    }
    if (first_bad < n) {
        printf("  %s: max |diff| %.3g > tol %.3g; first values (attn / torch):\n", what, mx, tol);
        for (size_t i = 0; i < n && i < 4; i++)
            printf("    [%zu] %.7g / %.7g\n", i, got[i], want[i]);
        printf("    first difference at [%zu]: %.7g / %.7g\n", first_bad, got[first_bad],
               want[first_bad]);
    }
    return mx;
}

/* ---- one run of a golden ------------------------------------------------------------------ */

typedef struct result {
    double enc_max, logit_max;
    int greedy_same, greedy_total;       /* ids equal to PyTorch's (position by position) */
    int rows_same;                       /* whole sequences equal */
} result;

/* Runs model (dir/file) on the golden's inputs: encoder, teacher-forced logits, greedy. Returns
 * the differences; logits_out (n_tgt * tgt_len * vocab) receives the logits when not NULL. */
static result run_golden(const char *dir, const char *file, const golden *g, int n_threads,
                         float *logits_out)
{
    char path[512], why[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    tf_model *m;
    int r = tf_model_open(&m, path, why, sizeof why);
    if (r != ATTN_OK)
        fail_msg("%s: %s", path, why);
    const tf_config *c = tf_model_config(m);
    assert_int_equal(c->vocab_size, g->vocab);
    assert_int_equal(c->d_model, g->d);
    int max_len = 0;
    for (int s = 0; s < g->n_src; s++)
        if (g->src_len[s] > max_len)
            max_len = g->src_len[s];
    tf_state *st;
    assert_int_equal(tf_state_open(&st, m, g->n_src, g->n_src, max_len, 16, n_threads), ATTN_OK);
    result res = {0};
    const int32_t *srcp[MAX_SRC];
    for (int s = 0; s < g->n_src; s++)
        srcp[s] = g->src[s];
    assert_int_equal(tf_encode(st, srcp, g->src_len, g->n_src), ATTN_OK);
    for (int s = 0; s < g->n_src; s++) {
        int len;
        const float *e = tf_encoder_output(st, s, &len);
        assert_non_null(e);
        assert_int_equal(len, g->src_len[s]);
        char what[64];
        snprintf(what, sizeof what, "encoder output of source %d", s);
        double d = compare(what, e, g->enc[s], (size_t)len * g->d, g->tol);
        if (d > res.enc_max)
            res.enc_max = d;
    }
    /* teacher-forced logits: row r decodes target r against source r */
    int n = g->n_tgt, V = g->vocab;
    int rows[MAX_SRC];
    for (int i = 0; i < n; i++)
        rows[i] = i;
    float *lg = malloc((size_t)n * V * sizeof *lg);
    assert_non_null(lg);
    assert_int_equal(tf_decode_begin(st, rows, n), ATTN_OK);
    for (int t = 0; t < g->tgt_len; t++) {
        int32_t tok[MAX_SRC];
        for (int i = 0; i < n; i++)
            tok[i] = g->tgt[i * g->tgt_len + t];
        assert_int_equal(tf_decode_step(st, lg, tok, n), ATTN_OK);
        for (int i = 0; i < n; i++) {
            const float *want = g->logits + ((size_t)i * g->tgt_len + t) * V;
            char what[64];
            snprintf(what, sizeof what, "logits of row %d step %d", i, t);
            double d = compare(what, lg + (size_t)i * V, want, (size_t)V, g->tol);
            if (d > res.logit_max)
                res.logit_max = d;
            if (logits_out)
                memcpy(logits_out + ((size_t)i * g->tgt_len + t) * V, lg + (size_t)i * V,
                       (size_t)V * sizeof *lg);
        }
    }
    /* greedy, all sources at once; a finished row keeps feeding eos */
    int32_t tok[MAX_SRC], out[MAX_SRC][64];
    int done[MAX_SRC] = {0}, len[MAX_SRC] = {0}, maxg = 0;
    for (int s = 0; s < g->n_src; s++) {
        tok[s] = c->decoder_start_id;
        if (g->greedy_len[s] > maxg)
            maxg = g->greedy_len[s];
    }
    assert_int_equal(tf_decode_begin(st, rows, g->n_src), ATTN_OK);
    for (int step = 0; step < maxg; step++) {
        assert_int_equal(tf_decode_step(st, lg, tok, g->n_src), ATTN_OK);
        for (int s = 0; s < g->n_src; s++) {
            tok[s] = kn_argmax(lg + (size_t)s * V, V);
            if (!done[s] && len[s] < g->greedy_len[s]) {
                out[s][len[s]++] = tok[s];
                if (tok[s] == c->eos_id)
                    done[s] = 1;
            }
        }
    }
    for (int s = 0; s < g->n_src; s++) {
        int same = len[s] == g->greedy_len[s];
        for (int i = 0; i < g->greedy_len[s]; i++) {
            int eq = i < len[s] && out[s][i] == g->greedy[s][i];
            res.greedy_same += eq;
            same = same && eq;
        }
        res.greedy_total += g->greedy_len[s];
        res.rows_same += same;
    }
    free(lg);
    tf_state_free(st);
    tf_model_free(m);
    return res;
}

/* ---- tests ------------------------------------------------------------------------------- */

static const char *ref_dir(void)
{
    const char *d = getenv("ATTN_REF_DIR");
    return d && *d ? d : "tests/data/ref";
}

/* Calls fn for each golden name (ATTN_REF_NAMES or the committed ones). */
static void for_each_name(void (*fn)(const char *dir, const char *name))
{
    static const char *const committed[] = {"post_relu_tied", "pre_gelu_untied",
                                            "post_gelu_learned"};
    const char *env = getenv("ATTN_REF_NAMES");
    if (env && *env) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", env);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save))
            fn(ref_dir(), tok);
    } else {
        for (size_t i = 0; i < sizeof committed / sizeof committed[0]; i++)
            fn(ref_dir(), committed[i]);
    }
}

/* f32 on every instruction set up to the best one and on 1 and 2 threads. */
static void check_f32(const char *dir, const char *name)
{
    golden g;
    load_golden(&g, dir, name);
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        assert_int_equal(kn_set_isa(isa), isa);
        for (int threads = 1; threads <= 2; threads++) {
            result r = run_golden(dir, g.model, &g, threads, NULL);
            printf("  %-18s f32 %-8s %d thr: encoder max|diff| %.2e, logits %.2e (tol %.0e), "
                   "greedy %d/%d ids\n", name, kn_isa_name(isa), threads, r.enc_max, r.logit_max,
                   g.tol, r.greedy_same, r.greedy_total);
            assert_true(r.enc_max <= g.tol);
            assert_true(r.logit_max <= g.tol);
            assert_int_equal(r.greedy_same, r.greedy_total);
        }
    }
    kn_set_isa(best);
    free_golden(&g);
}

static void test_f32_matches_pytorch(void **state)
{
    (void)state;
    for_each_name(check_f32);
}

/* bf16 and q8 copies: how far logits move from PyTorch's f32 and how many greedy ids agree;
 * every instruction set gives the same reduced-precision logits within 1e-4. */
static void check_reduced(const char *dir, const char *name)
{
    golden g;
    load_golden(&g, dir, name);
    static const char *const dtypes[] = {"bf16", "q8"};
    /* bounds relative to the largest |logit|, generous but enough to catch a broken path;
     * the measured drift is printed */
    static const double bound[] = {0.03, 0.08};
    double top = 0.0;
    for (size_t i = 0; i < (size_t)g.n_tgt * g.tgt_len * g.vocab; i++)
        if (fabs(g.logits[i]) > top)
            top = fabs(g.logits[i]);
    size_t nl = (size_t)g.n_tgt * g.tgt_len * g.vocab;
    float *base = malloc(nl * sizeof *base), *other = malloc(nl * sizeof *other);
    assert_non_null(base);
    assert_non_null(other);
    for (int k = 0; k < 2; k++) {
        char file[300];
        snprintf(file, sizeof file, "%s.%s.attn", name, dtypes[k]);
        golden loose = g;
        loose.tol = INFINITY;
        int best = kn_set_isa(KN_AVX512);
        result r = run_golden(dir, file, &loose, 1, base);
        printf("  %-18s %-4s: logits max|diff| vs torch f32 %.3g (largest |logit| %.3g), "
               "encoder %.3g, greedy ids %d/%d equal, whole sequences %d/%d\n", name, dtypes[k],
               r.logit_max, top, r.enc_max, r.greedy_same, r.greedy_total, r.rows_same, g.n_src);
        assert_true(r.logit_max <= bound[k] * top);
        for (int isa = KN_PORTABLE; isa < best; isa++) {
            kn_set_isa(isa);
            run_golden(dir, file, &loose, 2, other);
            double d = compare("reduced-precision logits across instruction sets", other, base,
                               nl, 1e-4);
            assert_true(d <= 1e-4);
        }
        kn_set_isa(best);
    }
    free(base);
    free(other);
    free_golden(&g);
}

static void test_reduced_precision(void **state)
{
    (void)state;
    for_each_name(check_reduced);
}

/* Loads the golden case name of tests/data/ref into g and opens its model (the test fails when
 * the model does not open); returns the model. */
static tf_model *open_golden(golden *g, const char *name)
{
    load_golden(g, "tests/data/ref", name);
    char path[512], why[256];
    snprintf(path, sizeof path, "tests/data/ref/%s", g->model);
    tf_model *m;
    assert_int_equal(tf_model_open(&m, path, why, sizeof why), ATTN_OK);
    return m;
}

/* Feeds decoder row r (r < n <= 8) the target token at position t of golden row from[r] and
 * returns the largest |diff| of the n rows' logits from that golden row's (what labels a failure
 * report; the test fails when the step does). */
static double step_and_compare(tf_state *st, float *lg, const golden *g, const int *from, int n,
                               int t, const char *what)
{
    int V = g->vocab, T = g->tgt_len;
    int32_t tok[8];
    assert_true(n <= 8);
    for (int r = 0; r < n; r++)
        tok[r] = g->tgt[from[r] * T + t];
    assert_int_equal(tf_decode_step(st, lg, tok, n), ATTN_OK);
    double mx = 0.0;
    for (int r = 0; r < n; r++) {
        double d = compare(what, lg + (size_t)r * V, g->logits + ((size_t)from[r] * T + t) * V,
                           (size_t)V, g->tol);
        if (!(d <= mx) && !isnan(mx))
            mx = d;
    }
    return mx;
}

/* Beam reordering: rows continue other rows' histories exactly. */
static void test_reorder(void **state)
{
    (void)state;
    golden g;
    tf_model *m = open_golden(&g, "post_relu_tied");
    tf_state *st;
    assert_int_equal(tf_state_open(&st, m, 3, 4, 16, 8, 2), ATTN_OK);
    const int32_t *srcp[3] = {g.src[0], g.src[1], g.src[2]};
    assert_int_equal(tf_encode(st, srcp, g.src_len, 3), ATTN_OK);
    int rows[3] = {0, 1, 2}, V = g.vocab, T = g.tgt_len;
    float *lg = malloc((size_t)4 * V * sizeof *lg);
    assert_non_null(lg);
    assert_int_equal(tf_decode_begin(st, rows, 3), ATTN_OK);
    for (int t = 0; t < 3; t++) {
        int32_t tok[3] = {g.tgt[t], g.tgt[T + t], g.tgt[2 * T + t]};
        assert_int_equal(tf_decode_step(st, lg, tok, 3), ATTN_OK);
    }
    /* four rows now: histories of rows 2, 0, 2, 1 */
    int parent[4] = {2, 0, 2, 1};
    assert_int_equal(tf_decode_reorder(st, parent, 4), ATTN_OK);
    double mx = 0.0;
    for (int t = 3; t < T; t++) {
        double d = step_and_compare(st, lg, &g, parent, 4, t, "logits after reorder");
        if (!(d <= mx) && !isnan(mx))
            mx = d;
    }
    printf("  reorder: max|diff| %.2e\n", mx);
    assert_true(mx <= g.tol);
    free(lg);
    tf_state_free(st);
    tf_model_free(m);
    free_golden(&g);
}

/* Many sources: the encoder runs them in several passes (512 tokens each) and rows of a
 * decoder batch attend to sources far apart. */
static void test_many_sources(void **state)
{
    (void)state;
    golden g;
    tf_model *m = open_golden(&g, "pre_gelu_untied");
    enum { N = 90 };                 /* 30 copies of the 3 sources: 660 tokens, 2 passes */
    const int32_t *srcp[N];
    int lens[N], total = 0;
    for (int i = 0; i < N; i++) {
        srcp[i] = g.src[i % 3];
        lens[i] = g.src_len[i % 3];
        total += lens[i];
    }
    assert_true(total > 512);
    tf_state *st;
    assert_int_equal(tf_state_open(&st, m, N, 3, 16, 8, 2), ATTN_OK);
    assert_int_equal(tf_encode(st, srcp, lens, N), ATTN_OK);
    double mx = 0.0;
    for (int i = 0; i < N; i++) {
        int len;
        const float *e = tf_encoder_output(st, i, &len);
        assert_int_equal(len, lens[i]);
        double d = compare("encoder output", e, g.enc[i % 3], (size_t)len * g.d, g.tol);
        mx = (d <= mx || isnan(mx)) ? mx : d;
    }
    /* rows attend sources 89 (copy of 2), 31 (copy of 1) and 0 */
    int rows[3] = {89, 31, 0}, V = g.vocab, T = g.tgt_len;
    int base[3] = {2, 1, 0};
    float *lg = malloc((size_t)3 * V * sizeof *lg);
    assert_non_null(lg);
    assert_int_equal(tf_decode_begin(st, rows, 3), ATTN_OK);
    for (int t = 0; t < T; t++) {
        double d = step_and_compare(st, lg, &g, base, 3, t, "logits");
        mx = (d <= mx || isnan(mx)) ? mx : d;
    }
    printf("  %d sources, %d tokens: max|diff| %.2e\n", N, total, mx);
    assert_true(mx <= g.tol);
    free(lg);
    tf_state_free(st);
    tf_model_free(m);
    free_golden(&g);
}

/* Writes a copy of the committed post_relu_tied model to path with one change: metadata key
 * set_key set to the string set_str (if not NULL) or the integer set_int, tensor drop left out,
 * tensor reshape written transposed. */
static void write_variant(const char *path, const char *set_key, const char *set_str,
                          int64_t set_int, const char *drop, const char *reshape)
{
    mf_file *f;
    char why[256];
    assert_int_equal(mf_open(&f, "tests/data/ref/post_relu_tied.attn", NULL, why, sizeof why),
                     ATTN_OK);
    mf_writer *w;
    assert_int_equal(mf_writer_open(&w), ATTN_OK);
    assert_int_equal(mf_writer_copy_meta(w, f), ATTN_OK);
    if (set_key && set_str)
        assert_int_equal(mf_writer_set_str(w, set_key, set_str), ATTN_OK);
    else if (set_key)
        assert_int_equal(mf_writer_set_i64(w, set_key, set_int), ATTN_OK);
    for (int i = 0; i < mf_tensor_count(f); i++) {
        mf_tensor t;
        assert_int_equal(mf_tensor_at(f, i, &t), ATTN_OK);
        if (drop && strcmp(t.name, drop) == 0)
            continue;
        if (reshape && strcmp(t.name, reshape) == 0) {
            float *v = malloc((size_t)t.n_elements * sizeof *v);
            assert_non_null(v);
            mf_tensor_to_f32(v, &t);
            int64_t shape[2] = {t.shape[1], t.shape[0]};
            assert_int_equal(mf_writer_add_f32(w, t.name, ATTN_F32, shape, 2, v), ATTN_OK);
            free(v);
            continue;
        }
        assert_int_equal(mf_writer_add_tensor(w, &t), ATTN_OK);
    }
    assert_int_equal(mf_writer_write(w, path, NULL, why, sizeof why), ATTN_OK);
    mf_writer_free(w);
    mf_free(f);
}

/* Models with missing or inconsistent parts are refused with a reason naming the part. */
static void test_bad_models(void **state)
{
    (void)state;
    static const struct {
        const char *key, *str;
        int64_t num;
        const char *drop, *reshape, *expect;
    } cases[] = {
        {"activation", "tanh", 0, NULL, NULL, "activation"},
        {"norm", "batch", 0, NULL, NULL, "norm"},
        {"pos_kind", "rotary", 0, NULL, NULL, "pos_kind"},
        {"arch", "gpt", 0, NULL, NULL, "arch"},
        {"d_model", NULL, 0, NULL, NULL, "d_model"},
        {"n_heads", NULL, -3, NULL, NULL, "n_heads"},
        {"d_ff", NULL, 63, NULL, NULL, "enc.0.ffn.up.weight"},
        {"eos_id", NULL, 1000, NULL, NULL, "eos_id"},
        {"pos_kind", "learned", 0, NULL, NULL, "enc.pos.weight"},
        {NULL, NULL, 0, "dec.1.cross.v.weight", NULL, "dec.1.cross.v.weight"},
        {NULL, NULL, 0, "embed.weight", NULL, "embed.weight"},
        {NULL, NULL, 0, NULL, "enc.1.ffn.down.weight", "enc.1.ffn.down.weight"},
        {"d_head", NULL, 16, NULL, NULL, "enc.0.attn.q.weight"},
    };
    const char *path = "build/test_transformer_bad.attn";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_variant(path, cases[i].key, cases[i].str, cases[i].num, cases[i].drop,
                      cases[i].reshape);
        tf_model *m = NULL;
        char why[256] = "";
        int r = tf_model_open(&m, path, why, sizeof why);
        printf("  case %zu: %s: %s\n", i, attn_strerror(r), why);
        assert_int_equal(r, ATTN_ERR_MODEL);
        assert_null(m);
        assert_non_null(strstr(why, cases[i].expect));
    }
    remove(path);
}

/* Encoding, decoding and reordering allocate nothing (everything comes from tf_state_open). */
static void test_no_allocation(void **state)
{
    (void)state;
#if COUNT_ALLOCS
    golden g;
    tf_model *m = open_golden(&g, "post_gelu_learned");
    tf_state *st;
    assert_int_equal(tf_state_open(&st, m, 3, 6, 16, 8, 2), ATTN_OK);
    const int32_t *srcp[3] = {g.src[0], g.src[1], g.src[2]};
    float *lg = malloc((size_t)6 * g.vocab * sizeof *lg);
    assert_non_null(lg);
    int rows[6] = {0, 0, 1, 1, 2, 2}, parent[6] = {1, 0, 3, 3, 4, 5};
    int32_t tok[6] = {1, 1, 1, 1, 1, 1};
    n_allocs = 0;
    counting = 1;
    int ok =
        tf_encode(st, srcp, g.src_len, 3) == ATTN_OK && tf_decode_begin(st, rows, 6) == ATTN_OK;
    for (int t = 0; t < 8 && ok; t++)
        ok = tf_decode_step(st, lg, tok, 6) == ATTN_OK &&
             tf_decode_reorder(st, parent, 6) == ATTN_OK;
    counting = 0;
    assert_true(ok);
    printf("  allocations during encode, 8 decoder steps and reorders: %ld\n", n_allocs);
    assert_int_equal(n_allocs, 0);
    free(lg);
    tf_state_free(st);
    tf_model_free(m);
    free_golden(&g);
#else
    printf("  allocation counting is not available under AddressSanitizer\n");
    skip();
#endif
}

/* Errors: bad file, bad arguments, calls out of order. */
static void test_errors(void **state)
{
    (void)state;
    tf_model *m = NULL;
    char why[256];
    assert_int_equal(tf_model_open(&m, "tests/data/ref/no-such-file.attn", why, sizeof why),
                     ATTN_ERR_FILE);
    assert_null(m);
    assert_true(strlen(why) > 0);
    assert_int_equal(tf_model_open(&m, "tests/data/ref/post_relu_tied.ref", why, sizeof why),
                     ATTN_ERR_FILE);
    assert_int_equal(tf_model_open(&m, "tests/data/ref/post_relu_tied.attn", why, sizeof why),
                     ATTN_OK);
    const tf_config *c = tf_model_config(m);
    tf_state *st = NULL;
    assert_int_equal(tf_state_open(&st, m, 1, 1, c->max_positions + 1, 4, 1), ATTN_ERR_ARG);
    assert_int_equal(tf_state_open(&st, m, 0, 1, 4, 4, 1), ATTN_ERR_ARG);
    assert_int_equal(tf_state_open(&st, m, 1, 2, 4, 2, 1), ATTN_OK);
    int32_t tok[2] = {1, 1};
    float *lg = malloc((size_t)2 * c->vocab_size * sizeof *lg);
    assert_non_null(lg);
    int zero[2] = {0, 0};
    assert_int_equal(tf_decode_begin(st, zero, 1), ATTN_ERR_STATE);
    assert_int_equal(tf_decode_step(st, lg, tok, 1), ATTN_ERR_STATE);
    int32_t src[5] = {3, 4, 5, 6, 7};
    const int32_t *sp = src;
    int len = 5;
    assert_int_equal(tf_encode(st, &sp, &len, 1), ATTN_ERR_ARG);       /* longer than max_src_len */
    len = 4;
    src[1] = c->vocab_size;
    assert_int_equal(tf_encode(st, &sp, &len, 1), ATTN_ERR_ARG);       /* token out of range */
    src[1] = 4;
    assert_int_equal(tf_encode(st, &sp, &len, 2), ATTN_ERR_ARG);       /* more sources than max */
    assert_int_equal(tf_encode(st, &sp, &len, 1), ATTN_OK);
    int bad_src[1] = {1};
    assert_int_equal(tf_decode_begin(st, bad_src, 1), ATTN_ERR_ARG);
    assert_int_equal(tf_decode_begin(st, zero, 3), ATTN_ERR_ARG);
    assert_int_equal(tf_decode_begin(st, zero, 2), ATTN_OK);
    assert_int_equal(tf_decode_step(st, lg, tok, 1), ATTN_ERR_ARG);    /* row count differs */
    tok[0] = -1;
    assert_int_equal(tf_decode_step(st, lg, tok, 2), ATTN_ERR_ARG);
    tok[0] = 1;
    assert_int_equal(tf_decode_step(st, lg, tok, 2), ATTN_OK);
    assert_int_equal(tf_decode_step(st, lg, tok, 2), ATTN_OK);
    assert_int_equal(tf_decode_position(st), 2);
    assert_int_equal(tf_decode_step(st, lg, tok, 2), ATTN_ERR_STATE);  /* past max_tgt_len */
    int parent[2] = {0, 2};
    assert_int_equal(tf_decode_reorder(st, parent, 2), ATTN_ERR_ARG);
    for (int s = -6; s <= 0; s++)
        assert_non_null(attn_strerror(s));
    free(lg);
    tf_state_free(st);
    tf_model_free(m);
    tf_state_free(NULL);
    tf_model_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32_matches_pytorch),
        cmocka_unit_test(test_reduced_precision),
        cmocka_unit_test(test_reorder),
        cmocka_unit_test(test_many_sources),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_models),
        cmocka_unit_test(test_no_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
