/* transformer_int.h — the model's weights as the loader lays them out and the layers read them;
 * shared by loader.c and transformer.c, not part of the API. */
#ifndef ATTN_TRANSFORMER_INT_H
#define ATTN_TRANSFORMER_INT_H

#include "transformer.h"

#include "gemm.h"
#include "kernels.h"
#include "modelfile.h"

typedef struct norm_w {
    const float *w, *b;         /* (d) each, NULL when absent; present = the norm is applied */
    int present;
} norm_w;

typedef struct lin_w {
    kn_weight w;                /* (out, in); f32: w.panels packed at load with AVX-512 */
    gm_weight pw;               /* q8 / q4 w packed for gm_linear (many input rows; q4 always);
                                 * pw.data NULL for float weights */
    const float *b;             /* (out) or NULL */
} lin_w;

typedef struct attn_w {
    lin_w q, k, v;              /* (inner, d) */
    lin_w o;                    /* (d, inner) */
} attn_w;

typedef struct ffn_w {
    lin_w up, gate;             /* (d_ff, d); gate only when ffn_gated */
    lin_w down;                 /* (d, d_ff) */
} ffn_w;

typedef struct layer_w {
    attn_w self;
    norm_w self_norm;
    attn_w cross;               /* decoder layers only */
    norm_w cross_norm;
    ffn_w ffn;
    norm_w ffn_norm;
} layer_w;

typedef struct stack_w {
    kn_weight embed;            /* (V, d) token embedding */
    kn_weight pos;              /* (P + pos_offset, d) learned positions; data NULL if none */
    float *rel;                 /* (rel_buckets, n_heads) relative bias; NULL if none */
    norm_w embed_norm, final_norm;
    layer_w *layers;            /* (n_layers) */
    int n_layers;
} stack_w;

struct tf_model {
    mf_file *file;
    tf_config cfg;
    int inner;                  /* n_heads * d_head */
    stack_w enc, dec;
    lin_w out;                  /* (V, d) output projection (may alias dec.embed) */
    int32_t *rowsums;           /* q8 row sums of every q8 weight, carved per weight */
    void *packed;               /* every packed lin_w's pw or w.panels, carved from one 64-byte
                                 * aligned block */
    size_t n_rowsums, used_rowsums;
    const void **rs_data;       /* (n_tensors) q8 tensors whose row sums are computed ... */
    int32_t **rs_sums;          /* (n_tensors) ... and where (a shared embedding is used twice) */
    int n_rs;
};

#endif
