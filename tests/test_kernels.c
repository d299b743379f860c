/* test_kernels.c — every kernel on every instruction set this CPU has, against double-precision
 * references computed here from the definitions: matrix products for f32, f16, bf16 and q8
 * weights (odd sizes, bias, output ranges and strides), f32 from panels, the same bits for a row
 * whatever rows share a product, activation quantization, conversions,
 * dot / axpy, softmax, log-softmax, log-sum-exp, top-k lists, LayerNorm, RMSNorm and the
 * activations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "product_check.h"

/* Returns float bits as a float. */
static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Reference dequantization of element i of a weight. */
static double ref_w(const kn_weight *w, size_t i)
{
    switch (w->dtype) {
    case ATTN_F32: return ((const float *)w->data)[i];
    case ATTN_BF16: return bits_f((uint32_t)((const uint16_t *)w->data)[i] << 16);
    case ATTN_F16: {
        uint16_t h = ((const uint16_t *)w->data)[i];
        int e = (h >> 10) & 31, m = h & 1023;
        double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
        return (h & 0x8000) ? -v : v;
    }
    default: return (double)w->scale[i / (size_t)w->cols] * ((const int8_t *)w->data)[i];
    }
}

/* A random weight of the given type; buffers are malloc'd into *data, *scale, *rowsum. */
static kn_weight make_weight(int dtype, int rows, int cols, void **data, float **scale,
                             int32_t **rowsum)
{
    kn_weight w = {dtype, rows, cols, NULL, NULL, NULL, NULL, NULL};
    size_t n = (size_t)rows * cols;
    *scale = NULL;
    *rowsum = NULL;
    if (dtype == ATTN_F32) {
        float *f = malloc(n * sizeof *f);
        for (size_t i = 0; i < n; i++)
            f[i] = next_f();
        *data = f;
    } else if (dtype == ATTN_F16 || dtype == ATTN_BF16) {
        uint16_t *h = malloc(n * sizeof *h);
        for (size_t i = 0; i < n; i++) {
            float f = next_f();
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            if (dtype == ATTN_BF16)
                h[i] = (uint16_t)(u >> 16);
            else /* any finite half: exponent 0..30 */
                h[i] = (uint16_t)((next_u32() & 0x83ff) | ((next_u32() % 17 + 4) << 10));
        }
        *data = h;
    } else {
        int8_t *q = malloc(n);
        *scale = malloc((size_t)rows * sizeof **scale);
        *rowsum = malloc((size_t)rows * sizeof **rowsum);
        for (int r = 0; r < rows; r++) {
            (*scale)[r] = 0.001f + (float)(next_u32() % 1000) * 1e-5f;
            int32_t s = 0;
            for (int k = 0; k < cols; k++) {
                q[(size_t)r * cols + k] = (int8_t)((int)(next_u32() % 255) - 127);
                s += q[(size_t)r * cols + k];
            }
            (*rowsum)[r] = s;
        }
        *data = q;
    }
    w.data = *data;
    w.scale = *scale;
    w.rowsum = *rowsum;
    return w;
}

/* The reference y[b, o] of kn_linear with weight ctx: the q8 one from the exact int8 dot,
 * float-like ones in double. */
static double linear_ref(void *ctx, const product_case *c, int b, int o, double *mag)
{
    const kn_weight *w = ctx;
    int cols = c->cols, qc = kn_qcols(cols);
    double want = 0.0;
    *mag = 0.0;
    if (w->dtype == ATTN_Q8) {
        int64_t acc = 0;
        for (int k = 0; k < cols; k++)
            acc += (int64_t)c->q[(size_t)b * qc + k] *
                   ((const int8_t *)w->data)[(size_t)o * cols + k];
        want = (double)acc * c->qs[b] * w->scale[o];
        *mag = fabs(want);
        return want;
    }
    for (int k = 0; k < cols; k++) {
        double t = (double)c->x[(size_t)b * cols + k] * ref_w(w, (size_t)o * cols + k);
        want += t;
        *mag += fabs(t);
    }
    return want;
}

