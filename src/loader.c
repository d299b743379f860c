/* loader.c — opens a model file into a tf_model: reads and checks the configuration, finds and
 * checks every weight tensor, computes q8 row sums (see transformer.h). */
#include "transformer_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loading context: the file, the reason buffer and the first error. */
typedef struct loader {
    tf_model *m;
    char *why;
    size_t why_len;
    int status;
} loader;

/* Records the first error with a formatted reason; returns the status. */
static int fail(loader *ld, int status, const char *fmt, ...)
{
    if (ld->status == ATTN_OK) {
        ld->status = status;
        if (ld->why && ld->why_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ld->why, ld->why_len, fmt, ap);
            va_end(ap);
        }
    }
    return status;
}

/* Reads an integer key (def when absent) into *out within [lo, hi]; returns ATTN_OK or
 * ATTN_ERR_MODEL. */
static int get_int(loader *ld, const char *key, int64_t def, int64_t lo, int64_t hi, int *out)
{
    int64_t v;
    if (mf_get_i64_or(ld->m->file, key, def, &v) != ATTN_OK)
        return fail(ld, ATTN_ERR_MODEL, "metadata %s: not an integer", key);
    if (v < lo || v > hi)
        return fail(ld, ATTN_ERR_MODEL, "metadata %s = %lld: out of range [%lld, %lld]", key,
                    (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return ATTN_OK;
}

/* Reads a required integer key; returns ATTN_OK or ATTN_ERR_MODEL. */
static int need_int(loader *ld, const char *key, int64_t lo, int64_t hi, int *out)
{
    int64_t v;
    if (mf_get_i64(ld->m->file, key, &v) != ATTN_OK)
        return fail(ld, ATTN_ERR_MODEL, "metadata %s: missing or not an integer", key);
    return get_int(ld, key, v, lo, hi, out);
}

/* Reads a float key (def when absent) into *out; returns ATTN_OK or ATTN_ERR_MODEL. */
static int get_float(loader *ld, const char *key, double def, float *out)
{
    double v;
    if (mf_get_f64_or(ld->m->file, key, def, &v) != ATTN_OK || !isfinite(v))
        return fail(ld, ATTN_ERR_MODEL, "metadata %s: not a finite number", key);
    *out = (float)v;
    return ATTN_OK;
}

/* Reads a string key (def when absent) and maps it through names[] to its index; returns ATTN_OK or
 * ATTN_ERR_MODEL when the value is not one of the names. */
static int get_choice(loader *ld, const char *key, const char *def, const char *const *names,
                      int n_names, int *out)
{
    const char *v;
    if (mf_get_str_or(ld->m->file, key, def, &v) != ATTN_OK)
        return fail(ld, ATTN_ERR_MODEL, "metadata %s: not a string", key);
    for (int i = 0; i < n_names; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return ATTN_OK;
        }
    return fail(ld, ATTN_ERR_MODEL, "metadata %s = \"%s\": not supported", key, v);
}

/* The metadata names of the enums of dtype.h, in the enums' order. */
static const char *const archs[] = {"transformer"};
static const char *const norms[] = {"layer", "rms"};
static const char *const acts[] = {"relu", "gelu", "gelu_tanh", "silu"};
static const char *const poss[] = {"none", "sinusoidal", "learned", "relative"};
static const char *const layouts[] = {"interleaved", "concat"};
#define N_NAMES(a) ((int)(sizeof a / sizeof a[0]))
_Static_assert(N_NAMES(norms) == ATTN_N_NORMS, "one name per attn_norm");
_Static_assert(N_NAMES(acts) == ATTN_N_ACTS, "one name per attn_act");
_Static_assert(N_NAMES(poss) == ATTN_N_POS, "one name per attn_pos");

/* Reads the configuration from the metadata; returns ATTN_OK or ATTN_ERR_MODEL. */
static int read_config(loader *ld)
{
    tf_config *c = &ld->m->cfg;
    const int BIG = 1 << 24;
    int arch, norm = 0, act = 0, pos = 0;
    get_choice(ld, "arch", "transformer", archs, N_NAMES(archs), &arch);
    need_int(ld, "vocab_size", 1, BIG, &c->vocab_size);
    need_int(ld, "d_model", 1, 65536, &c->d_model);
    need_int(ld, "n_heads", 1, 4096, &c->n_heads);
    if (ld->status)
        return ld->status;
    get_int(ld, "d_head", c->d_model / c->n_heads, 1, 65536, &c->d_head);
    need_int(ld, "d_ff", 1, 1 << 20, &c->d_ff);
    need_int(ld, "n_enc_layers", 0, 1024, &c->n_enc_layers);
    need_int(ld, "n_dec_layers", 1, 1024, &c->n_dec_layers);
    get_int(ld, "max_positions", 1024, 1, 1 << 20, &c->max_positions);
    get_choice(ld, "norm", "layer", norms, N_NAMES(norms), &norm);
    c->norm = (attn_norm)norm;
    get_float(ld, "norm_eps", c->norm == ATTN_NORM_RMS ? 1e-6 : 1e-5, &c->norm_eps);
    get_int(ld, "pre_norm", 0, 0, 1, &c->pre_norm);
    get_choice(ld, "activation", "relu", acts, N_NAMES(acts), &act);
    c->activation = (attn_act)act;
    get_int(ld, "ffn_gated", 0, 0, 1, &c->ffn_gated);
    get_choice(ld, "pos_kind", "sinusoidal", poss, N_NAMES(poss), &pos);
    c->pos_kind = (attn_pos)pos;
    get_choice(ld, "pos_sin_layout", "interleaved", layouts, N_NAMES(layouts), &c->pos_sin_concat);
    get_int(ld, "pos_offset", 0, 0, 1 << 20, &c->pos_offset);
    get_int(ld, "rel_buckets", 32, 2, 4096, &c->rel_buckets);
    get_int(ld, "rel_max_distance", 128, 2, 1 << 20, &c->rel_max_distance);
    get_float(ld, "embed_scale", 1.0, &c->embed_scale);
    if (ld->status)
        return ld->status;
    get_float(ld, "attn_scale", 1.0 / sqrt((double)c->d_head), &c->attn_scale);
    get_float(ld, "output_scale", 1.0, &c->output_scale);
    int64_t V = c->vocab_size;
    get_int(ld, "pad_id", -1, -1, V - 1, &c->pad_id);
    get_int(ld, "bos_id", -1, -1, V - 1, &c->bos_id);
    get_int(ld, "eos_id", -1, -1, V - 1, &c->eos_id);
    get_int(ld, "unk_id", -1, -1, V - 1, &c->unk_id);
    get_int(ld, "decoder_start_id", c->bos_id >= 0 ? c->bos_id : 0, 0, V - 1, &c->decoder_start_id);
    if (ld->status)
        return ld->status;
    if (c->pos_kind == ATTN_POS_SINUSOIDAL && c->d_model % 2)
        return fail(ld, ATTN_ERR_MODEL, "sinusoidal positions need an even d_model (%d)",
                    c->d_model);
    if ((int64_t)c->n_heads * c->d_head > 1 << 20)
        return fail(ld, ATTN_ERR_MODEL, "n_heads * d_head too large");
    return ATTN_OK;
}

/* Looks up a tensor by formatted name; returns ATTN_OK or ATTN_ABSENT. */
static int find_tensor(loader *ld, mf_tensor *t, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return mf_tensor_get(ld->m->file, name, t);
}

/* Fills a kernel weight from a (rows, cols) tensor, computing q8 row sums; returns ATTN_OK or
 * ATTN_ERR_MODEL when the shape differs. */
static int make_weight(loader *ld, kn_weight *w, const mf_tensor *t, int rows, int cols)
{
    if (t->ndim != 2 || (rows >= 0 && t->shape[0] != rows) || t->shape[1] != cols)
        return fail(ld, ATTN_ERR_MODEL, "tensor %s: shape (%lld, %lld), expected (%d, %d)", t->name,
                    (long long)t->shape[0], (long long)(t->ndim > 1 ? t->shape[1] : 0), rows, cols);
    w->dtype = t->dtype;
    w->rows = (int)t->shape[0];
    w->cols = cols;
    w->data = t->data;
    w->scale = t->scales;
    w->rowsum = NULL;
    w->half_scale = t->half_scales;
    w->panels = NULL;
    if (t->dtype == ATTN_Q4) {
        size_t n = (size_t)w->rows * (size_t)attn_q4_groups(cols);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(attn_f16_to_f32(t->half_scales[i])))
                return fail(ld, ATTN_ERR_MODEL, "tensor %s: q4 scale %zu is not finite", t->name,
                            i);
    }
    if (t->dtype == ATTN_Q8) {
        tf_model *m = ld->m;
        for (int i = 0; i < m->n_rs; i++)
            if (m->rs_data[i] == t->data) {
                w->rowsum = m->rs_sums[i];
                return ATTN_OK;
            }
        if (m->used_rowsums + (size_t)w->rows > m->n_rowsums)
            return fail(ld, ATTN_ERR_MODEL, "tensor %s: internal row-sum space exhausted", t->name);
        int32_t *rs = m->rowsums + m->used_rowsums;
        m->used_rowsums += (size_t)w->rows;
        const int8_t *q = t->data;
        for (int r = 0; r < w->rows; r++) {
            int32_t s = 0;
            for (int k = 0; k < cols; k++) {
                int8_t v = q[(size_t)r * (size_t)cols + (size_t)k];
                if (v == -128)
                    return fail(ld, ATTN_ERR_MODEL,
                                "tensor %s: q8 value -128 (values must be in -127..127)", t->name);
                s += v;
            }
            rs[r] = s;
        }
        w->rowsum = rs;
        m->rs_data[m->n_rs] = t->data;
        m->rs_sums[m->n_rs++] = rs;
    }
    return ATTN_OK;
}

/* Loads a 1-D f32 tensor of n values by name into *out (NULL when absent); returns ATTN_OK or
 * ATTN_ERR_MODEL when present with another shape or type. */
static int get_vec(loader *ld, const float **out, int n, const char *fmt, const char *prefix)
{
    mf_tensor t;
    *out = NULL;
    if (find_tensor(ld, &t, fmt, prefix) != ATTN_OK)
        return ATTN_OK;
    if (t.dtype != ATTN_F32 || t.ndim != 1 || t.shape[0] != n)
        return fail(ld, ATTN_ERR_MODEL, "tensor %s: expected f32 (%d)", t.name, n);
    *out = t.data;
    return ATTN_OK;
}

/* Loads PREFIX.weight (out, in) and the optional PREFIX.bias; returns ATTN_OK or ATTN_ERR_MODEL. */
static int get_lin(loader *ld, lin_w *l, const char *prefix, int out, int in)
{
    mf_tensor t;
    if (find_tensor(ld, &t, "%s.weight", prefix) != ATTN_OK)
        return fail(ld, ATTN_ERR_MODEL, "tensor %s.weight: missing", prefix);
    if (make_weight(ld, &l->w, &t, out, in))
        return ld->status;
    return get_vec(ld, &l->b, out, "%s.bias", prefix);
}

/* Loads the optional norm PREFIX.{weight,bias}; returns ATTN_OK or ATTN_ERR_MODEL. */
static int get_norm(loader *ld, norm_w *n, const char *prefix)
{
    int d = ld->m->cfg.d_model;
    get_vec(ld, &n->w, d, "%s.weight", prefix);
    get_vec(ld, &n->b, d, "%s.bias", prefix);
    n->present = n->w || n->b;
    if (ld->m->cfg.norm == ATTN_NORM_RMS && n->b)
        return fail(ld, ATTN_ERR_MODEL, "tensor %s.bias: RMSNorm has no bias", prefix);
    return ld->status;
}

/* Loads one layer's attention block PREFIX.{q,k,v,o}; returns ATTN_OK or ATTN_ERR_MODEL. */
static int get_attn(loader *ld, attn_w *a, const char *prefix)
{
    char name[128];
    int d = ld->m->cfg.d_model, inner = ld->m->inner;
    static const char *const parts[] = {"q", "k", "v"};
    lin_w *dst[] = {&a->q, &a->k, &a->v};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, parts[i]);
        if (get_lin(ld, dst[i], name, inner, d))
            return ld->status;
    }
    snprintf(name, sizeof name, "%s.o", prefix);
    return get_lin(ld, &a->o, name, d, inner);
}

