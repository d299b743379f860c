/* gemm_avx512.c — AVX-512 micro-kernels for gm_linear: f32, f16 and bf16 weights with FMA,
 * q8 and q4 weights with VNNI (vpdpbusd), and the peak probes; compiled with -mavx512* and called
 * only when the CPU has them (see kernels.c).
 *
 * Blocking: the output range is cut into blocks of columns whose weight slices fit in L2 and
 * the input dimension into slices; the input rows of a slice are copied k-major into a buffer
 * on the stack (each value one broadcast operand), and each panel slice (in L1) meets every group
 * of rows, the accumulators of a whole rows x 32 tile in registers.  Between slices the partial
 * sums wait in y: floats, or for q8 the exact int32 sums.
 */
#include "gemm_isa.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define MR_F 12                 /* input rows per float tile (24 accumulators) */
#define MR_Q8 12                /* input rows per q8 tile (24 accumulators) */
#define MR_Q4 6                 /* input rows per q4 tile (12 int + 12 float accumulators) */
#define KC_F 128                /* float slice: 128 x 32 weights, 16 KiB of f32, stay in L1 */
#define KC_Q 512                /* q8 / q4 slice: 512 x 32 weights, 16 / 9 KiB */
#define XP_BYTES (24 * 1024)    /* packed input of a slice (48 rows): in L1 with a panel slice */
#define L2_BLOCK (512 * 1024)   /* bytes of weight slices per block of columns, in L2 */
#define PF_HINT _MM_HINT_T1     /* the next panel slice goes to L2 */

/* Returns the number of columns (a multiple of GM_NR) whose slices fill about L2_BLOCK. */
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

/* Stores v (+ bias when not NULL) at y in the lanes of mask m. */
ALWAYS_INLINE void put16(float *y, __m512 v, __mmask16 m, const float *bias)
{
    if (bias)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias));
    _mm512_mask_storeu_ps(y, m, v);
}

/* Returns acc + the dot products of the unsigned bytes of u and the four signed bytes at s,
 * broadcast (vpdpbusd; written out because gcc 12 copies the accumulator around the builtin,
 * and from a register: with the broadcast from memory folded in it issues half as fast). */
ALWAYS_INLINE __m512i dpbusd(__m512i acc, __m512i u, const int32_t *s)
{
    __m512i v = _mm512_set1_epi32(*s);
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(v));
    return acc;
}

/* ---------------------------------------------------------------------------------------------
 * Float weights
 * ------------------------------------------------------------------------------------------- */

