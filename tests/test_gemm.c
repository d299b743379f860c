/* test_gemm.c — the blocked products (gemm.h) on every instruction set this CPU has: f32, f16,
 * bf16, q8 and q4 weights against double-precision references computed here from the
 * definitions (q8 and q4 from exact integer dot products), q8 bit-identical to kn_linear, q8 and
 * q4 bit-identical across instruction sets, output ranges, strides and bias, the q4 reference
 * dequantization, and gm_pack's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "product_check.h"
#include "status.h"

/* Returns a random finite half (bits) of either sign with a biased exponent in [lo, hi]. */
static uint16_t half_bits(unsigned lo, unsigned hi)
{
    return (uint16_t)((next_u32() & 0x83ff) | ((next_u32() % (hi - lo + 1) + lo) << 10));
}

/* A random weight in a dtype's source form (what gm_pack reads), owned by the caller. */
typedef struct src_weight {
    int dtype, rows, cols;
    void *data;                 /* (rows, cols) floats / halves / int8; q4: (rows, row bytes) */
    void *scale;                /* q8: float (rows); q4: half (rows, groups); else NULL */
} src_weight;

/* Fills a random weight of the given dtype and shape. */
static src_weight make_src(int dtype, int rows, int cols)
{
    src_weight s = {dtype, rows, cols, NULL, NULL};
    size_t n = (size_t)rows * (size_t)cols;
    if (dtype == ATTN_F32) {
        float *f = malloc(n * sizeof *f);
        for (size_t i = 0; i < n; i++)
            f[i] = next_f();
        s.data = f;
    } else if (dtype == ATTN_F16 || dtype == ATTN_BF16) {
        uint16_t *h = malloc(n * sizeof *h);
        for (size_t i = 0; i < n; i++) {
            float f = next_f();
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            /* f16: any finite half, exponent 4..20 */
            h[i] = dtype == ATTN_BF16 ? (uint16_t)(u >> 16)
                                    : half_bits(4, 20);
        }
        s.data = h;
    } else if (dtype == ATTN_Q8) {
        int8_t *q = malloc(n);
        float *sc = malloc((size_t)rows * sizeof *sc);
        for (size_t i = 0; i < n; i++)
            q[i] = (int8_t)((int)(next_u32() % 255) - 127);
        for (int r = 0; r < rows; r++)
            sc[r] = 0.001f + (float)(next_u32() % 1000) * 1e-5f;
        s.data = q;
        s.scale = sc;
    } else {
        int groups = (int)attn_q4_groups(cols);
        size_t rb = attn_q4_row_bytes(cols);
        uint8_t *nib = malloc((size_t)rows * rb);
        uint16_t *d = malloc((size_t)rows * (size_t)groups * sizeof *d);
        for (int r = 0; r < rows; r++)
            for (size_t i = 0; i < rb * 2; i++) {
                int v = (int)i < cols ? (int)(next_u32() % 16) : 8;
                uint8_t *byte = nib + (size_t)r * rb + i / 2;
                *byte = (uint8_t)(i % 2 ? (*byte & 15) | (v << 4) : v);
            }
        for (size_t i = 0; i < (size_t)rows * (size_t)groups; i++)   /* about 2^-12 .. 2^-4 */
            d[i] = half_bits(3, 11);
        s.data = nib;
        s.scale = d;
    }
    return s;
}

/* Frees a source weight's buffers. */
static void free_src(src_weight *s)
{
    free(s->data);
    free(s->scale);
}

/* Packs a source weight into *mem (freed by the caller). */
static gm_weight pack(const src_weight *s, void **mem)
{
    size_t size = gm_pack_size(s->dtype, s->rows, s->cols);
    assert_true(size > 0);
    *mem = aligned_alloc(64, (size + 63) & ~(size_t)63);
    gm_weight w;
    assert_int_equal(gm_pack(&w, *mem, size, s->dtype, s->rows, s->cols, s->data, s->scale),
                     ATTN_OK);
    return w;
}

