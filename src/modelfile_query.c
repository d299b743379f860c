/* modelfile_query.c — what an open model file answers: metadata by key or index, tensors by
 * name or index, a tensor's values as floats (see modelfile.h). */
#include "modelfile_int.h"

#include <string.h>

/* Finds key; returns its entry or NULL. */
static const mf_meta_entry *find_meta(const mf_file *f, const char *key)
{
    int lo = 0, hi = f->n_meta - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const mf_meta_entry *e = &f->meta[f->meta_order[mid]];
        int c = strcmp(key, e->key);
        if (c == 0)
            return e;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

int mf_meta_count(const mf_file *f) { return f->n_meta; }

int mf_meta_at(const mf_file *f, int i, const char **key, mf_type *type)
{
    if (i < 0 || i >= f->n_meta)
        return ATTN_ERR_ARG;
    *key = f->meta[i].key;
    *type = f->meta[i].type;
    return ATTN_OK;
}

int mf_meta_type(const mf_file *f, const char *key, mf_type *type)
{
    const mf_meta_entry *e = find_meta(f, key);
    if (!e)
        return ATTN_ABSENT;
    *type = e->type;
    return ATTN_OK;
}

/* Finds key with the given type: returns ATTN_OK with *e set, ATTN_ABSENT or ATTN_ERR_TYPE. */
static int typed(const mf_file *f, const char *key, mf_type type, const mf_meta_entry **e)
{
    *e = find_meta(f, key);
    if (!*e)
        return ATTN_ABSENT;
    return (*e)->type == type ? ATTN_OK : ATTN_ERR_TYPE;
}

int mf_get_i64(const mf_file *f, const char *key, int64_t *out)
{
    const mf_meta_entry *e;
    int st = typed(f, key, MF_T_I64, &e);
    if (st == ATTN_OK)
        memcpy(out, e->value, 8);
    return st;
}

int mf_get_f64(const mf_file *f, const char *key, double *out)
{
    const mf_meta_entry *e;
    int st = typed(f, key, MF_T_F64, &e);
    if (st == ATTN_OK) {
        memcpy(out, e->value, 8);
    } else if (st == ATTN_ERR_TYPE && e->type == MF_T_I64) {
        int64_t v;
        memcpy(&v, e->value, 8);
        *out = (double)v;
        st = ATTN_OK;
    }
    return st;
}

int mf_get_str(const mf_file *f, const char *key, const char **out, size_t *len)
{
    const mf_meta_entry *e;
    int st = typed(f, key, MF_T_STR, &e);
    if (st == ATTN_OK) {
        *out = (const char *)e->value;
        if (len)
            *len = (size_t)e->size;
    }
    return st;
}

int mf_get_blob(const mf_file *f, const char *key, const void **out, size_t *len)
{
    const mf_meta_entry *e;
    int st = typed(f, key, MF_T_BLOB, &e);
    if (st == ATTN_OK) {
        *out = e->value;
        *len = (size_t)e->size;
    }
    return st;
}

int mf_get_i64_array(const mf_file *f, const char *key, const int64_t **out, size_t *n)
{
    const mf_meta_entry *e;
    int st = typed(f, key, MF_T_I64_ARRAY, &e);
    if (st == ATTN_OK) {
        *out = (const int64_t *)(const void *)e->value;
        *n = (size_t)(e->size / 8);
    }
    return st;
}

int mf_get_f64_array(const mf_file *f, const char *key, const double **out, size_t *n)
{
    const mf_meta_entry *e;
    int st = typed(f, key, MF_T_F64_ARRAY, &e);
    if (st == ATTN_OK) {
        *out = (const double *)(const void *)e->value;
        *n = (size_t)(e->size / 8);
    }
    return st;
}

int mf_get_i64_or(const mf_file *f, const char *key, int64_t def, int64_t *out)
{
    int st = mf_get_i64(f, key, out);
    if (st == ATTN_ABSENT) {
        *out = def;
        st = ATTN_OK;
    }
    return st;
}

int mf_get_f64_or(const mf_file *f, const char *key, double def, double *out)
{
    int st = mf_get_f64(f, key, out);
    if (st == ATTN_ABSENT) {
        *out = def;
        st = ATTN_OK;
    }
    return st;
}

int mf_get_str_or(const mf_file *f, const char *key, const char *def, const char **out)
{
    int st = mf_get_str(f, key, out, NULL);
    if (st == ATTN_ABSENT) {
        *out = def;
        st = ATTN_OK;
    }
    return st;
}

int mf_tensor_count(const mf_file *f) { return f->n_tensors; }

int mf_tensor_at(const mf_file *f, int i, mf_tensor *out)
{
    if (i < 0 || i >= f->n_tensors)
        return ATTN_ERR_ARG;
    *out = f->tensors[i].t;
    return ATTN_OK;
}

int mf_tensor_get(const mf_file *f, const char *name, mf_tensor *out)
{
    int lo = 0, hi = f->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const mf_tensor_rec *r = &f->tensors[f->tensor_order[mid]];
        int c = strcmp(name, r->t.name);
        if (c == 0) {
            *out = r->t;
            return ATTN_OK;
        }
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return ATTN_ABSENT;
}

int mf_tensor_to_f32(float *out, const mf_tensor *t)
{
    int64_t n = t->n_elements;
    switch (t->dtype) {
    case ATTN_F32:
        memcpy(out, t->data, (size_t)n * 4);
        break;
    case ATTN_F16:
        for (int64_t i = 0; i < n; i++)
            out[i] = attn_f16_to_f32(((const uint16_t *)t->data)[i]);
        break;
    case ATTN_BF16:
        for (int64_t i = 0; i < n; i++)
            out[i] = attn_bf16_to_f32(((const uint16_t *)t->data)[i]);
        break;
    case ATTN_Q4: {
        int64_t cols = n / t->shape[0], groups = attn_q4_groups(cols);
        for (int64_t r = 0; r < t->shape[0]; r++)
            attn_q4_dequant_row(out + r * cols,
                                (const uint8_t *)t->data + (size_t)r * attn_q4_row_bytes(cols),
                                t->half_scales + r * groups, cols);
        break;
    }
    case ATTN_Q8: {
        int64_t cols = n / t->shape[0];
        for (int64_t i = 0; i < n; i++)
            out[i] = t->scales[i / cols] * (float)((const int8_t *)t->data)[i];
        break;
    }
    }
    return ATTN_OK;
}
