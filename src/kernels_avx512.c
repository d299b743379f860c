/* kernels_avx512.c — AVX-512 (F, BW, VL, DQ, VNNI) matrix products and vector operations;
 * compiled with -mavx512* and called only when the CPU has them (see kernels.c). */
#include "kernels_isa.h"

#include <immintrin.h>
#include <float.h>
#include <math.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Loads 16 weights at element offset i as floats (masked lanes are 0). */
ALWAYS_INLINE __m512 load_w(const void *data, size_t i, int dtype, __mmask16 m)
{
    if (dtype == ATTN_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)data + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)data + i);
    if (dtype == ATTN_BF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

/* Returns the four horizontal sums of a, b, c, d as one vector. */
ALWAYS_INLINE __m128 hsum4_ps(__m512 a, __m512 b, __m512 c, __m512 d)
{
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512 abcd = _mm512_add_ps(
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
    /* each 128-bit lane now holds partial sums (a, b, c, d): add the four lanes */
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(abcd), _mm512_extractf32x8_ps(abcd, 1));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* Returns the four horizontal sums of a, b, c, d (int32) as one vector. */
ALWAYS_INLINE __m128i hsum4_epi32(__m512i a, __m512i b, __m512i c, __m512i d)
{
    __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    __m512i abcd = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(abcd), _mm512_extracti64x4_epi64(abcd, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* Returns the bytes of one weight element of a float-like type. */
ALWAYS_INLINE size_t esize(int dtype)
{
    return dtype == ATTN_F32 ? 4 : 2;
}

/* One tile: NO weight rows from o times NB input rows from b, all columns; with prefetch, the
 * next NO rows are prefetched (the first pass over each block of rows streams from memory). */
ALWAYS_INLINE void tile(float *y, int ldy, const float *x, const kn_weight *w, int o, int b,
                        int dtype, const int NO, const int NB, int prefetch)
{
    int cols = w->cols, kfull = cols & ~15;
    __mmask16 tail = (__mmask16)((1u << (cols & 15)) - 1);
    __m512 acc[4][4];
    #pragma GCC unroll 4
    for (int i = 0; i < NO; i++)
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++)
            acc[i][j] = _mm512_setzero_ps();
    const float *xr[4];
    size_t wr[4];
    #pragma GCC unroll 4
    for (int j = 0; j < NB; j++)
        xr[j] = x + (size_t)(b + j) * (size_t)cols;
    #pragma GCC unroll 4
    for (int i = 0; i < NO; i++)
        wr[i] = (size_t)(o + i) * (size_t)cols;
    const char *pf = (const char *)w->data + (wr[0] + (size_t)NO * (size_t)cols) * esize(dtype);
    for (int k = 0; k < kfull; k += 16) {
        __m512 wv[4];
        /* the next tile's rows, one cache line per row per step (streams ahead of the loads) */
        if (prefetch)
            #pragma GCC unroll 4
            for (int i = 0; i < NO; i++)
                _mm_prefetch(pf + ((size_t)i * (size_t)cols + (size_t)k) * esize(dtype),
                             _MM_HINT_T0);
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++)
            wv[i] = load_w(w->data, wr[i] + (size_t)k, dtype, 0xffff);
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            __m512 xv = _mm512_loadu_ps(xr[j] + k);
            #pragma GCC unroll 4
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    if (tail) {
        __m512 wv[4];
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++)
            wv[i] = load_w(w->data, wr[i] + (size_t)kfull, dtype, tail);
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(tail, xr[j] + kfull);
            #pragma GCC unroll 4
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    if (NO == 4) {
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++)
            _mm_storeu_ps(y + (size_t)(b + j) * (size_t)ldy + (size_t)o,
                          hsum4_ps(acc[0][j], acc[1][j], acc[2][j], acc[3][j]));
        return;
    }
    #pragma GCC unroll 4
    for (int j = 0; j < NB; j++)
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++)
            y[(size_t)(b + j) * (size_t)ldy + (size_t)(o + i)] = _mm512_reduce_add_ps(acc[i][j]);
}

/* y[b, o] = x[b] . W[o] over the rows [o0, o1), in 4 x 4 tiles and their edges (callers keep
 * o1 - o0 small enough for the weight block to stay in L2). */
ALWAYS_INLINE void dots(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0,
                        int o1, int dtype)
{
    /* input rows outside, weight rows inside: the input tile stays in L1, the weight block in L2,
     * and each pass writes a contiguous stretch of every output row */
    int b = 0;
    for (; b + 4 <= n; b += 4) {
        int o = o0;
        for (; o + 4 <= o1; o += 4)
            tile(y, ldy, x, w, o, b, dtype, 4, 4, b == 0);
        for (; o < o1; o++)
            tile(y, ldy, x, w, o, b, dtype, 1, 4, 0);
    }
    for (; b < n; b++) {
        int o = o0;
        for (; o + 4 <= o1; o += 4)
            tile(y, ldy, x, w, o, b, dtype, 4, 1, b == 0);
        for (; o < o1; o++)
            tile(y, ldy, x, w, o, b, dtype, 1, 1, 0);
    }
}

void kn_dots_float_avx512(float *y, int ldy, const float *x, int n, const kn_weight *w,
                          int o0, int o1)
{
    /* one instance of the tiles per dtype, each with its loads known at compile time */
    if (w->dtype == ATTN_F32)
        dots(y, ldy, x, n, w, o0, o1, ATTN_F32);
    else if (w->dtype == ATTN_BF16)
        dots(y, ldy, x, n, w, o0, o1, ATTN_BF16);
    else
        dots(y, ldy, x, n, w, o0, o1, ATTN_F16);
}

/* ---------------------------------------------------------------------------------------------
 * f32 weights in panels (kn_pack_panels).  A tile of MR input rows x NP panels keeps its
 * accumulators in registers (at most 24): per input step it loads 4 weight vectors per panel and
 * broadcasts one input per row; many rows run 6 x 1 tiles (10 loads for 24 FMAs), a few rows
 * 1 x 4, 2 x 3 or 3 x 2, streaming several panels at once (one stream leaves memory idle at the
 * hardware prefetcher's 4 KiB page ends).  A slice of PANEL_KC steps of a panel (128 KiB) stays
 * in L2 while every row group passes over it (4-6 rows make two groups of 2 or 3: their slices
 * are PANEL_KC_FEW steps of 3 or 2 panels, 48 or 32 KiB, which the second group reads from L1),
 * and each group fetches its share of the next slice meanwhile, spread over its pass; between
 * slices the partial sums wait in y.  Every output is one chain of FMAs in input order, whatever
 * the tile, so the rows sharing a product do not change its bits.
 * ------------------------------------------------------------------------------------------- */

#define PANEL_MR 6              /* input rows per tile with many rows */
#define PANEL_NP 4              /* panels per tile at most (one row) */
#define PANEL_KC 512            /* input steps per slice */
#define PANEL_KC_FEW 64         /* input steps per slice when 4-6 rows make two row groups */

/* y (MR rows ldy apart; NP panels of columns KN_PANEL apart, stored where m[q][0..3] are set) =
 * (first ? 0 : y) + the products of x (MR rows ldx apart, kc inputs) with the slices of NP
 * panels from pw (kc, KN_PANEL each, pstride floats apart), + bias (its columns; NULL: none)
 * after the sum; fetches the pn cache lines from pf into L2 meanwhile, spread over the steps. */
ALWAYS_INLINE void panel_tile(float *y, int ldy, const float *x, int ldx, const float *pw,
                              size_t pstride, int kc, int first, const float *bias,
                              __mmask16 (*m)[4], const char *pf, int pn, const int MR,
                              const int NP)
{
    __m512 acc[PANEL_MR][PANEL_NP][4];
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++)
        #pragma GCC unroll 4
        for (int q = 0; q < NP; q++)
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                acc[r][q][j] = first ? _mm512_setzero_ps()
                                     : _mm512_maskz_loadu_ps(m[q][j], y + (size_t)r * (size_t)ldy
                                                                          + q * KN_PANEL + 16 * j);
    const float *xr[PANEL_MR];
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++)
        xr[r] = x + (size_t)r * (size_t)ldx;
    /* `per` lines every `every` steps */
    int per = (pn + kc - 1) / kc, every = per > 1 ? 1 : pn ? kc / pn : kc, next = pn ? 0 : kc;
    #pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
        if (k == next) {
            for (int l = 0; l < per && l < pn; l++)
                _mm_prefetch(pf + 64 * l, _MM_HINT_T1);
            pf += 64 * per;
            pn -= per;
            next = pn > 0 ? next + every : kc;
        }
        #pragma GCC unroll 4
        for (int q = 0; q < NP; q++) {
            const float *wk = pw + (size_t)q * pstride + (size_t)k * KN_PANEL;
            __m512 w0 = _mm512_load_ps(wk), w1 = _mm512_load_ps(wk + 16);
            __m512 w2 = _mm512_load_ps(wk + 32), w3 = _mm512_load_ps(wk + 48);
            #pragma GCC unroll 6
            for (int r = 0; r < MR; r++) {
                __m512 xb = _mm512_set1_ps(xr[r][k]);
                acc[r][q][0] = _mm512_fmadd_ps(w0, xb, acc[r][q][0]);
                acc[r][q][1] = _mm512_fmadd_ps(w1, xb, acc[r][q][1]);
                acc[r][q][2] = _mm512_fmadd_ps(w2, xb, acc[r][q][2]);
                acc[r][q][3] = _mm512_fmadd_ps(w3, xb, acc[r][q][3]);
            }
        }
    }
    #pragma GCC unroll 4
    for (int q = 0; q < NP; q++)
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m512 b = bias ? _mm512_maskz_loadu_ps(m[q][j], bias + q * KN_PANEL + 16 * j)
                            : _mm512_setzero_ps();
            #pragma GCC unroll 6
            for (int r = 0; r < MR; r++)
                _mm512_mask_storeu_ps(y + (size_t)r * (size_t)ldy + q * KN_PANEL + 16 * j,
                                      m[q][j], bias ? _mm512_add_ps(acc[r][q][j], b)
                                                    : acc[r][q][j]);
        }
}