/* Returns weight element (o, k) of a float-like source as double. */
static double src_float(const src_weight *s, int o, int k)
{
    size_t i = (size_t)o * (size_t)s->cols + (size_t)k;
    if (s->dtype == ATTN_F32)
        return ((const float *)s->data)[i];
    uint16_t h = ((const uint16_t *)s->data)[i];
    if (s->dtype == ATTN_BF16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
    return (h & 0x8000) ? -v : v;
}

/* Returns the reference y[b, o] (without bias) and the sum of magnitudes of its terms in *mag:
 * float weights times x in double; q8 from the exact int8 dot; q4 as the sum over groups of
 * d * (exact dot of q and nibbles - 8), times qscale. */
static double ref_out(const src_weight *s, const float *x, const int8_t *q, const float *qs,
                      int b, int o, double *mag)
{
    int cols = s->cols, qc = kn_qcols(cols);
    const int8_t *qb = q + (size_t)b * (size_t)qc;
    double want = 0.0;
    *mag = 0.0;
    if (s->dtype == ATTN_Q8) {
        int64_t acc = 0;
        for (int k = 0; k < cols; k++)
            acc += (int64_t)qb[k] * ((const int8_t *)s->data)[(size_t)o * cols + k];
        want = (double)acc * qs[b] * ((const float *)s->scale)[o];
        *mag = fabs(want);
    } else if (s->dtype == ATTN_Q4) {
        int groups = (int)attn_q4_groups(cols);
        const uint8_t *row = (const uint8_t *)s->data + (size_t)o * attn_q4_row_bytes(cols);
        for (int g = 0; g < groups; g++) {
            int64_t acc = 0;
            for (int k = g * ATTN_Q4_GROUP; k < cols && k < (g + 1) * ATTN_Q4_GROUP; k++)
                acc += (int64_t)qb[k] * (((row[k / 2] >> (4 * (k & 1))) & 15) - 8);
            uint16_t d = ((const uint16_t *)s->scale)[(size_t)o * groups + g];
            double t = (double)acc * attn_f16_to_f32(d);
            want += t;
            *mag += fabs(t);
        }
        want *= qs[b];
        *mag *= qs[b];
    } else {
        for (int k = 0; k < cols; k++) {
            double t = (double)x[(size_t)b * cols + k] * src_float(s, o, k);
            want += t;
            *mag += fabs(t);
        }
    }
    return want;
}

/* ref_out as a pc_check reference (ctx: the src_weight). */
static double case_ref(void *ctx, const product_case *c, int b, int o, double *mag)
{
    return ref_out(ctx, c->x, c->q, c->qs, b, o, mag);
}

/* Checks gm_linear for one dtype and shape on the current instruction set: outputs within
 * 1e-6 of the terms' magnitude (q8: of the output) of the reference, nothing written outside
 * [o0, o1), and q8 bit-identical to kn_linear. */
static void check_linear(int dtype, int n, int rows, int cols)
{
    src_weight s = make_src(dtype, rows, cols);
    void *mem;
    gm_weight w = pack(&s, &mem);
    product_case c;
    pc_open(&c, n, rows, cols, rows + 5);
    int ldy = c.ldy;
    int o0 = rows > 40 ? GM_NR : 0, o1 = rows > 4 ? rows - 2 : rows;
    const float *bb = rows % 2 ? c.bias : NULL;
    gm_linear(c.y, ldy, &c.in, &w, bb, o0, o1);
    pc_check(&c, "gm_linear", dtype, o0, o1, bb, case_ref, &s);
    if (dtype == ATTN_Q8) {
        int32_t *rowsum = malloc((size_t)rows * sizeof *rowsum);
        for (int o = 0; o < rows; o++) {
            rowsum[o] = 0;
            for (int k = 0; k < cols; k++)
                rowsum[o] += ((const int8_t *)s.data)[(size_t)o * cols + k];
        }
        kn_weight kw = {ATTN_Q8, rows, cols, s.data, s.scale, rowsum, NULL, NULL};
        float *y2 = malloc((size_t)n * ldy * sizeof *y2);
        memcpy(y2, c.y, (size_t)n * ldy * sizeof *y2);
        kn_linear(y2, ldy, &c.in, &kw, bb, o0, o1);
        assert_memory_equal(c.y, y2, (size_t)n * ldy * sizeof *y2);
        free(y2);
        free(rowsum);
    }
    pc_free(&c);
    free(mem);
    free_src(&s);
}

static void test_linear_all_isas(void **state)
{
    (void)state;
    static const int ns[] = {1, 3, 12, 13, 29};
    static const int rowss[] = {1, 17, 37, 70};
    static const int colss[] = {1, 7, 33, 64, 100, 300};
    pc_sweep_isas(check_linear, "gm_linear f32/f16/bf16/q8/q4", ATTN_Q4, ns, sizeof ns / sizeof *ns,
                  rowss, sizeof rowss / sizeof *rowss, colss, sizeof colss / sizeof *colss);
}

/* Shapes that cross the blocks of columns (L2) and the float slices of the input dimension. */
static void test_linear_large_blocks(void **state)
{
    (void)state;
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_AVX2; isa <= best; isa++) {
        kn_set_isa(isa);
        for (int dt = ATTN_F32; dt <= ATTN_Q4; dt++) {
            check_linear(dt, 14, 1100, 130);
            check_linear(dt, 7, 70, 2100);
        }
    }
    kn_set_isa(best);
}

