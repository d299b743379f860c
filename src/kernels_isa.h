/* kernels_isa.h — the per-instruction-set kernels (kernels_avx2.c, kernels_avx512.c) that
 * kernels.c chooses among at run time; private to the kernels, callers use kernels.h.
 *
 * Each has the signature and contract of the public kernel it stands for (kn_dots_* of
 * kn_linear without the bias, kn_quantize_row_* of one row of kn_quantize_rows, ...) and may be
 * called only when kn_isa() is at least its instruction set.
 */
#ifndef ATTN_KERNELS_ISA_H
#define ATTN_KERNELS_ISA_H

#include "kernels.h"

/* e^x of the vector kernels: n = round(x log2 e), r = x - n ln 2 (ln 2 in two parts), e^r by a
 * degree-6 polynomial (Cephes' expf coefficients, about 1 ulp), times 2^n. */
#define KN_EXP_LOG2E 1.44269504088896341f
#define KN_EXP_LN2_HI 0.693359375f
#define KN_EXP_LN2_LO -2.12194440e-4f
#define KN_EXP_P0 1.9875691500e-4f
#define KN_EXP_P1 1.3981999507e-3f
#define KN_EXP_P2 8.3334519073e-3f
#define KN_EXP_P3 4.1665795894e-2f
#define KN_EXP_P4 1.6666665459e-1f
#define KN_EXP_P5 5.0000001201e-1f

/* ---- AVX2 + FMA + F16C (kernels_avx2.c) ---- */

/* y[b, o] = x[b] . W[o] for b < n, o in [o0, o1), f32 / f16 / bf16 weights (kn_linear, no bias). */
void kn_dots_float_avx2(float *y, int ldy, const float *x, int n, const kn_weight *w, int o0,
                        int o1);

/* The q8 product with exact int32 sums. */
void kn_dots_q8_avx2(float *y, int ldy, const kn_input *in, const kn_weight *w, int o0, int o1);

/* kn_dot, kn_axpy, and one row of kn_quantize_rows (without the zero padding). */
float kn_dot_avx2(const float *a, const float *b, int n);
void kn_axpy_avx2(float *y, float a, const float *x, int n);
void kn_quantize_row_avx2(int8_t *q, float *scale, const float *x, int cols);

/* kn_sumexp, kn_top_merge and kn_top_merge_shifted. */
float kn_sumexp_avx2(float *max, const float *x, int n);
void kn_top_merge_avx2(float *score, int *index, int *have, const float *x, float add,
                       int base, int n, int k);
void kn_top_merge_shifted_avx2(float *score, int *index, int *have, const float *x, float shift,
                               float add, int base, int n, int k);

/* ---- AVX-512 F/BW/VL/DQ + VNNI (kernels_avx512.c): the same, and more ---- */

/* y[b, o] = x[b] . W[o] for b < n, o in [o0, o1), f32 / f16 / bf16 weights (kn_linear, no bias). */
void kn_dots_float_avx512(float *y, int ldy, const float *x, int n, const kn_weight *w,
                          int o0, int o1);

/* The same for f32 weights from their panels (w->panels), plus bias (may be NULL): kn_linear. */
void kn_panels_f32_avx512(float *y, int ldy, const float *x, int n, const kn_weight *w,
                          const float *bias, int o0, int o1);

/* The q8 product with VNNI u8 x s8 dot products; needs w->rowsum. */
void kn_dots_q8_avx512(float *y, int ldy, const kn_input *in, const kn_weight *w, int o0, int o1);

/* kn_dot, kn_axpy, and one row of kn_quantize_rows (without the zero padding). */
float kn_dot_avx512(const float *a, const float *b, int n);
void kn_axpy_avx512(float *y, float a, const float *x, int n);
void kn_quantize_row_avx512(int8_t *q, float *scale, const float *x, int cols);

/* kn_sumexp, kn_top_merge and kn_top_merge_shifted. */
float kn_sumexp_avx512(float *max, const float *x, int n);
void kn_top_merge_avx512(float *score, int *index, int *have, const float *x, float add,
                         int base, int n, int k);
void kn_top_merge_shifted_avx512(float *score, int *index, int *have, const float *x,
                                 float shift, float add, int base, int n, int k);

/* Writes y = exp(x - m) (y may be NULL or x) and returns the sum of those values. */
float kn_exp_sub_avx512(float *y, const float *x, float m, int n);

/* y = x * a + b over n floats (y may be x). */
void kn_scale_add_avx512(float *y, const float *x, float a, float b, int n);

/* Returns the largest of n floats (n >= 1). */
float kn_max_avx512(const float *x, int n);

/* In place max(x, 0) over n floats. */
void kn_relu_avx512(float *x, int n);

/* kn_layernorm, kn_rmsnorm and kn_attend. */
void kn_layernorm_avx512(float *y, const float *x, const float *w, const float *b, int d,
                         float eps);
void kn_rmsnorm_avx512(float *y, const float *x, const float *w, int d, float eps);
void kn_attend_avx512(float *out, size_t ld_out, const float *q, size_t ld_q, int n_q,
                      const kn_keys *kv, float scale, int n_heads, int dh, float *scores);

#endif