/* Packs f32 weights w into panels (kn_pack_panels) in a buffer the caller frees. */
static float *make_panels(kn_weight *w)
{
    size_t size = kn_panels_size(w->rows, w->cols);
    float *panels = aligned_alloc(64, (size + 63) & ~(size_t)63);
    kn_pack_panels(panels, w->data, w->rows, w->cols);
    w->panels = panels;
    return panels;
}

/* Checks kn_linear for one dtype and shape on the current instruction set, f32 weights packed
 * into panels too when `panels`, over an output range inside the first and last rows with bias
 * and over one from the second panel's start (or 0) to the end without. */
static void check_linear_on(int dtype, int n, int rows, int cols, int panels)
{
    void *data;
    float *scale;
    int32_t *rowsum;
    kn_weight w = make_weight(dtype, rows, cols, &data, &scale, &rowsum);
    float *packed = panels ? make_panels(&w) : NULL;
    int ranges[2][2] = {{rows > 2 ? 1 : 0, rows > 4 ? rows - 1 : rows},
                        {rows > KN_PANEL ? KN_PANEL : 0, rows}};
    for (int r = 0; r < 2; r++) {
        product_case c;
        pc_open(&c, n, rows, cols, rows + 3);
        kn_linear(c.y, c.ldy, &c.in, &w, r ? NULL : c.bias, ranges[r][0], ranges[r][1]);
        pc_check(&c, panels ? "kn_linear panels" : "kn_linear", dtype, ranges[r][0],
                 ranges[r][1], r ? NULL : c.bias, linear_ref, &w);
        pc_free(&c);
    }
    free(packed);
    free(data);
    free(scale);
    free(rowsum);
}

/* check_linear_on with the weights as they are, and with f32 ones packed into panels. */
static void check_linear(int dtype, int n, int rows, int cols)
{
    check_linear_on(dtype, n, rows, cols, 0);
}

static void check_linear_panels(int dtype, int n, int rows, int cols)
{
    check_linear_on(dtype, n, rows, cols, 1);
}

static void test_linear_all_isas(void **state)
{
    (void)state;
    static const int ns[] = {1, 2, 3, 5, 9};
    static const int rowss[] = {1, 4, 7, 37};
    static const int colss[] = {1, 7, 16, 33, 64, 100, 130};
    pc_sweep_isas(check_linear, "kn_linear f32/f16/bf16/q8", ATTN_Q8, ns, sizeof ns / sizeof *ns,
                  rowss, sizeof rowss / sizeof *rowss, colss, sizeof colss / sizeof *colss);
}

static void test_linear_panels(void **state)
{
    (void)state;
    static const int ns[] = {1, 2, 3, 4, 5, 6, 7, 13};
    static const int rowss[] = {1, 37, 64, 65, 200, 260};
    static const int colss[] = {1, 7, 16, 130, 300};
    pc_sweep_isas(check_linear_panels, "kn_linear f32 panels", ATTN_F32, ns,
                  sizeof ns / sizeof *ns, rowss, sizeof rowss / sizeof *rowss, colss,
                  sizeof colss / sizeof *colss);
}

/* An f32 product's outputs for an input row are the same bits whatever rows share the call
 * (the scores of a batch must not depend on its size), on every instruction set. */
static void test_linear_batch_invariant(void **state)
{
    (void)state;
    void *data;
    float *scale;
    int32_t *rowsum;
    enum { N = 13, ROWS = 300, COLS = 530 };
    kn_weight w = make_weight(ATTN_F32, ROWS, COLS, &data, &scale, &rowsum);
    float *panels = make_panels(&w);
    float *x = malloc((size_t)N * COLS * sizeof *x), *y = malloc((size_t)N * ROWS * sizeof *y);
    float one[ROWS];
    for (int i = 0; i < N * COLS; i++)
        x[i] = next_f();
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        kn_set_isa(isa);
        for (int with = 0; with < 2; with++) {
            w.panels = with ? panels : NULL;
            kn_input in = {x, NULL, NULL, N, COLS, NULL};
            kn_linear(y, ROWS, &in, &w, NULL, 0, ROWS);
            for (int b = 0; b < N; b++) {
                kn_input in1 = {x + (size_t)b * COLS, NULL, NULL, 1, COLS, NULL};
                kn_linear(one, ROWS, &in1, &w, NULL, 0, ROWS);
                if (memcmp(one, y + (size_t)b * ROWS, sizeof one))
                    fail_msg("%s, panels %d: row %d alone differs from it among %d rows",
                             kn_isa_name(isa), with, b, N);
            }
        }
    }
    kn_set_isa(best);
    free(x);
    free(y);
    free(panels);
    free(data);
}