/* Sets the store masks m[0..3] of panel p's columns that lie in [o0, o1). */
static void panel_masks(__mmask16 *m, int p, int o0, int o1)
{
    int c0 = o0 - p * KN_PANEL, c1 = o1 - p * KN_PANEL;
    for (int j = 0; j < 4; j++) {
        int lo = c0 - 16 * j, hi = c1 - 16 * j;
        lo = lo < 0 ? 0 : lo;
        hi = hi > 16 ? 16 : hi;
        m[j] = hi <= lo ? 0 : (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
    }
}

void kn_panels_f32_avx512(float *y, int ldy, const float *x, int n, const kn_weight *w,
                          const float *bias, int o0, int o1)
{
    int cols = w->cols;
    size_t pstride = (size_t)cols * KN_PANEL;
    /* rows and panels per tile: a few rows stream several panels at once */
    int mr = n <= 3 ? n : n == 4 ? 2 : n <= 6 ? 3 : PANEL_MR;
    int np = mr == 1 ? 4 : mr == 2 ? 3 : mr == 3 ? 2 : 1;
    /* the second group of a few rows reads a short slice from L1 right after the first */
    int slice = n >= 4 && n <= 6 ? PANEL_KC_FEW : PANEL_KC;
    for (int p = o0 / KN_PANEL; p * KN_PANEL < o1; p += np) {
        int nq = (o1 - p * KN_PANEL + KN_PANEL - 1) / KN_PANEL;
        nq = nq < np ? nq : np;
        __mmask16 m[PANEL_NP][4];
        for (int q = 0; q < nq; q++)
            panel_masks(m[q], p + q, o0, o1);
        const float *panel = w->panels + (size_t)p * pstride;
        float *yp = y + (size_t)p * KN_PANEL;
        for (int k0 = 0; k0 < cols; k0 += slice) {
            int kc = cols - k0 < slice ? cols - k0 : slice;
            const float *pw = panel + (size_t)k0 * KN_PANEL;
            const float *bp = bias && k0 + kc >= cols ? bias + (size_t)p * KN_PANEL : NULL;
            /* the next slice of these panels' streams (or the next panels' first) follows this
             * one's in the panel after p + nq - 1: each row group fetches its share of it */
            int lines = kc * KN_PANEL * 4 / 64, groups = (n + mr - 1) / mr;
            int share = groups < 2 ? 0 : (lines + groups - 1) / groups;
            const char *next = (const char *)(pw + (size_t)(nq - 1) * pstride +
                                              (size_t)kc * KN_PANEL);
            for (int b = 0; b < n; b += mr) {
                float *yt = yp + (size_t)b * (size_t)ldy;
                const float *xt = x + (size_t)b * (size_t)cols + (size_t)k0;
                int l0 = b / mr * share, pn = lines - l0 < share ? lines - l0 : share;
                const char *pf = next + (size_t)l0 * 64;
#define TILE(MR, NP) \
    panel_tile(yt, ldy, xt, cols, pw, pstride, kc, k0 == 0, bp, m, pf, pn, MR, NP)
                switch ((n - b < mr ? n - b : mr) * 8 + nq) {
                case 1 * 8 + 4: TILE(1, 4); break;
                case 1 * 8 + 3: TILE(1, 3); break;
                case 1 * 8 + 2: TILE(1, 2); break;
                case 2 * 8 + 3: TILE(2, 3); break;
                case 2 * 8 + 2: TILE(2, 2); break;
                case 3 * 8 + 2: TILE(3, 2); break;
                case 1 * 8 + 1: TILE(1, 1); break;
                case 2 * 8 + 1: TILE(2, 1); break;
                case 3 * 8 + 1: TILE(3, 1); break;
                case 4 * 8 + 1: TILE(4, 1); break;
                case 5 * 8 + 1: TILE(5, 1); break;
                default: TILE(6, 1); break;
                }
#undef TILE
            }
        }
    }
}

/* One q8 tile: u8 (x + 128) times s8 weights with VPDPBUSD, corrected by 128 * rowsum; with
 * prefetch, the next NO rows are prefetched. */
ALWAYS_INLINE void tile_q8(float *y, int ldy, const kn_input *in, const kn_weight *w, int o, int b,
                           const int NO, const int NB, int prefetch)
{
    int cols = w->cols, qcols = kn_qcols(cols), kfull = cols & ~63;
    __mmask64 tail = (cols & 63) ? (((__mmask64)1 << (cols & 63)) - 1) : 0;
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m512i acc[4][4];
    #pragma GCC unroll 4
    for (int i = 0; i < NO; i++)
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++)
            acc[i][j] = _mm512_setzero_si512();
    const int8_t *xr[4], *wr[4];
    #pragma GCC unroll 4
    for (int j = 0; j < NB; j++)
        xr[j] = in->q + (size_t)(b + j) * (size_t)qcols;
    #pragma GCC unroll 4
    for (int i = 0; i < NO; i++)
        wr[i] = (const int8_t *)w->data + (size_t)(o + i) * (size_t)cols;
    const int8_t *pf = wr[0] + (size_t)NO * (size_t)cols;
    for (int k = 0; k < kfull; k += 64) {
        __m512i wv[4];
        if (prefetch)
            #pragma GCC unroll 4
            for (int i = 0; i < NO; i++)
                _mm_prefetch((const char *)(pf + (size_t)i * (size_t)cols + k), _MM_HINT_T0);
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++)
            wv[i] = _mm512_loadu_si512(wr[i] + k);
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            __m512i xv = _mm512_xor_si512(_mm512_loadu_si512(xr[j] + k), bias);
            #pragma GCC unroll 4
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xv, wv[i]);
        }
    }
    if (tail) {
        __m512i wv[4];
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++)
            wv[i] = _mm512_maskz_loadu_epi8(tail, wr[i] + kfull);
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            __m512i xv = _mm512_xor_si512(_mm512_loadu_si512(xr[j] + kfull), bias);
            #pragma GCC unroll 4
            for (int i = 0; i < NO; i++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xv, wv[i]);
        }
    }
    if (NO == 4) {
        /* the same float operations as below, four outputs at a time */
        __m128i corr = _mm_slli_epi32(_mm_loadu_si128((const __m128i *)(w->rowsum + o)), 7);
        __m128 ws = _mm_loadu_ps(w->scale + o);
        #pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            __m128i sv =
                _mm_sub_epi32(hsum4_epi32(acc[0][j], acc[1][j], acc[2][j], acc[3][j]), corr);
            __m128 v =
                _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(sv), _mm_set1_ps(in->qscale[b + j])), ws);
            _mm_storeu_ps(y + (size_t)(b + j) * (size_t)ldy + (size_t)o, v);
        }
        return;
    }
    #pragma GCC unroll 4
    for (int j = 0; j < NB; j++)
        #pragma GCC unroll 4
        for (int i = 0; i < NO; i++) {
            int32_t s = _mm512_reduce_add_epi32(acc[i][j]) - 128 * w->rowsum[o + i];
            y[(size_t)(b + j) * (size_t)ldy + (size_t)(o + i)] =
                (float)s * in->qscale[b + j] * w->scale[o + i];
        }
}

