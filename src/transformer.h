/* transformer.h — attn's inference engine: an encoder-decoder Transformer on the CPU.
 *
 * Status codes: every function that can fail returns ATTN_OK (0) or a negative ATTN_ERR_* of
 * status.h, which attn_strerror() describes; tf_model_open also writes a one-line reason.
 *
 * Usage (error handling elided):
 *
 *     tf_model *m;  char why[256];
 *     tf_model_open(&m, "models/en-fr.attn", why, sizeof why);
 *     const tf_config *c = tf_model_config(m);
 *     tf_state *st;
 *     tf_state_open(&st, m, 1, 4, 128, 128, 2);    // 1 source, 4 rows (beams), lengths, threads
 *     tf_encode(st, &src, &src_len, 1);            // encoder + cross-attention K/V, once
 *     int src_of_row[4] = {0, 0, 0, 0};
 *     tf_decode_begin(st, src_of_row, 4);
 *     int32_t tok[4] = {c->decoder_start_id, ...};
 *     for (;;) {
 *         tf_decode_step(st, logits, tok, 4);      // logits (4, vocab_size)
 *         ... choose tokens; for beams: tf_decode_reorder(st, parent, 4); ...
 *     }
 *     tf_state_free(st);  tf_model_free(m);
 *
 * Thread safety: a tf_model is read-only after tf_model_open and may be shared by any number of
 * tf_states on any number of threads.  A tf_state belongs to one thread at a time; it owns a pool
 * of n_threads - 1 worker threads that split each matrix product over its output dimension.
 *
 * Memory: tf_model_open holds the weights (the model file's arena) and small derived tables;
 * tf_state_open allocates every buffer a run needs, sized from the configuration and the maximum
 * batch and lengths given to it.  tf_encode, tf_decode_* never allocate.
 *
 * Architecture (all from the model file's metadata, see man/attn-format.5): token embedding times
 * embed_scale, plus sinusoidal or learned positions (with an offset) or T5 relative position
 * buckets (one table per stack shared by all its layers, none in cross-attention); optional norm
 * after the embedding; N encoder layers (self-attention, feed-forward) and N decoder layers
 * (causal self-attention, cross-attention, feed-forward), post-norm or pre-norm, LayerNorm or
 * RMSNorm, optional final norms; attention softmax(attn_scale * Q K^T + bias + mask) V;
 * feed-forward relu / gelu / gelu_tanh / silu, optionally gated; decoder output times
 * output_scale, projected by out.weight (or the tied decoder embedding) plus out.bias.
 */
#ifndef ATTN_TRANSFORMER_H
#define ATTN_TRANSFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "status.h"

struct mf_file;
struct tp_pool;

/* Hyperparameters and special ids read from the model file (generation defaults: engine.h). */
typedef struct tf_config {
    int vocab_size, d_model, n_heads, d_head, d_ff;
    int n_enc_layers, n_dec_layers;
    int max_positions;          /* longest source / target the model accepts */
    attn_norm norm;
    float norm_eps;
    int pre_norm;               /* 0: x = N(x + f(x)); 1: x = x + f(N(x)) */
    attn_act activation;
    int ffn_gated;              /* 1: down(act(gate x) * up x) */
    attn_pos pos_kind;
    int pos_sin_concat;         /* sinusoidal layout: 0 interleaved, 1 concat (Marian) */
    int pos_offset;             /* learned positions: position p reads row p + pos_offset */
    int rel_buckets, rel_max_distance;
    float embed_scale, attn_scale, output_scale;
    attn_dtype weight_dtype;    /* of the largest weights (for reports) */
    int pad_id, bos_id, eos_id, unk_id, decoder_start_id;   /* -1 if none */
} tf_config;

typedef struct tf_model tf_model;   /* read-only after open; shareable across threads */
typedef struct tf_state tf_state;   /* one per thread; everything allocated at open */

/* Opens an attn model file and checks its configuration and tensors; returns ATTN_OK, or
 * ATTN_ERR_NOMEM / ATTN_ERR_FILE / ATTN_ERR_MODEL with a one-line reason in why (may be NULL). */
int tf_model_open(tf_model **out, const char *path, char *why, size_t why_len);

/* Frees a model (NULL is fine); every state opened on it must be freed first. */
void tf_model_free(tf_model *m);

/* Returns the model's hyperparameters, special ids and generation defaults. */
const tf_config *tf_model_config(const tf_model *m);

