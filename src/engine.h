/* engine.h — the seam between attn's commands (and tests) and its libraries: a model file opened
 * into everything generation needs, the file's generation defaults with a caller's overrides
 * turned into generation settings in one function, and runs of generate.c on the Transformer.
 *
 * Usage (error handling elided; functions return ATTN_OK = 0 or a negative ATTN_ERR_*):
 *
 *     engine *e;  char why[256];
 *     eng_open(&e, "models/en-fr.attn", why, sizeof why);     // weights, tokenizer, gen.* keys
 *     eng_overrides o;  eng_overrides_default(&o);  o.mode = GEN_BEAM;  o.num_beams = 4;
 *     gen_params p;  eng_params(e, &o, &p);                     // the file's defaults + o
 *     eng_run *r;  eng_run_open(&r, e, &p, 8, 512, 2);          // 8 sources, 2 threads
 *     gen_source src = {ids, n_ids, 0};
 *     eng_generate(r, &src, 1, NULL, NULL);
 *     const gen_result *res = eng_result(r, 0);                 // res->hyps[0].ids ...
 *     eng_run_free(r);  eng_free(e);
 *
 * Each generation default of a model file (the gen.* and src.* keys of man/attn-format.5) is read
 * here and nowhere else, by eng_open; eng_params is the one place where they meet the overrides.
 *
 * Thread safety: an engine is read-only after eng_open except for its tokenizer's encoder
 * (eng_encoder), which one thread uses at a time; an eng_run belongs to one thread at a time.
 * Memory: eng_run_open allocates everything a run needs; eng_generate and eng_score do not.
 */
#ifndef ATTN_ENGINE_H
#define ATTN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "tok.h"
#include "generate.h"
#include "transformer.h"

/* Status codes: the engine returns libattn's (status.h): ATTN_OK = 0, negative ATTN_ERR_* on
 * error, described by attn_strerror. */

#define ENG_MAX_BAD_IDS 64

/* A model file's generation defaults: its gen.* and src.* keys, checked. */
typedef struct eng_defaults {
    int max_length;             /* gen.max_length: decoder start + new tokens */
    int min_length;             /* gen.min_length */
    int num_beams;              /* gen.num_beams: > 1 makes beam search the default */
    int no_repeat_ngram;        /* gen.no_repeat_ngram */
    gen_stopping early_stopping;    /* gen.early_stopping */
    float length_penalty;       /* gen.length_penalty */
    float repetition_penalty;   /* gen.repetition_penalty */
    int forced_bos_id, forced_eos_id;   /* gen.forced_bos_id, gen.forced_eos_id; -1 if none */
    int32_t bad_ids[ENG_MAX_BAD_IDS];   /* (n_bad_ids) gen.bad_ids */
    int n_bad_ids;
    int beam_mask_pad;          /* gen.beam_mask_pad (absent: 1 when gen.bad_ids holds pad_id) */
    int src_bos_id, src_eos_id; /* put before / after a text source (src.add_bos / src.add_eos
                                   with bos_id / eos_id), -1 if not */
    int src_eos_once;           /* src.add_eos 2: no eos after tokens that end with it (T5) */
    int src_lang_id;            /* put after eos: the source language code (src.lang, mBART's
                                   en_XX, or --src-lang), -1 if none */
    int clean_text;             /* tok_clean_text flags for the outputs' text (detok.*) */
    int decoder_start_id;       /* decoder_start_id, or the --tgt-lang code that replaced it */
    int translator;             /* task is "translation": records are split into sentences */
    char source_lang[16];       /* lang.source, the source text's language ("en" when absent) */
} eng_defaults;

/* A caller's choices that replace the file's defaults; eng_overrides_default leaves every one
 * at "the model's". */
