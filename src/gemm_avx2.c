/* gemm_avx2.c — AVX2 + FMA + F16C micro-kernels for gm_linear and the peak probes; compiled with
 * -mavx2 -mfma -mf16c and called only when the CPU has them (see kernels.c).
 *
 * With 16 vector registers a tile covers one half of a panel (16 columns); otherwise the
 * blocking is gemm_avx512.c's.  q8 uses vpmaddubsw on |x| and the weight carrying x's sign (pairs
 * of products stay below 2^15), q4 vpmaddubsw on the nibbles and x directly.
 */
#include "gemm_isa.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define MR_F 6                  /* input rows per float tile (12 accumulators) */
#define MR_Q8 4                 /* input rows per q8 tile (8 accumulators) */
#define MR_Q4 2                 /* input rows per q4 tile (4 int + 4 float accumulators) */
#define KC_F 256                /* input elements per float slice */
#define L2_BLOCK (256 * 1024)   /* bytes of weights per block of columns */

/* Returns the number of columns (a multiple of GM_NR) whose panel bytes fill about L2_BLOCK. */
static int block_cols(size_t bytes_per_col)
{
    size_t nc = L2_BLOCK / bytes_per_col;
    nc -= nc % GM_NR;
    return nc < GM_NR ? GM_NR : (int)nc;
}

/* Returns the lane mask of 8 columns with jn of them live (jn may be <= 0 or >= 8). */
ALWAYS_INLINE __m256i col_mask(int jn)
{
    jn = jn < 0 ? 0 : jn > 8 ? 8 : jn;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(jn), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Stores v + b at y in the lanes of mask m. */
ALWAYS_INLINE void store8(float *y, __m256 v, __m256i m, __m256 b)
{
    _mm256_maskstore_ps(y, m, _mm256_add_ps(v, b));
}

/* Stores v (+ bias when not NULL) at y in the lanes of mask m. */
ALWAYS_INLINE void put8(float *y, __m256 v, __m256i m, const float *bias)
{
    if (bias)
        v = _mm256_add_ps(v, _mm256_maskload_ps(bias, m));
    _mm256_maskstore_ps(y, m, v);
}

/* ---------------------------------------------------------------------------------------------
 * Float weights
 * ------------------------------------------------------------------------------------------- */

/* Loads columns 16 h .. 16 h + 15 of step k of a float-like panel as two vectors of 8 floats. */
ALWAYS_INLINE void load_half(__m256 *w0, __m256 *w1, const uint8_t *pd, int k, int h, int dtype)
{
    if (dtype == ATTN_F32) {
        const float *p = (const float *)(const void *)pd + (size_t)k * GM_NR + 16 * h;
        *w0 = _mm256_load_ps(p);
        *w1 = _mm256_load_ps(p + 8);
    } else if (dtype == ATTN_F16) {
        const __m128i *p = (const __m128i *)(const void *)(pd + ((size_t)k * GM_NR + 16 * h) * 2);
        *w0 = _mm256_cvtph_ps(_mm_load_si128(p));
        *w1 = _mm256_cvtph_ps(_mm_load_si128(p + 1));
    } else {
        /* lane j of the 64 bytes: column j low, column j + 16 high */
        const __m256i *p = (const __m256i *)(const void *)(pd + (size_t)k * GM_NR * 2);
        __m256i a = _mm256_load_si256(p), b = _mm256_load_si256(p + 1);
        if (h == 0) {
            *w0 = _mm256_castsi256_ps(_mm256_slli_epi32(a, 16));
            *w1 = _mm256_castsi256_ps(_mm256_slli_epi32(b, 16));
        } else {
            const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
            *w0 = _mm256_castsi256_ps(_mm256_and_si256(a, hi));
            *w1 = _mm256_castsi256_ps(_mm256_and_si256(b, hi));
        }
    }
}

/* One MR x 16 tile (half h of a panel) over kc steps; y gets the products plus bias (first
 * slice) or plus y (later slices); jn: live columns of the half. */
ALWAYS_INLINE void tile_float(float *y, int ldy, const float *xp, int kc, const uint8_t *pd,
                              int h, int dtype, const float *bias, int first, int jn, const int MR)
{
    __m256 acc[MR_F][2];
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 w0, w1;
        load_half(&w0, &w1, pd, k, h, dtype);
        const float *xk = xp + (size_t)k * MR_F;
        #pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            __m256 xb = _mm256_broadcast_ss(xk + r);
            acc[r][0] = _mm256_fmadd_ps(w0, xb, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(w1, xb, acc[r][1]);
        }
    }
    __m256i m0 = col_mask(jn), m1 = col_mask(jn - 8);
    __m256 b0 = _mm256_setzero_ps(), b1 = b0;
    if (first && bias) {
        b0 = _mm256_maskload_ps(bias, m0);
        b1 = _mm256_maskload_ps(bias + 8, m1);
    }
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float *yr = y + (size_t)r * (size_t)ldy;
        if (!first) {
            b0 = _mm256_maskload_ps(yr, m0);
            b1 = _mm256_maskload_ps(yr + 8, m1);
        }
        store8(yr, acc[r][0], m0, b0);
        store8(yr + 8, acc[r][1], m1, b1);
    }
}

