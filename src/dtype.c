/* dtype.c — dtype names and q8 quantization of whole matrices (see dtype.h). */
#include "dtype.h"

#include "status.h"

#include <math.h>

static const char *const dtype_names[ATTN_N_DTYPES] = {"f32", "f16", "bf16", "q8"};

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