/* Loads step k of a float-like panel (32 weights) as two vectors of 16 floats. */
ALWAYS_INLINE void load_panel(__m512 *w0, __m512 *w1, const uint8_t *pd, int k, int dtype)
{
    if (dtype == ATTN_F32) {
        const float *p = (const float *)(const void *)pd + (size_t)k * GM_NR;
        *w0 = _mm512_load_ps(p);
        *w1 = _mm512_load_ps(p + 16);
    } else if (dtype == ATTN_F16) {
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

/* One MR x 32 tile over a slice of kc steps: y (MR rows ldy apart, columns masked by m0, m1) =
 * the products of xp (kc, XS; MR <= XS rows used) and the panel slice pd, plus bias (first
 * slice) or plus y. */
ALWAYS_INLINE void tile_float(float *y, int ldy, const float *xp, int kc, const uint8_t *pd,
                              int dtype, const float *bias, int first, __mmask16 m0,
                              __mmask16 m1, const char *pf, int pn, const int MR, const int XS)
{
    __m512 acc[MR_F][2];
    #pragma GCC unroll 12
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 w0, w1;
        if (k < pn) {
            _mm_prefetch(pf + (size_t)k * GM_NR * (dtype == ATTN_F32 ? 4 : 2), PF_HINT);
            if (dtype == ATTN_F32)
                _mm_prefetch(pf + (size_t)k * GM_NR * 4 + 64, PF_HINT);
        }
        load_panel(&w0, &w1, pd, k, dtype);
        const float *xk = xp + (size_t)k * XS;
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

/* ---------------------------------------------------------------------------------------------
 * q8 weights: vpdpbusd of the unsigned packed weights (w + 128) and the signed input, less
 * 128 times the input's sum; between slices the exact int32 sums wait in y
 * ------------------------------------------------------------------------------------------- */

/* One MR x 32 q8 tile over a slice of k4n steps of 4 inputs, starting from comp (-128 times the
 * slice's input sums) plus, after the first slice, the int32 sums held in y; the last slice
 * writes (float)dot * qscale * wscale (+ bias) in kn_linear's order of float operations. */
ALWAYS_INLINE void tile_q8(float *y, int ldy, const int32_t *xp, int k4n, const uint8_t *pd,
                           const int32_t *comp, const float *qscale, const float *wscale,
                           const float *bias, int first, int last, __mmask16 m0, __mmask16 m1,
                           const char *pf, int pn, const int MR, const int XS)
{
    __m512i acc[MR_Q8][2];
    #pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        __m512i c = _mm512_set1_epi32(comp[r]);
        float *yr = y + (size_t)r * (size_t)ldy;
        acc[r][0] = first ? c : _mm512_add_epi32(c, _mm512_maskz_loadu_epi32(m0, yr));
        acc[r][1] = first ? c : _mm512_add_epi32(c, _mm512_maskz_loadu_epi32(m1, yr + 16));
    }
    for (int s = 0; s < k4n; s++) {
        if (s < pn) {
            _mm_prefetch(pf + (size_t)s * 128, PF_HINT);
            _mm_prefetch(pf + (size_t)s * 128 + 64, PF_HINT);
        }
        __m512i w0 = _mm512_load_si512(pd + (size_t)s * 128);
        __m512i w1 = _mm512_load_si512(pd + (size_t)s * 128 + 64);
        const int32_t *xk = xp + (size_t)s * XS;
        #pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            acc[r][0] = dpbusd(acc[r][0], w0, xk + r);
            acc[r][1] = dpbusd(acc[r][1], w1, xk + r);
        }
    }
    if (!last) {
        #pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            float *yr = y + (size_t)r * (size_t)ldy;
            _mm512_mask_storeu_epi32(yr, m0, acc[r][0]);
            _mm512_mask_storeu_epi32(yr + 16, m1, acc[r][1]);
        }
        return;
    }
    __m512 s0 = _mm512_maskz_loadu_ps(m0, wscale), s1 = _mm512_maskz_loadu_ps(m1, wscale + 16);
    #pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        __m512 qs = _mm512_set1_ps(qscale[r]);
        __m512 v0 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][0]), qs), s0);
        __m512 v1 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][1]), qs), s1);
        float *yr = y + (size_t)r * (size_t)ldy;
        put16(yr, v0, m0, bias);
        put16(yr + 16, v1, m1, bias ? bias + 16 : NULL);
    }
}

/* ---------------------------------------------------------------------------------------------
 * q4 weights: per group of 32 inputs, vpdpbusd of the nibbles (0..15, unsigned) and the signed
 * input, starting from -8 times the group's input sum, then scaled into float accumulators;
 * between slices the float sums wait in y
 * ------------------------------------------------------------------------------------------- */

/* One MR x 32 q4 tile over a slice of groups: f = sum_g d_g * (exact group dot), continued from
 * y after the first slice; the last slice writes f * qscale (+ bias). */