/* gm_linear for float-like weights of one dtype. */
ALWAYS_INLINE void linear_float(float *y, int ldy, const kn_input *in, const gm_weight *w,
                                const float *bias, int o0, int o1, int dtype)
{
    float xp[KC_F * MR_F] __attribute__((aligned(32)));
    int cols = w->cols, n = in->n;
    size_t esize = dtype == ATTN_F32 ? 4 : 2;
    int nc = block_cols((size_t)KC_F * esize);
    for (int oc = o0; oc < o1; oc += nc) {
        int oc1 = o1 - oc < nc ? o1 : oc + nc;
        for (int k0 = 0; k0 < cols; k0 += KC_F) {
            int kc = cols - k0 < KC_F ? cols - k0 : KC_F;
            for (int b = 0; b < n; b += MR_F) {
                int mr = n - b < MR_F ? n - b : MR_F;
                const float *xb = in->x + (size_t)b * (size_t)cols + (size_t)k0;
                for (int r = 0; r < mr; r++)
                    for (int k = 0; k < kc; k++)
                        xp[(size_t)k * MR_F + (size_t)r] = xb[(size_t)r * (size_t)cols + (size_t)k];
                for (int c = oc; c < oc1; c += 16) {
                    int p = c / GM_NR, h = (c / 16) & 1, jn = oc1 - c;
                    const uint8_t *pd = w->data + (size_t)p * w->panel_bytes +
                                        (size_t)k0 * GM_NR * esize;
                    float *yt = y + (size_t)b * (size_t)ldy + (size_t)c;
                    const float *bt = bias ? bias + c : NULL;
                    switch (mr) {
#define TILE_F(MR) case MR: tile_float(yt, ldy, xp, kc, pd, h, dtype, bt, k0 == 0, jn, MR); break;
                    TILE_F(1) TILE_F(2) TILE_F(3) TILE_F(4) TILE_F(5) TILE_F(6)
#undef TILE_F
                    }
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * q8 weights
 * ------------------------------------------------------------------------------------------- */

/* One MR x 16 q8 tile (half h of a panel): exact dots, then (float)dot * qscale * wscale
 * (+ bias) in kn_linear's order. */
ALWAYS_INLINE void tile_q8(float *y, int ldy, const int32_t *xp, int k4n, const uint8_t *pd, int h,
                           const float *qscale, const float *wscale, const float *bias, int jn,
                           const int MR)
{
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    __m256i acc[MR_Q8][2];
    #pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int s = 0; s < k4n; s++) {
        const __m256i *p = (const __m256i *)(const void *)(pd + (size_t)s * 128 + 64 * h);
        __m256i w0 = _mm256_xor_si256(_mm256_load_si256(p), flip);
        __m256i w1 = _mm256_xor_si256(_mm256_load_si256(p + 1), flip);
        const int32_t *xk = xp + (size_t)s * MR_Q8;
        #pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            __m256i xb = _mm256_set1_epi32(xk[r]), ax = _mm256_abs_epi8(xb);
            __m256i p0 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(w0, xb));
            __m256i p1 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(w1, xb));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));
        }
    }
    __m256i m0 = col_mask(jn), m1 = col_mask(jn - 8);
    __m256 s0 = _mm256_maskload_ps(wscale, m0), s1 = _mm256_maskload_ps(wscale + 8, m1);
    #pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
        __m256 qs = _mm256_set1_ps(qscale[r]);
        __m256 v0 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][0]), qs), s0);
        __m256 v1 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][1]), qs), s1);
        float *yr = y + (size_t)r * (size_t)ldy;
        put8(yr, v0, m0, bias);
        put8(yr + 8, v1, m1, bias ? bias + 8 : NULL);
    }
}