/* Loads one stack ("enc" or "dec"): embeddings, positions, layers, norms; returns ATTN_OK or
 * ATTN_ERR_MODEL. */
static int get_stack(loader *ld, stack_w *s, const char *which, int n_layers, int decoder)
{
    tf_model *m = ld->m;
    const tf_config *c = &m->cfg;
    int d = c->d_model;
    char name[128];
    mf_tensor t;
    if (find_tensor(ld, &t, "%s.embed.weight", which) != ATTN_OK &&
        find_tensor(ld, &t, "embed.weight") != ATTN_OK)
        return fail(ld, ATTN_ERR_MODEL, "tensor embed.weight (or %s.embed.weight): missing", which);
    if (make_weight(ld, &s->embed, &t, c->vocab_size, d))
        return ld->status;
    if (c->pos_kind == ATTN_POS_LEARNED) {
        if (find_tensor(ld, &t, "%s.pos.weight", which) != ATTN_OK)
            return fail(ld, ATTN_ERR_MODEL, "tensor %s.pos.weight: missing (pos_kind learned)",
                        which);
        if (make_weight(ld, &s->pos, &t, -1, d))
            return ld->status;
        if (s->pos.rows <= c->pos_offset)
            return fail(ld, ATTN_ERR_MODEL, "tensor %s.pos.weight: %d rows, pos_offset %d", which,
                        s->pos.rows, c->pos_offset);
    }
    if (c->pos_kind == ATTN_POS_RELATIVE) {
        if (find_tensor(ld, &t, "%s.rel.weight", which) != ATTN_OK)
            return fail(ld, ATTN_ERR_MODEL, "tensor %s.rel.weight: missing (pos_kind relative)",
                        which);
        if (t.ndim != 2 || t.shape[0] != c->rel_buckets || t.shape[1] != c->n_heads)
            return fail(ld, ATTN_ERR_MODEL, "tensor %s.rel.weight: expected (%d, %d)", which,
                        c->rel_buckets, c->n_heads);
        s->rel = malloc((size_t)c->rel_buckets * (size_t)c->n_heads * sizeof(float));
        if (!s->rel)
            return fail(ld, ATTN_ERR_NOMEM, "out of memory");
        mf_tensor_to_f32(s->rel, &t);
    }
    snprintf(name, sizeof name, "%s.embed_norm", which);
    get_norm(ld, &s->embed_norm, name);
    snprintf(name, sizeof name, "%s.norm", which);
    get_norm(ld, &s->final_norm, name);
    s->n_layers = n_layers;
    s->layers = calloc((size_t)n_layers + 1, sizeof *s->layers);
    if (!s->layers)
        return fail(ld, ATTN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_layers && !ld->status; i++) {
        layer_w *L = &s->layers[i];
        snprintf(name, sizeof name, "%s.%d.attn", which, i);
        get_attn(ld, &L->self, name);
        snprintf(name, sizeof name, "%s.%d.attn_norm", which, i);
        get_norm(ld, &L->self_norm, name);
        if (decoder) {
            snprintf(name, sizeof name, "%s.%d.cross", which, i);
            get_attn(ld, &L->cross, name);
            snprintf(name, sizeof name, "%s.%d.cross_norm", which, i);
            get_norm(ld, &L->cross_norm, name);
        }
        snprintf(name, sizeof name, "%s.%d.ffn.up", which, i);
        get_lin(ld, &L->ffn.up, name, c->d_ff, d);
        if (c->ffn_gated) {
            snprintf(name, sizeof name, "%s.%d.ffn.gate", which, i);
            get_lin(ld, &L->ffn.gate, name, c->d_ff, d);
        }
        snprintf(name, sizeof name, "%s.%d.ffn.down", which, i);
        get_lin(ld, &L->ffn.down, name, d, c->d_ff);
        snprintf(name, sizeof name, "%s.%d.ffn_norm", which, i);
        get_norm(ld, &L->ffn_norm, name);
    }
    return ld->status;
}

