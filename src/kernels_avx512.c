/* kernels_avx512.c — AVX-512 (F, BW, VL, DQ, VNNI) matrix products and vector operations;
 * compiled with -mavx512* and called only when the CPU has them (see kernels.c). */
#include "kernels.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Loads 16 weights at element offset i as floats (masked lanes are 0). */
ALWAYS_INLINE __m512 load_w(const void *data, size_t i, int dtype, __mmask16 m)
{
    if (dtype == KN_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)data + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)data + i);
    if (dtype == KN_BF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

/* One tile: NO weight rows from o times NB input rows from b, all columns. */
ALWAYS_INLINE void tile(float *y, int ldy, const float *x, const kn_weight *w, int o, int b,
                        int dtype, const int NO, const int NB)
{
    int cols = w->cols, kfull = cols & ~15;
    __mmask16 tail = (__mmask16)((1u << (cols & 15)) - 1);
    __m512 acc[4][4];
    for (int i = 0; i < NO; i++)
        for (int j = 0; j < NB; j++)
            acc[i][j] = _mm512_setzero_ps();
    const float *xr[4];
    size_t wr[4];
    for (int j = 0; j < NB; j++)
        xr[j] = x + (size_t)(b + j) * (size_t)cols;
    for (int i = 0; i < NO; i++)
        wr[i] = (size_t)(o + i) * (size_t)cols;
    for (int k = 0; k < kfull; k += 16) {
        __m512 wv[4];
        for (int i = 0; i < NO; i++)
            wv[i] = load_w(w->data, wr[i] + (size_t)k, dtype, 0xffff);
        for (int j = 0; j < NB; j++) {
            __m512 xv = _mm512_loadu_ps(xr[j] + k);
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    if (tail) {
        __m512 wv[4];
        for (int i = 0; i < NO; i++)
            wv[i] = load_w(w->data, wr[i] + (size_t)kfull, dtype, tail);
        for (int j = 0; j < NB; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(tail, xr[j] + kfull);
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    for (int j = 0; j < NB; j++)
        for (int i = 0; i < NO; i++)
            y[(size_t)(b + j) * (size_t)ldy + (size_t)(o + i)] = _mm512_reduce_add_ps(acc[i][j]);
}

/* y[b, o] = x[b] . W[o] over the rows [o0, o1), in 4 x 4 tiles and their edges. */
ALWAYS_INLINE void dots(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0,
                        int o1, int dtype)
{
    int o = o0;
    for (; o + 4 <= o1; o += 4) {
        int b = 0;
        for (; b + 4 <= n; b += 4)
            tile(y, ldy, x, w, o, b, dtype, 4, 4);
        for (; b < n; b++)
            tile(y, ldy, x, w, o, b, dtype, 4, 1);
    }
    for (; o < o1; o++) {
        int b = 0;
        for (; b + 4 <= n; b += 4)
            tile(y, ldy, x, w, o, b, dtype, 1, 4);
        for (; b < n; b++)
            tile(y, ldy, x, w, o, b, dtype, 1, 1);
    }
}

void kn_dots_f32_avx512(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0, int o1)
{
    dots(y, ldy, x, n, w, o0, o1, KN_F32);
}

void kn_dots_bf16_avx512(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0, int o1)
{
    dots(y, ldy, x, n, w, o0, o1, KN_BF16);
}

void kn_dots_f16_avx512(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0, int o1)
{
    dots(y, ldy, x, n, w, o0, o1, KN_F16);
}

/* One q8 tile: u8 (x + 128) times s8 weights with VPDPBUSD, corrected by 128 * rowsum. */
ALWAYS_INLINE void tile_q8(float *y, int ldy, const kn_input *in, const kn_weight *w, int o, int b,
                           const int NO, const int NB)
{
    int cols = w->cols, qcols = kn_qcols(cols), kfull = cols & ~63;
    __mmask64 tail = (cols & 63) ? (((__mmask64)1 << (cols & 63)) - 1) : 0;
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m512i acc[4][4];
    for (int i = 0; i < NO; i++)
        for (int j = 0; j < NB; j++)
            acc[i][j] = _mm512_setzero_si512();
    const int8_t *xr[4], *wr[4];
    for (int j = 0; j < NB; j++)
        xr[j] = in->q + (size_t)(b + j) * (size_t)qcols;
    for (int i = 0; i < NO; i++)
        wr[i] = (const int8_t *)w->data + (size_t)(o + i) * (size_t)cols;
    for (int k = 0; k < kfull; k += 64) {
        __m512i wv[4];
        for (int i = 0; i < NO; i++)
            wv[i] = _mm512_loadu_si512(wr[i] + k);
        for (int j = 0; j < NB; j++) {
            __m512i xv = _mm512_xor_si512(_mm512_loadu_si512(xr[j] + k), bias);
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xv, wv[i]);
        }
    }
    if (tail) {
        __m512i wv[4];
        for (int i = 0; i < NO; i++)
            wv[i] = _mm512_maskz_loadu_epi8(tail, wr[i] + kfull);
        for (int j = 0; j < NB; j++) {
            __m512i xv = _mm512_xor_si512(_mm512_loadu_si512(xr[j] + kfull), bias);
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xv, wv[i]);
        }
    }
    for (int j = 0; j < NB; j++)
        for (int i = 0; i < NO; i++) {
            int32_t s = _mm512_reduce_add_epi32(acc[i][j]) - 128 * w->rowsum[o + i];
            y[(size_t)(b + j) * (size_t)ldy + (size_t)(o + i)] =
                (float)s * in->qscale[b + j] * w->scale[o + i];
        }
}

void kn_dots_q8_avx512(float *y, int ldy, const kn_input *in, const kn_weight *w, int o0, int o1)
{
    int n = in->n, o = o0;
    for (; o + 4 <= o1; o += 4) {
        int b = 0;
        for (; b + 4 <= n; b += 4)
            tile_q8(y, ldy, in, w, o, b, 4, 4);
        for (; b < n; b++)
            tile_q8(y, ldy, in, w, o, b, 4, 1);
    }
    for (; o < o1; o++) {
        int b = 0;
        for (; b + 4 <= n; b += 4)
            tile_q8(y, ldy, in, w, o, b, 1, 4);
        for (; b < n; b++)
            tile_q8(y, ldy, in, w, o, b, 1, 1);
    }
}

float kn_dot_avx512(const float *a, const float *b, int n)
{
    __m512 acc = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= n; k += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), acc);
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + k), _mm512_maskz_loadu_ps(m, b + k), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

void kn_axpy_avx512(float *y, float a, const float *x, int n)
{
    __m512 av = _mm512_set1_ps(a);
    int k = 0;
    for (; k + 16 <= n; k += 16)
        _mm512_storeu_ps(y + k, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + k), _mm512_loadu_ps(y + k)));
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
        _mm512_mask_storeu_ps(y + k, m,
                              _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + k),
                                              _mm512_maskz_loadu_ps(m, y + k)));
    }
}
