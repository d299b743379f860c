/* kernels_avx2.c — AVX2 + FMA + F16C matrix products and vector operations; compiled with
 * -mavx2 -mfma -mf16c and called only when the CPU has them (see kernels.c). */
#include "kernels_isa.h"

#include <immintrin.h>
#include <float.h>
#include <math.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Loads 8 weights at element offset i as floats. */
ALWAYS_INLINE __m256 load_w(const void *data, size_t i, int dtype)
{
    if (dtype == ATTN_F32)
        return _mm256_loadu_ps((const float *)data + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)data + i));
    if (dtype == ATTN_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}

/* Returns weight element i as a float (for the column tail). */
ALWAYS_INLINE float scalar_w(const void *data, size_t i, int dtype)
{
    if (dtype == ATTN_F32)
        return ((const float *)data)[i];
    if (dtype == ATTN_BF16)
        return attn_bf16_to_f32(((const uint16_t *)data)[i]);
    return attn_f16_to_f32(((const uint16_t *)data)[i]);
}

/* Returns the sum of the 8 lanes. */
ALWAYS_INLINE float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* One tile: NO weight rows from o times NB input rows from b, all columns; with prefetch, the
 * next NO rows are prefetched (the first pass over each block of rows streams from memory). */
ALWAYS_INLINE void tile(float *y, int ldy, const float *x, const kn_weight *w, int o, int b,
                        int dtype, const int NO, const int NB, int prefetch)
{
    size_t esize = dtype == ATTN_F32 ? 4 : 2;
    int cols = w->cols, kfull = cols & ~7;
    __m256 acc[4][2];
    #pragma GCC unroll 4
    for (int i = 0; i < NO; i++)
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++)
            acc[i][j] = _mm256_setzero_ps();
    const float *xr[2];
    size_t wr[4];
    #pragma GCC unroll 4
    for (int j = 0; j < NB; j++)
        xr[j] = x + (size_t)(b + j) * (size_t)cols;
    #pragma GCC unroll 4
    for (int i = 0; i < NO; i++)
        wr[i] = (size_t)(o + i) * (size_t)cols;
    const char *pf = (const char *)w->data + (wr[0] + (size_t)NO * (size_t)cols) * esize;
    for (int k = 0; k < kfull; k += 8) {
        __m256 wv[4];
        if (prefetch && (k * esize) % 64 == 0)
            for (int i = 0; i < NO; i++)
                _mm_prefetch(pf + ((size_t)i * (size_t)cols + (size_t)k) * esize, _MM_HINT_T0);
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++)
            wv[i] = load_w(w->data, wr[i] + (size_t)k, dtype);
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            __m256 xv = _mm256_loadu_ps(xr[j] + k);
            #pragma GCC unroll 4
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    #pragma GCC unroll 4
    for (int j = 0; j < NB; j++)
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++) {
            float s = hsum(acc[i][j]);
            for (int k = kfull; k < cols; k++)
                s += xr[j][k] * scalar_w(w->data, wr[i] + (size_t)k, dtype);
            y[(size_t)(b + j) * (size_t)ldy + (size_t)(o + i)] = s;
        }
}

/* y[b, o] = x[b] . W[o] over the rows [o0, o1), in 4 x 2 tiles and their edges; input rows
 * outside, weight rows inside (see kernels_avx512.c). */
ALWAYS_INLINE void dots(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0,
                        int o1, int dtype)
{
    int b = 0;
    for (; b + 2 <= n; b += 2) {
        int o = o0;
        for (; o + 4 <= o1; o += 4)
            tile(y, ldy, x, w, o, b, dtype, 4, 2, b == 0);
        for (; o < o1; o++)
            tile(y, ldy, x, w, o, b, dtype, 1, 2, 0);
    }
    for (; b < n; b++) {
        int o = o0;
        for (; o + 4 <= o1; o += 4)
            tile(y, ldy, x, w, o, b, dtype, 4, 1, b == 0);
        for (; o < o1; o++)
            tile(y, ldy, x, w, o, b, dtype, 1, 1, 0);
    }
}

void kn_dots_float_avx2(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0,
                        int o1)
{
    /* one instance of the tiles per dtype, each with its loads known at compile time */
    if (w->dtype == ATTN_F32)
        dots(y, ldy, x, n, w, o0, o1, ATTN_F32);
    else if (w->dtype == ATTN_BF16)
        dots(y, ldy, x, n, w, o0, o1, ATTN_BF16);
    else
        dots(y, ldy, x, n, w, o0, o1, ATTN_F16);
}

/* Returns the exact int32 dot product of s8 vectors q and w over cols (q padded to 32). */
ALWAYS_INLINE int32_t dot_s8(const int8_t *q, const int8_t *w, int cols)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    int k = 0;
    for (; k + 32 <= cols; k += 32) {
        __m256i xv = _mm256_loadu_si256((const __m256i *)(q + k));
        __m256i wv = _mm256_loadu_si256((const __m256i *)(w + k));
        /* |x| (u8, <= 127) times w with x's sign: pairs sum to at most 2 * 127 * 128 */
        __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    int32_t total = _mm_cvtsi128_si32(s);
    for (; k < cols; k++)
        total += (int32_t)q[k] * (int32_t)w[k];
    return total;
}

void kn_dots_q8_avx2(float *y, int ldy, const kn_input *in, const kn_weight *w, int o0, int o1)
{
    int cols = w->cols, qcols = kn_qcols(cols);
    for (int o = o0; o < o1; o++) {
        const int8_t *wo = (const int8_t *)w->data + (size_t)o * (size_t)cols;
        for (int b = 0; b < in->n; b++) {
            int32_t s = dot_s8(in->q + (size_t)b * (size_t)qcols, wo, cols);
            y[(size_t)b * (size_t)ldy + (size_t)o] = (float)s * in->qscale[b] * w->scale[o];
        }
    }
}