void kn_dots_q8_avx512(float *y, int ldy, const kn_input *in, const kn_weight *w, int o0, int o1)
{
    int n = in->n, b = 0;
    for (; b + 4 <= n; b += 4) {
        int o = o0;
        for (; o + 4 <= o1; o += 4)
            tile_q8(y, ldy, in, w, o, b, 4, 4, b == 0);
        for (; o < o1; o++)
            tile_q8(y, ldy, in, w, o, b, 1, 4, 0);
    }
    for (; b < n; b++) {
        int o = o0;
        for (; o + 4 <= o1; o += 4)
            tile_q8(y, ldy, in, w, o, b, 4, 1, b == 0);
        for (; o < o1; o++)
            tile_q8(y, ldy, in, w, o, b, 1, 1, 0);
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
        acc =
            _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + k), _mm512_maskz_loadu_ps(m, b + k), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

void kn_axpy_avx512(float *y, float a, const float *x, int n)
{
    __m512 av = _mm512_set1_ps(a);
    int k = 0;
    for (; k + 16 <= n; k += 16)
        _mm512_storeu_ps(y + k,
                         _mm512_fmadd_ps(av, _mm512_loadu_ps(x + k), _mm512_loadu_ps(y + k)));
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
        _mm512_mask_storeu_ps(y + k, m,
                              _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + k),
                                              _mm512_maskz_loadu_ps(m, y + k)));
    }
}