/* gm_linear for q8 weights. */
static void linear_q8(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
                      int o0, int o1)
{
    int qcols = kn_qcols(w->cols), k4n = (w->cols + 3) / 4, n = in->n;
    int nc = block_cols(w->panel_bytes / GM_NR);
    int32_t *xp = __builtin_alloca((size_t)k4n * MR_Q8 * sizeof *xp);
    for (int oc = o0; oc < o1; oc += nc) {
        int oc1 = o1 - oc < nc ? o1 : oc + nc;
        for (int b = 0; b < n; b += MR_Q8) {
            int mr = n - b < MR_Q8 ? n - b : MR_Q8;
            for (int r = 0; r < mr; r++)
                for (int s = 0; s < k4n; s++)
                    __builtin_memcpy(&xp[(size_t)s * MR_Q8 + (size_t)r],
                                     in->q + (size_t)(b + r) * (size_t)qcols + 4 * s, 4);
            for (int c = oc; c < oc1; c += 16) {
                int p = c / GM_NR, h = (c / 16) & 1, jn = oc1 - c;
                const uint8_t *pd = w->data + (size_t)p * w->panel_bytes;
                float *yt = y + (size_t)b * (size_t)ldy + (size_t)c;
                const float *bt = bias ? bias + c : NULL;
                const float *ws = w->scale + c, *qs = in->qscale + b;
                switch (mr) {
#define TILE_Q8(MR) case MR: tile_q8(yt, ldy, xp, k4n, pd, h, qs, ws, bt, jn, MR); break;
                TILE_Q8(1) TILE_Q8(2) TILE_Q8(3) TILE_Q8(4)
#undef TILE_Q8
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * q4 weights
 * ------------------------------------------------------------------------------------------- */

/* One MR x 16 q4 tile (half h of a panel) over all groups: y = qscale * sum_g d_g * (exact
 * group dot) (+ bias). */
ALWAYS_INLINE void tile_q4(float *y, int ldy, const int32_t *xp, const int32_t *comp, int groups,
                           const uint8_t *pd, int h, const float *qscale, const float *bias,
                           int jn, const int MR)
{
    const __m256i low = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256 f[MR_Q4][2];
    #pragma GCC unroll 2
    for (int r = 0; r < MR; r++)
        f[r][0] = f[r][1] = _mm256_setzero_ps();
    for (int g = 0; g < groups; g++) {
        const uint8_t *gd = pd + (size_t)g * GM_Q4_GROUP_BYTES;
        const int32_t *xg = xp + (size_t)g * 8 * MR_Q4;
        __m256i acc[MR_Q4][2];
        #pragma GCC unroll 2
        for (int r = 0; r < MR; r++)
            acc[r][0] = acc[r][1] = _mm256_set1_epi32(comp[(size_t)g * MR_Q4 + (size_t)r]);
        for (int s = 0; s < 8; s++) {
            const __m256i *p = (const __m256i *)(const void *)(gd + 64 + 64 * s);
            __m256i a = _mm256_load_si256(p), b = _mm256_load_si256(p + 1);
            if (h) {
                a = _mm256_srli_epi16(a, 4);
                b = _mm256_srli_epi16(b, 4);
            }
            __m256i w0 = _mm256_and_si256(a, low), w1 = _mm256_and_si256(b, low);
            #pragma GCC unroll 2
            for (int r = 0; r < MR; r++) {
                __m256i xb = _mm256_set1_epi32(xg[s * MR_Q4 + r]);
                acc[r][0] = _mm256_add_epi32(acc[r][0],
                                             _mm256_madd_epi16(_mm256_maddubs_epi16(w0, xb), ones));
                acc[r][1] = _mm256_add_epi32(acc[r][1],
                                             _mm256_madd_epi16(_mm256_maddubs_epi16(w1, xb), ones));
            }
        }
        const __m128i *ds = (const __m128i *)(const void *)(gd + 32 * h);
        __m256 d0 = _mm256_cvtph_ps(_mm_load_si128(ds));
        __m256 d1 = _mm256_cvtph_ps(_mm_load_si128(ds + 1));
        #pragma GCC unroll 2
        for (int r = 0; r < MR; r++) {
            f[r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][0]), d0, f[r][0]);
            f[r][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][1]), d1, f[r][1]);
        }
    }
    __m256i m0 = col_mask(jn), m1 = col_mask(jn - 8);
    #pragma GCC unroll 2
    for (int r = 0; r < MR; r++) {
        __m256 qs = _mm256_set1_ps(qscale[r]);
        float *yr = y + (size_t)r * (size_t)ldy;
        put8(yr, _mm256_mul_ps(f[r][0], qs), m0, bias);
        put8(yr + 8, _mm256_mul_ps(f[r][1], qs), m1, bias ? bias + 8 : NULL);
    }
}

/* gm_linear for q4 weights. */
static void linear_q4(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
                      int o0, int o1)
{
    int qcols = kn_qcols(w->cols), groups = (int)attn_q4_groups(w->cols), n = in->n;
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
                    for (int i = 0; i < ATTN_Q4_GROUP; i++)
                        sum += q[g * ATTN_Q4_GROUP + i];
                    comp[(size_t)g * MR_Q4 + (size_t)r] = -8 * sum;
                }
                for (int s = 0; s < groups * 8; s++)
                    __builtin_memcpy(&xp[(size_t)s * MR_Q4 + (size_t)r], q + 4 * s, 4);
            }
            for (int c = oc; c < oc1; c += 16) {
                int p = c / GM_NR, h = (c / 16) & 1, jn = oc1 - c;
                const uint8_t *pd = w->data + (size_t)p * w->panel_bytes;
                float *yt = y + (size_t)b * (size_t)ldy + (size_t)c;
                const float *bt = bias ? bias + c : NULL, *qs = in->qscale + b;
                if (mr == 2)
                    tile_q4(yt, ldy, xp, comp, groups, pd, h, qs, bt, jn, 2);
                else
                    tile_q4(yt, ldy, xp, comp, groups, pd, h, qs, bt, jn, 1);
            }
        }
    }
}