/* Returns the bytes of weights one decoder step reads per batch: every decoder layer's
 * self-attention, cross-attention query and output, feed-forward weights, and the output
 * projection (the memory-bandwidth bound of decoding is bandwidth / this). */
size_t tf_decoder_weight_bytes(const tf_model *m);

/* Returns the multiply-adds of weight products one decoder step does per row (per beam and
 * source): the weights tf_decoder_weight_bytes counts, as rows x columns. */
size_t tf_decoder_step_macs(const tf_model *m);

/* Returns the underlying model file, for metadata access (e.g. the tokenizer blob). */
const struct mf_file *tf_model_file(const tf_model *m);

/* Creates a run state for up to max_src sources of up to max_src_len tokens and up to max_rows
 * decoder rows (e.g. max_src * beams) of up to max_tgt_len steps, computing with n_threads
 * threads (>= 1); returns ATTN_OK, ATTN_ERR_ARG, ATTN_ERR_NOMEM or ATTN_ERR_THREAD. */
int tf_state_open(tf_state **out, const tf_model *m, int max_src, int max_rows, int max_src_len,
                  int max_tgt_len, int n_threads);

/* Frees a state and stops its threads (NULL is fine). */
void tf_state_free(tf_state *st);

/* Returns the state's thread pool, for the caller's own per-step work between the state's calls
 * (generate.h's gen_use_pool); it lives as long as the state. */
struct tp_pool *tf_pool(tf_state *st);

/* Encodes n_src sources (source s: src[s][0..len[s]-1], 1 <= len[s] <= max_src_len, no padding
 * needed) and computes each source's cross-attention keys and values once; returns ATTN_OK or
 * ATTN_ERR_ARG (bad count, length or token id). */
int tf_encode(tf_state *st, const int32_t *const *src, const int *len, int n_src);

/* Starts n_rows decoder rows at position 0; row r attends source src_of_row[r] of the last
 * tf_encode (beams of one source share its keys and values); returns ATTN_OK, ATTN_ERR_ARG or
 * ATTN_ERR_STATE (nothing encoded). */
int tf_decode_begin(tf_state *st, const int *src_of_row, int n_rows);

/* Feeds one token per row at the next position and writes logits (n_rows, vocab_size) for the
 * position after it; returns ATTN_OK, ATTN_ERR_ARG (bad token or row count) or ATTN_ERR_STATE (no
 * tf_decode_begin, or max_tgt_len steps already taken). */
int tf_decode_step(tf_state *st, float *logits, const int32_t *tokens, int n_rows);

/* Beam reordering: new row r continues old row parent[r] (its self-attention history and its
 * source); n_rows may shrink; returns ATTN_OK or ATTN_ERR_ARG. Costs O(n_rows * steps), no copying
 * of keys and values. */
int tf_decode_reorder(tf_state *st, const int *parent, int n_rows);

/* Returns source s's encoder output (len, d_model) of the last tf_encode and sets *len, or NULL
 * when s is out of range; for tests. */
const float *tf_encoder_output(const tf_state *st, int s, int *len);

/* Returns the number of decoder steps taken since tf_decode_begin. */
int tf_decode_position(const tf_state *st);

/* Attention probabilities for the caller (alignments, heatmaps), off unless asked for.
 * tf_attn_capture allocates what capture needs (call it before decoding, not in the token loop):
 * after each tf_decode_step, channel k of row r holds sum over decoder layer l and head h of
 * mix[k * n_dec_layers * n_heads + l * n_heads + h] times that head's cross-attention
 * probabilities over the row's source tokens (softmax(attn_scale * Q K^T) as the model computes
 * it); mix (n_channels, n_dec_layers * n_heads), e.g. 1 / n_heads for every head of one layer
 * gives PyTorch's average_attn_weights.  With encoder set, tf_encode also keeps every encoder
 * layer's self-attention of source 0.  n_channels 0 without encoder turns capture off.  Returns
 * ATTN_OK, ATTN_ERR_ARG (a mix that selects no head) or ATTN_ERR_NOMEM. */
int tf_attn_capture(tf_state *st, const float *mix, int n_channels, int encoder);

/* The last decoder step's channels (n_rows, n_channels, max_src_len), zero past each row's source
 * length; sets *width = n_channels * max_src_len (floats per row); NULL when capture is off. */
const float *tf_attn_last(const tf_state *st, int *width);

/* Encoder layer's head's self-attention (len, len) of source 0 of the last tf_encode (row i:
 * query token i) and sets *len; NULL when not kept or out of range. */
const float *tf_attn_encoder(const tf_state *st, int layer, int head, int *len);

#endif