void kn_quantize_row_avx512(int8_t *q, float *scale, const float *x, int cols)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512 mx = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= cols; k += 16)
        mx = _mm512_max_ps(mx, _mm512_and_ps(_mm512_loadu_ps(x + k), absmask));
    __mmask16 tail = (__mmask16)((1u << (cols - k)) - 1);
    if (tail)
        mx = _mm512_max_ps(mx, _mm512_and_ps(_mm512_maskz_loadu_ps(tail, x + k), absmask));
    float amax = _mm512_reduce_max_ps(mx);
    float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    *scale = amax > 0.0f ? amax / 127.0f : 0.0f;
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    for (k = 0; k + 16 <= cols; k += 16) {
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), vinv));
        v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
        _mm_storeu_si128((__m128i *)(q + k), _mm512_cvtepi32_epi8(v));
    }
    if (tail) {
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + k), vinv));
        v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
        _mm_mask_storeu_epi8(q + k, tail, _mm512_cvtepi32_epi8(v));
    }
}

/* Returns e^x per lane (Cephes-style range reduction and polynomial, about 1 ulp); 0 below
 * -87.3 (so that -inf and float32-min masks give exactly 0). */
static inline __m512 exp512(__m512 x)
{
    const __m512 lo = _mm512_set1_ps(-87.3f), hi = _mm512_set1_ps(88.7f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(KN_EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(KN_EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(KN_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(KN_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KN_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KN_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KN_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KN_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KN_EXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_scalef_ps((__mmask16)~under, p, n);
}

/* Returns the largest of n floats (n >= 1). */
static inline float max512(const float *x, int n)
{
    __m512 mx = _mm512_set1_ps(-INFINITY);
    int k = 0;
    for (; k + 16 <= n; k += 16)
        mx = _mm512_max_ps(mx, _mm512_loadu_ps(x + k));
    if (k < n)
        mx = _mm512_mask_max_ps(mx, (__mmask16)((1u << (n - k)) - 1), mx,
                                _mm512_maskz_loadu_ps((__mmask16)((1u << (n - k)) - 1), x + k));
    return _mm512_reduce_max_ps(mx);
}

float kn_exp_sub_avx512(float *y, const float *x, float m, int n)
{
    __m512 vm = _mm512_set1_ps(m), sum = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + k), vm));
        if (y)
            _mm512_storeu_ps(y + k, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (k < n) {
        __mmask16 t = (__mmask16)((1u << (n - k)) - 1);
        __m512 e =
            _mm512_maskz_mov_ps(t, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + k), vm)));
        if (y)
            _mm512_mask_storeu_ps(y + k, t, e);
        sum = _mm512_add_ps(sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

void kn_scale_add_avx512(float *y, const float *x, float a, float b, int n)
{
    __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    int k = 0;
    for (; k + 16 <= n; k += 16)
        _mm512_storeu_ps(y + k, _mm512_fmadd_ps(_mm512_loadu_ps(x + k), va, vb));
    for (; k < n; k++)
        y[k] = x[k] * a + b;
}

float kn_max_avx512(const float *x, int n)
{
    return max512(x, n);
}

void kn_relu_avx512(float *x, int n)
{
    int k = 0;
    for (; k + 16 <= n; k += 16)
        _mm512_storeu_ps(x + k, _mm512_max_ps(_mm512_loadu_ps(x + k), _mm512_setzero_ps()));
    for (; k < n; k++)
        x[k] = x[k] > 0.0f ? x[k] : 0.0f;
}

/* Returns the sum of (x - c)^2 over n floats (c = 0: the sum of squares) and writes the plain sum
 * to *sum. */
static inline float sums512(const float *x, int n, float c, float *sum)
{
    __m512 s = _mm512_setzero_ps(), q = _mm512_setzero_ps(), vc = _mm512_set1_ps(c);
    int k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 v = _mm512_loadu_ps(x + k);
        __m512 dv = _mm512_sub_ps(v, vc);
        s = _mm512_add_ps(s, v);
        q = _mm512_fmadd_ps(dv, dv, q);
    }
    if (k < n) {
        __mmask16 t = (__mmask16)((1u << (n - k)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(t, x + k);
        __m512 dv = _mm512_maskz_sub_ps(t, v, vc);
        s = _mm512_add_ps(s, v);
        q = _mm512_fmadd_ps(dv, dv, q);
    }
    *sum = _mm512_reduce_add_ps(s);
    return _mm512_reduce_add_ps(q);
}

void kn_layernorm_avx512(float *y, const float *x, const float *w, const float *b, int d, float eps)
{
    float sum;
    sums512(x, d, 0.0f, &sum);
    float mean = sum / (float)d;
    float var = sums512(x, d, mean, &sum) / (float)d;
    float rstd = 1.0f / sqrtf(var + eps);
    __m512 vm = _mm512_set1_ps(mean), vr = _mm512_set1_ps(rstd);
    int k = 0;
    for (; k + 16 <= d; k += 16) {
        __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + k), vm), vr);
        if (w)
            v = _mm512_mul_ps(v, _mm512_loadu_ps(w + k));
        if (b)
            v = _mm512_add_ps(v, _mm512_loadu_ps(b + k));
        _mm512_storeu_ps(y + k, v);
    }
    for (; k < d; k++) {
        float v = (x[k] - mean) * rstd;
        if (w)
            v *= w[k];
        if (b)
            v += b[k];
        y[k] = v;
    }
}

void kn_rmsnorm_avx512(float *y, const float *x, const float *w, int d, float eps)
{
    float sum;
    float r = 1.0f / sqrtf(sums512(x, d, 0.0f, &sum) / (float)d + eps);
    __m512 vr = _mm512_set1_ps(r);
    int k = 0;
    for (; k + 16 <= d; k += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + k), vr);
        if (w)
            v = _mm512_mul_ps(_mm512_loadu_ps(w + k), v);
        _mm512_storeu_ps(y + k, v);
    }
    for (; k < d; k++)
        y[k] = w ? w[k] * (x[k] * r) : x[k] * r;
}

