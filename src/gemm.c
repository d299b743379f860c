/* gemm.c — packing weights into panels, the portable blocked products, the q4 reference
 * dequantization and the choice of instruction set (see gemm.h; layouts in gemm_isa.h). */
#include "gemm_isa.h"

#include "status.h"

#include <math.h>
#include <string.h>

/* Input rows per portable micro-kernel. */
#define MR_PORTABLE 4

/* ---------------------------------------------------------------------------------------------
 * Packing
 * ------------------------------------------------------------------------------------------- */

/* Returns the bytes of one packed panel, or 0 for an unknown dtype. */
static size_t panel_bytes(int dtype, int cols)
{
    switch (dtype) {
    case ATTN_F32: return (size_t)cols * GM_NR * 4;
    case ATTN_F16:
    case ATTN_BF16: return (size_t)cols * GM_NR * 2;
    case ATTN_Q8: return (size_t)((cols + 3) / 4) * GM_NR * 4;
    case ATTN_Q4: return (size_t)(int)attn_q4_groups(cols) * GM_Q4_GROUP_BYTES;
    default: return 0;
    }
}

size_t gm_pack_size(attn_dtype dtype, int rows, int cols)
{
    if (rows <= 0 || cols <= 0)
        return 0;
    size_t panels = (size_t)(rows + GM_NR - 1) / GM_NR;
    size_t bytes = panels * panel_bytes(dtype, cols);
    if (bytes && dtype == ATTN_Q8)
        bytes += panels * GM_NR * sizeof(float);
    return bytes;
}

/* Packs panel p of a float-like weight (f32 as 32-bit words, f16 / bf16 as 16-bit ones),
 * writing the panel in order (the 32 source rows are read side by side). */
static void pack_float(uint8_t *dst, const void *src, int dtype, int rows, int cols, int p)
{
    size_t slot[GM_NR], row[GM_NR];
    int live = rows - p * GM_NR < GM_NR ? rows - p * GM_NR : GM_NR;
    for (int j = 0; j < GM_NR; j++) {
        slot[j] = (size_t)(dtype == ATTN_BF16 ? (j < 16 ? 2 * j : 2 * (j - 16) + 1) : j);
        row[j] = (size_t)(p * GM_NR + j) * (size_t)cols;
    }
    memset(dst, 0, (size_t)cols * GM_NR * (dtype == ATTN_F32 ? 4 : 2));
    for (int k = 0; k < cols; k++)
        for (int j = 0; j < live; j++) {
            if (dtype == ATTN_F32)
                ((uint32_t *)(void *)dst)[(size_t)k * GM_NR + slot[j]] =
                    ((const uint32_t *)src)[row[j] + (size_t)k];
            else
                ((uint16_t *)(void *)dst)[(size_t)k * GM_NR + slot[j]] =
                    ((const uint16_t *)src)[row[j] + (size_t)k];
        }
}

/* Packs panel p of a q8 weight as unsigned bytes w + 128 (w ^ 0x80), in panel order. */
static void pack_q8(uint8_t *dst, const int8_t *src, int rows, int cols, int p)
{
    int kq = (cols + 3) & ~3;
    memset(dst, 0x80, (size_t)kq * GM_NR);
    for (int k = 0; k < cols; k++)
        for (int j = 0; j < GM_NR && p * GM_NR + j < rows; j++)
            dst[(size_t)(k / 4) * 128 + (size_t)j * 4 + (size_t)(k % 4)] =
                (uint8_t)(src[(size_t)(p * GM_NR + j) * (size_t)cols + (size_t)k] ^ 0x80);
}

/* Returns nibble k of a q4 row. */
static inline int q4_nibble(const uint8_t *row, int k)
{
    return (row[k / 2] >> (4 * (k & 1))) & 15;
}

/* Packs panel p of a q4 weight: per group its scales, then its nibbles step by step. */
static void pack_q4(uint8_t *dst, const uint8_t *nib, const uint16_t *d, int rows, int cols, int p)
{
    int groups = (int)attn_q4_groups(cols);
    size_t rb = attn_q4_row_bytes(cols);
    for (int g = 0; g < groups; g++) {
        uint8_t *gd = dst + (size_t)g * GM_Q4_GROUP_BYTES;
        memset(gd, 0, GM_Q4_GROUP_BYTES);
        for (int j = 0; j < GM_NR; j++) {
            int o = p * GM_NR + j;
            uint16_t h = o < rows ? d[(size_t)o * (size_t)groups + (size_t)g] : 0;
            memcpy(gd + 2 * j, &h, 2);
            for (int i = 0; i < ATTN_Q4_GROUP; i++) {
                int k = g * ATTN_Q4_GROUP + i;
                int v = o < rows && k < cols ? q4_nibble(nib + (size_t)o * rb, k) : 8;
                gd[64 + 64 * (i / 4) + (j % 16) * 4 + i % 4] |= (uint8_t)(j < 16 ? v : v << 4);
            }
        }
    }
}

