/* engine.c — a model file opened into everything generation needs, its generation defaults
 * applied with a caller's overrides, and generate.c driven on the Transformer (see engine.h). */
#include "engine.h"

#include "gemm.h"
#include "kernels.h"
#include "modelfile.h"
#include "spm.h"
#include "threadpool.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct engine {
    tf_model *model;
    const tf_config *cfg;
    tokenizer *tok;                   /* NULL when the file has no tokenizer */
    tokenizer *tgt_tok;               /* the outputs' tokenizer when it differs, else NULL */
    tok_encoder *enc, *tgt_enc;       /* their encoders */
    eng_defaults d;
};

struct eng_run {
    tf_state *st;
    gen *g;
    gen_model gm;
    gen_params p;               /* the settings g was opened with */
    int max_sources, max_src_len;
    double t_encode;            /* seconds spent in the encoder */
};

/* ---- the model file's generation defaults ------------------------------------------------- */

/* Reads integer key (def when absent) within [lo, hi] into *out; returns ATTN_OK or
 * ATTN_ERR_MODEL. */
static int get_int(const mf_file *f, const char *key, int64_t def, int64_t lo, int64_t hi,
                   int *out, char *why, size_t why_len)
{
    int64_t v;
    if (mf_get_i64_or(f, key, def, &v) != ATTN_OK)
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "metadata %s: not an integer", key);
    if (v < lo || v > hi)
        return attn_fail(why, why_len, ATTN_ERR_MODEL,
                         "metadata %s = %lld: out of range [%lld, %lld]",
                         key, (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return ATTN_OK;
}

/* Reads finite number key (def when absent) into *out; returns ATTN_OK or ATTN_ERR_MODEL. */
static int get_float(const mf_file *f, const char *key, double def, float *out, char *why,
                     size_t why_len)
{
    double v;
    if (mf_get_f64_or(f, key, def, &v) != ATTN_OK || !isfinite(v))
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "metadata %s: not a finite number", key);
    *out = (float)v;
    return ATTN_OK;
}

/* Reads gen.bad_ids into d; returns ATTN_OK or ATTN_ERR_MODEL. */
static int get_bad_ids(const mf_file *f, int V, eng_defaults *d, char *why, size_t why_len)
{
    const int64_t *bad;
    size_t n;
    int r = mf_get_i64_array(f, "gen.bad_ids", &bad, &n);
    if (r == ATTN_ABSENT)
        return ATTN_OK;
    if (r != ATTN_OK)
        return attn_fail(why, why_len, ATTN_ERR_MODEL,
                         "metadata gen.bad_ids: not an integer array");
    if (n > ENG_MAX_BAD_IDS)
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "metadata gen.bad_ids: more than %d ids",
                         ENG_MAX_BAD_IDS);
    for (size_t i = 0; i < n; i++) {
        if (bad[i] < 0 || bad[i] >= V)
            return attn_fail(why, why_len, ATTN_ERR_MODEL,
                             "metadata gen.bad_ids: id %lld out of range", (long long)bad[i]);
        d->bad_ids[i] = (int32_t)bad[i];
    }
    d->n_bad_ids = (int)n;
    return ATTN_OK;
}

/* Reads every gen.* key of the file into d (man/attn-format.5 lists them); returns ATTN_OK or
 * ATTN_ERR_MODEL with the reason. */