/* Writes sh[j + u] = scale * qh . k_(j+u) (+ bh[j + u]) for the NK (1..4) keys from j of one head
 * (key row pointers kp, head offset included); D64: dh is 64.  Each score is one lane of
 * hsum4_ps, the reduction tree of every score. */
ALWAYS_INLINE void key_scores(float *sh, const float *qh, const float *const *kp, const float *bh,
                              float scale, int j, int dh, const int NK, const int D64)
{
    int full = D64 ? 64 : dh & ~15;
    __mmask16 tail = D64 ? 0 : (__mmask16)((1u << (dh & 15)) - 1);
    __m512 acc[4];
    #pragma GCC unroll 4
    for (int u = 0; u < 4; u++)
        acc[u] = _mm512_setzero_ps();
    #pragma GCC unroll 4
    for (int e = 0; e < full; e += 16) {
        __m512 qv = _mm512_loadu_ps(qh + e);
        #pragma GCC unroll 4
        for (int u = 0; u < NK; u++)
            acc[u] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kp[u] + e), acc[u]);
    }
    if (tail) {
        __m512 qv = _mm512_maskz_loadu_ps(tail, qh + full);
        #pragma GCC unroll 4
        for (int u = 0; u < NK; u++)
            acc[u] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, kp[u] + full), acc[u]);
    }
    __mmask8 m = (__mmask8)((1u << NK) - 1);
    __m128 s = _mm_mul_ps(_mm_set1_ps(scale), hsum4_ps(acc[0], acc[1], acc[2], acc[3]));
    if (bh)
        s = _mm_add_ps(s, _mm_maskz_loadu_ps(m, bh + j));
    _mm_mask_storeu_ps(sh + j, m, s);
}