ALWAYS_INLINE void tile_q4(float *y, int ldy, const int32_t *xp, const int32_t *comp, int groups,
                           const uint8_t *pd, const float *qscale, const float *bias, int first,
                           int last, __mmask16 m0, __mmask16 m1, const char *pf, int pn,
                           const int MR,
                           const int XS)
{
    const __m512i low = _mm512_set1_epi8(15);
    __m512 f[MR_Q4][2];
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float *yr = y + (size_t)r * (size_t)ldy;
        f[r][0] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, yr);
        f[r][1] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, yr + 16);
    }
    for (int g = 0; g < groups; g++) {
        const uint8_t *gd = pd + (size_t)g * GM_Q4_GROUP_BYTES;
        const int32_t *xg = xp + (size_t)g * 8 * XS;
        __m512i acc[MR_Q4][2];
        #pragma GCC unroll 6
        for (int r = 0; r < MR; r++)
            acc[r][0] = acc[r][1] = _mm512_set1_epi32(comp[(size_t)g * XS + (size_t)r]);
        if (g < pn)
            for (int l = 0; l < GM_Q4_GROUP_BYTES; l += 64)
                _mm_prefetch(pf + (size_t)g * GM_Q4_GROUP_BYTES + l, PF_HINT);
        #pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            __m512i v = _mm512_load_si512(gd + 64 + 64 * s);
            __m512i w0 = _mm512_and_si512(v, low);
            __m512i w1 = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
            #pragma GCC unroll 6
            for (int r = 0; r < MR; r++) {
                acc[r][0] = dpbusd(acc[r][0], w0, xg + s * XS + r);
                acc[r][1] = dpbusd(acc[r][1], w1, xg + s * XS + r);
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
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float *yr = y + (size_t)r * (size_t)ldy;
        if (last) {
            __m512 qs = _mm512_set1_ps(qscale[r]);
            put16(yr, _mm512_mul_ps(f[r][0], qs), m0, bias);
            put16(yr + 16, _mm512_mul_ps(f[r][1], qs), m1, bias ? bias + 16 : NULL);
        } else {
            put16(yr, f[r][0], m0, NULL);
            put16(yr + 16, f[r][1], m1, NULL);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Blocking
 * ------------------------------------------------------------------------------------------- */

/* One slice of the input, packed group by group of MR rows: per group kc steps of MR values
 * (a float, or 4 int8 in an int32); comp: q8 -128 times each row's slice sum, q4 -8 times each
 * group's sum (per row group: groups of MR values). */
typedef struct xpack {
    uint8_t x[XP_BYTES] __attribute__((aligned(64)));
    int32_t comp[XP_BYTES / 32];
} xpack;

/* Packs the kc int8 inputs at q (one row's slice, zero-padded to 64) as kc / 4 steps of 4, MR
 * int32 apart from g; for q4 writes -8 times each group's sum MR apart from c4; returns q8's
 * correction, -128 times the slice's sum. */
ALWAYS_INLINE int32_t pack_row(int32_t *g, int32_t *c4, const int8_t *q, int kc, int dtype,
                               const int MR)
{
    const __m512i ones = _mm512_set1_epi8(1);
    for (int s = 0; s < kc / 4; s++)
        __builtin_memcpy(&g[(size_t)s * MR], q + 4 * s, 4);
    /* sums of 4 bytes per lane, 64 bytes at a time */
    __m512i total = _mm512_setzero_si512();
    for (int k = 0; k < kc; k += 64) {
        __m512i t = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(q + k));
        if (dtype == ATTN_Q8) {
            total = _mm512_add_epi32(total, t);
            continue;
        }
        int32_t lanes[16];
        _mm512_storeu_si512(lanes, t);
        for (int h = 0; h < 2 && k / ATTN_Q4_GROUP + h < kc / ATTN_Q4_GROUP; h++) {
            const int32_t *l = lanes + 8 * h;
            c4[(size_t)(k / ATTN_Q4_GROUP + h) * MR] =
                -8 * (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
        }
    }
    return dtype == ATTN_Q8 ? -128 * _mm512_reduce_add_epi32(total) : 0;
}

/* Packs rows [b0, b0 + mc) x slice [k0, k0 + kc) of the input for tiles of MR rows. */
ALWAYS_INLINE void pack_slice(xpack *xp, const kn_input *in, int b0, int mc, int k0, int kc,
                              int dtype, const int MR)
{
    if (dtype <= ATTN_BF16) {
        float *d = (float *)(void *)xp->x;
        for (int b = 0; b < mc; b++) {
            const float *x = in->x + (size_t)(b0 + b) * (size_t)in->cols + (size_t)k0;
            float *g = d + (size_t)(b / MR) * (size_t)kc * MR + (size_t)(b % MR);
            for (int k = 0; k < kc; k++)
                g[(size_t)k * MR] = x[k];
        }
        return;
    }
    int32_t *d = (int32_t *)(void *)xp->x;
    int qcols = kn_qcols(in->cols), k4n = kc / 4, groups = kc / ATTN_Q4_GROUP;
    for (int b = 0; b < mc; b++) {
        const int8_t *q = in->q + (size_t)(b0 + b) * (size_t)qcols + (size_t)k0;
        size_t gi = (size_t)(b / MR), lane = (size_t)(b % MR);
        int32_t comp = pack_row(d + gi * (size_t)k4n * MR + lane,
                                xp->comp + gi * (size_t)groups * MR + lane, q, kc, dtype, MR);
        if (dtype == ATTN_Q8)
            xp->comp[b] = comp;
    }
}

/* Where the tiles of a slice of rows [b0, b0 + mc) find their packed input: row group i (MR
 * rows) at x + i * xgs (floats or int32), its q8 corrections at c8 + MR i (one per row), its q4
 * corrections at c4 + i * cgs (per group of the slice MR of them). */
typedef struct xview {
    const void *x;
    size_t xgs;
    const int32_t *c8, *c4;
    size_t cgs;
} xview;

/* Runs the tiles of one packed slice against one panel slice pd: rows [b0, b0 + mc). */
ALWAYS_INLINE void slice_tiles(float *y, int ldy, const xview *xv, const kn_input *in,
                               const gm_weight *w, const float *bias, int b0, int mc, int kc,
                               int p, const uint8_t *pd, const uint8_t *nextpd, int first,
                               int last, __mmask16 m0, __mmask16 m1, int dtype, const int MR)
{
    int k4n = kc / 4, groups = kc / ATTN_Q4_GROUP;
    const float *bt = bias ? bias + p * GM_NR : NULL;
    for (int g0 = 0; g0 < mc; g0 += MR) {
        int mr = mc - g0 < MR ? mc - g0 : MR, b = b0 + g0;
        size_t gi = (size_t)(g0 / MR);
        float *yt = y + (size_t)b * (size_t)ldy + (size_t)p * GM_NR;
        const float *xf = (const float *)xv->x + gi * xv->xgs;
        const int32_t *xq = (const int32_t *)xv->x + gi * xv->xgs;
        const int32_t *cq8 = xv->c8 + g0, *cq4 = xv->c4 + gi * xv->cgs;
        const float *ws = w->scale + p * GM_NR, *qs = in->qscale + b;
        /* each group of rows fetches its share of the next panel's slice meanwhile (steps of
         * the slice: floats kc, q8 k4n, q4 groups) */
        int steps = dtype <= ATTN_BF16 ? kc : dtype == ATTN_Q8 ? k4n : groups;
        int n_groups = (mc + MR - 1) / MR, share = (steps + n_groups - 1) / n_groups;
        int p0 = g0 / MR * share, pn = !nextpd ? 0 : steps - p0 < share ? steps - p0 : share;
        size_t step_bytes = dtype == ATTN_F32 ? GM_NR * 4 : dtype <= ATTN_BF16 ? GM_NR * 2
                            : dtype == ATTN_Q8 ? 128 : GM_Q4_GROUP_BYTES;
        const char *pf = nextpd ? (const char *)nextpd + (size_t)p0 * step_bytes : NULL;
#define TILE_F(MR) case MR: \
        tile_float(yt, ldy, xf, kc, pd, dtype, bt, first, m0, m1, pf, pn, MR, MR_F); break;
#define TILE_Q8(MR) case MR: \
        tile_q8(yt, ldy, xq, k4n, pd, cq8, qs, ws, bt, first, last, m0, m1, pf, pn, MR, MR_Q8); \
        break;
#define TILE_Q4(MR) case MR: \
        tile_q4(yt, ldy, xq, cq4, groups, pd, qs, bt, first, last, m0, m1, pf, pn, MR, MR_Q4); \
        break;
        if (dtype <= ATTN_BF16) {
            switch (mr) {
            TILE_F(1) TILE_F(2) TILE_F(3) TILE_F(4) TILE_F(5) TILE_F(6)
            TILE_F(7) TILE_F(8) TILE_F(9) TILE_F(10) TILE_F(11) TILE_F(12)
            }
        } else if (dtype == ATTN_Q8) {
            switch (mr) {
            TILE_Q8(1) TILE_Q8(2) TILE_Q8(3) TILE_Q8(4) TILE_Q8(5) TILE_Q8(6)
            TILE_Q8(7) TILE_Q8(8) TILE_Q8(9) TILE_Q8(10) TILE_Q8(11) TILE_Q8(12)
            }
        } else {
            switch (mr) {
            TILE_Q4(1) TILE_Q4(2) TILE_Q4(3) TILE_Q4(4) TILE_Q4(5) TILE_Q4(6)
            }
        }
#undef TILE_F
#undef TILE_Q8
#undef TILE_Q4
    }
}

/* gm_linear for one dtype: blocks of columns (L2), slices of the input dimension, chunks of
 * rows packed once per slice, each panel slice (L1) against every row group of the chunk. */
ALWAYS_INLINE void linear(float *y, int ldy, const kn_input *in, const gm_weight *w,
                          const float *bias, int o0, int o1, int dtype, const int MR)
{
    xpack xp;
    int flt = dtype <= ATTN_BF16;
    size_t esize = dtype == ATTN_F32 ? 4 : 2;
    int kdim = flt ? w->cols : dtype == ATTN_Q8 ? (w->cols + 3) & ~3
                                               : (int)attn_q4_groups(w->cols) * ATTN_Q4_GROUP;
    int kcmax = flt ? KC_F : KC_Q;
    int mcmax = XP_BYTES / (kcmax * (flt ? 4 : 1)) / MR * MR;
    /* bytes of a panel per input element: slice k0 starts k0 of them into the panel */
    size_t step = flt ? GM_NR * esize
                      : dtype == ATTN_Q8 ? GM_NR : GM_Q4_GROUP_BYTES / ATTN_Q4_GROUP;
    int nc = block_cols((size_t)kcmax * step / GM_NR);
    const gm_input *pk = in->packed;
    int packed = !flt && pk && (int)pk->dtype == dtype && pk->cols == in->cols &&
                 pk->row0 % GM_INPUT_ROWS == 0 && pk->row0 + in->n <= pk->n;
    size_t k4 = (size_t)kdim / 4, groups = (size_t)kdim / ATTN_Q4_GROUP;
    for (int oc = o0; oc < o1; oc += nc) {
        int oc1 = o1 - oc < nc ? o1 : oc + nc;
        for (int k0 = 0; k0 < kdim; k0 += kcmax) {
            int kc = kdim - k0 < kcmax ? kdim - k0 : kcmax;
            for (int b0 = 0; b0 < in->n; b0 += mcmax) {
                int mc = in->n - b0 < mcmax ? in->n - b0 : mcmax;
                xview xv;
                if (packed) {
                    /* b0 and row0 are multiples of MR: whole row groups of the laid-out input */
                    size_t g = (size_t)(pk->row0 + b0) / MR;
                    xv = (xview){pk->x + g * k4 * MR + (size_t)k0 / 4 * MR, k4 * MR,
                                 pk->comp + (size_t)(k0 / kcmax) * (size_t)pk->npad +
                                     (size_t)(pk->row0 + b0),
                                 pk->comp + g * groups * MR + (size_t)k0 / ATTN_Q4_GROUP * MR,
                                 groups * MR};
                } else {
                    pack_slice(&xp, in, b0, mc, k0, kc, dtype, MR);
                    xv = (xview){xp.x, (size_t)(flt ? kc : kc / 4) * MR, xp.comp, xp.comp,
                                 (size_t)(kc / ATTN_Q4_GROUP) * MR};
                }
                for (int p = oc / GM_NR; p * GM_NR < oc1; p++) {
                    __mmask16 m0, m1;
                    col_masks(oc1 - p * GM_NR, &m0, &m1);
                    const uint8_t *pd = w->data + (size_t)p * w->panel_bytes +
                                        (size_t)k0 * step;
                    const uint8_t *next = (p + 1) * GM_NR < oc1 ? pd + w->panel_bytes : NULL;
                    slice_tiles(y, ldy, &xv, in, w, bias, b0, mc, kc, p, pd, next, k0 == 0,
                                k0 + kc >= kdim, m0, m1, dtype, MR);
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Inputs laid out once per product (gm_input): q8 and q4 only.  Row group i (MR rows) holds
 * all kdim / 4 steps, step s at x + (i * kdim / 4 + s) * MR; comp holds q8's corrections per
 * slice of KC_Q inputs, (slice, npad), and q4's per row group and group, (i, groups, MR).  A
 * slice of it is what pack_slice writes for that slice, so the products are the same.
 * ------------------------------------------------------------------------------------------- */

_Static_assert(GM_INPUT_ROWS % MR_Q8 == 0 && GM_INPUT_ROWS % MR_Q4 == 0,
               "a gm_input's row blocks hold whole row groups");

/* Sets the input dimension (kdim) and the int32 words of x and of comp of an input layout;
 * returns 0 for a dtype without one. */
static int input_parts(attn_dtype dtype, int npad, int cols, int *kdim, size_t *xw, size_t *cw)
{
    if (dtype == ATTN_Q8) {
        *kdim = (cols + 3) & ~3;
        *cw = (size_t)((*kdim + KC_Q - 1) / KC_Q) * (size_t)npad;
    } else if (dtype == ATTN_Q4) {
        *kdim = (int)attn_q4_groups(cols) * ATTN_Q4_GROUP;
        *cw = (size_t)(*kdim / ATTN_Q4_GROUP) * (size_t)npad;
    } else {
        return 0;
    }
    *xw = (size_t)npad * (size_t)(*kdim / 4);
    return 1;
}

size_t gm_input_size_avx512(attn_dtype dtype, int n, int cols)
{
    int kdim, npad = (n + GM_INPUT_ROWS - 1) / GM_INPUT_ROWS * GM_INPUT_ROWS;
    size_t xw, cw;
    if (n <= 0 || cols <= 0 || !input_parts(dtype, npad, cols, &kdim, &xw, &cw))
        return 0;
    return ((xw * 4 + 63) & ~(size_t)63) + cw * 4;
}

void gm_input_init_avx512(gm_input *out, void *mem, attn_dtype dtype, int n, int cols)
{
    int kdim, npad = (n + GM_INPUT_ROWS - 1) / GM_INPUT_ROWS * GM_INPUT_ROWS;
    size_t xw = 0, cw;
    input_parts(dtype, npad, cols, &kdim, &xw, &cw);
    *out = (gm_input){dtype, n, cols, 0, npad, mem,
                      (int32_t *)(void *)((uint8_t *)mem + ((xw * 4 + 63) & ~(size_t)63))};
}

/* Lays out rows [r0, r1) of in for tiles of MR rows (see above), slice by slice as pack_slice
 * does. */
ALWAYS_INLINE void input_rows(gm_input *out, const kn_input *in, int r0, int r1, int dtype,
                              const int MR)
{
    int kdim;
    size_t xw, cw;
    input_parts((attn_dtype)dtype, out->npad, in->cols, &kdim, &xw, &cw);
    int qcols = kn_qcols(in->cols), k4 = kdim / 4, groups = kdim / ATTN_Q4_GROUP;
    for (int b = r0; b < r1; b++) {
        const int8_t *q = in->q + (size_t)b * (size_t)qcols;
        int32_t *g = out->x + (size_t)(b / MR) * (size_t)k4 * MR + (size_t)(b % MR);
        int32_t *c = out->comp + (size_t)(b / MR) * (size_t)groups * MR + (size_t)(b % MR);
        for (int k0 = 0; k0 < kdim; k0 += KC_Q) {
            int kc = kdim - k0 < KC_Q ? kdim - k0 : KC_Q;
            int32_t comp = pack_row(g + (size_t)k0 / 4 * MR, c + (size_t)k0 / ATTN_Q4_GROUP * MR,
                                    q + k0, kc, dtype, MR);
            if (dtype == ATTN_Q8)
                out->comp[(size_t)(k0 / KC_Q) * (size_t)out->npad + (size_t)b] = comp;
        }
    }
}

void gm_input_rows_avx512(gm_input *out, const kn_input *in, int r0, int r1)
{
    if (out->dtype == ATTN_Q8)
        input_rows(out, in, r0, r1, ATTN_Q8, MR_Q8);
    else
        input_rows(out, in, r0, r1, ATTN_Q4, MR_Q4);
}

void gm_linear_avx512(float *y, int ldy, const kn_input *in, const gm_weight *w,
                      const float *bias, int o0, int o1)
{
    switch (w->dtype) {
    case ATTN_F32: linear(y, ldy, in, w, bias, o0, o1, ATTN_F32, MR_F); break;
    case ATTN_F16: linear(y, ldy, in, w, bias, o0, o1, ATTN_F16, MR_F); break;
    case ATTN_BF16: linear(y, ldy, in, w, bias, o0, o1, ATTN_BF16, MR_F); break;
    case ATTN_Q8: linear(y, ldy, in, w, bias, o0, o1, ATTN_Q8, MR_Q8); break;
    default: linear(y, ldy, in, w, bias, o0, o1, ATTN_Q4, MR_Q4); break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Peak probes: 24 independent dependency chains, enough to fill two units of latency 4-5
 * ------------------------------------------------------------------------------------------- */

/* 24 instructions "OP %zmm30, %zmm31, %zmm<i>" for i < 24: independent accumulators. */
#define OP24(OP) \
    OP " %%zmm30, %%zmm31, %%zmm0\n\t" OP " %%zmm30, %%zmm31, %%zmm1\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm2\n\t" OP " %%zmm30, %%zmm31, %%zmm3\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm4\n\t" OP " %%zmm30, %%zmm31, %%zmm5\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm6\n\t" OP " %%zmm30, %%zmm31, %%zmm7\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm8\n\t" OP " %%zmm30, %%zmm31, %%zmm9\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm10\n\t" OP " %%zmm30, %%zmm31, %%zmm11\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm12\n\t" OP " %%zmm30, %%zmm31, %%zmm13\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm14\n\t" OP " %%zmm30, %%zmm31, %%zmm15\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm16\n\t" OP " %%zmm30, %%zmm31, %%zmm17\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm18\n\t" OP " %%zmm30, %%zmm31, %%zmm19\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm20\n\t" OP " %%zmm30, %%zmm31, %%zmm21\n\t" \
    OP " %%zmm30, %%zmm31, %%zmm22\n\t" OP " %%zmm30, %%zmm31, %%zmm23\n\t"

/* Runs n iterations of 24 independent OP instructions on zeroed registers (written in assembly
 * so that the compiler adds nothing to the loop). */
#define PEAK_LOOP(OP, n) do { \
    long left_ = (n); \
    if (left_ > 0) \
        __asm__ volatile("vpxord %%zmm30, %%zmm30, %%zmm30\n\t" \
                         "vpxord %%zmm31, %%zmm31, %%zmm31\n\t" \
                         "1:\n\t" OP24(OP) "dec %0\n\t" "jnz 1b" \
                         : "+r"(left_) : \
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
                           "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", \
                           "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", \
                           "xmm22", "xmm23", "xmm30", "xmm31", "cc"); \
} while (0)

double gm_peak_fma_avx512(long n)
{
    PEAK_LOOP("vfmadd231ps", n);
    return n > 0 ? (double)n * 24 * 16 * 2 : 0.0;
}

double gm_peak_int8_avx512(long n)
{
    PEAK_LOOP("vpdpbusd", n);
    return n > 0 ? (double)n * 24 * 64 * 2 : 0.0;
}
