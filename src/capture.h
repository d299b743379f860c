/* capture.h — attention probabilities kept for the caller: the decoder's cross-attention mixed
 * into channels at every step, and the encoder's self-attention of one source; used by
 * transformer.c (its tf_attn_* functions), not part of the API. */
#ifndef ATTN_CAPTURE_H
#define ATTN_CAPTURE_H

#include <stddef.h>

typedef struct tf_capture tf_capture;

/* Allocates a capture: channel c of a step is sum over (layer l, head h) of
 * mix[c * n_dec * n_heads + l * n_heads + h] times that head's cross-attention probabilities;
 * with encoder set, the encoder's self-attention of source 0 is kept too.  Returns 0, or
 * ATTN_ERR_ARG (bad sizes, a mix that selects nothing) or ATTN_ERR_NOMEM. */
int cap_open(tf_capture **out, const float *mix, int n_channels, int encoder, int n_dec,
             int n_enc, int n_heads, int max_rows, int max_src_len);

/* Frees a capture (NULL is fine). */
void cap_free(tf_capture *c);

/* Returns 1 when cross-attention head h of decoder layer l feeds a channel. */
int cap_wants(const tf_capture *c, int l, int h);

/* Writes the cross-attention probabilities of row r, layer l, head h: softmax(scale q . k_j)
 * over the n source keys k_j = k + j * stride (dh floats each); cannot fail. */
void cap_cross(tf_capture *c, int r, int l, int h, const float *q, const float *k, size_t stride,
               float scale, int n, int dh);

/* Mixes the heads written this step into channels for n_rows rows whose sources have
 * len[src_of_row[r]] tokens (zeros past the end); cannot fail. */
void cap_mix(tf_capture *c, const int *src_of_row, const int *len, int n_rows);

/* The last step's channels: (n_rows, n_channels, max_src_len); *width = n_channels *
 * max_src_len. */
const float *cap_last(const tf_capture *c, int *width);

/* Keeps the encoder self-attention probabilities p (L, L) of layer l, head h of source 0 when
 * the capture keeps the encoder's; cannot fail. */
void cap_encoder(tf_capture *c, int l, int h, const float *p, int L);

/* Returns encoder layer l, head h's self-attention (len, len) of source 0 and sets *len, or NULL
 * when out of range or not kept. */
const float *cap_encoder_get(const tf_capture *c, int l, int h, int *len);

#endif
