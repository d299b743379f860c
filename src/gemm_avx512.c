/* gemm_avx512.c — AVX-512 micro-kernels for gm_linear: f32, f16 and bf16 weights with FMA,
 * q8 and q4 weights with VNNI (vpdpbusd), and the peak probes; compiled with -mavx512* and called
 * only when the CPU has them (see kernels.c).
 *
 * Blocking: the output range is cut into blocks of columns whose weights fit in L2; for each
 * block, every group of input rows is copied k-major into a small buffer on the stack (it stays
 * in L1 and each of its values is one broadcast operand) and multiplied by each panel of the
 * block, the accumulators of the whole rows x 32 tile in registers.  Float weights also cut the
 * input dimension into KC_F-long slices, the later slices adding into y.
 */
#include "gemm_isa.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define MR_F 12                 /* input rows per float micro-kernel (24 accumulators) */
#define MR_Q8 12                /* input rows per q8 micro-kernel (24 accumulators) */
#define MR_Q4 6                 /* input rows per q4 micro-kernel (12 int + 12 float) */
#define KC_F 256                /* input elements per float slice */
#define L2_BLOCK (512 * 1024)   /* bytes of weights per block of columns */

/* Returns the number of columns (a multiple of GM_NR) whose panel bytes fill about L2_BLOCK. */
static int block_cols(size_t bytes_per_col)
{
    size_t nc = L2_BLOCK / bytes_per_col;
    nc -= nc % GM_NR;
    return nc < GM_NR ? GM_NR : (int)nc;
}

/* Returns the store masks of the two 16-column halves of a tile with jn <= 32 live columns. */
ALWAYS_INLINE void col_masks(int jn, __mmask16 *m0, __mmask16 *m1)
{
    *m0 = jn >= 16 ? 0xffff : (__mmask16)((1u << jn) - 1);
    *m1 = jn >= 32 ? 0xffff : jn <= 16 ? 0 : (__mmask16)((1u << (jn - 16)) - 1);
}

/* ---------------------------------------------------------------------------------------------
 * Float weights
 * ------------------------------------------------------------------------------------------- */

/* Loads step k of a float-like panel (32 weights) as two vectors of 16 floats. */
ALWAYS_INLINE void load_panel(__m512 *w0, __m512 *w1, const uint8_t *pd, int k, int dtype)
{
    if (dtype == KN_F32) {
        const float *p = (const float *)(const void *)pd + (size_t)k * GM_NR;
        *w0 = _mm512_load_ps(p);
        *w1 = _mm512_load_ps(p + 16);
    } else if (dtype == KN_F16) {
        const __m256i *p = (const __m256i *)(const void *)(pd + (size_t)k * GM_NR * 2);
        *w0 = _mm512_cvtph_ps(_mm256_load_si256(p));
        *w1 = _mm512_cvtph_ps(_mm256_load_si256(p + 1));
    } else {
        /* bf16 pairs: column j in the low half of lane j, column j + 16 in the high half */
        __m512i v = _mm512_load_si512(pd + (size_t)k * GM_NR * 2);
        *w0 = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
        *w1 = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
    }
}

/* One MR x 32 tile over kc steps: y (MR rows ldy apart, 32 columns masked by m0, m1) = the
 * products of xp (kc, MR_F) and the panel slice pd, plus bias (first slice) or plus y (later). */
ALWAYS_INLINE void tile_float(float *y, int ldy, const float *xp, int kc, const uint8_t *pd,
                              int dtype, const float *bias, int first, __mmask16 m0,
                              __mmask16 m1, const int MR)
{
    __m512 acc[MR_F][2];
    #pragma GCC unroll 12
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 w0, w1;
        load_panel(&w0, &w1, pd, k, dtype);
        const float *xk = xp + (size_t)k * MR_F;
        #pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512 xb = _mm512_set1_ps(xk[r]);
            acc[r][0] = _mm512_fmadd_ps(w0, xb, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(w1, xb, acc[r][1]);
        }
    }
    __m512 b0 = _mm512_setzero_ps(), b1 = b0;
    if (first && bias) {
        b0 = _mm512_maskz_loadu_ps(m0, bias);
        b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    #pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        float *yr = y + (size_t)r * (size_t)ldy;
        if (!first) {
            b0 = _mm512_maskz_loadu_ps(m0, yr);
            b1 = _mm512_maskz_loadu_ps(m1, yr + 16);
        }
        _mm512_mask_storeu_ps(yr, m0, first && !bias ? acc[r][0] : _mm512_add_ps(acc[r][0], b0));
        _mm512_mask_storeu_ps(yr + 16, m1,
                              first && !bias ? acc[r][1] : _mm512_add_ps(acc[r][1], b1));
    }
}

