/* gemm.h — register-blocked matrix products for many input rows, with weights packed once.
 *
 * y = x W^T (+ bias) as kn_linear computes it, for n input rows at a time: the weight is packed
 * at load time into panels of GM_NR output columns laid out in the order the micro-kernels read
 * them, and each micro-kernel keeps a block of input rows times GM_NR columns in registers, so
 * that every weight loaded serves many rows and the products run at the arithmetic units' speed
 * rather than the memory's.  Worth it from about 8 rows; kn_linear stays the kernel for fewer.
 *
 * Numerics are kn_linear's: f32, f16 and bf16 weights multiply float inputs with float
 * accumulation (f16 / bf16 widened exactly to float); q8 and q4 multiply the input quantized per
 * row (kn_quantize_rows) with exact int32 dot products, so q8 outputs are bit-identical to
 * kn_linear's on every instruction set.  The instruction set is kn_isa()'s.
 *
 * Usage:
 *     size_t size = gm_pack_size(ATTN_F32, rows, cols);
 *     void *mem = aligned_alloc(64, size);            // the caller owns mem
 *     gm_weight pw;
 *     gm_pack(&pw, mem, size, ATTN_F32, rows, cols, data, NULL);
 *     gm_linear(y, ldy, &in, &pw, bias, 0, rows);     // per token step; never allocates
 *
 * Products whose columns several threads share out can lay the quantized input out once first
 * (gm_input_init, gm_input_rows, then in.packed) rather than in every call.
 *
 * gm_pack and gm_linear are thread-safe on distinct outputs.
 *
 * q4 weights are the model file's (dtype.h, man/attn-format.5): nibbles (rows,
 * attn_q4_row_bytes(cols)) and half scales (rows, attn_q4_groups(cols)); gm_linear is their only
 * matrix product.
 */
#ifndef ATTN_GEMM_H
#define ATTN_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "kernels.h"

/* Output columns per packed panel: one micro-kernel's width. */
#define GM_NR 32

/* A packed weight matrix (out = rows, in = cols) of one of the dtypes. */
typedef struct gm_weight {
    attn_dtype dtype;
    int rows, cols;
    int panels;                 /* ceil(rows / GM_NR) */
    size_t panel_bytes;         /* bytes of one panel in data */
    const uint8_t *data;        /* (panels, panel_bytes), the layouts in gemm.c */
    const float *scale;         /* q8: (panels * GM_NR) the rows' scales, zero past rows */
} gm_weight;

/* Input rows packed together in a gm_input: gm_input_rows's first row and a view's row0 are
 * multiples of it. */
#define GM_INPUT_ROWS 24

/* An input of q8 or q4 products laid out once (by gm_input_rows) in the order the current
 * instruction set's micro-kernels read it, so that the tasks that share out a product's columns
 * do not each lay it out again.  A view of rows [row0, n) of it serves a kn_input of those rows. */
typedef struct gm_input {
    attn_dtype dtype;
    int n, cols;
    int row0;                   /* first row of the view: 0, or a multiple of GM_INPUT_ROWS */
    int npad;                   /* n rounded up to GM_INPUT_ROWS */
    int32_t *x;                 /* (npad, steps of 4 inputs) in the instruction set's order */
    int32_t *comp;              /* q8 (slices, npad) / q4 (npad, groups) input-sum corrections */
} gm_input;

/* Returns the bytes a gm_input of n rows of cols inputs for dtype weights needs on the current
 * instruction set, or 0 when that set lays the input out inside gm_linear (float weights,
 * AVX2, portable). */
size_t gm_input_size(attn_dtype dtype, int n, int cols);

/* Sets up a gm_input of n rows of cols inputs in mem (size bytes, 64-byte aligned, the caller's
 * for as long as *out is used); returns ATTN_OK, or ATTN_ERR_ARG when gm_input_size is 0 or above
 * size. */
int gm_input_init(gm_input *out, void *mem, size_t size, attn_dtype dtype, int n, int cols);

/* Lays out rows [r0, r1) of the quantized input in->q (in->n = out->n rows of out->cols) into
 * *out, which gm_input_init has set up; r0 a multiple of GM_INPUT_ROWS.  Distinct row ranges may
 * be laid out in parallel. */
void gm_input_rows(gm_input *out, const kn_input *in, int r0, int r1);

/* Returns the bytes gm_pack needs for a weight, or 0 for an unknown dtype or a bad size. */
size_t gm_pack_size(attn_dtype dtype, int rows, int cols);

/* Packs a weight into mem (size bytes, 64-byte aligned, the caller's for as long as *out is
 * used).  data: f32 floats, f16 / bf16 bits or q8 int8 (rows, cols), or q4 nibbles (rows,
 * attn_q4_row_bytes(cols)); scale: q8 floats (rows), q4 half bits (rows, attn_q4_groups(cols)),
 * else NULL.  Returns ATTN_OK, or ATTN_ERR_ARG when the dtype is unknown, the sizes are not
 * positive, mem is not aligned or size is below gm_pack_size. */
int gm_pack(gm_weight *out, void *mem, size_t size, attn_dtype dtype, int rows, int cols,
            const void *data, const void *scale);

/* y[b, o] = x[b] . W[o] (+ bias[o]) for b < in->n and o in [o0, o1), rows of y ldy apart;
 * o0 must be a multiple of GM_NR.  q8 and q4 weights read in->q and in->qscale (or in->packed,
 * the same rows laid out by gm_input_rows, when it matches), others in->x; the outputs are the
 * same bits either way. */
void gm_linear(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
               int o0, int o1);

/* Runs n iterations of a tight loop of independent FMA (f32) or VNNI (int8 dot product)
 * instructions on the current instruction set and returns the operations it did (a multiply
 * and an add count two); the caller times it.  Returns 0 when the set has no such unit. */
double gm_peak_fma(long n);
double gm_peak_int8(long n);

#endif