static int read_gen_keys(const mf_file *f, const tf_config *c, eng_defaults *d, char *why,
                         size_t why_len)
{
    int V = c->vocab_size, early = 0, rc;
    if ((rc = get_int(f, "gen.forced_bos_id", -1, -1, V - 1, &d->forced_bos_id, why, why_len)) ||
        (rc = get_int(f, "gen.forced_eos_id", -1, -1, V - 1, &d->forced_eos_id, why, why_len)) ||
        (rc = get_int(f, "gen.max_length", 256, 1, 1 << 20, &d->max_length, why, why_len)) ||
        (rc = get_int(f, "gen.min_length", 0, 0, 1 << 20, &d->min_length, why, why_len)) ||
        (rc = get_int(f, "gen.num_beams", 1, 1, 1024, &d->num_beams, why, why_len)) ||
        (rc = get_int(f, "gen.no_repeat_ngram", 0, 0, 1024, &d->no_repeat_ngram, why,
                      why_len)) ||
        (rc = get_int(f, "gen.early_stopping", 0, 0, 2, &early, why, why_len)) ||
        (rc = get_float(f, "gen.length_penalty", 1.0, &d->length_penalty, why, why_len)) ||
        (rc = get_float(f, "gen.repetition_penalty", 1.0, &d->repetition_penalty, why,
                        why_len)) ||
        (rc = get_bad_ids(f, V, d, why, why_len)))
        return rc;
    d->early_stopping = (gen_stopping)early;   /* 0 false, 1 true, 2 never */
    /* Marian's rule, pad -inf before log_softmax in beams: the key, else implied by a banned pad */
    int pad_banned = 0;
    for (int i = 0; i < d->n_bad_ids; i++)
        pad_banned |= c->pad_id >= 0 && d->bad_ids[i] == c->pad_id;
    return get_int(f, "gen.beam_mask_pad", pad_banned, 0, 1, &d->beam_mask_pad, why, why_len);
}

/* Reads the task and lang.source keys into d (translator, source_lang); returns ATTN_OK or
 * ATTN_ERR_MODEL with the reason. */
static int read_task_keys(const mf_file *f, eng_defaults *d, char *why, size_t why_len)
{
    const char *task, *lang;
    if (mf_get_str_or(f, "task", "", &task) != ATTN_OK)
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "metadata task: not a string");
    if (mf_get_str_or(f, "lang.source", "en", &lang) != ATTN_OK ||
        strlen(lang) >= sizeof d->source_lang)
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "metadata lang.source: not a language code");
    d->translator = strcmp(task, "translation") == 0;
    strcpy(d->source_lang, lang);
    return ATTN_OK;
}

/* Opens tokenizer blob key of the file into *t (left NULL when absent); returns ATTN_OK or
 * ATTN_ERR_MODEL with the reason. */
static int open_blob_tokenizer(const mf_file *f, const char *key, tokenizer **t, char *why,
                               size_t why_len)
{
    const void *blob;
    size_t len;
    if (mf_get_blob(f, key, &blob, &len) != ATTN_OK)
        return ATTN_OK;
    char tw[200];
    if (tok_open_mem(t, blob, len, tw, sizeof tw) < 0)
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "%s: %s", key, tw);
    return ATTN_OK;
}

/* Sets the source language token of e to code's id (of the source tokenizer); returns ATTN_OK
 * or ATTN_ERR_LANG with the reason. */
static int set_src_lang(engine *e, const char *code, char *why, size_t why_len)
{
    int32_t id = spm_map_lang_id(e->tok, code);
    if (id < 0 || id >= e->cfg->vocab_size)
        return attn_fail(why, why_len, ATTN_ERR_LANG,
                         "source language '%s': not a language code of the model", code);
    e->d.src_lang_id = id;
    return ATTN_OK;
}

int eng_detok_flags(const struct mf_file *f, int *flags, char *why, size_t why_len)
{
    static const struct {
        const char *key;
        int flag;
    } keys[] = {{"detok.strip_spaces", TOK_CLEAN_STRIP},
                {"detok.cleanup_spaces", TOK_CLEAN_SPACES}};
    *flags = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int64_t on;
        if (mf_get_i64_or(f, keys[i].key, 0, &on) < 0)
            return attn_fail(why, why_len, ATTN_ERR_MODEL, "%s: not an integer", keys[i].key);
        *flags |= on != 0 ? keys[i].flag : 0;
    }
    return ATTN_OK;
}

/* Opens the file's tokenizers (if any) and reads src.add_bos / src.add_eos / src.lang and
 * the detok.* keys into e; returns ATTN_OK, ATTN_ERR_NOMEM or ATTN_ERR_MODEL with the
 * reason. */