typedef struct eng_overrides {
    int mode;                   /* gen_mode, or -1: beam when gen.num_beams > 1, else greedy */
    int num_beams;              /* beams when mode is GEN_BEAM */
    int n_best;                 /* hypotheses kept per source (default 1) */
    int max_new_tokens;         /* > 0, or -1: gen.max_length - 1, capped to the positions */
    int min_new_tokens;         /* >= 0, or -1: gen.min_length - 1 */
    int no_repeat_ngram;        /* >= 0, or -1: the model's */
    int early_stopping;         /* gen_stopping, or -1: the model's */
    double length_penalty;      /* NAN: the model's */
    double repetition_penalty;  /* NAN: the model's */
    double temperature, top_p, min_p;   /* sampling (defaults 1, 1, 0) */
    int top_k;                  /* sampling (default 0: off) */
    int has_seed;               /* 0: sampling draws a seed (eng_params writes it into p->seed) */
    uint64_t seed;
    const int32_t *prefix;      /* (prefix_len) forced target prefix; kept alive by the caller */
    int prefix_len;
    int ignore_eos;             /* 1: never stop before max_new_tokens (benchmarks) */
} eng_overrides;

typedef struct engine engine;
typedef struct eng_run eng_run;

/* Reads the fix-ups a model file asks for its decoded text into *flags (tok_clean_text flags:
 * detok.strip_spaces, detok.cleanup_spaces; absent keys are 0); returns ATTN_OK, or
 * ATTN_ERR_MODEL naming the key that is not an integer. */
int eng_detok_flags(const struct mf_file *f, int *flags, char *why, size_t why_len);

/* Opens the model file at path with its tokenizer (when it has one) and its generation defaults;
 * returns ATTN_OK, or a negative ATTN_ERR_* (the file's, ATTN_ERR_NOMEM, ATTN_ERR_MODEL for bad
 * gen.* / src.* keys or tokenizer) with a one-line reason in why (*out is NULL). */
int eng_open(engine **out, const char *path, char *why, size_t why_len);

/* Frees an engine (NULL is fine); every eng_run on it must be freed first. */
void eng_free(engine *e);

/* The model's weights and configuration. */
const tf_model *eng_model(const engine *e);
const tf_config *eng_config(const engine *e);

/* The model's tokenizer (of its sources) and its encoder, or NULL when the file has none (token
 * ids only); eng_target_tokenizer and eng_target_encoder are the outputs' (tokenizer.target,
 * else the same ones: what `attn score` encodes its targets with). */
const tokenizer *eng_tokenizer(const engine *e);
const tokenizer *eng_target_tokenizer(const engine *e);
tok_encoder *eng_target_encoder(const engine *e);

/* The most ids eng_frame_source adds to a source. */
#define ENG_FRAME_MAX 3

/* Frames a text source's n token ids in ids (room for n + ENG_FRAME_MAX) as the model's
 * tokenizer does: bos before, eos and the source language code after (those the model has); an
 * empty source stays empty.  Returns the new count. */
size_t eng_frame_source(const engine *e, int32_t *ids, size_t n);

/* Ends a framed source cut to n ids with the model's eos and language code again. */
void eng_truncate_source(const engine *e, int32_t *ids, size_t n);

/* Chooses the source and target languages by their codes (NULL: the model's default): the source
 * code put after eos (mBART), the target code that replaces the model's forced first token or
 * decoder start token, whichever is a language code.  Returns ATTN_OK or ATTN_ERR_LANG with the
 * reason (a model without language tokens, a code the model does not have). */
int eng_set_langs(engine *e, const char *src, const char *tgt, char *why, size_t why_len);
tok_encoder *eng_encoder(const engine *e);

/* The model file's generation defaults. */
const eng_defaults *eng_file_defaults(const engine *e);

/* Sets every override to "the model's" (n_best 1, temperature 1, top-p 1). */
void eng_overrides_default(eng_overrides *o);

/* Fills p from the model's generation defaults with o applied (o may be NULL); p points into e
 * (bad ids) and o (prefix), which must outlive it.  Returns ATTN_OK, ATTN_ERR_LENGTH (o asks for
 * more new tokens than the model has positions) or ATTN_ERR_PARAM (gen_params_check refused). */
int eng_params(const engine *e, const eng_overrides *o, gen_params *p);

