/* kernels.c — portable kernels, the run-time choice of instruction set, and the small
 * element-wise operations (see kernels.h). */
#include "kernels_isa.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* ---------------------------------------------------------------------------------------------
 * Instruction set selection
 * ------------------------------------------------------------------------------------------- */

static atomic_int g_isa = -1;

#if defined(__x86_64__)
/* XCR0 bits: SSE and AVX register state (AVX), plus opmask and upper ZMM registers (AVX-512). */
#define XCR0_AVX_STATE 0x06u
#define XCR0_AVX512_STATE 0xe6u

/* Returns the low half of XCR0 (the register state the OS saves); call only when OSXSAVE is set. */
static unsigned xcr0_low(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return lo;
}

/* Returns the best instruction set this CPU and OS support, read from CPUID and XCR0 (the same
 * features gcc's __builtin_cpu_supports checks, which clang 14 cannot all name). */
static int best_isa(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7 || !__get_cpuid(1, &a, &b, &c, &d))
        return KN_PORTABLE;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
        return KN_PORTABLE;
    unsigned xcr0 = xcr0_low();
    if ((xcr0 & XCR0_AVX_STATE) != XCR0_AVX_STATE)
        return KN_PORTABLE;
    int fma_f16c = (c & bit_FMA) && (c & bit_F16C);
    __cpuid_count(7, 0, a, b, c, d);
    unsigned avx512_ebx = bit_AVX512F | bit_AVX512BW | bit_AVX512VL | bit_AVX512DQ;
    if (fma_f16c && (xcr0 & XCR0_AVX512_STATE) == XCR0_AVX512_STATE &&
        (b & avx512_ebx) == avx512_ebx && (c & bit_AVX512VNNI))
        return KN_AVX512;
    if (fma_f16c && (b & bit_AVX2))
        return KN_AVX2;
    return KN_PORTABLE;
}
#else
/* Returns the portable instruction set: the vector paths exist only on x86-64. */
static int best_isa(void)
{
    return KN_PORTABLE;
}
#endif

int kn_isa(void)
{
    int isa = atomic_load_explicit(&g_isa, memory_order_relaxed);
    if (isa < 0) {
        isa = best_isa();
        atomic_store_explicit(&g_isa, isa, memory_order_relaxed);
    }
    return isa;
}

int kn_set_isa(int isa)
{
    int best = best_isa();
    if (isa < KN_PORTABLE)
        isa = KN_PORTABLE;
    if (isa > best)
        isa = best;
    atomic_store_explicit(&g_isa, isa, memory_order_relaxed);
    return isa;
}

const char *kn_isa_name(int isa)
{
    switch (isa) {
    case KN_AVX2: return "avx2";
    case KN_AVX512: return "avx512";
    default: return "portable";
    }
}