float kn_dot_avx2(const float *a, const float *b, int n)
{
    __m256 acc = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= n; k += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc);
    float s = hsum(acc);
    for (; k < n; k++)
        s += a[k] * b[k];
    return s;
}

void kn_axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 av = _mm256_set1_ps(a);
    int k = 0;
    for (; k + 8 <= n; k += 8)
        _mm256_storeu_ps(y + k,
                         _mm256_fmadd_ps(av, _mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k)));
    for (; k < n; k++)
        y[k] += a * x[k];
}

void kn_quantize_row_avx2(int8_t *q, float *scale, const float *x, int cols)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mx = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= cols; k += 8)
        mx = _mm256_max_ps(mx, _mm256_and_ps(_mm256_loadu_ps(x + k), absmask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float amax = _mm_cvtss_f32(m4);
    for (int j = k; j < cols; j++) {
        float a = fabsf(x[j]);
        if (a > amax)
            amax = a;
    }
    float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    *scale = amax > 0.0f ? amax / 127.0f : 0.0f;
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    for (k = 0; k + 8 <= cols; k += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), vinv));
        v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
        __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(q + k), _mm_packs_epi16(p16, p16));
    }
    for (; k < cols; k++) {
        float v = (x[k] * inv + 12582912.0f) - 12582912.0f;
        v = v > 127.0f ? 127.0f : v >= -127.0f ? v : -127.0f;   /* NaN: -127, as cvtps gives */
        q[k] = (int8_t)v;
    }
}

/* Returns e^x per lane (the range reduction and polynomial of kernels_avx512.c's exp512, the
 * power of two built in the exponent bits); 0 below -87.3. */
ALWAYS_INLINE __m256 exp256(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.3f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(KN_EXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(KN_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(KN_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(KN_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KN_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KN_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KN_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KN_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KN_EXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
                                  23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/* Returns the largest of the 8 lanes. */
ALWAYS_INLINE float hmax(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

float kn_sumexp_avx2(float *max, const float *x, int n)
{
    /* kn_sumexp_avx512's blocks of 256 floats, the next block's maximum taken in the loop of this
     * block's exponentials, prefetch 4 KB ahead; the tail of fewer than 8 is scalar */
    __m256 m = _mm256_set1_ps(-FLT_MAX), s = _mm256_setzero_ps(), bm = m;
    int full = n & ~7;
    for (int k = 0; k < (full < 256 ? full : 256); k += 8)
        bm = _mm256_max_ps(bm, _mm256_loadu_ps(x + k));
    for (int k0 = 0; k0 < full; k0 += 256) {
        int k1 = k0 + 256 < full ? k0 + 256 : full, k2 = k1 + 256 < full ? k1 + 256 : full;
        s = _mm256_mul_ps(s, exp256(_mm256_sub_ps(m, bm)));
        m = bm;
        for (int k = k0, j = k1; k < k1; k += 8, j += 8) {
            _mm_prefetch((const char *)(x + k + 1024), _MM_HINT_T0);
            if (j < k2)
                bm = _mm256_max_ps(bm, _mm256_loadu_ps(x + j));
            s = _mm256_add_ps(s, exp256(_mm256_sub_ps(_mm256_loadu_ps(x + k), m)));
        }
    }
    float mx = hmax(m);
    for (int k = full; k < n; k++)
        mx = x[k] > mx ? x[k] : mx;
    float sum = hsum(_mm256_mul_ps(s, exp256(_mm256_sub_ps(m, _mm256_set1_ps(mx)))));
    for (int k = full; k < n; k++)
        sum += expf(x[k] - mx);
    *max = mx;
    return sum;
}

/* kn_top_merge of (x[i] + shift) + add when SHIFTED, else of x[i] + add. */
ALWAYS_INLINE void top_merge(float *score, int *index, int *have, const float *x, float shift,
                             float add, int base, int n, int k, const int SHIFTED)
{
    const __m256 vs = _mm256_set1_ps(shift), va = _mm256_set1_ps(add);
    int i = 0;
    /* as kn_top_merge_avx512, 8 at a time */
    for (; i < n && *have < k; i++)
        kn_top_insert(score, index, have, (SHIFTED ? x[i] + shift : x[i]) + add, base + i, k);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        v = _mm256_add_ps(SHIFTED ? _mm256_add_ps(v, vs) : v, va);
        unsigned hit = (unsigned)_mm256_movemask_ps(
            _mm256_cmp_ps(v, _mm256_set1_ps(score[k - 1]), _CMP_GE_OQ));
        while (hit) {
            int j = __builtin_ctz(hit);
            hit &= hit - 1;
            kn_top_insert(score, index, have, (SHIFTED ? x[i + j] + shift : x[i + j]) + add,
                          base + i + j, k);
        }
    }
    for (; i < n; i++)
        kn_top_insert(score, index, have, (SHIFTED ? x[i] + shift : x[i]) + add, base + i, k);
}

void kn_top_merge_avx2(float *score, int *index, int *have, const float *x, float add,
                       int base, int n, int k)
{
    top_merge(score, index, have, x, 0.0f, add, base, n, k, 0);
}

void kn_top_merge_shifted_avx2(float *score, int *index, int *have, const float *x, float shift,
                               float add, int base, int n, int k)
{
    top_merge(score, index, have, x, shift, add, base, n, k, 1);
}