static int open_tokenizer(engine *e, char *why, size_t why_len)
{
    const mf_file *f = tf_model_file(e->model);
    e->d.src_bos_id = e->d.src_eos_id = e->d.src_lang_id = -1;
    int rc = open_blob_tokenizer(f, "tokenizer", &e->tok, why, why_len);
    if (rc == ATTN_OK && e->tok)
        rc = open_blob_tokenizer(f, "tokenizer.target", &e->tgt_tok, why, why_len);
    if (rc < 0 || !e->tok)
        return rc;
    if (e->tgt_tok && tok_vocab_size(e->tgt_tok) != tok_vocab_size(e->tok))
        return attn_fail(why, why_len, ATTN_ERR_MODEL,
                         "tokenizer.target: %zu ids, the source tokenizer has %zu",
                         tok_vocab_size(e->tgt_tok), tok_vocab_size(e->tok));
    if (tok_encoder_open(&e->enc, e->tok) < 0 ||
        (e->tgt_tok && tok_encoder_open(&e->tgt_enc, e->tgt_tok) < 0))
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory");
    int64_t add_bos = 0, add_eos = 1;
    const char *lang;
    if (mf_get_i64_or(f, "src.add_bos", 0, &add_bos) < 0 ||
        mf_get_i64_or(f, "src.add_eos", 1, &add_eos) < 0)
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "src.add_bos / src.add_eos: not an integer");
    if (eng_detok_flags(f, &e->d.clean_text, why, why_len) < 0)
        return ATTN_ERR_MODEL;
    e->d.src_bos_id = add_bos != 0 ? e->cfg->bos_id : -1;
    e->d.src_eos_id = add_eos != 0 ? e->cfg->eos_id : -1;
    e->d.src_eos_once = add_eos == 2;
    if (mf_get_str_or(f, "src.lang", "", &lang) != ATTN_OK)
        return attn_fail(why, why_len, ATTN_ERR_MODEL, "metadata src.lang: not a string");
    if (*lang && set_src_lang(e, lang, why, why_len) < 0)
        return attn_fail(why, why_len, ATTN_ERR_MODEL,
                         "metadata src.lang '%s': not a language code of the tokenizer", lang);
    return ATTN_OK;
}

int eng_open(engine **out, const char *path, char *why, size_t why_len)
{
    *out = NULL;
    engine *e = calloc(1, sizeof *e);
    if (!e)
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory");
    int rc = tf_model_open(&e->model, path, why, why_len);
    if (rc < 0) {
        eng_free(e);
        return rc;
    }
    e->cfg = tf_model_config(e->model);
    rc = read_gen_keys(tf_model_file(e->model), e->cfg, &e->d, why, why_len);
    e->d.decoder_start_id = e->cfg->decoder_start_id;
    if (rc == ATTN_OK)
        rc = read_task_keys(tf_model_file(e->model), &e->d, why, why_len);
    if (rc == ATTN_OK)
        rc = open_tokenizer(e, why, why_len);
    if (rc < 0) {
        eng_free(e);
        return rc;
    }
    *out = e;
    return ATTN_OK;
}

void eng_free(engine *e)
{
    if (!e)
        return;
    tok_encoder_free(e->enc);
    tok_encoder_free(e->tgt_enc);
    tok_free(e->tok);
    tok_free(e->tgt_tok);
    tf_model_free(e->model);
    free(e);
}

const tf_model *eng_model(const engine *e) { return e->model; }
const tf_config *eng_config(const engine *e) { return e->cfg; }
const tokenizer *eng_tokenizer(const engine *e) { return e->tok; }
const tokenizer *eng_target_tokenizer(const engine *e) { return e->tgt_tok ? e->tgt_tok : e->tok; }

int eng_set_langs(engine *e, const char *src, const char *tgt, char *why, size_t why_len)
{
    if (src && e->d.src_lang_id < 0)
        return attn_fail(why, why_len, ATTN_ERR_LANG,
                         "--src-lang: the model has no source language token (not mBART)");
    if (src && set_src_lang(e, src, why, why_len) < 0)
        return ATTN_ERR_LANG;
    if (!tgt)
        return ATTN_OK;
    const tokenizer *t = eng_target_tokenizer(e);
    int32_t id = t ? spm_map_lang_id(t, tgt) : -1;
    int *slot = t && spm_map_is_lang(t, e->d.forced_bos_id) ? &e->d.forced_bos_id
                : t && spm_map_is_lang(t, e->d.decoder_start_id) ? &e->d.decoder_start_id : NULL;
    if (!slot)
        return attn_fail(why, why_len, ATTN_ERR_LANG, "--tgt-lang: the model does not choose its "
                         "output language by a token (no forced_bos or decoder start code)");
    if (id < 0 || id >= e->cfg->vocab_size)
        return attn_fail(why, why_len, ATTN_ERR_LANG,
                         "target language '%s': not a language code of the model", tgt);
    *slot = id;
    return ATTN_OK;
}