/* Lists the model's linear layers that have a weight into ls (when not NULL); returns their
 * number. */
static int linear_layers(tf_model *m, lin_w **ls)
{
    int n = 0;
    stack_w *stacks[] = {&m->enc, &m->dec};
    for (int s = 0; s < 2; s++)
        for (int l = 0; l < stacks[s]->n_layers; l++) {
            layer_w *L = &stacks[s]->layers[l];
            lin_w *all[] = {&L->self.q, &L->self.k, &L->self.v, &L->self.o, &L->cross.q,
                            &L->cross.k, &L->cross.v, &L->cross.o, &L->ffn.up, &L->ffn.gate,
                            &L->ffn.down};
            for (size_t i = 0; i < sizeof all / sizeof *all; i++)
                if (all[i]->w.data) {
                    if (ls)
                        ls[n] = all[i];
                    n++;
                }
        }
    if (ls)
        ls[n] = &m->out;
    return n + 1;
}

/* Returns 1 when a linear weight is packed at load time: q8 and q4 for gm_linear, and f32 into
 * kn_linear's panels when the AVX-512 kernels run (they multiply every f32 product from them). */
static int packs(const kn_weight *w)
{
    return w->dtype == ATTN_Q8 || w->dtype == ATTN_Q4 ||
           (w->dtype == ATTN_F32 && kn_isa() == KN_AVX512);
}

