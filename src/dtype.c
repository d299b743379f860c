/* dtype.c — dtype names, q8 and q4 quantization of whole matrices, the q4 reference
 * dequantization (see dtype.h). */
#include "dtype.h"

#include "status.h"

#include <math.h>

static const char *const dtype_names[ATTN_N_DTYPES] = {"f32", "f16", "bf16", "q8", "q4"};

const char *attn_dtype_name(attn_dtype dtype)
{
    return (unsigned)dtype < ATTN_N_DTYPES ? dtype_names[dtype] : "?";
}

int attn_dtype_parse(attn_dtype *out, const char *name)
{
    for (int d = 0; d < ATTN_N_DTYPES; d++)
        if (strcmp(name, dtype_names[d]) == 0) {
            *out = (attn_dtype)d;
            return ATTN_OK;
        }
    return ATTN_ERR_ARG;
}

int attn_quantize_q8(int8_t *q, float *scales, const float *x, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        float maxabs = 0.0f;
        for (int64_t c = 0; c < cols; c++) {
            if (!isfinite(row[c]))
                return ATTN_ERR_ARG;
            float a = fabsf(row[c]);
            if (a > maxabs)
                maxabs = a;
        }
        float scale = maxabs / 127.0f;
        scales[r] = scale;
        for (int64_t c = 0; c < cols; c++) {
            float v = scale > 0.0f ? nearbyintf(row[c] / scale) : 0.0f;
            q[r * cols + c] = (int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : v);
        }
    }
    return ATTN_OK;
}

int attn_quantize_q4(uint8_t *nib, uint16_t *d, const float *x, int64_t rows, int64_t cols)
{
    int64_t groups = attn_q4_groups(cols);
    size_t rb = attn_q4_row_bytes(cols);
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        uint8_t *nr = nib + (size_t)r * rb;
        memset(nr, 0x88, rb);
        for (int64_t g = 0; g < groups; g++) {
            int64_t k0 = g * ATTN_Q4_GROUP;
            int64_t k1 = cols - k0 < ATTN_Q4_GROUP ? cols : k0 + ATTN_Q4_GROUP;
            float m = 0.0f;
            for (int64_t k = k0; k < k1; k++) {
                if (!isfinite(row[k]))
                    return ATTN_ERR_ARG;
                if (fabsf(row[k]) > fabsf(m))
                    m = row[k];
            }
            uint16_t h = attn_f32_to_f16(m / -8.0f);
            float dd = attn_f16_to_f32(h);
            if (isinf(dd))
                return ATTN_ERR_ARG;
            d[r * groups + g] = h;
            for (int64_t k = k0; k < k1 && dd != 0.0f; k++) {
                float v = nearbyintf(row[k] / dd) + 8.0f;
                int q = v < 0.0f ? 0 : v > 15.0f ? 15 : (int)v;
                uint8_t *byte = nr + k / 2;
                *byte = (uint8_t)(k & 1 ? (*byte & 0x0f) | (q << 4) : (*byte & 0xf0) | q);
            }
        }
    }
    return ATTN_OK;
}

void attn_q4_dequant_row(float *out, const uint8_t *nib, const uint16_t *d, int64_t cols)
{
    for (int64_t k = 0; k < cols; k++) {
        int q = (nib[k / 2] >> (4 * (k & 1))) & 15;
        out[k] = attn_f16_to_f32(d[k / ATTN_Q4_GROUP]) * (float)(q - 8);
    }
}