/* The scores sh (n) of one query row's head at offset hoff: keys four at a time. */
ALWAYS_INLINE void head_scores(float *sh, const float *qh, const kn_keys *kv, const int32_t *sl,
                               size_t hoff, const float *bh, float scale, int dh, const int D64)
{
    int n = kv->n, j = 0;
    const float *kp[4];
    for (; j + 4 <= n; j += 4) {
        #pragma GCC unroll 4
        for (int u = 0; u < 4; u++)
            kp[u] = kn_key_row(kv->k, kv, sl, j + u) + hoff;
        key_scores(sh, qh, kp, bh, scale, j, dh, 4, D64);
    }
    for (; j < n; j++) {
        kp[0] = kn_key_row(kv->k, kv, sl, j) + hoff;
        key_scores(sh, qh, kp, bh, scale, j, dh, 1, D64);
    }
}

/* oh (dh) = sum_j sh[j] v_j over one query row's head at offset hoff, 64 floats at a time in four
 * accumulators (j in order: the same sums for any grouping). */
ALWAYS_INLINE void head_values(float *oh, const float *sh, const kn_keys *kv, const int32_t *sl,
                               size_t hoff, int dh, const int D64)
{
    for (int e0 = 0; e0 < dh; e0 += 64) {
        __mmask16 m[4];
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            int left = dh - e0 - 16 * c;
            m[c] = D64 || left >= 16 ? (__mmask16)0xffff
                                     : (__mmask16)(left > 0 ? (1u << left) - 1 : 0);
        }
        __m512 acc[4];
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            acc[c] = _mm512_setzero_ps();
        for (int j = 0; j < kv->n; j++) {
            __m512 p = _mm512_set1_ps(sh[j]);
            const float *vj = kn_key_row(kv->v, kv, sl, j) + hoff + e0;
            #pragma GCC unroll 4
            for (int c = 0; c < 4; c++)
                acc[c] = _mm512_fmadd_ps(p, D64 ? _mm512_loadu_ps(vj + 16 * c)
                                                : _mm512_maskz_loadu_ps(m[c], vj + 16 * c),
                                         acc[c]);
        }
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            _mm512_mask_storeu_ps(oh + e0 + 16 * c, m[c], acc[c]);
    }
}

