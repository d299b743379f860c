/* dtype.h — libattn's element types, activations, norms and position kinds, in one place.
 *
 * The dtype codes are the model file's (man/attn-format.5: 0 f32, 1 f16, 2 bf16, 3 q8, 4 q4) and
 * every module uses this one enum: the file reader, the kernels and the engine.  The names of
 * activations, norms and position kinds in a model's metadata are in the loader (loader.c),
 * one table per enum, in the enum's order.  Conversions round to nearest even; NaN stays NaN.
 */
#ifndef ATTN_DTYPE_H
#define ATTN_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Tensor element types (the codes are the file's). */
typedef enum attn_dtype {
    ATTN_F32 = 0,   /* float */
    ATTN_F16 = 1,   /* IEEE half, as uint16_t bit patterns */
    ATTN_BF16 = 2,  /* bfloat16, as uint16_t bit patterns (the top half of a float) */
    ATTN_Q8 = 3,    /* int8_t, with one float scale per row: value = scale * q */
    ATTN_Q4 = 4,    /* 4-bit, one half scale per group of 32 along a row: d * (nibble - 8) */
} attn_dtype;
#define ATTN_N_DTYPES 5

/* Elements of a q4 row per group (one half scale each). */
#define ATTN_Q4_GROUP 32

/* Feed-forward activations (metadata "activation": relu, gelu, gelu_tanh, silu). */
typedef enum attn_act { ATTN_ACT_RELU, ATTN_ACT_GELU, ATTN_ACT_GELU_TANH, ATTN_ACT_SILU } attn_act;
#define ATTN_N_ACTS 4

/* Norms (metadata "norm": layer, rms). */
typedef enum attn_norm { ATTN_NORM_LAYER, ATTN_NORM_RMS } attn_norm;
#define ATTN_N_NORMS 2

/* Position encodings (metadata "pos_kind": none, sinusoidal, learned, relative). */
typedef enum attn_pos {
    ATTN_POS_NONE, ATTN_POS_SINUSOIDAL, ATTN_POS_LEARNED, ATTN_POS_RELATIVE
} attn_pos;
#define ATTN_N_POS 4

/* Returns the bytes one element takes (q8: 1, q4: 1 rounded up from half a byte; their
 * scales aside). */
static inline size_t attn_dtype_size(attn_dtype dtype)
{
    return dtype == ATTN_F32 ? 4 : dtype >= ATTN_Q8 ? 1 : 2;
}

/* Returns the number of q4 groups in a row of cols elements. */
static inline int64_t attn_q4_groups(int64_t cols)
{
    return (cols + ATTN_Q4_GROUP - 1) / ATTN_Q4_GROUP;
}

/* Returns the bytes of one row of q4 nibbles (16 per group). */
static inline size_t attn_q4_row_bytes(int64_t cols)
{
    return (size_t)attn_q4_groups(cols) * (ATTN_Q4_GROUP / 2);
}

/* Returns the name of a dtype ("f32", "f16", "bf16", "q8"), or "?" for another value. */
const char *attn_dtype_name(attn_dtype dtype);

/* Sets *out to the dtype called name; returns ATTN_OK or ATTN_ERR_ARG for an unknown name. */
int attn_dtype_parse(attn_dtype *out, const char *name);

/* Returns the float of IEEE half bits h (exact). */
static inline float attn_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    float f;
    if (e == 0) {
        f = (float)m * (1.0f / 16777216.0f);        /* subnormal or zero: m * 2^-24 */
        memcpy(&u, &f, 4);
        u |= sign;
    } else if (e == 31) {
        u = sign | 0x7f800000u | (m << 13);
    } else {
        u = sign | ((e + 112) << 23) | (m << 13);
    }
    memcpy(&f, &u, 4);
    return f;
}

/* Returns the float of bfloat16 bits b (exact). */
static inline float attn_bf16_to_f32(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Returns x as IEEE half bits (beyond 65504 rounds to infinity). */
static inline uint16_t attn_f32_to_f16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00;                       /* NaN */
    if (a >= 0x477ff000u)
        return sign | 0x7c00;                       /* rounds to infinity (>= 65520) */
    if (a >= 0x38800000u) {                         /* normal half: round the mantissa */
        a += 0xfffu + ((a >> 13) & 1);
        return sign | (uint16_t)((a - 0x38000000u) >> 13);
    }
    /* subnormal half: adding 0.5 rounds |x| to a multiple of 2^-24 (nearest even) */
    float f;
    memcpy(&f, &a, 4);
    f += 0.5f;
    memcpy(&a, &f, 4);
    return sign | (uint16_t)(a - 0x3f000000u);
}

/* Returns x as bfloat16 bits. */
static inline uint16_t attn_f32_to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040);      /* NaN stays a quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

/* Quantizes a (rows, cols) matrix x to q (rows, cols) and scales (rows): scales[r] =
 * maxabs(row r) / 127, q = round-half-even(x / scale), 0 for an all-zero row; returns ATTN_OK,
 * or ATTN_ERR_ARG when a value is not finite. */
int attn_quantize_q8(int8_t *q, float *scales, const float *x, int64_t rows, int64_t cols);

/* Quantizes a (rows, cols) matrix x to q4 nibbles (rows, attn_q4_row_bytes(cols)) and half
 * scales d (rows, attn_q4_groups(cols)): per group, d = m / -8 rounded to half with m the value
 * of largest magnitude (the first of equals), nibble = round-half-even(x / d) + 8 within 0..15
 * (all 8 when d is 0), 8 past cols; returns ATTN_OK, or ATTN_ERR_ARG when a value is not finite
 * or a group's d does not fit in a half (|m| >= 524160). */
int attn_quantize_q4(uint8_t *nib, uint16_t *d, const float *x, int64_t rows, int64_t cols);

/* Writes the cols values of one q4 row (nibbles nib, half scales d) as floats: the reference
 * dequantization, element k = d[k / 32] * (nibble k - 8), nibble k the low 4 bits of byte k / 2
 * for even k and the high 4 bits for odd k. */
void attn_q4_dequant_row(float *out, const uint8_t *nib, const uint16_t *d, int64_t cols);

#endif