void kn_weight_row(float *out, const kn_weight *w, int r)
{
    size_t base = (size_t)r * (size_t)w->cols;
    switch (w->dtype) {
    case ATTN_F32:
        memcpy(out, (const float *)w->data + base, (size_t)w->cols * sizeof(float));
        break;
    case ATTN_F16:
        for (int k = 0; k < w->cols; k++)
            out[k] = attn_f16_to_f32(((const uint16_t *)w->data)[base + (size_t)k]);
        break;
    case ATTN_BF16:
        for (int k = 0; k < w->cols; k++)
            out[k] = attn_bf16_to_f32(((const uint16_t *)w->data)[base + (size_t)k]);
        break;
    case ATTN_Q4: {
        size_t groups = (size_t)attn_q4_groups(w->cols);
        attn_q4_dequant_row(out, (const uint8_t *)w->data + (size_t)r * attn_q4_row_bytes(w->cols),
                            w->half_scale + (size_t)r * groups, w->cols);
        break;
    }
    default:
        for (int k = 0; k < w->cols; k++)
            out[k] = w->scale[r] * (float)((const int8_t *)w->data)[base + (size_t)k];
        break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Portable matrix products
 * ------------------------------------------------------------------------------------------- */

/* Returns element k of row o of a float-like weight as float. */
static inline float weight_at(const kn_weight *w, size_t i)
{
    switch (w->dtype) {
    case ATTN_F32: return ((const float *)w->data)[i];
    case ATTN_F16: return attn_f16_to_f32(((const uint16_t *)w->data)[i]);
    default: return attn_bf16_to_f32(((const uint16_t *)w->data)[i]);
    }
}

/* y[b, o] = x[b] . W[o] for float-like weights, one output at a time. */
static void dots_float_portable(float *y, int ldy, const float *x, int n, const kn_weight *w,
                                int o0, int o1)
{
    int cols = w->cols;
    for (int o = o0; o < o1; o++) {
        size_t base = (size_t)o * (size_t)cols;
        for (int b = 0; b < n; b++) {
            const float *xb = x + (size_t)b * (size_t)cols;
            float acc[8] = {0};
            int k = 0;
            for (; k + 8 <= cols; k += 8)
                for (int j = 0; j < 8; j++)
                    acc[j] += xb[k + j] * weight_at(w, base + (size_t)(k + j));
            for (; k < cols; k++)
                acc[0] += xb[k] * weight_at(w, base + (size_t)k);
            y[(size_t)b * (size_t)ldy + (size_t)o] =
                ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        }
    }
}

/* y[b, o] = qscale[b] * scale[o] * (q[b] . W[o]) with exact int32 dot products. */
static void dots_q8_portable(float *y, int ldy, const kn_input *in, const kn_weight *w, int o0,
                             int o1)
{
    int cols = w->cols, qcols = kn_qcols(cols);
    for (int o = o0; o < o1; o++) {
        const int8_t *wo = (const int8_t *)w->data + (size_t)o * (size_t)cols;
        for (int b = 0; b < in->n; b++) {
            const int8_t *qb = in->q + (size_t)b * (size_t)qcols;
            int32_t acc = 0;
            for (int k = 0; k < cols; k++)
                acc += (int32_t)qb[k] * (int32_t)wo[k];
            y[(size_t)b * (size_t)ldy + (size_t)o] = (float)acc * in->qscale[b] * w->scale[o];
        }
    }
}

int kn_uses_panels(const kn_weight *w)
{
    return w->panels && kn_isa() == KN_AVX512;
}

void kn_linear(float *y, int ldy, const kn_input *in, const kn_weight *w, const float *bias,
               int o0, int o1)
{
    int isa = kn_isa();
    if (o1 <= o0 || in->n <= 0)
        return;
    if (w->dtype == ATTN_Q8) {
        if (isa == KN_AVX512 && w->rowsum)
            kn_dots_q8_avx512(y, ldy, in, w, o0, o1);
        else if (isa >= KN_AVX2)
            kn_dots_q8_avx2(y, ldy, in, w, o0, o1);
        else
            dots_q8_portable(y, ldy, in, w, o0, o1);
    } else if (kn_uses_panels(w)) {
        kn_panels_f32_avx512(y, ldy, in->x, in->n, w, bias, o0, o1);
        return;
    } else if (isa == KN_AVX512) {
        kn_dots_float_avx512(y, ldy, in->x, in->n, w, o0, o1);
    } else if (isa == KN_AVX2) {
        kn_dots_float_avx2(y, ldy, in->x, in->n, w, o0, o1);
    } else {
        dots_float_portable(y, ldy, in->x, in->n, w, o0, o1);
    }
    if (bias)
        for (int b = 0; b < in->n; b++)
            kn_axpy(y + (size_t)b * (size_t)ldy + o0, 1.0f, bias + o0, o1 - o0);
}

size_t kn_panels_size(int rows, int cols)
{
    return (size_t)((rows + KN_PANEL - 1) / KN_PANEL) * (size_t)cols * KN_PANEL * sizeof(float);
}

void kn_pack_panels(float *panels, const float *w, int rows, int cols)
{
    for (int p = 0; p * KN_PANEL < rows; p++) {
        float *d = panels + (size_t)p * (size_t)cols * KN_PANEL;
        for (int k = 0; k < cols; k++)
            for (int j = 0; j < KN_PANEL; j++) {
                int o = p * KN_PANEL + j;
                d[(size_t)k * KN_PANEL + (size_t)j] =
                    o < rows ? w[(size_t)o * (size_t)cols + (size_t)k] : 0.0f;
            }
    }
}

/* Quantizes one row (portable): the same arithmetic as the SIMD versions, so the same bytes. */
static void quantize_row_portable(int8_t *q, float *scale, const float *x, int cols)
{
    float amax = 0.0f;
    for (int k = 0; k < cols; k++) {
        float a = fabsf(x[k]);
        if (a > amax)
            amax = a;
    }
    float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    *scale = amax > 0.0f ? amax / 127.0f : 0.0f;
    for (int k = 0; k < cols; k++) {
        /* adding and removing 1.5 * 2^23 rounds to the nearest integer, ties to even */
        float v = (x[k] * inv + 12582912.0f) - 12582912.0f;
        v = v > 127.0f ? 127.0f : v >= -127.0f ? v : -127.0f;   /* NaN: -127, as cvtps gives */
        q[k] = (int8_t)v;
    }
}

void kn_quantize_rows(int8_t *q, float *scale, const float *x, int n, int cols)
{
    int qcols = kn_qcols(cols), isa = kn_isa();
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * (size_t)cols;
        int8_t *qb = q + (size_t)b * (size_t)qcols;
        if (isa == KN_AVX512)
            kn_quantize_row_avx512(qb, &scale[b], xb, cols);
        else if (isa == KN_AVX2)
            kn_quantize_row_avx2(qb, &scale[b], xb, cols);
        else
            quantize_row_portable(qb, &scale[b], xb, cols);
        memset(qb + cols, 0, (size_t)(qcols - cols));
    }
}

/* ---------------------------------------------------------------------------------------------
 * Vector operations
 * ------------------------------------------------------------------------------------------- */

float kn_dot(const float *a, const float *b, int n)
{
    int isa = kn_isa();
    if (isa == KN_AVX512)
        return kn_dot_avx512(a, b, n);
    if (isa == KN_AVX2)
        return kn_dot_avx2(a, b, n);
    float acc[4] = {0};
    int k = 0;
    for (; k + 4 <= n; k += 4)
        for (int j = 0; j < 4; j++)
            acc[j] += a[k + j] * b[k + j];
    for (; k < n; k++)
        acc[0] += a[k] * b[k];
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

void kn_axpy(float *y, float a, const float *x, int n)
{
    int isa = kn_isa();
    if (isa == KN_AVX512) {
        kn_axpy_avx512(y, a, x, n);
        return;
    }
    if (isa == KN_AVX2) {
        kn_axpy_avx2(y, a, x, n);
        return;
    }
    for (int k = 0; k < n; k++)
        y[k] += a * x[k];
}

int kn_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Returns the largest of n floats (n >= 1). */
static float max_of(const float *x, int n)
{
    if (kn_isa() == KN_AVX512)
        return kn_max_avx512(x, n);
    float mx = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    return mx;
}

/* Writes y = exp(x - m) (y may be NULL or x) and returns the sum of those values. */
static float exp_sub(float *y, const float *x, float m, int n)
{
    if (kn_isa() == KN_AVX512)
        return kn_exp_sub_avx512(y, x, m, n);
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        float e = expf(x[i] - m);
        if (y)
            y[i] = e;
        sum += e;
    }
    return sum;
}

/* y = x * a + b over n floats (y may be x). */
static void scale_add(float *y, const float *x, float a, float b, int n)
{
    if (kn_isa() == KN_AVX512) {
        kn_scale_add_avx512(y, x, a, b, n);
        return;
    }
    for (int i = 0; i < n; i++)
        y[i] = x[i] * a + b;
}

void kn_attend(float *out, size_t ld_out, const float *q, size_t ld_q, int n_q, const kn_keys *kv,
               float scale, int n_heads, int dh, float *scores)
{
    if (kn_isa() == KN_AVX512) {
        kn_attend_avx512(out, ld_out, q, ld_q, n_q, kv, scale, n_heads, dh, scores);
        return;
    }
    int n = kv->n;
    for (int h = 0; h < n_heads; h++) {
        size_t hoff = (size_t)h * dh;
        const float *bh = kv->bias ? kv->bias + (size_t)h * kv->bias_stride : NULL;
        float *sh = scores + (size_t)h * n;
        for (int i = 0; i < n_q; i++) {
            const float *qh = q + (size_t)i * ld_q + hoff;
            float *oh = out + (size_t)i * ld_out + hoff;
            const int32_t *sl = kv->slot ? kv->slot + (size_t)i * kv->slot_ld : NULL;
            for (int j = 0; j < n; j++) {
                sh[j] = scale * kn_dot(qh, kn_key_row(kv->k, kv, sl, j) + hoff, dh);
                if (bh)
                    sh[j] += bh[j];
            }
            kn_softmax(sh, n);
            memset(oh, 0, (size_t)dh * sizeof *oh);
            for (int j = 0; j < n; j++)
                kn_axpy(oh, sh[j], kn_key_row(kv->v, kv, sl, j) + hoff, dh);
        }
    }
}

void kn_softmax(float *x, int n)
{
    float sum = exp_sub(x, x, max_of(x, n), n);
    scale_add(x, x, 1.0f / sum, 0.0f, n);
}

void kn_log_softmax(float *x, int n)
{
    scale_add(x, x, 1.0f, -kn_logsumexp(x, n), n);
}

/* kn_sumexp in plain C: the blocks of the vector versions, one lane. */
static float sumexp_portable(float *max, const float *x, int n)
{
    float m = -FLT_MAX, s = 0.0f;
    for (int k0 = 0; k0 < n; k0 += 256) {
        int k1 = k0 + 256 < n ? k0 + 256 : n;
        float bm = m;
        for (int k = k0; k < k1; k++)
            bm = x[k] > bm ? x[k] : bm;
        s *= expf(m - bm);
        m = bm;
        for (int k = k0; k < k1; k++)
            s += expf(x[k] - m);
    }
    *max = m;
    return s;
}

float kn_sumexp(float *max, const float *x, int n)
{
    int isa = kn_isa();
    if (isa == KN_AVX512)
        return kn_sumexp_avx512(max, x, n);
    if (isa == KN_AVX2)
        return kn_sumexp_avx2(max, x, n);
    return sumexp_portable(max, x, n);
}

float kn_logsumexp(const float *x, int n)
{
    float m, s = kn_sumexp(&m, x, n);
    return s > 0.0f ? m + logf(s) : -INFINITY;
}

void kn_add_scalar(float *y, const float *x, float c, int n)
{
    scale_add(y, x, 1.0f, c, n);
}

void kn_top_insert(float *score, int *index, int *have, float s, int i, int k)
{
    int j = *have;
    if (j == k) {
        /* full: s must beat the last entry */
        if (!(s > score[k - 1] || (s == score[k - 1] && i < index[k - 1])))
            return;
        j = k - 1;
    } else if (s != s) {
        return;
    } else {
        ++*have;
    }
    while (j > 0 && (s > score[j - 1] || (s == score[j - 1] && i < index[j - 1]))) {
        score[j] = score[j - 1];
        index[j] = index[j - 1];
        j--;
    }
    score[j] = s;
    index[j] = i;
}

void kn_top_merge(float *score, int *index, int *have, const float *x, float add, int base,
                  int n, int k)
{
    int isa = kn_isa();
    if (isa == KN_AVX512) {
        kn_top_merge_avx512(score, index, have, x, add, base, n, k);
        return;
    }
    if (isa == KN_AVX2) {
        kn_top_merge_avx2(score, index, have, x, add, base, n, k);
        return;
    }
    for (int i = 0; i < n; i++)
        kn_top_insert(score, index, have, x[i] + add, base + i, k);
}

void kn_top_merge_shifted(float *score, int *index, int *have, const float *x, float shift,
                          float add, int base, int n, int k)
{
    int isa = kn_isa();
    if (isa == KN_AVX512) {
        kn_top_merge_shifted_avx512(score, index, have, x, shift, add, base, n, k);
        return;
    }
    if (isa == KN_AVX2) {
        kn_top_merge_shifted_avx2(score, index, have, x, shift, add, base, n, k);
        return;
    }
    for (int i = 0; i < n; i++)
        kn_top_insert(score, index, have, (x[i] + shift) + add, base + i, k);
}

void kn_layernorm(float *y, const float *x, const float *w, const float *b, int d, float eps)
{
    if (kn_isa() == KN_AVX512) {
        kn_layernorm_avx512(y, x, w, b, d, eps);
        return;
    }
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < d; i++)
        sum += x[i];
    float mean = (float)(sum / d);
    for (int i = 0; i < d; i++) {
        double c = (double)(x[i] - mean);
        sq += c * c;
    }
    float rstd = (float)(1.0 / sqrt(sq / d + (double)eps));
    for (int i = 0; i < d; i++) {
        float v = (x[i] - mean) * rstd;
        if (w)
            v *= w[i];
        if (b)
            v += b[i];
        y[i] = v;
    }
}

void kn_rmsnorm(float *y, const float *x, const float *w, int d, float eps)
{
    if (kn_isa() == KN_AVX512) {
        kn_rmsnorm_avx512(y, x, w, d, eps);
        return;
    }
    double sq = 0.0;
    for (int i = 0; i < d; i++)
        sq += (double)x[i] * (double)x[i];
    float r = (float)(1.0 / sqrt(sq / d + (double)eps));
    for (int i = 0; i < d; i++)
        y[i] = w ? w[i] * (x[i] * r) : x[i] * r;
}

void kn_activate(float *x, int n, attn_act act)
{
    switch (act) {
    case ATTN_ACT_RELU:
        if (kn_isa() == KN_AVX512) {
            kn_relu_avx512(x, n);
            break;
        }
        for (int i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case ATTN_ACT_GELU:
        for (int i = 0; i < n; i++)
            x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
        break;
    case ATTN_ACT_GELU_TANH:
        for (int i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        }
        break;
    default:
        for (int i = 0; i < n; i++)
            x[i] = x[i] / (1.0f + expf(-x[i]));
        break;
    }
}