/* The q8 path gives bit-identical outputs on every instruction set (exact integer dots). */
static void test_q8_identical_across_isas(void **state)
{
    (void)state;
    void *data;
    float *scale;
    int32_t *rowsum;
    int n = 6, rows = 45, cols = 200, qc = kn_qcols(cols);
    kn_weight w = make_weight(ATTN_Q8, rows, cols, &data, &scale, &rowsum);
    float x[6 * 200], y0[6 * 45], y1[6 * 45], qs[6];
    int8_t q[6 * 256];
    assert_true(qc <= 256);
    for (int i = 0; i < n * cols; i++)
        x[i] = next_f();
    kn_quantize_rows(q, qs, x, n, cols);
    kn_input in = {x, q, qs, n, cols, NULL};
    int best = kn_set_isa(KN_AVX512);
    kn_set_isa(KN_PORTABLE);
    kn_linear(y0, rows, &in, &w, NULL, 0, rows);
    for (int isa = KN_AVX2; isa <= best; isa++) {
        kn_set_isa(isa);
        kn_linear(y1, rows, &in, &w, NULL, 0, rows);
        assert_memory_equal(y0, y1, sizeof y0);
    }
    kn_set_isa(best);
    free(data);
    free(scale);
    free(rowsum);
}

/* Checks kn_quantize_rows on the current instruction set. */
static void check_quantize_rows(void)
{
    float x[2 * 70];
    int8_t q[2 * 128];
    float s[2];
    for (int i = 0; i < 70; i++) {
        x[i] = next_f() * 5.0f;
        x[70 + i] = 0.0f;
    }
    x[10] = -7.0f;  /* the row's max |x| */
    kn_quantize_rows(q, s, x, 2, 70);
    assert_float_equal(s[0], 7.0f / 127.0f, 1e-9);
    assert_int_equal(q[10], -127);
    for (int i = 0; i < 70; i++) {
        double want = nearbyint((double)x[i] * (127.0 / 7.0));
        assert_true(fabs(q[i] - want) <= 1.0);
        assert_true(fabs(q[i] * s[0] - x[i]) <= s[0] * 0.5f + 1e-6f);
    }
    for (int i = 70; i < 128; i++)
        assert_int_equal(q[i], 0);              /* zero padding */
    assert_float_equal(s[1], 0.0f, 0.0);
    for (int i = 0; i < 128; i++)
        assert_int_equal(q[128 + i], 0);        /* all-zero row */
}

/* Quantization on every instruction set, and the same bytes on each (ties included). */
static void test_quantize_rows(void **state)
{
    (void)state;
    int best = kn_set_isa(KN_AVX512);
    float x[3 * 77];
    int8_t q0[3 * 128], q1[3 * 128];
    float s0[3], s1[3];
    for (int i = 0; i < 3 * 77; i++)
        x[i] = next_f() * 4.0f;
    x[5] = 4.0f;                                   /* max |x| 4: x = 0.5 * 4/127 * k are ties */
    x[6] = 2.0f / 127.0f * 3.0f;                   /* 1.5 * step: a tie, rounds to 2 */
    x[7] = 2.0f / 127.0f * 5.0f;                   /* 2.5 * step: a tie, rounds to 2 */
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        kn_set_isa(isa);
        pc_seed(777);
        check_quantize_rows();
        kn_quantize_rows(isa == KN_PORTABLE ? q0 : q1, isa == KN_PORTABLE ? s0 : s1, x, 3, 77);
        if (isa != KN_PORTABLE) {
            assert_memory_equal(q0, q1, sizeof q0);
            assert_memory_equal(s0, s1, sizeof s0);
        }
    }
    kn_set_isa(best);
}

