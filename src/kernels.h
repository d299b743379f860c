/* kernels.h — the engine's numeric kernels: matrix products with f32, f16, bf16 and q8 weights,
 * dot products, softmax, norms and activations.
 *
 * Every matrix product is y = x W^T (+ bias), W stored (out, in) as in PyTorch.  Each has a
 * portable C version and AVX2 / AVX-512 versions chosen once at run time from CPUID and XCR0
 * (the CPU has the instructions and the OS saves their registers); all give the same results
 * within float rounding (the q8 integer dot products are exact in every version).  Kernels
 * compute a range of output rows so that the caller can split the output dimension over threads.
 * Nothing here allocates.
 */
#ifndef ATTN_KERNELS_H
#define ATTN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

enum kn_isa { KN_PORTABLE = 0, KN_AVX2 = 1, KN_AVX512 = 2 };

/* A weight matrix (rows, cols) = (out, in) in one of the storage types. */
typedef struct kn_weight {
    attn_dtype dtype;
    int rows, cols;
    const void *data;           /* (rows, cols): float, uint16 (f16/bf16 bits) or int8 */
    const float *scale;         /* q8: (rows) w = scale[row] * int8 */
    const int32_t *rowsum;      /* q8: (rows) sum of the row's int8 values (for u8 x s8 products) */
    const uint16_t *half_scale; /* q4: (rows, attn_q4_groups(cols)) group scales; data: nibbles */
    const float *panels;        /* f32, or NULL: (ceil(rows / KN_PANEL), cols, KN_PANEL) the same
                                 * weights packed by kn_pack_panels, for products of many rows */
} kn_weight;

/* Output columns of one panel of packed f32 weights. */
#define KN_PANEL 64

/* Activations for a product: n rows of cols floats, and for q8 weights their int8 version. */
typedef struct kn_input {
    const float *x;             /* (n, cols) */
    const int8_t *q;            /* (n, qcols) x quantized per row, zero-padded; q8 weights only */
    const float *qscale;        /* (n) x ~= qscale * q */
    int n, cols;
    const struct gm_input *packed;  /* q laid out for gm_linear (gemm.h), or NULL */
} kn_input;

/* Rounds cols up to the int8 row length used by kn_quantize_rows (a multiple of 64). */
static inline int kn_qcols(int cols) { return (cols + 63) & ~63; }

/* Returns the instruction set the kernels use now. */
int kn_isa(void);

/* Selects the instruction set (for tests and benchmarks); returns the one in effect, which is
 * the best supported one not above the request. */
int kn_set_isa(int isa);

/* Returns the name of an instruction set ("portable", "avx2", "avx512"). */
const char *kn_isa_name(int isa);

/* Returns 1 when kn_linear multiplies by w from its panels (f32 weights with panels on AVX-512,
 * for any number of input rows: an output never depends on how many rows share the product);
 * then it blocks for the caches itself, and output ranges that start and end on multiples of
 * KN_PANEL (or at w->rows) waste nothing. */
int kn_uses_panels(const kn_weight *w);

/* y[b, o] = x[b] . W[o] (+ bias[o]) for b < in->n and o in [o0, o1); y rows are ldy apart.
 * f32, f16, bf16 and q8 weights (q4 weights multiply through gm_linear, gemm.h). */
void kn_linear(float *y, int ldy, const kn_input *in, const kn_weight *w, const float *bias,
               int o0, int o1);

/* Returns the bytes of an f32 weight (rows, cols) packed into panels. */
size_t kn_panels_size(int rows, int cols);

/* Packs f32 weights w (rows, cols) into panels (kn_panels_size bytes, 64-byte aligned): panel p
 * holds W[p KN_PANEL + j][k] at k KN_PANEL + j, zero past rows, for kn_weight.panels. */
void kn_pack_panels(float *panels, const float *w, int rows, int cols);

/* Quantizes x (n, cols) per row to int8 q (n, kn_qcols(cols)), zero-padded, with
 * x ~= scale[b] * q[b] (symmetric, round to nearest even, |q| <= 127). */
void kn_quantize_rows(int8_t *q, float *scale, const float *x, int n, int cols);

/* Writes row r of W as floats (cols). */
void kn_weight_row(float *out, const kn_weight *w, int r);