/* Copies rows [0, mr) x columns [0, kc) of x (rows cols apart) k-major into xp (kc, MR_F). */
static void pack_x_float(float *xp, const float *x, int cols, int mr, int kc)
{
    for (int r = 0; r < mr; r++)
        for (int k = 0; k < kc; k++)
            xp[(size_t)k * MR_F + (size_t)r] = x[(size_t)r * (size_t)cols + (size_t)k];
}

/* gm_linear for float-like weights of one dtype. */
ALWAYS_INLINE void linear_float(float *y, int ldy, const kn_input *in, const gm_weight *w,
                                const float *bias, int o0, int o1, int dtype)
{
    float xp[KC_F * MR_F] __attribute__((aligned(64)));
    int cols = w->cols, n = in->n;
    size_t esize = dtype == KN_F32 ? 4 : 2;
    int nc = block_cols((size_t)KC_F * esize);
    for (int oc = o0; oc < o1; oc += nc) {
        int oc1 = o1 - oc < nc ? o1 : oc + nc;
        for (int k0 = 0; k0 < cols; k0 += KC_F) {
            int kc = cols - k0 < KC_F ? cols - k0 : KC_F;
            for (int b = 0; b < n; b += MR_F) {
                int mr = n - b < MR_F ? n - b : MR_F;
                pack_x_float(xp, in->x + (size_t)b * (size_t)cols + (size_t)k0, cols, mr, kc);
                for (int p = oc / GM_NR; p * GM_NR < oc1; p++) {
                    __mmask16 m0, m1;
                    col_masks(oc1 - p * GM_NR, &m0, &m1);
                    const uint8_t *pd = w->data + (size_t)p * w->panel_bytes +
                                        (size_t)k0 * GM_NR * esize;
                    float *yt = y + (size_t)b * (size_t)ldy + (size_t)p * GM_NR;
                    const float *bt = bias ? bias + p * GM_NR : NULL;
                    switch (mr) {
#define TILE_F(MR) case MR: tile_float(yt, ldy, xp, kc, pd, dtype, bt, k0 == 0, m0, m1, MR); break;
                    TILE_F(1) TILE_F(2) TILE_F(3) TILE_F(4) TILE_F(5) TILE_F(6)
                    TILE_F(7) TILE_F(8) TILE_F(9) TILE_F(10) TILE_F(11) TILE_F(12)
#undef TILE_F
                    }
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * q8 weights: vpdpbusd of the unsigned packed weights (w + 128) and the signed input, less
 * 128 times the input row's sum
 * ------------------------------------------------------------------------------------------- */

/* One MR x 32 q8 tile over k4n steps of 4 inputs: y = (float)(dot - comp) * qscale * wscale
 * (+ bias), in kn_linear's order of float operations. */
ALWAYS_INLINE void tile_q8(float *y, int ldy, const int32_t *xp, int k4n, const uint8_t *pd,
                           const int32_t *comp, const float *qscale, const float *wscale,
                           const float *bias, __mmask16 m0, __mmask16 m1, const int MR)
{
    __m512i acc[MR_Q8][2];
    #pragma GCC unroll 12
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (int s = 0; s < k4n; s++) {
        __m512i w0 = _mm512_load_si512(pd + (size_t)s * 128);
        __m512i w1 = _mm512_load_si512(pd + (size_t)s * 128 + 64);
        const int32_t *xk = xp + (size_t)s * MR_Q8;
        #pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512i xb = _mm512_set1_epi32(xk[r]);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], w0, xb);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], w1, xb);
        }
    }
    __m512 s0 = _mm512_maskz_loadu_ps(m0, wscale), s1 = _mm512_maskz_loadu_ps(m1, wscale + 16);
    __m512 b0 = _mm512_setzero_ps(), b1 = b0;
    if (bias) {
        b0 = _mm512_maskz_loadu_ps(m0, bias);
        b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    #pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        __m512i c = _mm512_set1_epi32(comp[r]);
        __m512 qs = _mm512_set1_ps(qscale[r]);
        __m512 v0 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][0], c)),
                                                qs), s0);
        __m512 v1 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][1], c)),
                                                qs), s1);
        if (bias) {
            v0 = _mm512_add_ps(v0, b0);
            v1 = _mm512_add_ps(v1, b1);
        }
        float *yr = y + (size_t)r * (size_t)ldy;
        _mm512_mask_storeu_ps(yr, m0, v0);
        _mm512_mask_storeu_ps(yr + 16, m1, v1);
    }
}