void gm_linear_avx2(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
                    int o0, int o1)
{
    switch (w->dtype) {
    case ATTN_F32: linear_float(y, ldy, in, w, bias, o0, o1, ATTN_F32); break;
    case ATTN_F16: linear_float(y, ldy, in, w, bias, o0, o1, ATTN_F16); break;
    case ATTN_BF16: linear_float(y, ldy, in, w, bias, o0, o1, ATTN_BF16); break;
    case ATTN_Q8: linear_q8(y, ldy, in, w, bias, o0, o1); break;
    default: linear_q4(y, ldy, in, w, bias, o0, o1); break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Peak probes: 12 independent dependency chains
 * ------------------------------------------------------------------------------------------- */

#define CHAINS 12

double gm_peak_fma_avx2(long n)
{
    __m256 a[CHAINS];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    for (int j = 0; j < CHAINS; j++)
        a[j] = _mm256_set1_ps((float)j);
    for (long i = 0; i < n; i++)
        #pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++)
            a[j] = _mm256_fmadd_ps(a[j], m, c);
    __m256 s = a[0];
    for (int j = 1; j < CHAINS; j++)
        s = _mm256_add_ps(s, a[j]);
    float out[8];
    _mm256_storeu_ps(out, s);
    volatile float sink = out[0];
    (void)sink;
    return (double)n * CHAINS * 8 * 2;
}

double gm_peak_int8_avx2(long n)
{
    /* the AVX2 int8 product: vpmaddubsw, vpmaddwd, vpaddd for 32 multiply-adds */
    __m256i a[CHAINS];
    const __m256i u = _mm256_set1_epi8(3), v = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    for (int j = 0; j < CHAINS; j++)
        a[j] = _mm256_set1_epi32(j);
    for (long i = 0; i < n; i++)
        #pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++)
            a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(_mm256_maddubs_epi16(
                                              _mm256_xor_si256(u, a[j]), v), ones));
    __m256i s = a[0];
    for (int j = 1; j < CHAINS; j++)
        s = _mm256_add_epi32(s, a[j]);
    int out[8];
    _mm256_storeu_si256((__m256i *)(void *)out, s);
    volatile int sink = out[0];
    (void)sink;
    return (double)n * CHAINS * 32 * 2;
}