static void test_conversions(void **state)
{
    (void)state;
    assert_float_equal(attn_f16_to_f32(0x3c00), 1.0f, 0.0);
    assert_float_equal(attn_f16_to_f32(0xc000), -2.0f, 0.0);
    assert_float_equal(attn_f16_to_f32(0x7bff), 65504.0f, 0.0);
    assert_float_equal(attn_f16_to_f32(0x0001), ldexpf(1.0f, -24), 0.0);   /* smallest subnormal */
    assert_float_equal(attn_f16_to_f32(0x03ff), ldexpf(1023.0f, -24), 0.0);
    assert_true(isinf(attn_f16_to_f32(0x7c00)));
    assert_true(isnan(attn_f16_to_f32(0x7e00)));
    assert_float_equal(attn_bf16_to_f32(0x3f80), 1.0f, 0.0);
    assert_float_equal(attn_bf16_to_f32(0xc0a0), -5.0f, 0.0);
    /* every finite half against the formula */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if (((h >> 10) & 31) == 31)
            continue;
        int e = (h >> 10) & 31, m = h & 1023;
        double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
        if (h & 0x8000)
            v = -v;
        assert_true(attn_f16_to_f32((uint16_t)h) == (float)v);
    }
}

static void test_vector_ops(void **state)
{
    (void)state;
    float a[67], b[67], y[67], y0[67];
    for (int i = 0; i < 67; i++) {
        a[i] = next_f();
        b[i] = next_f();
        y0[i] = next_f();
    }
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        kn_set_isa(isa);
        for (int n = 0; n <= 67; n++) {
            double want = 0.0;
            for (int i = 0; i < n; i++)
                want += (double)a[i] * b[i];
            assert_true(fabs(kn_dot(a, b, n) - want) <= 1e-5);
            memcpy(y, y0, sizeof y);
            kn_axpy(y, 0.75f, a, n);
            for (int i = 0; i < 67; i++)
                assert_true(fabs(y[i] - (i < n ? y0[i] + 0.75 * a[i] : y0[i])) <= 1e-6);
        }
    }
    kn_set_isa(best);
}