/* gm_linear for q8 weights. */
static void linear_q8(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
                      int o0, int o1)
{
    int qcols = kn_qcols(w->cols), k4n = (w->cols + 3) / 4, n = in->n;
    int nc = block_cols(w->panel_bytes / GM_NR);
    int32_t comp[MR_Q8];
    int32_t *xp = __builtin_alloca((size_t)k4n * MR_Q8 * sizeof *xp);
    for (int oc = o0; oc < o1; oc += nc) {
        int oc1 = o1 - oc < nc ? o1 : oc + nc;
        for (int b = 0; b < n; b += MR_Q8) {
            int mr = n - b < MR_Q8 ? n - b : MR_Q8;
            for (int r = 0; r < mr; r++) {
                const int8_t *q = in->q + (size_t)(b + r) * (size_t)qcols;
                int32_t sum = 0;
                for (int s = 0; s < k4n; s++) {
                    int32_t v;
                    __builtin_memcpy(&v, q + 4 * s, 4);
                    xp[(size_t)s * MR_Q8 + (size_t)r] = v;
                    sum += q[4 * s] + q[4 * s + 1] + q[4 * s + 2] + q[4 * s + 3];
                }
                comp[r] = 128 * sum;
            }
            for (int p = oc / GM_NR; p * GM_NR < oc1; p++) {
                __mmask16 m0, m1;
                col_masks(oc1 - p * GM_NR, &m0, &m1);
                const uint8_t *pd = w->data + (size_t)p * w->panel_bytes;
                float *yt = y + (size_t)b * (size_t)ldy + (size_t)p * GM_NR;
                const float *bt = bias ? bias + p * GM_NR : NULL;
                const float *ws = w->scale + p * GM_NR, *qs = in->qscale + b;
                switch (mr) {
#define TILE_Q8(MR) case MR: tile_q8(yt, ldy, xp, k4n, pd, comp, qs, ws, bt, m0, m1, MR); break;
                TILE_Q8(1) TILE_Q8(2) TILE_Q8(3) TILE_Q8(4) TILE_Q8(5) TILE_Q8(6)
                TILE_Q8(7) TILE_Q8(8) TILE_Q8(9) TILE_Q8(10) TILE_Q8(11) TILE_Q8(12)
#undef TILE_Q8
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * q4 weights: per group of 32 inputs, vpdpbusd of the nibbles (0..15, unsigned) and the signed
 * input, starting from -8 times the group's input sum; then scaled into float accumulators
 * ------------------------------------------------------------------------------------------- */

/* One MR x 32 q4 tile over all groups: y = qscale * sum_g d_g * (exact group dot) (+ bias). */
ALWAYS_INLINE void tile_q4(float *y, int ldy, const int32_t *xp, const int32_t *comp, int groups,
                           const uint8_t *pd, const float *qscale, const float *bias,
                           __mmask16 m0, __mmask16 m1, const int MR)
{
    const __m512i low = _mm512_set1_epi8(15);
    __m512 f[MR_Q4][2];
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++)
        f[r][0] = f[r][1] = _mm512_setzero_ps();
    for (int g = 0; g < groups; g++) {
        const uint8_t *gd = pd + (size_t)g * GM_Q4_GROUP_BYTES;
        const int32_t *xg = xp + (size_t)g * 8 * MR_Q4;
        __m512i acc[MR_Q4][2];
        #pragma GCC unroll 6
        for (int r = 0; r < MR; r++)
            acc[r][0] = acc[r][1] = _mm512_set1_epi32(comp[(size_t)g * MR_Q4 + (size_t)r]);
        #pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            __m512i v = _mm512_load_si512(gd + 64 + 64 * s);
            __m512i w0 = _mm512_and_si512(v, low);
            __m512i w1 = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
            #pragma GCC unroll 6
            for (int r = 0; r < MR; r++) {
                __m512i xb = _mm512_set1_epi32(xg[s * MR_Q4 + r]);
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], w0, xb);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], w1, xb);
            }
        }
        __m512 d0 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)gd));
        __m512 d1 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)(gd + 32)));
        #pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            f[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][0]), d0, f[r][0]);
            f[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][1]), d1, f[r][1]);
        }
    }
    __m512 b0 = _mm512_setzero_ps(), b1 = b0;
    if (bias) {
        b0 = _mm512_maskz_loadu_ps(m0, bias);
        b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        __m512 qs = _mm512_set1_ps(qscale[r]);
        __m512 v0 = _mm512_mul_ps(f[r][0], qs), v1 = _mm512_mul_ps(f[r][1], qs);
        if (bias) {
            v0 = _mm512_add_ps(v0, b0);
            v1 = _mm512_add_ps(v1, b1);
        }
        float *yr = y + (size_t)r * (size_t)ldy;
        _mm512_mask_storeu_ps(yr, m0, v0);
        _mm512_mask_storeu_ps(yr + 16, m1, v1);
    }
}