/* q8 and q4 give bit-identical outputs on every instruction set (exact integer dots, the same
 * float operations in the same order). */
static void test_quantized_identical_across_isas(void **state)
{
    (void)state;
    int n = 15, rows = 75, cols = 230, qc = kn_qcols(cols);
    float x[15 * 230], y0[15 * 75], y1[15 * 75], qs[15], bias[75];
    int8_t q[15 * 256];
    assert_true(qc <= 256);
    for (int i = 0; i < n * cols; i++)
        x[i] = next_f();
    for (int o = 0; o < rows; o++)
        bias[o] = next_f();
    kn_quantize_rows(q, qs, x, n, cols);
    kn_input in = {x, q, qs, n, cols, NULL};
    int best = kn_set_isa(KN_AVX512);
    for (int dt = ATTN_Q8; dt <= ATTN_Q4; dt++) {
        src_weight s = make_src(dt, rows, cols);
        void *mem;
        gm_weight w = pack(&s, &mem);
        kn_set_isa(KN_PORTABLE);
        gm_linear(y0, rows, &in, &w, bias, 0, rows);
        for (int isa = KN_AVX2; isa <= best; isa++) {
            kn_set_isa(isa);
            gm_linear(y1, rows, &in, &w, bias, 0, rows);
            assert_memory_equal(y0, y1, sizeof y0);
        }
        free(mem);
        free_src(&s);
    }
    kn_set_isa(best);
}

/* An input laid out once (gm_input, filled block by block in reverse order) gives the same
 * bits as gm_linear laying it out itself, whole and through views of later row blocks; a view
 * of another dtype is ignored.  Shapes cross row groups, row chunks and q8 slices. */