/* Checks softmax, norms and activations on the current instruction set. */
static void check_softmax_norms_activations(void)
{
    float x[9] = {1.0f, -2.0f, 0.5f, 3.0f, -3.4028235e38f, 0.0f, 2.0f, -1.0f, 0.25f};
    float s[9], ls[9];
    memcpy(s, x, sizeof x);
    memcpy(ls, x, sizeof x);
    kn_softmax(s, 9);
    kn_log_softmax(ls, 9);
    double mx = 3.0, sum = 0.0;
    for (int i = 0; i < 9; i++)
        sum += exp((double)x[i] - mx);
    for (int i = 0; i < 9; i++) {
        double p = exp((double)x[i] - mx) / sum;
        assert_true(fabs(s[i] - p) <= 1e-7);
        if (i != 4)
            assert_true(fabs(ls[i] - log(p)) <= 1e-6);
    }
    assert_float_equal(s[4], 0.0f, 0.0);      /* a masked key (float32 min) weighs nothing */

    float v[5] = {1.0f, 2.0f, -1.0f, 0.5f, 4.0f}, w[5] = {1.0f, 0.5f, 2.0f, -1.0f, 1.5f};
    float bb[5] = {0.1f, 0.0f, -0.2f, 0.3f, 0.0f}, out[5];
    double mean = 1.3, var = 0.0;
    for (int i = 0; i < 5; i++)
        var += (v[i] - mean) * (v[i] - mean) / 5.0;
    kn_layernorm(out, v, w, bb, 5, 1e-5f);
    for (int i = 0; i < 5; i++)
        assert_true(fabs(out[i] - ((v[i] - mean) / sqrt(var + 1e-5) * w[i] + bb[i])) <= 1e-6);
    double ms = 0.0;
    for (int i = 0; i < 5; i++)
        ms += (double)v[i] * v[i] / 5.0;
    kn_rmsnorm(out, v, w, 5, 1e-6f);
    for (int i = 0; i < 5; i++)
        assert_true(fabs(out[i] - w[i] * v[i] / sqrt(ms + 1e-6)) <= 1e-6);

    float t[7] = {-3.0f, -1.0f, -0.1f, 0.0f, 0.3f, 1.0f, 2.5f};
    for (int act = ATTN_ACT_RELU; act <= ATTN_ACT_SILU; act++) {
        float a[7];
        memcpy(a, t, sizeof t);
        kn_activate(a, 7, act);
        for (int i = 0; i < 7; i++) {
            double u = t[i], want;
            if (act == ATTN_ACT_RELU)
                want = u > 0 ? u : 0;
            else if (act == ATTN_ACT_GELU)
                want = 0.5 * u * (1.0 + erf(u / sqrt(2.0)));
            else if (act == ATTN_ACT_GELU_TANH)
                want = 0.5 * u * (1.0 + tanh(sqrt(2.0 / M_PI) * (u + 0.044715 * u * u * u)));
            else
                want = u / (1.0 + exp(-u));
            assert_true(fabs(a[i] - want) <= 1e-6);
        }
    }
    /* a long row (vector bodies and tails), with a -inf (a banned token) */
    float big[1000], sm[1000], lsm[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = next_f() * 30.0f;
    big[17] = -INFINITY;
    memcpy(sm, big, sizeof big);
    memcpy(lsm, big, sizeof big);
    kn_softmax(sm, 1000);
    kn_log_softmax(lsm, 1000);
    double m = -INFINITY, tot = 0.0;
    for (int i = 0; i < 1000; i++)
        m = big[i] > m ? big[i] : m;
    for (int i = 0; i < 1000; i++)
        tot += exp((double)big[i] - m);
    for (int i = 0; i < 1000; i++) {
        double p = exp((double)big[i] - m) / tot;
        assert_true(fabs(sm[i] - p) <= 1e-5 * p + 1e-30);
        if (i != 17)
            assert_true(fabs(lsm[i] - log(p)) <= 1e-5);
    }
    assert_float_equal(sm[17], 0.0f, 0.0);
    assert_true(isinf(lsm[17]) && lsm[17] < 0);
}

static void test_softmax_norms_activations(void **state)
{
    (void)state;
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        kn_set_isa(isa);
        check_softmax_norms_activations();
    }
    kn_set_isa(best);
}

/* kn_sumexp / kn_logsumexp against double precision (lengths across the vector blocks, rising
 * values that move the running maximum in every block, -inf entries, all -inf), kn_top_merge
 * against the plain insertion of every value (ties broken by the lower index), and
 * kn_top_merge_shifted against kn_top_merge of the shifted row, on every instruction set. */
