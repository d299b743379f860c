/* gemm_isa.h — private to gemm*.c: the packed panel layouts and the per-instruction-set entry
 * points that gm_linear chooses among.
 *
 * A panel holds GM_NR = 32 consecutive output columns (weight rows) j = o - 32 p, zero past the
 * weight's rows, over all of the input dimension k:
 *   f32   cols x 32 floats: (k, j) at k * 32 + j
 *   f16   cols x 32 halves: (k, j) at k * 32 + j
 *   bf16  cols x 32 bf16:   (k, j) at k * 32 + 2 j (j < 16) or k * 32 + 2 (j - 16) + 1, so that
 *         a 32-bit lane holds column j in its low half and column j + 16 in its high half
 *   q8    ceil(cols / 4) steps of 128 bytes: (k, j) at (k / 4) * 128 + j * 4 + k % 4, holding
 *         w + 128 as an unsigned byte (128 past cols), so that the input is the signed operand
 *   q4    attn_q4_groups(cols) groups of 576 bytes: the group's 32 half scales (64 bytes), then
 *         8 steps of 64 bytes: (k, j), k = 32 g + 4 s + t, in byte 64 + 64 s + (j % 16) * 4 + t,
 *         low nibble for j < 16, high nibble for j >= 16; the nibble is the file's (0..15)
 */
#ifndef ATTN_GEMM_ISA_H
#define ATTN_GEMM_ISA_H

#include "gemm.h"

/* Bytes of one packed q4 group of a panel: 32 half scales and 32 x 32 nibbles. */
#define GM_Q4_GROUP_BYTES 576

void gm_linear_avx2(float *y, int ldy, const kn_input *in, const gm_weight *w, const float *bias,
                    int o0, int o1);
void gm_linear_avx512(float *y, int ldy, const kn_input *in, const gm_weight *w,
                      const float *bias, int o0, int o1);
size_t gm_input_size_avx512(attn_dtype dtype, int n, int cols);
void gm_input_init_avx512(gm_input *out, void *mem, attn_dtype dtype, int n, int cols);
void gm_input_rows_avx512(gm_input *out, const kn_input *in, int r0, int r1);
double gm_peak_fma_avx2(long n);
double gm_peak_fma_avx512(long n);
double gm_peak_int8_avx2(long n);
double gm_peak_int8_avx512(long n);

#endif