/* kn_attend for every query row of one head: scores, probabilities in place (e^(s - max) times
 * the inverse sum), weighted values; the rows follow each other, so the head's keys and values
 * come from L1 after the first row. */
ALWAYS_INLINE void attend_head(float *out, size_t ld_out, const float *q, size_t ld_q, int n_q,
                               const kn_keys *kv, float scale, int h, int dh, float *sh,
                               const int D64)
{
    size_t hoff = (size_t)h * dh;
    const float *bh = kv->bias ? kv->bias + (size_t)h * kv->bias_stride : NULL;
    for (int i = 0; i < n_q; i++) {
        const int32_t *sl = kv->slot ? kv->slot + (size_t)i * kv->slot_ld : NULL;
        head_scores(sh, q + (size_t)i * ld_q + hoff, kv, sl, hoff, bh, scale, dh, D64);
        float inv = 1.0f / kn_exp_sub_avx512(sh, sh, max512(sh, kv->n), kv->n);
        kn_scale_add_avx512(sh, sh, inv, 0.0f, kv->n);
        head_values(out + (size_t)i * ld_out + hoff, sh, kv, sl, hoff, dh, D64);
    }
}

void kn_attend_avx512(float *out, size_t ld_out, const float *q, size_t ld_q, int n_q,
                      const kn_keys *kv, float scale, int n_heads, int dh, float *scores)
{
    /* heads outside, rows inside: the rows of one source share their keys (cross-attention)
     * or most of them (a beam's cached prefix) */
    for (int h = 0; h < n_heads; h++) {
        float *sh = scores + (size_t)h * kv->n;
        if (dh == 64)
            attend_head(out, ld_out, q, ld_q, n_q, kv, scale, h, 64, sh, 1);
        else
            attend_head(out, ld_out, q, ld_q, n_q, kv, scale, h, dh, sh, 0);
    }
}

/* Floats of kn_sumexp_avx512's blocks, and how far ahead of its exponentials it prefetches (the
 * logits it reads come from memory: 16 MB for 128 rows of 32000; 4 KB ahead measured best on
 * 128 x 32000). */
enum { SUMEXP_BLOCK = 256, SUMEXP_PREFETCH = 1024 };