/* Returns a . b over n floats. */
float kn_dot(const float *a, const float *b, int n);

/* y += a * x over n floats. */
void kn_axpy(float *y, float a, const float *x, int n);

/* Returns the index of the largest of n floats (n >= 1; the lowest index wins ties). */
int kn_argmax(const float *x, int n);

/* Returns sum(exp(x - m)) over n floats (n >= 1) in one pass with a running maximum, and the
 * maximum m in *max (-FLT_MAX when every value is -inf, and then the sum is 0); log-softmax is
 * x - (m + log(sum)). */
float kn_sumexp(float *max, const float *x, int n);

/* Returns log(sum(exp(x))) over n floats (n >= 1); -inf when every value is -inf. */
float kn_logsumexp(const float *x, int n);

/* y = x + c over n floats (y may be x). */
void kn_add_scalar(float *y, const float *x, float c, int n);

/* Inserts (s, i) into the list score/index (k entries at most, *have of them, best first: the
 * larger score, then the lower index) when it belongs there; a NaN score never does. */
void kn_top_insert(float *score, int *index, int *have, float s, int i, int k);

/* kn_top_insert of (x[i] + add, base + i) for every i < n, vectorised: only the values that
 * can enter the list are inserted one by one. */
void kn_top_merge(float *score, int *index, int *have, const float *x, float add, int base,
                  int n, int k);

/* kn_top_merge of (x[i] + shift) + add, rounded twice as written: the candidates of the
 * log-softmax row x - lse (shift = -lse) with a beam's score added, without writing that row. */
void kn_top_merge_shifted(float *score, int *index, int *have, const float *x, float shift,
                          float add, int base, int n, int k);

/* In place softmax over n floats (max subtracted first); masked entries may hold -FLT_MAX. */
void kn_softmax(float *x, int n);

/* In place log-softmax over n floats. */
void kn_log_softmax(float *x, int n);

/* y = LayerNorm(x) over d: (x - mean) / sqrt(var + eps) * w + b (w, b may be NULL). */
void kn_layernorm(float *y, const float *x, const float *w, const float *b, int d, float eps);

/* y = x / sqrt(mean(x^2) + eps) * w (w may be NULL). */
void kn_rmsnorm(float *y, const float *x, const float *w, int d, float eps);

/* In place activation over n floats. */
void kn_activate(float *x, int n, attn_act act);

/* The keys and values one or more queries attend to: key / value row j (n_heads * dh floats,
 * head h at h * dh) of query row i starts at k / v + j * stride, plus slot[i * slot_ld + j] *
 * slot_stride when slot is not NULL (the beam-search cache indirection: each query row has its
 * own table); bias[h * bias_stride + j] is added to head h's score of key j when bias is not
 * NULL. */
typedef struct kn_keys {
    const float *k, *v;         /* (n, stride) through slot */
    size_t stride;
    const int32_t *slot;        /* (query rows, slot_ld) or NULL */
    size_t slot_ld, slot_stride;
    const float *bias;          /* (n_heads, bias_stride) or NULL */
    size_t bias_stride;
    int n;                      /* keys (n >= 1) */
} kn_keys;

/* Returns the start of key / value row j (head 0) in base (kv->k or kv->v) through one query
 * row's slot table sl (kv->slot + row * kv->slot_ld, or NULL without slots). */
static inline const float *kn_key_row(const float *base, const kn_keys *kv, const int32_t *sl,
                                      int j)
{
    return base + (size_t)j * kv->stride + (sl ? (size_t)sl[j] * kv->slot_stride : 0);
}

/* Attention of n_q query rows over the same n keys, every head: out row i (n_heads, dh), head h
 * = sum_j p_hj v_j,h with p_h = softmax(scale * q_h . k_j,h + bias_hj) over j < n; query row i
 * at q + i * ld_q (n_heads, dh), output row i at out + i * ld_out; scores: scratch (n_heads, n).
 * Each (row, head) gives the same bits however rows and heads are grouped into calls. */
void kn_attend(float *out, size_t ld_out, const float *q, size_t ld_q, int n_q, const kn_keys *kv,
               float scale, int n_heads, int dh, float *scores);

#endif