static void test_logsumexp_top(void **state)
{
    (void)state;
    static float x[1300];
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        kn_set_isa(isa);
        for (int n = 1; n <= 1300; n += n < 40 ? 1 : 37) {
            for (int i = 0; i < n; i++)
                x[i] = (i % 3 == 0) ? 0.05f * (float)i + next_f() : next_f() * 20.0f;
            x[n / 2] = -INFINITY;
            double m = -INFINITY, sum = 0.0;
            for (int i = 0; i < n; i++)
                m = x[i] > m ? x[i] : m;
            for (int i = 0; i < n; i++)
                sum += exp((double)x[i] - m);
            float got_m, got_s = kn_sumexp(&got_m, x, n);
            double lse = n > 1 ? m + log(sum) : -INFINITY;
            if (n > 1 && !(got_m == (float)m && fabs(got_s - sum) <= 1e-5 * sum &&
                           fabs(kn_logsumexp(x, n) - lse) <= 1e-5 * (1.0 + fabs(lse))))
                fail_msg("%s n=%d: sumexp %.9g (max %.9g), logsumexp %.9g; want %.9g (%.9g), %.9g",
                         kn_isa_name(isa), n, got_s, got_m, kn_logsumexp(x, n), sum, m, lse);
            if (n == 1)
                assert_true(isinf(kn_logsumexp(x, 1)) && kn_logsumexp(x, 1) < 0);
            /* every value -inf, across the blocks: maximum -FLT_MAX, sum 0 */
            for (int i = 0; i < n; i++)
                x[i] = -INFINITY;
            got_s = kn_sumexp(&got_m, x, n);
            if (!(got_m == -FLT_MAX && got_s == 0.0f && isinf(kn_logsumexp(x, n))))
                fail_msg("%s n=%d all -inf: sumexp %.9g (max %.9g)", kn_isa_name(isa), n, got_s,
                         got_m);

            /* top-k: values with many ties (a coarse grid), k from 1 to 9 */
            for (int i = 0; i < n; i++)
                x[i] = (float)(int)(next_f() * 6.0f) * 0.5f;
            x[n - 1] = NAN;
            int k = 1 + n % 9, have = 0, rhave = 0;
            float sc[9], rs[9];
            int ix[9], ri[9];
            /* a first call fills part of the list, a second one continues it */
            int cut = n / 3;
            kn_top_merge(sc, ix, &have, x, 0.25f, 100, cut, k);
            kn_top_merge(sc, ix, &have, x + cut, 0.25f, 100 + cut, n - cut, k);
            for (int i = 0; i < n; i++) {
                float v = x[i] + 0.25f;
                if (v != v)
                    continue;
                /* reference: a plain sorted insertion by (value desc, index asc) */
                int j = rhave < k ? rhave++ : k;
                if (j == k) {
                    if (!(v > rs[k - 1]))
                        continue;
                    j = k - 1;
                }
                while (j > 0 && v > rs[j - 1]) {
                    rs[j] = rs[j - 1];
                    ri[j] = ri[j - 1];
                    j--;
                }
                rs[j] = v;
                ri[j] = 100 + i;
            }
            assert_int_equal(have, rhave);
            for (int i = 0; i < have; i++)
                if (sc[i] != rs[i] || ix[i] != ri[i])
                    fail_msg("%s n=%d k=%d: entry %d is (%g, %d), want (%g, %d)",
                             kn_isa_name(isa), n, k, i, sc[i], ix[i], rs[i], ri[i]);

            /* shifted: the same list, bit for bit, as kn_top_merge over the row x + shift written
             * out (values close enough for the shift's rounding to make ties) */
            static float shifted[1300];
            float shift = -1234.567f;
            for (int i = 0; i < n; i++) {
                x[i] = (float)(int)(next_f() * 6.0f) * 0.5f + next_f() * 1e-4f;
                shifted[i] = x[i] + shift;
            }
            x[n / 2] = -INFINITY;
            shifted[n / 2] = -INFINITY;
            rhave = have = 0;
            kn_top_merge(rs, ri, &rhave, shifted, 4096.3f, 7, n, k);
            kn_top_merge_shifted(sc, ix, &have, x, shift, 4096.3f, 7, cut, k);
            kn_top_merge_shifted(sc, ix, &have, x + cut, shift, 4096.3f, 7 + cut, n - cut, k);
            assert_int_equal(have, rhave);
            assert_memory_equal(sc, rs, (size_t)have * sizeof *sc);
            assert_memory_equal(ix, ri, (size_t)have * sizeof *ix);
        }
    }
    kn_set_isa(best);
}

/* kn_attend against a double-precision softmax(scale q_h.k_h + bias_h) v_h for every query row
 * and head, with the slot indirection of the beam-search cache (each row its own table), 1 to 5
 * heads of several sizes, on every instruction set; and each (row, head) alone bit-identical to
 * the rows and heads together. */