size_t eng_frame_source(const engine *e, int32_t *ids, size_t n)
{
    const eng_defaults *d = &e->d;
    if (n == 0)
        return 0;
    if (d->src_bos_id >= 0) {
        memmove(ids + 1, ids, n * sizeof *ids);
        ids[0] = d->src_bos_id;
        n++;
    }
    if (d->src_eos_id >= 0 && !(d->src_eos_once && ids[n - 1] == d->src_eos_id))
        ids[n++] = d->src_eos_id;
    if (d->src_lang_id >= 0)
        ids[n++] = d->src_lang_id;
    return n;
}

void eng_truncate_source(const engine *e, int32_t *ids, size_t n)
{
    const eng_defaults *d = &e->d;
    size_t k = (d->src_eos_id >= 0) + (d->src_lang_id >= 0);
    if (n < k)
        return;
    if (d->src_eos_id >= 0)
        ids[n - k] = d->src_eos_id;
    if (d->src_lang_id >= 0)
        ids[n - 1] = d->src_lang_id;
}
tok_encoder *eng_encoder(const engine *e) { return e->enc; }
tok_encoder *eng_target_encoder(const engine *e) { return e->tgt_enc ? e->tgt_enc : e->enc; }
const eng_defaults *eng_file_defaults(const engine *e) { return &e->d; }

/* ---- settings: the defaults with the overrides applied ------------------------------------ */

void eng_overrides_default(eng_overrides *o)
{
    memset(o, 0, sizeof *o);
    o->mode = -1;
    o->num_beams = 1;
    o->n_best = 1;
    o->max_new_tokens = o->min_new_tokens = o->no_repeat_ngram = o->early_stopping = -1;
    o->length_penalty = o->repetition_penalty = NAN;
    o->temperature = o->top_p = 1.0;
}

/* Draws a random 63-bit seed (the time and process id when the system has no randomness). */
static uint64_t draw_seed(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    return seed & 0x7fffffffffffffffull;
}

int eng_params(const engine *e, const eng_overrides *o, gen_params *p)
{
    eng_overrides none;
    if (!o) {
        eng_overrides_default(&none);
        o = &none;
    }
    const tf_config *c = e->cfg;
    const eng_defaults *d = &e->d;
    gen_params_default(p);
    int model_max = d->max_length > 1 ? d->max_length - 1 : 1;
    p->max_new_tokens = o->max_new_tokens > 0 ? o->max_new_tokens : model_max;
    if (p->max_new_tokens > c->max_positions) {
        if (o->max_new_tokens > 0)
            return ATTN_ERR_LENGTH;
        p->max_new_tokens = c->max_positions;
    }
    p->min_new_tokens = o->min_new_tokens >= 0 ? o->min_new_tokens
                        : d->min_length > 1 ? d->min_length - 1 : 0;
    if (p->min_new_tokens > p->max_new_tokens)
        p->min_new_tokens = p->max_new_tokens;
    p->mode = o->mode >= 0 ? (gen_mode)o->mode : d->num_beams > 1 ? GEN_BEAM : GEN_GREEDY;
    p->num_beams = p->mode != GEN_BEAM ? 1 : o->mode == GEN_BEAM ? o->num_beams : d->num_beams;
    p->n_best = o->n_best;
    p->decoder_start_id = d->decoder_start_id;
    p->eos_id = o->ignore_eos ? -1 : c->eos_id;
    p->pad_id = c->pad_id;
    p->forced_bos_id = d->forced_bos_id;
    p->forced_eos_id = d->forced_eos_id;
    p->bad_ids = d->bad_ids;
    p->n_bad_ids = d->n_bad_ids;
    p->beam_mask_pad = d->beam_mask_pad;
    p->prefix = o->prefix;
    p->prefix_len = o->prefix_len;
    p->repetition_penalty = (float)(isnan(o->repetition_penalty) ? d->repetition_penalty
                                                                  : o->repetition_penalty);
    p->no_repeat_ngram = o->no_repeat_ngram >= 0 ? o->no_repeat_ngram : d->no_repeat_ngram;
    p->temperature = (float)o->temperature;
    p->top_k = o->top_k;
    p->top_p = (float)o->top_p;
    p->min_p = (float)o->min_p;
    p->length_penalty = (float)(isnan(o->length_penalty) ? d->length_penalty : o->length_penalty);
    p->early_stopping = o->early_stopping >= 0 ? (gen_stopping)o->early_stopping
                                               : d->early_stopping;
    p->seed = o->has_seed || p->mode != GEN_SAMPLE ? o->seed : draw_seed();
    return gen_params_check(p, c->vocab_size) < 0 ? ATTN_ERR_PARAM : ATTN_OK;
}