float kn_sumexp_avx512(float *max, const float *x, int n)
{
    /* per lane a running maximum m and sum s of exp(x - m); each block of up to 256 floats
     * (in L1 after its first read) raises m once and rescales s by exp(m_old - m_new); the floor
     * -FLT_MAX keeps -inf inputs from making inf - inf.  The next block's maximum is taken in the
     * same loop as this block's exponentials (two independent chains, each in its own order), so
     * that neither waits on the other */
    __m512 m = _mm512_set1_ps(-FLT_MAX), s = _mm512_setzero_ps(), bm = m;
    int k = 0, k1 = n < SUMEXP_BLOCK ? n : SUMEXP_BLOCK;
    for (; k + 16 <= k1; k += 16)
        bm = _mm512_max_ps(bm, _mm512_loadu_ps(x + k));
    __mmask16 t = (__mmask16)((1u << (k1 - k)) - 1);
    if (t)
        bm = _mm512_mask_max_ps(bm, t, bm, _mm512_maskz_loadu_ps(t, x + k));
    for (int k0 = 0; k0 < n; k0 += SUMEXP_BLOCK) {
        /* this block is [k0, k1), the next one [k1, k2) */
        k1 = k0 + SUMEXP_BLOCK < n ? k0 + SUMEXP_BLOCK : n;
        int k2 = k1 + SUMEXP_BLOCK < n ? k1 + SUMEXP_BLOCK : n, j = k1;
        s = _mm512_mul_ps(s, exp512(_mm512_sub_ps(m, bm)));
        m = bm;
        for (k = k0; k + 16 <= k1; k += 16) {
            _mm_prefetch((const char *)(x + k + SUMEXP_PREFETCH), _MM_HINT_T0);
            if (j + 16 <= k2) {
                bm = _mm512_max_ps(bm, _mm512_loadu_ps(x + j));
                j += 16;
            }
            s = _mm512_add_ps(s, exp512(_mm512_sub_ps(_mm512_loadu_ps(x + k), m)));
        }
        t = (__mmask16)((1u << (k1 - k)) - 1);
        if (t)
            s = _mm512_add_ps(
                s, _mm512_maskz_mov_ps(
                       t, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + k), m))));
        /* the next block's tail (its full vectors are done: it is never longer than this one) */
        __mmask16 t2 = (__mmask16)((1u << (k2 - j)) - 1);
        if (t2)
            bm = _mm512_mask_max_ps(bm, t2, bm, _mm512_maskz_loadu_ps(t2, x + j));
    }
    float mx = _mm512_reduce_max_ps(m);
    *max = mx;
    return _mm512_reduce_add_ps(
        _mm512_mul_ps(s, exp512(_mm512_sub_ps(m, _mm512_set1_ps(mx)))));
}

/* Returns the lanes of the 16 candidates (x[i] + shift) + add (SHIFTED) or x[i] + add that are
 * >= th. */
ALWAYS_INLINE __mmask16 top_hits(const float *x, __m512 vs, __m512 va, __m512 th,
                                 const int SHIFTED)
{
    __m512 v = _mm512_loadu_ps(x);
    v = _mm512_add_ps(SHIFTED ? _mm512_add_ps(v, vs) : v, va);
    return _mm512_cmp_ps_mask(v, th, _CMP_GE_OQ);
}

/* Inserts the candidates i + lane of the lanes in hit (kn_top_insert decides). */
ALWAYS_INLINE void insert_hits(float *score, int *index, int *have, const float *x, float shift,
                               float add, int base, int i, __mmask16 hit, int k,
                               const int SHIFTED)
{
    while (hit) {
        int j = i + __builtin_ctz(hit);
        hit &= (__mmask16)(hit - 1);
        kn_top_insert(score, index, have, (SHIFTED ? x[j] + shift : x[j]) + add, base + j, k);
    }
}

/* kn_top_merge of (x[i] + shift) + add when SHIFTED, else of x[i] + add. */
ALWAYS_INLINE void top_merge(float *score, int *index, int *have, const float *x, float shift,
                             float add, int base, int n, int k, const int SHIFTED)
{
    const __m512 vs = _mm512_set1_ps(shift), va = _mm512_set1_ps(add);
    int i = 0;
    /* the list fills from the first values; afterwards only values >= its last enter (equal
     * ones may still win on a lower index), found 64 at a time: the list decides exactly, and
     * its last entry only rises, so that a threshold read before a group of inserts lets more
     * through, never fewer */
    for (; i < n && *have < k; i++)
        kn_top_insert(score, index, have, (SHIFTED ? x[i] + shift : x[i]) + add, base + i, k);
    for (; i + 64 <= n; i += 64) {
        __m512 th = _mm512_set1_ps(score[k - 1]);
        __mmask16 hit[4];
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            hit[c] = top_hits(x + i + 16 * c, vs, va, th, SHIFTED);
        if (!(hit[0] | hit[1] | hit[2] | hit[3]))
            continue;
        for (int c = 0; c < 4; c++)
            insert_hits(score, index, have, x, shift, add, base, i + 16 * c, hit[c], k, SHIFTED);
    }
    for (; i + 16 <= n; i += 16)
        insert_hits(score, index, have, x, shift, add, base, i,
                    top_hits(x + i, vs, va, _mm512_set1_ps(score[k - 1]), SHIFTED), k, SHIFTED);
    for (; i < n; i++)
        kn_top_insert(score, index, have, (SHIFTED ? x[i] + shift : x[i]) + add, base + i, k);
}

void kn_top_merge_avx512(float *score, int *index, int *have, const float *x, float add,
                         int base, int n, int k)
{
    top_merge(score, index, have, x, 0.0f, add, base, n, k, 0);
}

void kn_top_merge_shifted_avx512(float *score, int *index, int *have, const float *x,
                                 float shift, float add, int base, int n, int k)
{
    top_merge(score, index, have, x, shift, add, base, n, k, 1);
}