/* gm_linear for q4 weights. */
static void linear_q4(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
                      int o0, int o1)
{
    int qcols = kn_qcols(w->cols), groups = gm_q4_groups(w->cols), n = in->n;
    int nc = block_cols(w->panel_bytes / GM_NR);
    int32_t *xp = __builtin_alloca((size_t)groups * 8 * MR_Q4 * sizeof *xp);
    int32_t *comp = __builtin_alloca((size_t)groups * MR_Q4 * sizeof *comp);
    for (int oc = o0; oc < o1; oc += nc) {
        int oc1 = o1 - oc < nc ? o1 : oc + nc;
        for (int b = 0; b < n; b += MR_Q4) {
            int mr = n - b < MR_Q4 ? n - b : MR_Q4;
            for (int r = 0; r < mr; r++) {
                const int8_t *q = in->q + (size_t)(b + r) * (size_t)qcols;
                for (int g = 0; g < groups; g++) {
                    int32_t sum = 0;
                    for (int i = 0; i < GM_Q4_GROUP; i++)
                        sum += q[g * GM_Q4_GROUP + i];
                    comp[(size_t)g * MR_Q4 + (size_t)r] = -8 * sum;
                }
                for (int s = 0; s < groups * 8; s++)
                    __builtin_memcpy(&xp[(size_t)s * MR_Q4 + (size_t)r], q + 4 * s, 4);
            }
            for (int p = oc / GM_NR; p * GM_NR < oc1; p++) {
                __mmask16 m0, m1;
                col_masks(oc1 - p * GM_NR, &m0, &m1);
                const uint8_t *pd = w->data + (size_t)p * w->panel_bytes;
                float *yt = y + (size_t)b * (size_t)ldy + (size_t)p * GM_NR;
                const float *bt = bias ? bias + p * GM_NR : NULL, *qs = in->qscale + b;
                switch (mr) {
#define TILE_Q4(MR) case MR: tile_q4(yt, ldy, xp, comp, groups, pd, qs, bt, m0, m1, MR); break;
                TILE_Q4(1) TILE_Q4(2) TILE_Q4(3) TILE_Q4(4) TILE_Q4(5) TILE_Q4(6)
#undef TILE_Q4
                }
            }
        }
    }
}

void gm_linear_avx512(float *y, int ldy, const kn_input *in, const gm_weight *w,
                      const float *bias, int o0, int o1)
{
    switch (w->dtype) {
    case KN_F32: linear_float(y, ldy, in, w, bias, o0, o1, KN_F32); break;
    case KN_F16: linear_float(y, ldy, in, w, bias, o0, o1, KN_F16); break;
    case KN_BF16: linear_float(y, ldy, in, w, bias, o0, o1, KN_BF16); break;
    case KN_Q8: linear_q8(y, ldy, in, w, bias, o0, o1); break;
    default: linear_q4(y, ldy, in, w, bias, o0, o1); break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Peak probes: 24 independent dependency chains, enough to fill two units of latency 4-5
 * ------------------------------------------------------------------------------------------- */

#define CHAINS 24

double gm_peak_fma_avx512(long n)
{
    __m512 a[CHAINS];
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    for (int j = 0; j < CHAINS; j++)
        a[j] = _mm512_set1_ps((float)j);
    for (long i = 0; i < n; i++)
        #pragma GCC unroll 24
        for (int j = 0; j < CHAINS; j++)
            a[j] = _mm512_fmadd_ps(a[j], m, c);
    __m512 s = a[0];
    for (int j = 1; j < CHAINS; j++)
        s = _mm512_add_ps(s, a[j]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)n * CHAINS * 16 * 2;
}

double gm_peak_int8_avx512(long n)
{
    __m512i a[CHAINS];
    const __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(-2);
    for (int j = 0; j < CHAINS; j++)
        a[j] = _mm512_set1_epi32(j);
    for (long i = 0; i < n; i++)
        #pragma GCC unroll 24
        for (int j = 0; j < CHAINS; j++)
            a[j] = _mm512_dpbusd_epi32(a[j], u, v);
    __m512i s = a[0];
    for (int j = 1; j < CHAINS; j++)
        s = _mm512_add_epi32(s, a[j]);
    volatile int sink = _mm512_reduce_add_epi32(s);
    (void)sink;
    return (double)n * CHAINS * 64 * 2;
}