/* ---- runs: generate.c on the Transformer -------------------------------------------------- */

/* Returns the seconds of clock id. */
static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double eng_now(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

double eng_thread_cpu(void)
{
    return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

/* Encodes sources on the engine, timing it; returns its status. */
static int run_encode(void *ctx, const int32_t *const *src, const int *len, int n)
{
    eng_run *r = ctx;
    double t = eng_now();
    int rc = tf_encode(r->st, src, len, n);
    r->t_encode += eng_now() - t;
    return rc;
}

/* Starts decoder rows on the engine; returns its status. */
static int run_begin(void *ctx, const int *src_of_row, int n)
{
    return tf_decode_begin(((eng_run *)ctx)->st, src_of_row, n);
}

/* Runs one decoder step on the engine; returns its status. */
static int run_step(void *ctx, float *logits, const int32_t *tok, int n)
{
    return tf_decode_step(((eng_run *)ctx)->st, logits, tok, n);
}

/* Reorders (or drops) decoder rows on the engine; returns its status. */
static int run_reorder(void *ctx, const int *parent, int n)
{
    return tf_decode_reorder(((eng_run *)ctx)->st, parent, n);
}

/* Returns the engine's attention channels of the last step. */
static const float *run_attn(void *ctx)
{
    int width;
    return tf_attn_last(((eng_run *)ctx)->st, &width);
}

int eng_run_open(eng_run **out, const engine *e, const gen_params *p, int max_sources,
                 int max_src_len, int n_threads)
{
    *out = NULL;
    eng_run *r = calloc(1, sizeof *r);
    if (!r)
        return ATTN_ERR_NOMEM;
    int V = e->cfg->vocab_size;
    int rc = gen_open(&r->g, p, V, max_sources);
    if (rc < 0) {
        eng_run_free(r);
        return rc;
    }
    rc = tf_state_open(&r->st, e->model, max_sources, gen_rows(r->g, max_sources), max_src_len,
                       p->max_new_tokens, n_threads);
    if (rc >= 0)
        rc = gen_use_pool(r->g, tf_pool(r->st));
    if (rc < 0) {
        eng_run_free(r);
        return rc;
    }
    r->gm = (gen_model){r, V, run_encode, run_begin, run_step, run_reorder, run_attn};
    r->p = *p;
    r->max_sources = max_sources;
    r->max_src_len = max_src_len;
    *out = r;
    return ATTN_OK;
}

int eng_run_attention(eng_run *r, const float *mix, int n_channels, int encoder)
{
    int rc = tf_attn_capture(r->st, mix, n_channels, encoder);
    if (rc < 0)
        return rc;
    gen_params p = r->p;
    p.attn_width = n_channels * r->max_src_len;
    gen *g;
    if ((rc = gen_open(&g, &p, r->gm.vocab_size, r->max_sources)) < 0)
        return rc;
    if ((rc = gen_use_pool(g, tf_pool(r->st))) < 0) {
        gen_free(g);
        return rc;
    }
    gen_free(r->g);
    r->g = g;
    r->p = p;
    return ATTN_OK;
}

int eng_attn_width(const eng_run *r)
{
    return r->p.attn_width;
}

const float *eng_score_attn(const eng_run *r, int t)
{
    return gen_score_attn(r->g, t);
}

const float *eng_encoder_attn(const eng_run *r, int layer, int head, int *len)
{
    return tf_attn_encoder(r->st, layer, head, len);
}

void eng_run_free(eng_run *r)
{
    if (!r)
        return;
    tf_state_free(r->st);
    gen_free(r->g);
    free(r);
}

int eng_generate(eng_run *r, const gen_source *src, int n, gen_progress_fn fn, void *user)
{
    return gen_run(r->g, &r->gm, src, n, fn, user);
}

int eng_score(eng_run *r, float *const *logprobs, const gen_source *src,
              const int32_t *const *tgt, const int *tgt_len, int n)
{
    return gen_score(r->g, &r->gm, logprobs, src, tgt, tgt_len, n);
}

const gen_result *eng_result(const eng_run *r, int s) { return gen_result_get(r->g, s); }
int eng_model_status(const eng_run *r) { return gen_model_status(r->g); }
double eng_encode_seconds(const eng_run *r) { return r->t_encode; }

/* ---- the machine: instruction sets and memory bandwidth ----------------------------------- */

int eng_isa_parse(const char *name)
{
    static const int isas[] = {KN_PORTABLE, KN_AVX2, KN_AVX512};
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (strcmp(name, kn_isa_name(isas[i])) == 0)
            return isas[i];
    return ATTN_ERR_ISA;
}

int eng_isa_set(int isa) { return kn_set_isa(isa) == isa ? ATTN_OK : ATTN_ERR_ISA; }
int eng_isa(void) { return kn_isa(); }
const char *eng_isa_name(int isa) { return kn_isa_name(isa); }

typedef struct peak_job {
    double (*probe)(long);      /* gm_peak_fma or gm_peak_int8 */
    double rate[256];           /* per-task operations per CPU second */
} peak_job;

/* Runs one peak probe on this thread and records its rate per second of this thread's CPU
 * time (a thread pool task). */
static void peak_task(void *ctx, int task, int thread)
{
    (void)thread;
    peak_job *j = ctx;
    double t0 = eng_thread_cpu(), ops = j->probe(20000000), s = eng_thread_cpu() - t0;
    j->rate[task & 255] = s > 0 ? ops / s : 0.0;
}

int eng_peak_rates(int n_threads, int reps, double *fma, double *int8)
{
    tp_pool *pool;
    *fma = *int8 = 0.0;
    if (n_threads > 256 || tp_open(&pool, n_threads) != 0)
        return ATTN_ERR_NOMEM;
    double (*probes[2])(long) = {gm_peak_fma, gm_peak_int8};
    double *out[2] = {fma, int8};
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < reps + 1; r++) {    /* the first pass warms up and is not counted */
            peak_job j = {probes[k], {0}};
            tp_run(pool, peak_task, &j, tp_threads(pool));
            double sum = 0.0;
            for (int t = 0; t < tp_threads(pool); t++)
                sum += j.rate[t];
            if (r > 0 && sum > *out[k])
                *out[k] = sum;
        }
    tp_free(pool);
    return ATTN_OK;
}

typedef struct bw_job {
    const float *buf;
    size_t n;                   /* floats */
    int n_tasks;
    float sink[256];            /* per-thread sums, so that the reads are not optimised away */
} bw_job;

/* Reads one slice of the bandwidth buffer (a thread pool task). */
static void bw_task(void *ctx, int task, int thread)
{
    bw_job *j = ctx;
    size_t per = j->n / (size_t)j->n_tasks;
    const float *p = j->buf + per * (size_t)task;
    float s = 0.0f;
    for (size_t off = 0; off < per; off += 4096)
        s += kn_dot(p + off, p + off, (int)(per - off < 4096 ? per - off : 4096));
    j->sink[thread & 255] += s;
}

double eng_read_bandwidth(int mb, int n_threads, int reps)
{
    tp_pool *pool;
    if (tp_open(&pool, n_threads) != 0)
        return 0.0;
    size_t n = (size_t)mb << 18;
    float *buf = aligned_alloc(64, n * sizeof *buf);
    if (!buf) {
        tp_free(pool);
        return 0.0;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)(i & 1023) * 1e-3f;
    bw_job j = {buf, n, 64 * tp_threads(pool), {0}};
    double best = 0.0;
    for (int r = 0; r < reps + 1; r++) {    /* the first pass warms up and is not counted */
        double t0 = eng_now();
        tp_run(pool, bw_task, &j, j.n_tasks);
        double bw = (double)n * sizeof(float) / (eng_now() - t0);
        if (r > 0 && bw > best)
            best = bw;
    }
    free(buf);
    tp_free(pool);
    return best;
}