/* Returns the bytes a linear weight takes packed (packs() is 1). */
static size_t packed_size(const kn_weight *w)
{
    return w->dtype == ATTN_F32 ? kn_panels_size(w->rows, w->cols)
                                : gm_pack_size(w->dtype, w->rows, w->cols);
}

/* Packs every q8 and q4 linear weight for gm_linear and, with the AVX-512 kernels, every f32
 * one into kn_linear's panels, all into one block (m->packed); returns ATTN_OK or
 * ATTN_ERR_NOMEM.  The row-major f32 weights stay for the AVX2 and portable kernels (--isa) and
 * for rows read as embeddings: from a zlib file they double the f32 weights' memory, from a
 * mapped file their pages go back to the kernel once packed (read again from the file if
 * needed). */
static int pack_weights(loader *ld)
{
    tf_model *m = ld->m;
    int n = linear_layers(m, NULL);
    lin_w **ls = malloc((size_t)n * sizeof *ls);
    if (!ls)
        return fail(ld, ATTN_ERR_NOMEM, "out of memory");
    linear_layers(m, ls);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (packs(&ls[i]->w))
            ls[k++] = ls[i];
    n = k;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += (packed_size(&ls[i]->w) + 63) & ~(size_t)63;
    m->packed = aligned_alloc(64, total ? total : 64);
    uint8_t *p = m->packed;
    for (int i = 0; p && i < n; i++) {
        kn_weight *w = &ls[i]->w;
        size_t size = packed_size(w);
        if (w->dtype == ATTN_F32) {
            kn_pack_panels((float *)(void *)p, w->data, w->rows, w->cols);
            w->panels = (const float *)(void *)p;
            /* products read the panels now: the row-major pages of a mapped file may go */
            mf_drop_pages(m->file, w->data, (size_t)w->rows * (size_t)w->cols * sizeof(float));
        } else {
            const void *scale = w->dtype == ATTN_Q8 ? (const void *)w->scale
                                                     : (const void *)w->half_scale;
            gm_pack(&ls[i]->pw, p, size, w->dtype, w->rows, w->cols, w->data, scale);
        }
        p += (size + 63) & ~(size_t)63;
    }
    free(ls);
    return p ? ATTN_OK : fail(ld, ATTN_ERR_NOMEM, "out of memory for the packed weights");
}

