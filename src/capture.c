/* capture.c — attention probabilities kept for the caller (see capture.h): the chosen decoder
 * cross-attention heads per step mixed into channels, and the encoder self-attention of one
 * source.  Everything is allocated by cap_open; the step functions never allocate. */
#include "capture.h"

#include "arena.h"
#include "kernels.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

struct tf_capture {
    int n_dec, n_enc, H, max_rows, Lmax;
    int n_channels, n_sel;
    int *sel_of;                /* (n_dec * H) index among the selected heads, or -1 */
    float *mix;                 /* (n_channels, n_sel) weight of each selected head */
    float *probs;               /* (max_rows, n_sel, Lmax) this step's probabilities */
    float *out;                 /* (max_rows, n_channels, Lmax) this step's channels */
    float *enc;                 /* (n_enc, H, Lmax, Lmax) encoder self-attention, or NULL */
    int enc_len;                /* source 0's length when enc was written, else 0 */
    void *mem;
};

int cap_open(tf_capture **out, const float *mix, int n_channels, int encoder, int n_dec,
             int n_enc, int n_heads, int max_rows, int max_src_len)
{
    *out = NULL;
    if (n_channels < 0 || n_channels > 65536 || (n_channels > 0 && !mix) || n_dec < 1 ||
        n_heads < 1 || max_rows < 1 || max_src_len < 1)
        return ATTN_ERR_ARG;
    int LH = n_dec * n_heads, n_sel = 0;
    for (int i = 0; i < LH; i++) {
        int used = 0;
        for (int c = 0; c < n_channels; c++)
            used |= mix[(size_t)c * LH + i] != 0.0f;
        n_sel += used;
    }
    if (n_channels > 0 && n_sel == 0)
        return ATTN_ERR_ARG;
    tf_capture *c = calloc(1, sizeof *c);
    if (!c)
        return ATTN_ERR_NOMEM;
    c->n_dec = n_dec;
    c->n_enc = n_enc;
    c->H = n_heads;
    c->max_rows = max_rows;
    c->Lmax = max_src_len;
    c->n_channels = n_channels;
    c->n_sel = n_sel;
    size_t R = (size_t)max_rows, L = (size_t)max_src_len, f = sizeof(float);
    char *base = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t p = 0;
        c->sel_of = attn_carve(base, &p, (size_t)LH * sizeof(int));
        c->mix = attn_carve(base, &p, (size_t)n_channels * n_sel * f);
        c->probs = attn_carve(base, &p, R * n_sel * L * f);
        c->out = attn_carve(base, &p, R * n_channels * L * f);
        c->enc = encoder ? attn_carve(base, &p, (size_t)n_enc * n_heads * L * L * f) : NULL;
        if (pass == 0 && !(base = c->mem = calloc(1, p))) {
            free(c);
            return ATTN_ERR_NOMEM;
        }
    }
    for (int i = 0, s = 0; i < LH; i++) {
        int used = 0;
        for (int k = 0; k < n_channels; k++)
            used |= mix[(size_t)k * LH + i] != 0.0f;
        c->sel_of[i] = used ? s : -1;
        for (int k = 0; used && k < n_channels; k++)
            c->mix[(size_t)k * n_sel + s] = mix[(size_t)k * LH + i];
        s += used;
    }
    *out = c;
    return ATTN_OK;
}

void cap_free(tf_capture *c)
{
    if (!c)
        return;
    free(c->mem);
    free(c);
}

int cap_wants(const tf_capture *c, int l, int h)
{
    return c->n_sel > 0 && c->sel_of[l * c->H + h] >= 0;
}

void cap_cross(tf_capture *c, int r, int l, int h, const float *q, const float *k, size_t stride,
               float scale, int n, int dh)
{
    float *p = c->probs + ((size_t)r * c->n_sel + (size_t)c->sel_of[l * c->H + h]) * c->Lmax;
    for (int j = 0; j < n; j++)
        p[j] = scale * kn_dot(q, k + (size_t)j * stride, dh);
    kn_softmax(p, n);
}

void cap_mix(tf_capture *c, const int *src_of_row, const int *len, int n_rows)
{
    size_t L = (size_t)c->Lmax;
    for (int r = 0; r < n_rows; r++) {
        int n = len[src_of_row[r]];
        for (int k = 0; k < c->n_channels; k++) {
            float *o = c->out + ((size_t)r * c->n_channels + k) * L;
            memset(o, 0, L * sizeof *o);
            for (int s = 0; s < c->n_sel; s++) {
                float w = c->mix[(size_t)k * c->n_sel + s];
                if (w != 0.0f)
                    kn_axpy(o, w, c->probs + ((size_t)r * c->n_sel + s) * L, n);
            }
        }
    }
}

const float *cap_last(const tf_capture *c, int *width)
{
    *width = c->n_channels * c->Lmax;
    return c->out;
}

void cap_encoder(tf_capture *c, int l, int h, const float *p, int L)
{
    if (!c->enc || L > c->Lmax)
        return;
    float *dst = c->enc + ((size_t)l * c->H + h) * c->Lmax * c->Lmax;
    memcpy(dst, p, (size_t)L * L * sizeof *p);
    c->enc_len = L;
}

const float *cap_encoder_get(const tf_capture *c, int l, int h, int *len)
{
    if (!c->enc || c->enc_len == 0 || l < 0 || l >= c->n_enc || h < 0 || h >= c->H)
        return NULL;
    *len = c->enc_len;
    return c->enc + ((size_t)l * c->H + h) * c->Lmax * c->Lmax;
}