/* Opens a run of settings p on e for up to max_sources sources of up to max_src_len tokens with
 * n_threads threads; returns ATTN_OK, or ATTN_ERR_NOMEM, ATTN_ERR_PARAM, ATTN_ERR_ARG or
 * ATTN_ERR_THREAD from the generator and the engine state (*out is NULL on error). */
int eng_run_open(eng_run **out, const engine *e, const gen_params *p, int max_sources,
                 int max_src_len, int n_threads);

/* Frees a run (NULL is fine). */
void eng_run_free(eng_run *r);

/* Decodes n sources (gen_run on the engine); returns a GEN_* status (ATTN_ERR_DECODER: see
 * eng_model_status). */
int eng_generate(eng_run *r, const gen_source *src, int n, gen_progress_fn fn, void *user);

/* Teacher-forces targets on sources (gen_score on the engine); returns a GEN_* status. */
int eng_score(eng_run *r, float *const *logprobs, const gen_source *src,
              const int32_t *const *tgt, const int *tgt_len, int n);

/* Asks run r for attention (set up before decoding; allocates): cross-attention channels mixed
 * from the decoder's heads as tf_attn_capture describes, mix (n_channels, n_dec_layers *
 * n_heads), kept per output token in each hypothesis (gen_hyp.attn, eng_attn_width floats a
 * token: channel k's source token j at k * max_src_len + j) and after eng_score
 * (eng_score_attn); with encoder set, the encoder self-attention of the first source of each
 * eng_generate (eng_encoder_attn).  n_channels 0 without encoder turns it off.  Returns ATTN_OK,
 * ATTN_ERR_ARG, ATTN_ERR_PARAM or ATTN_ERR_NOMEM (the run is unchanged on error). */
int eng_run_attention(eng_run *r, const float *mix, int n_channels, int encoder);

/* Floats of attention kept per output token (0 when off). */
int eng_attn_width(const eng_run *r);

/* Pair t's attention after eng_score: (tgt_len[t] + 1, eng_attn_width), or NULL. */
const float *eng_score_attn(const eng_run *r, int t);

/* Encoder layer's head's self-attention (len, len) of the first source of the last run, or
 * NULL (see eng_run_attention). */
const float *eng_encoder_attn(const eng_run *r, int layer, int head, int *len);

/* Source s's result after eng_generate (NULL when out of range). */
const gen_result *eng_result(const eng_run *r, int s);

/* The engine's TF_* status behind the last ATTN_ERR_DECODER (attn_strerror describes it). */
int eng_model_status(const eng_run *r);

/* Seconds the run has spent in the encoder since it was opened. */
double eng_encode_seconds(const eng_run *r);

/* Seconds on a monotonic clock (every timing of the engine and the command line). */
double eng_now(void);

/* CPU seconds of the calling thread (time it ran, not time it waited for a core). */
double eng_thread_cpu(void);

/* Instruction sets of the kernels: eng_isa_parse maps "portable", "avx2" or "avx512" to its
 * number (or ATTN_ERR_ISA); eng_isa_set selects one for the whole process (ATTN_OK, or
 * ATTN_ERR_ISA when this CPU lacks it); eng_isa returns the one in use; eng_isa_name the name of
 * a number. */
int eng_isa_parse(const char *name);
int eng_isa_set(int isa);
int eng_isa(void);
const char *eng_isa_name(int isa);

/* Measures this machine's memory read bandwidth in bytes/s: the best of reps passes over an
 * mb-MiB buffer read by n_threads threads with the kernels in use; returns 0 when memory or
 * threads are short. */
double eng_read_bandwidth(int mb, int n_threads, int reps);

/* Measures this machine's arithmetic peak on n_threads threads with the kernels in use: *fma
 * gets f32 multiply-add operations per second, *int8 int8 dot-product operations per second (a
 * multiply and an add count two; the best of reps passes of tight loops, each thread's rate per
 * second of its own CPU time, summed over the threads); both 0 where the instruction set has no
 * such unit.  Returns ATTN_OK, or ATTN_ERR_NOMEM when the threads cannot be started. */
int eng_peak_rates(int n_threads, int reps, double *fma, double *int8);


#endif