static void test_packed_input_identical(void **state)
{
    (void)state;
    if (!gm_input_size(ATTN_Q8, 1, 1))
        skip();                 /* this instruction set lays inputs out inside gm_linear */
    static const int ns[] = {1, 25, 53, 130};
    static const int colss[] = {100, 600, 2100};
    int rows = 70;
    for (int dt = ATTN_Q8; dt <= ATTN_Q4; dt++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (size_t ci = 0; ci < sizeof colss / sizeof *colss; ci++) {
                int n = ns[ni], cols = colss[ci], qc = kn_qcols(cols);
                float *x = malloc((size_t)n * cols * sizeof *x), *qs = malloc(n * sizeof *qs);
                int8_t *q = malloc((size_t)n * qc);
                float *y0 = malloc((size_t)n * rows * sizeof *y0);
                float *y1 = malloc((size_t)n * rows * sizeof *y1);
                for (int i = 0; i < n * cols; i++)
                    x[i] = next_f();
                kn_quantize_rows(q, qs, x, n, cols);
                src_weight s = make_src(dt, rows, cols);
                void *mem;
                gm_weight w = pack(&s, &mem);
                kn_input in = {x, q, qs, n, cols, NULL};
                gm_linear(y0, rows, &in, &w, NULL, 0, rows);
                size_t size = gm_input_size(dt, n, cols);
                void *gmem = aligned_alloc(64, (size + 63) & ~(size_t)63);
                gm_input gi;
                assert_int_equal(gm_input_init(&gi, gmem, size, dt, n, cols), ATTN_OK);
                assert_int_equal(gm_input_init(&gi, gmem, size - 1, dt, n, cols), ATTN_ERR_ARG);
                assert_int_equal(gm_input_init(&gi, gmem, size, dt, n, cols), ATTN_OK);
                for (int r0 = (n - 1) / GM_INPUT_ROWS * GM_INPUT_ROWS; r0 >= 0;
                     r0 -= GM_INPUT_ROWS)
                    gm_input_rows(&gi, &in, r0, r0 + GM_INPUT_ROWS < n ? r0 + GM_INPUT_ROWS : n);
                in.packed = &gi;
                memset(y1, 0, (size_t)n * rows * sizeof *y1);
                gm_linear(y1, rows, &in, &w, NULL, 0, rows);
                assert_memory_equal(y0, y1, (size_t)n * rows * sizeof *y0);
                for (int r0 = GM_INPUT_ROWS; r0 < n; r0 += GM_INPUT_ROWS) {
                    gm_input view = gi;
                    view.row0 = r0;
                    kn_input sub = {x + (size_t)r0 * cols, q + (size_t)r0 * qc, qs + r0, n - r0,
                                    cols, &view};
                    memset(y1, 0, (size_t)n * rows * sizeof *y1);
                    gm_linear(y1, rows, &sub, &w, NULL, 0, rows);
                    assert_memory_equal(y0 + (size_t)r0 * rows, y1,
                                        (size_t)(n - r0) * rows * sizeof *y0);
                }
                gi.dtype = dt == ATTN_Q8 ? ATTN_Q4 : ATTN_Q8;     /* ignored: not w's dtype */
                memset(y1, 0, (size_t)n * rows * sizeof *y1);
                gm_linear(y1, rows, &in, &w, NULL, 0, rows);
                assert_memory_equal(y0, y1, (size_t)n * rows * sizeof *y0);
                free(gmem);
                free(mem);
                free_src(&s);
                free(x);
                free(qs);
                free(q);
                free(y0);
                free(y1);
            }
}

/* The reference dequantization on values worked out by hand. */
static void test_q4_dequant(void **state)
{
    (void)state;
    /* group 0: d = 0.5 (0x3800); group 1: d = -2 (0xc000); 40 elements, 8 past the end */
    uint8_t nib[32];
    uint16_t d[2] = {0x3800, 0xc000};
    memset(nib, 0x88, sizeof nib);
    nib[0] = 0x3a;              /* element 0: 10 - 8 = 2, element 1: 3 - 8 = -5 */
    nib[15] = 0xf0;             /* element 30: -8, element 31: 7 */
    nib[16] = 0x09;             /* element 32: 1, element 33: 0 - 8 = -8 */
    float out[40];
    attn_q4_dequant_row(out, nib, d, 40);
    assert_float_equal(out[0], 1.0f, 0.0);
    assert_float_equal(out[1], -2.5f, 0.0);
    assert_float_equal(out[2], 0.0f, 0.0);
    assert_float_equal(out[30], -4.0f, 0.0);
    assert_float_equal(out[31], 3.5f, 0.0);
    assert_float_equal(out[32], -2.0f, 0.0);
    assert_float_equal(out[33], 16.0f, 0.0);
    assert_float_equal(out[39], 0.0f, 0.0);
    assert_int_equal((int)attn_q4_groups(40), 2);
    assert_int_equal(attn_q4_row_bytes(40), 32);
}

/* gm_linear on q4 weights equals the float product of the dequantized weight and the
 * dequantized input (qscale * q) within float rounding. */
static void test_q4_matches_dequantized(void **state)
{
    (void)state;
    int n = 9, rows = 40, cols = 96, qc = kn_qcols(cols);
    src_weight s = make_src(ATTN_Q4, rows, cols);
    void *mem;
    gm_weight w = pack(&s, &mem);
    float x[9 * 96], y[9 * 40], qs[9], wrow[96];
    int8_t q[9 * 128];
    assert_true(qc <= 128);
    for (int i = 0; i < n * cols; i++)
        x[i] = next_f();
    kn_quantize_rows(q, qs, x, n, cols);
    kn_input in = {x, q, qs, n, cols, NULL};
    gm_linear(y, rows, &in, &w, NULL, 0, rows);
    int groups = (int)attn_q4_groups(cols);
    for (int o = 0; o < rows; o++) {
        attn_q4_dequant_row(wrow, (const uint8_t *)s.data + (size_t)o * attn_q4_row_bytes(cols),
                          (const uint16_t *)s.scale + (size_t)o * groups, cols);
        for (int b = 0; b < n; b++) {
            double want = 0.0, mag = 0.0;
            for (int k = 0; k < cols; k++) {
                double t = (double)qs[b] * q[(size_t)b * qc + k] * wrow[k];
                want += t;
                mag += fabs(t);
            }
            assert_true(fabs(y[(size_t)b * rows + o] - want) <= 1e-6 * mag + 1e-9);
        }
    }
    free(mem);
    free_src(&s);
}

/* gm_pack refuses unknown dtypes, bad sizes, short or unaligned memory and missing scales. */
static void test_pack_refusals(void **state)
{
    (void)state;
    static float data[64 * 8];
    gm_weight w;
    size_t size = gm_pack_size(ATTN_F32, 8, 64);
    assert_int_equal(size, (size_t)GM_NR * 64 * 4);
    void *mem = aligned_alloc(64, size + 64);
    assert_int_equal(gm_pack_size((attn_dtype)7, 8, 64), 0);
    assert_int_equal(gm_pack_size(ATTN_F32, 0, 64), 0);
    assert_int_equal(gm_pack_size(ATTN_F32, 8, -1), 0);
    assert_int_equal(gm_pack(&w, mem, size, (attn_dtype)7, 8, 64, data, NULL), ATTN_ERR_ARG);
    assert_int_equal(gm_pack(&w, mem, size - 1, ATTN_F32, 8, 64, data, NULL), ATTN_ERR_ARG);
    assert_int_equal(gm_pack(&w, (char *)mem + 4, size, ATTN_F32, 8, 64, data, NULL), ATTN_ERR_ARG);
    assert_int_equal(gm_pack(&w, mem, size, ATTN_Q8, 8, 64, data, NULL), ATTN_ERR_ARG);
    assert_int_equal(gm_pack(&w, mem, size, ATTN_F32, 8, 64, data, NULL), ATTN_OK);
    assert_int_equal(w.panels, 1);
    free(mem);
}

int main(void)
{
    pc_seed(2024);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_all_isas),
        cmocka_unit_test(test_linear_large_blocks),
        cmocka_unit_test(test_quantized_identical_across_isas),
        cmocka_unit_test(test_packed_input_identical),
        cmocka_unit_test(test_q4_dequant),
        cmocka_unit_test(test_q4_matches_dequantized),
        cmocka_unit_test(test_pack_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