/* Counts the rows of every q8 2-D tensor (an upper bound on the row sums needed). */
static size_t count_q8_rows(const mf_file *f)
{
    size_t n = 0;
    mf_tensor t;
    for (int i = 0; i < mf_tensor_count(f); i++)
        if (mf_tensor_at(f, i, &t) == ATTN_OK && t.dtype == ATTN_Q8 && t.ndim == 2)
            n += (size_t)t.shape[0];
    return n;
}

int tf_model_open(tf_model **out, const char *path, char *why, size_t why_len)
{
    *out = NULL;
    if (why && why_len)
        why[0] = '\0';
    tf_model *m = calloc(1, sizeof *m);
    if (!m) {
        if (why && why_len)
            snprintf(why, why_len, "out of memory");
        return ATTN_ERR_NOMEM;
    }
    loader ld = {m, why, why_len, ATTN_OK};
    int r = mf_open(&m->file, path, NULL, why, why_len);
    if (r < 0) {
        free(m);
        return r == ATTN_ERR_NOMEM ? ATTN_ERR_NOMEM : ATTN_ERR_FILE;
    }
    if (read_config(&ld))
        goto fail;
    tf_config *c = &m->cfg;
    m->inner = c->n_heads * c->d_head;
    m->n_rowsums = count_q8_rows(m->file);
    size_t n_tensors = (size_t)mf_tensor_count(m->file) + 1;
    m->rs_data = calloc(n_tensors, sizeof *m->rs_data);
    m->rs_sums = calloc(n_tensors, sizeof *m->rs_sums);
    if (!m->rs_data || !m->rs_sums ||
        (m->n_rowsums && !(m->rowsums = malloc(m->n_rowsums * sizeof *m->rowsums)))) {
        fail(&ld, ATTN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (get_stack(&ld, &m->enc, "enc", c->n_enc_layers, 0) ||
        get_stack(&ld, &m->dec, "dec", c->n_dec_layers, 1))
        goto fail;
    mf_tensor t;
    if (mf_tensor_get(m->file, "out.weight", &t) == ATTN_OK) {
        if (make_weight(&ld, &m->out.w, &t, c->vocab_size, c->d_model))
            goto fail;
    } else {
        m->out.w = m->dec.embed;
    }
    if (get_vec(&ld, &m->out.b, c->vocab_size, "%s.bias", "out"))
        goto fail;
    c->weight_dtype = m->out.w.dtype;
    if (c->n_dec_layers > 0)
        c->weight_dtype = m->dec.layers[0].ffn.up.w.dtype;
    if (pack_weights(&ld))
        goto fail;
    *out = m;
    return ATTN_OK;
fail:
    tf_model_free(m);
    return ld.status;
}

void tf_model_free(tf_model *m)
{
    if (!m)
        return;
    free(m->enc.layers);
    free(m->dec.layers);
    free(m->enc.rel);
    free(m->dec.rel);
    free(m->rowsums);
    free(m->packed);
    free(m->rs_data);
    free(m->rs_sums);
    mf_free(m->file);
    free(m);
}

const tf_config *tf_model_config(const tf_model *m)
{
    return &m->cfg;
}

/* Returns the bytes a weight occupies (q8 and q4: values and scales). */
static size_t weight_bytes(const kn_weight *w)
{
    if (w->dtype == ATTN_Q4)
        return (size_t)w->rows * (attn_q4_row_bytes(w->cols) + 2 * (size_t)attn_q4_groups(w->cols));
    size_t n = (size_t)w->rows * (size_t)w->cols * attn_dtype_size(w->dtype);
    return w->dtype == ATTN_Q8 ? n + (size_t)w->rows * sizeof(float) : n;
}

/* Returns the multiply-adds a weight takes per input row. */
static size_t weight_macs(const kn_weight *w)
{
    return (size_t)w->rows * (size_t)w->cols;
}

/* Returns the sum of f over the weights one decoder step multiplies each row by: every decoder
 * layer's self-attention, cross-attention query and output, feed-forward weights, and the
 * output projection. */
static size_t decoder_step_sum(const tf_model *m, size_t (*f)(const kn_weight *))
{
    size_t total = f(&m->out.w);
    for (int l = 0; l < m->cfg.n_dec_layers; l++) {
        const layer_w *L = &m->dec.layers[l];
        const kn_weight *ws[] = {&L->self.q.w, &L->self.k.w, &L->self.v.w, &L->self.o.w,
                                 &L->cross.q.w, &L->cross.o.w, &L->ffn.up.w, &L->ffn.down.w};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            total += f(ws[i]);
        if (m->cfg.ffn_gated)
            total += f(&L->ffn.gate.w);
    }
    return total;
}

size_t tf_decoder_weight_bytes(const tf_model *m)
{
    return decoder_step_sum(m, weight_bytes);
}

size_t tf_decoder_step_macs(const tf_model *m)
{
    return decoder_step_sum(m, weight_macs);
}

const struct mf_file *tf_model_file(const tf_model *m)
{
    return m->file;
}