int gm_pack(gm_weight *out, void *mem, size_t size, attn_dtype dtype, int rows, int cols,
            const void *data, const void *scale)
{
    size_t need = gm_pack_size(dtype, rows, cols);
    if (!need || size < need || ((uintptr_t)mem & 63) || !data ||
        ((dtype == ATTN_Q8 || dtype == ATTN_Q4) && !scale))
        return ATTN_ERR_ARG;
    uint8_t *base = mem;
    out->dtype = dtype;
    out->rows = rows;
    out->cols = cols;
    out->panels = (rows + GM_NR - 1) / GM_NR;
    out->panel_bytes = panel_bytes(dtype, cols);
    out->data = base;
    out->scale = NULL;
    for (int p = 0; p < out->panels; p++) {
        uint8_t *dst = base + (size_t)p * out->panel_bytes;
        if (dtype == ATTN_Q8)
            pack_q8(dst, data, rows, cols, p);
        else if (dtype == ATTN_Q4)
            pack_q4(dst, data, scale, rows, cols, p);
        else
            pack_float(dst, data, dtype, rows, cols, p);
    }
    if (dtype == ATTN_Q8) {
        float *s = (float *)(void *)(base + (size_t)out->panels * out->panel_bytes);
        for (int o = 0; o < out->panels * GM_NR; o++)
            s[o] = o < rows ? ((const float *)scale)[o] : 0.0f;
        out->scale = s;
    }
    return ATTN_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Portable products: MR_PORTABLE rows x GM_NR columns per block, accumulated in arrays
 * ------------------------------------------------------------------------------------------- */

/* Returns element (k, j) of a float-like panel as float. */
static inline float panel_float(const uint8_t *pd, int dtype, int k, int j)
{
    uint16_t h;
    if (dtype == ATTN_F32) {
        float f;
        memcpy(&f, pd + ((size_t)k * GM_NR + (size_t)j) * 4, 4);
        return f;
    }
    int slot = dtype == ATTN_BF16 ? (j < 16 ? 2 * j : 2 * (j - 16) + 1) : j;
    memcpy(&h, pd + ((size_t)k * GM_NR + (size_t)slot) * 2, 2);
    return dtype == ATTN_BF16 ? attn_bf16_to_f32(h) : attn_f16_to_f32(h);
}

/* acc[r][j] = x[r] . column j of a float-like panel for r < nr. */
static void block_float(float acc[MR_PORTABLE][GM_NR], const float *x, int cols, int nr,
                        const uint8_t *pd, int dtype)
{
    float wk[GM_NR];
    memset(acc, 0, sizeof(float) * MR_PORTABLE * GM_NR);
    for (int k = 0; k < cols; k++) {
        for (int j = 0; j < GM_NR; j++)
            wk[j] = panel_float(pd, dtype, k, j);
        for (int r = 0; r < nr; r++) {
            float xv = x[(size_t)r * (size_t)cols + (size_t)k];
            for (int j = 0; j < GM_NR; j++)
                acc[r][j] += xv * wk[j];
        }
    }
}

/* acc[r][j] = q[r] . column j of a q8 panel as exact integers, then times the scales. */
static void block_q8(float acc[MR_PORTABLE][GM_NR], const kn_input *in, int b, int nr,
                     const uint8_t *pd, const float *scale)
{
    int qcols = kn_qcols(in->cols), kq = (in->cols + 3) & ~3;
    for (int r = 0; r < nr; r++) {
        const int8_t *q = in->q + (size_t)(b + r) * (size_t)qcols;
        int32_t s[GM_NR] = {0};
        for (int k = 0; k < kq; k++)
            for (int j = 0; j < GM_NR; j++)
                s[j] += q[k] * (pd[(size_t)(k / 4) * 128 + (size_t)j * 4 + (size_t)(k % 4)] - 128);
        for (int j = 0; j < GM_NR; j++)
            acc[r][j] = (float)s[j] * in->qscale[b + r] * scale[j];
    }
}

/* acc[r][j] = qscale[r] * sum over groups of d[j] * (exact q[r] . group nibbles - 8). */
static void block_q4(float acc[MR_PORTABLE][GM_NR], const kn_input *in, int b, int nr,
                     const uint8_t *pd)
{
    int qcols = kn_qcols(in->cols), groups = (int)attn_q4_groups(in->cols);
    for (int r = 0; r < nr; r++) {
        const int8_t *q = in->q + (size_t)(b + r) * (size_t)qcols;
        float f[GM_NR] = {0};
        for (int g = 0; g < groups; g++) {
            const uint8_t *gd = pd + (size_t)g * GM_Q4_GROUP_BYTES;
            const int8_t *qg = q + g * ATTN_Q4_GROUP;
            for (int j = 0; j < GM_NR; j++) {
                int32_t s = 0;
                for (int i = 0; i < ATTN_Q4_GROUP; i++) {
                    int byte = gd[64 + 64 * (i / 4) + (j % 16) * 4 + i % 4];
                    s += qg[i] * (((j < 16 ? byte : byte >> 4) & 15) - 8);
                }
                uint16_t h;
                memcpy(&h, gd + 2 * j, 2);
                f[j] = fmaf((float)s, attn_f16_to_f32(h), f[j]);   /* as the vector paths */
            }
        }
        for (int j = 0; j < GM_NR; j++)
            acc[r][j] = f[j] * in->qscale[b + r];
    }
}

/* The portable gm_linear: every row block against every panel of [o0, o1). */
static void linear_portable(float *y, int ldy, const kn_input *in, const gm_weight *w,
                            const float *bias, int o0, int o1)
{
    float acc[MR_PORTABLE][GM_NR];
    for (int p = o0 / GM_NR; p * GM_NR < o1; p++) {
        const uint8_t *pd = w->data + (size_t)p * w->panel_bytes;
        int jn = o1 - p * GM_NR < GM_NR ? o1 - p * GM_NR : GM_NR;
        for (int b = 0; b < in->n; b += MR_PORTABLE) {
            int nr = in->n - b < MR_PORTABLE ? in->n - b : MR_PORTABLE;
            if (w->dtype == ATTN_Q8)
                block_q8(acc, in, b, nr, pd, w->scale + p * GM_NR);
            else if (w->dtype == ATTN_Q4)
                block_q4(acc, in, b, nr, pd);
            else
                block_float(acc, in->x + (size_t)b * (size_t)in->cols, in->cols, nr, pd,
                            w->dtype);
            for (int r = 0; r < nr; r++)
                for (int j = 0; j < jn; j++)
                    y[(size_t)(b + r) * (size_t)ldy + (size_t)(p * GM_NR + j)] =
                        bias ? acc[r][j] + bias[p * GM_NR + j] : acc[r][j];
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------------- */

void gm_linear(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
               int o0, int o1)
{
    if (o1 > w->rows)
        o1 = w->rows;
    if (o1 <= o0 || in->n <= 0)
        return;
    int isa = kn_isa();
    if (isa == KN_AVX512)
        gm_linear_avx512(y, ldy, in, w, bias, o0, o1);
    else if (isa == KN_AVX2)
        gm_linear_avx2(y, ldy, in, w, bias, o0, o1);
    else
        linear_portable(y, ldy, in, w, bias, o0, o1);
}

size_t gm_input_size(attn_dtype dtype, int n, int cols)
{
    return kn_isa() == KN_AVX512 ? gm_input_size_avx512(dtype, n, cols) : 0;
}

int gm_input_init(gm_input *out, void *mem, size_t size, attn_dtype dtype, int n, int cols)
{
    size_t need = gm_input_size(dtype, n, cols);
    if (!need || size < need || ((uintptr_t)mem & 63))
        return ATTN_ERR_ARG;
    gm_input_init_avx512(out, mem, dtype, n, cols);
    return ATTN_OK;
}

void gm_input_rows(gm_input *out, const kn_input *in, int r0, int r1)
{
    gm_input_rows_avx512(out, in, r0, r1);
}

double gm_peak_fma(long n)
{
    int isa = kn_isa();
    return isa == KN_AVX512 ? gm_peak_fma_avx512(n) : isa == KN_AVX2 ? gm_peak_fma_avx2(n) : 0.0;
}

double gm_peak_int8(long n)
{
    int isa = kn_isa();
    return isa == KN_AVX512 ? gm_peak_int8_avx512(n) : isa == KN_AVX2 ? gm_peak_int8_avx2(n) : 0.0;
}