static void test_attend(void **state)
{
    (void)state;
    enum { N = 13, ROWS = 3, STRIDE = 330, MAXH = 5, NQ = 3 };
    static const int dhs[] = {1, 16, 24, 64};
    static const int heads[] = {1, 4, 5};
    static float K[ROWS * N * STRIDE], V[ROWS * N * STRIDE];
    float q[NQ * STRIDE], bias[MAXH * N], out[NQ * STRIDE], sc[MAXH * N];
    int32_t slot[NQ * N];
    for (int i = 0; i < ROWS * N * STRIDE; i++) {
        K[i] = next_f();
        V[i] = next_f();
    }
    for (int j = 0; j < MAXH * N; j++)
        bias[j] = next_f();
    for (int j = 0; j < NQ * N; j++)
        slot[j] = (int32_t)(next_u32() % ROWS);
    for (int i = 0; i < NQ * STRIDE; i++)
        q[i] = next_f() * 2.0f;
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        kn_set_isa(isa);
        for (size_t a = 0; a < sizeof dhs / sizeof *dhs; a++)
            for (size_t hh = 0; hh < sizeof heads / sizeof *heads; hh++)
                for (int variant = 0; variant < 2; variant++) {
                    int dh = dhs[a], H = heads[hh];
                    kn_keys kv = {K, V, STRIDE, variant ? slot : NULL, N, (size_t)N * STRIDE,
                                  variant ? bias : NULL, N, N};
                    kn_attend(out, STRIDE, q, STRIDE, NQ, &kv, 0.3f, H, dh, sc);
                    /* each row's head alone gives the same bits (a source's rows and a row's
                     * heads may be split over threads) */
                    for (int i = 0; i < NQ; i++)
                        for (int h = 0; h < H; h++) {
                            float one[64];
                            size_t o = (size_t)h * dh;
                            kn_keys k1 = kv;
                            k1.k += o;
                            k1.v += o;
                            k1.slot = kv.slot ? kv.slot + i * N : NULL;
                            k1.bias = kv.bias ? kv.bias + h * N : NULL;
                            kn_attend(one, 0, q + i * STRIDE + o, 0, 1, &k1, 0.3f, 1, dh, sc);
                            assert_memory_equal(one, out + i * STRIDE + o,
                                                (size_t)dh * sizeof *one);
                        }
                    for (int i = 0; i < NQ; i++)
                        for (int h = 0; h < H; h++) {
                            const int32_t *sl = kv.slot ? kv.slot + i * N : NULL;
                            const float *qh = q + i * STRIDE + h * dh;
                            double p[N], mx = -1e300, sum = 0.0;
                            for (int j = 0; j < N; j++) {
                                size_t off = (size_t)j * STRIDE +
                                             (sl ? (size_t)sl[j] * kv.slot_stride : 0) +
                                             (size_t)h * dh;
                                double dot = 0.0;
                                for (int e = 0; e < dh; e++)
                                    dot += (double)qh[e] * K[off + e];
                                p[j] = 0.3 * dot + (kv.bias ? bias[h * N + j] : 0.0);
                                mx = p[j] > mx ? p[j] : mx;
                            }
                            for (int j = 0; j < N; j++)
                                sum += (p[j] = exp(p[j] - mx));
                            for (int e = 0; e < dh; e++) {
                                double want = 0.0;
                                for (int j = 0; j < N; j++) {
                                    size_t off = (size_t)j * STRIDE +
                                                 (sl ? (size_t)sl[j] * kv.slot_stride : 0) +
                                                 (size_t)h * dh;
                                    want += p[j] / sum * V[off + e];
                                }
                                float got = out[i * STRIDE + h * dh + e];
                                if (!(fabs(got - want) <= 1e-5))
                                    fail_msg("%s dh %d heads %d variant %d: out[%d][%d][%d] = "
                                             "%.7g, want %.7g", kn_isa_name(isa), dh, H, variant,
                                             i, h, e, got, want);
                            }
                        }
                }
    }
    kn_set_isa(best);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_all_isas),
        cmocka_unit_test(test_linear_panels),
        cmocka_unit_test(test_linear_batch_invariant),
        cmocka_unit_test(test_q8_identical_across_isas),
        cmocka_unit_test(test_quantize_rows),
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_vector_ops),
        cmocka_unit_test(test_softmax_norms_activations),
        cmocka_unit_test(test_attend),
        cmocka_unit_test(test_logsumexp_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
