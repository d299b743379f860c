/* modelfile_write.c — the attn model-file writer (attn convert, tests).
 *
 * The writer keeps a copy of every metadata value and of every tensor's decoded bytes (already
 * in the target dtype).  mf_writer_write compresses all chunks on a few threads, lays the file
 * out exactly as man/attn-format.5 says (header, metadata, directory, 64-byte aligned data) and
 * writes it to PATH.tmp, renamed over PATH once complete.
 */
#include "modelfile_int.h"

#include "threadpool.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef struct wmeta {
    char *key;
    mf_type type;
    uint8_t *value;         /* (size) bytes */
    uint64_t size;
} wmeta;

typedef struct wchunk {
    uint8_t *data;          /* deflated bytes (NULL when stored as is) */
    uint64_t size;          /* stored bytes */
    uint32_t crc;           /* CRC-32 of the stored bytes */
} wchunk;

typedef struct wtensor {
    char *name;
    attn_dtype dtype;
    int ndim;
    int64_t shape[MF_MAX_DIMS];
    uint8_t *data;          /* (decoded) decoded bytes, as the file stores them */
    uint64_t decoded;
    uint32_t crc;           /* CRC-32 of data */
    int method, filter;
    uint64_t n_chunks;
    wchunk *chunks;         /* (n_chunks) filled by mf_writer_write */
    uint64_t stored, offset;
} wtensor;

struct mf_writer {
    wmeta *meta;
    int n_meta, cap_meta;
    wtensor *tensors;
    int n_tensors, cap_tensors;
};

void mf_write_options_default(mf_write_options *opt)
{
    opt->method = MF_METHOD_DEFLATE;
    opt->level = 6;
    opt->shuffle = 1;
    opt->chunk_size = MF_DEFAULT_CHUNK;
    opt->n_threads = 0;
}

int mf_writer_open(mf_writer **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? ATTN_OK : ATTN_ERR_NOMEM;
}

/* Frees the chunk buffers of t. */
static void free_chunks(wtensor *t)
{
    for (uint64_t c = 0; t->chunks && c < t->n_chunks; c++)
        free(t->chunks[c].data);
    free(t->chunks);
    t->chunks = NULL;
}

void mf_writer_free(mf_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    for (int i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
        free_chunks(&w->tensors[i]);
    }
    free(w->meta);
    free(w->tensors);
    free(w);
}

/* Returns 1 when s is a valid key or tensor name (1..MF_MAX_NAME bytes). */
static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= MF_MAX_NAME;
}

/* Stores a copy of a metadata value under key (replacing an earlier one); returns ATTN_OK,
 * ATTN_ERR_ARG or ATTN_ERR_NOMEM. */
static int set_meta(mf_writer *w, const char *key, mf_type type, const void *value, uint64_t size)
{
    if (!w || !valid_name(key) || (size && !value))
        return ATTN_ERR_ARG;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return ATTN_ERR_NOMEM;
    if (size)
        memcpy(copy, value, size);
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            free(w->meta[i].value);
            w->meta[i].type = type;
            w->meta[i].value = copy;
            w->meta[i].size = size;
            return ATTN_OK;
        }
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? 2 * w->cap_meta : 16;
        wmeta *m = realloc(w->meta, (size_t)cap * sizeof *m);
        if (!m) {
            free(copy);
            return ATTN_ERR_NOMEM;
        }
        w->meta = m;
        w->cap_meta = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(copy);
        return ATTN_ERR_NOMEM;
    }
    w->meta[w->n_meta++] = (wmeta){k, type, copy, size};
    return ATTN_OK;
}

int mf_writer_set_i64(mf_writer *w, const char *key, int64_t v)
{
    return set_meta(w, key, MF_T_I64, &v, 8);
}

int mf_writer_set_f64(mf_writer *w, const char *key, double v)
{
    return set_meta(w, key, MF_T_F64, &v, 8);
}

int mf_writer_set_str(mf_writer *w, const char *key, const char *s)
{
    if (!s)
        return ATTN_ERR_ARG;
    return set_meta(w, key, MF_T_STR, s, strlen(s));
}

int mf_writer_set_blob(mf_writer *w, const char *key, const void *data, size_t len)
{
    return set_meta(w, key, MF_T_BLOB, data, len);
}

int mf_writer_set_i64_array(mf_writer *w, const char *key, const int64_t *v, size_t n)
{
    if (n > SIZE_MAX / 8)
        return ATTN_ERR_ARG;
    return set_meta(w, key, MF_T_I64_ARRAY, v, (uint64_t)n * 8);
}

int mf_writer_set_f64_array(mf_writer *w, const char *key, const double *v, size_t n)
{
    if (n > SIZE_MAX / 8)
        return ATTN_ERR_ARG;
    return set_meta(w, key, MF_T_F64_ARRAY, v, (uint64_t)n * 8);
}

int mf_writer_copy_meta(mf_writer *w, const mf_file *f)
{
    for (int i = 0; i < mf_meta_count(f); i++) {
        const char *key;
        mf_type type;
        const void *v = NULL;
        size_t n = 0;
        int64_t iv;
        double dv;
        int st = mf_meta_at(f, i, &key, &type);
        if (st < 0)
            return st;
        switch (type) {
        case MF_T_I64: mf_get_i64(f, key, &iv); st = mf_writer_set_i64(w, key, iv); break;
        case MF_T_F64: mf_get_f64(f, key, &dv); st = mf_writer_set_f64(w, key, dv); break;
        case MF_T_STR: mf_get_str(f, key, (const char **)&v, &n);
                       st = set_meta(w, key, MF_T_STR, v, n); break;
        case MF_T_BLOB: mf_get_blob(f, key, &v, &n); st = set_meta(w, key, type, v, n); break;
        case MF_T_I64_ARRAY: mf_get_i64_array(f, key, (const int64_t **)&v, &n);
                             st = set_meta(w, key, type, v, (uint64_t)n * 8); break;
        case MF_T_F64_ARRAY: mf_get_f64_array(f, key, (const double **)&v, &n);
                             st = set_meta(w, key, type, v, (uint64_t)n * 8); break;
        }
        if (st < 0)
            return st;
    }
    return ATTN_OK;
}

/* Checks name and shape and appends an empty tensor record; returns it, or NULL with *st set. */
static wtensor *new_tensor(mf_writer *w, const char *name, attn_dtype dtype, const int64_t *shape,
                           int ndim, int *st)
{
    *st = ATTN_ERR_ARG;
    if (!w || !valid_name(name) || dtype < ATTN_F32 || dtype > ATTN_Q4 || ndim < 1 ||
        ndim > MF_MAX_DIMS || !shape)
        return NULL;
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1 || (uint64_t)shape[d] > MF_MAX_ELEMENTS / n)
            return NULL;
        n *= (uint64_t)shape[d];
    }
    if (n > SIZE_MAX / 8)
        return NULL;
    for (int i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return NULL;
    *st = ATTN_ERR_NOMEM;
    if (w->n_tensors == w->cap_tensors) {
        int cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        wtensor *t = realloc(w->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return NULL;
        w->tensors = t;
        w->cap_tensors = cap;
    }
    wtensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->decoded = mf_decoded_bytes(dtype, shape[0], (int64_t)n);
    t->name = strdup(name);
    t->data = calloc(1, (size_t)t->decoded);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return NULL;
    }
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    *st = ATTN_OK;
    return t;
}

int mf_writer_add_f32(mf_writer *w, const char *name, attn_dtype dtype, const int64_t *shape,
                      int ndim, const float *values)
{
    int st;
    if (!values)
        return ATTN_ERR_ARG;
    wtensor *t = new_tensor(w, name, dtype, shape, ndim, &st);
    if (!t)
        return st;
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (uint64_t)shape[d];
    switch (dtype) {
    case ATTN_F32:
        memcpy(t->data, values, (size_t)n * 4);
        break;
    case ATTN_F16:
        for (uint64_t i = 0; i < n; i++)
            ((uint16_t *)(void *)t->data)[i] = attn_f32_to_f16(values[i]);
        break;
    case ATTN_BF16:
        for (uint64_t i = 0; i < n; i++)
            ((uint16_t *)(void *)t->data)[i] = attn_f32_to_bf16(values[i]);
        break;
    case ATTN_Q8: {
        float *scales = (float *)(void *)(t->data + mf_round_up(n, MF_ALIGN));
        if (attn_quantize_q8((int8_t *)t->data, scales, values, shape[0],
                           (int64_t)(n / (uint64_t)shape[0])) < 0) {
            free(t->name);
            free(t->data);
            return ATTN_ERR_ARG;
        }
        break;
    }
    case ATTN_Q4: {
        int64_t cols = (int64_t)(n / (uint64_t)shape[0]);
        uint64_t q_bytes = mf_round_up((uint64_t)shape[0] * attn_q4_row_bytes(cols), MF_ALIGN);
        uint16_t *d = (uint16_t *)(void *)(t->data + q_bytes);
        if (attn_quantize_q4(t->data, d, values, shape[0], cols) < 0) {
            free(t->name);
            free(t->data);
            return ATTN_ERR_ARG;
        }
        break;
    }
    }
    t->crc = mf_crc32(0, t->data, t->decoded);
    w->n_tensors++;
    return ATTN_OK;
}

int mf_writer_add_tensor(mf_writer *w, const mf_tensor *src)
{
    int st;
    if (!src || !src->data)
        return ATTN_ERR_ARG;
    wtensor *t = new_tensor(w, src->name, src->dtype, src->shape, src->ndim, &st);
    if (!t)
        return st;
    if (t->decoded != src->decoded_size) {
        free(t->name);
        free(t->data);
        return ATTN_ERR_ARG;
    }
    memcpy(t->data, src->data, (size_t)t->decoded);
    t->crc = mf_crc32(0, t->data, t->decoded);
    w->n_tensors++;
    return ATTN_OK;
}

/* ==== compression ========================================================================= */

typedef struct cjob {
    wtensor *t;
    uint64_t chunk;
    uint64_t off, len;      /* decoded range */
} cjob;

/* One thread's deflate stream and shuffle buffer, set up by its first job. */
typedef struct compress_buf {
    int ready;              /* 1 once set up */
    int zok;                /* 1 when the z_stream is initialized */
    z_stream zs;
    uint8_t *scratch;       /* (chunk_size) a shuffled chunk */
} compress_buf;

typedef struct compressor {
    cjob *jobs;             /* (n_jobs) */
    size_t n_jobs;
    int level;
    uint32_t chunk_size;
    compress_buf *bufs;     /* (n_threads) */
    atomic_int failed;      /* set by the first failed job: the jobs not yet begun are skipped */
} compressor;

/* Deflates chunk job `task` on thread `thread` (a tp_fn), setting up the thread's stream first;
 * sets C->failed when memory runs out. */
static void compress_task(void *ctx, int task, int thread)
{
    compressor *C = ctx;
    compress_buf *b = &C->bufs[thread];
    if (atomic_load(&C->failed))
        return;
    if (!b->ready) {
        b->ready = 1;
        b->scratch = malloc(C->chunk_size);
        b->zok = deflateInit2(&b->zs, C->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    }
    if (!b->scratch || !b->zok) {
        atomic_store(&C->failed, 1);
        return;
    }
    z_stream *zs = &b->zs;
    cjob *j = &C->jobs[task];
    const uint8_t *in = j->t->data + j->off;
    if (j->t->filter == MF_FILTER_SHUFFLE) {
        mf_shuffle(b->scratch, in, (size_t)j->len, attn_dtype_size(j->t->dtype));
        in = b->scratch;
    }
    uLong bound = deflateBound(zs, (uLong)j->len);
    uint8_t *out = malloc(bound);
    if (!out) {
        atomic_store(&C->failed, 1);
        return;
    }
    deflateReset(zs);
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)j->len;
    zs->next_out = out;
    zs->avail_out = (uInt)bound;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END) {
        free(out);
        atomic_store(&C->failed, 1);
        return;
    }
    wchunk *c = &j->t->chunks[j->chunk];
    c->data = out;
    c->size = bound - zs->avail_out;
    c->crc = mf_crc32(0, out, c->size);
}

/* Splits every tensor into chunks and deflates them (or records them as stored); returns
 * ATTN_OK or ATTN_ERR_NOMEM. */
static int compress_all(mf_writer *w, const mf_write_options *opt)
{
    size_t n_jobs = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        free_chunks(t);
        t->method = opt->method;
        t->filter = opt->method == MF_METHOD_DEFLATE && opt->shuffle && t->dtype < ATTN_Q8
                        ? MF_FILTER_SHUFFLE : MF_FILTER_NONE;
        t->n_chunks = (t->decoded + opt->chunk_size - 1) / opt->chunk_size;
        t->chunks = calloc((size_t)t->n_chunks, sizeof *t->chunks);
        if (!t->chunks)
            return ATTN_ERR_NOMEM;
        if (t->method == MF_METHOD_NONE) {
            for (uint64_t c = 0; c < t->n_chunks; c++) {
                uint64_t off = c * opt->chunk_size;
                uint64_t len =
                    t->decoded - off < opt->chunk_size ? t->decoded - off : opt->chunk_size;
                t->chunks[c].size = len;
                t->chunks[c].crc = mf_crc32(0, t->data + off, len);
            }
        } else {
            n_jobs += (size_t)t->n_chunks;
        }
    }
    if (n_jobs == 0)
        return ATTN_OK;
    compressor C;
    memset(&C, 0, sizeof C);
    C.jobs = calloc(n_jobs, sizeof *C.jobs);
    if (!C.jobs)
        return ATTN_ERR_NOMEM;
    C.level = opt->level;
    C.chunk_size = opt->chunk_size;
    for (int i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        if (t->method != MF_METHOD_DEFLATE)
            continue;
        for (uint64_t c = 0; c < t->n_chunks; c++) {
            uint64_t off = c * opt->chunk_size;
            uint64_t len = t->decoded - off < opt->chunk_size ? t->decoded - off : opt->chunk_size;
            C.jobs[C.n_jobs++] = (cjob){t, c, off, len};
        }
    }
    /* as many threads as the machine gives, down to the caller's alone */
    int n_threads = mf_thread_count(opt->n_threads, n_jobs);
    tp_pool *pool = NULL;
    while (tp_open(&pool, n_threads) != 0 && n_threads > 1)
        n_threads = 1;
    C.bufs = calloc((size_t)n_threads, sizeof *C.bufs);
    if (pool && C.bufs && n_jobs <= INT32_MAX)
        tp_run(pool, compress_task, &C, (int)n_jobs);
    else
        atomic_store(&C.failed, 1);
    tp_free(pool);
    for (int t = 0; C.bufs && t < n_threads; t++) {
        if (C.bufs[t].zok)
            deflateEnd(&C.bufs[t].zs);
        free(C.bufs[t].scratch);
    }
    free(C.bufs);
    free(C.jobs);
    if (atomic_load(&C.failed))
        return ATTN_ERR_NOMEM;
    /* a tensor that deflate shrinks by less than a tenth is stored as is (scripts/lib/attnfile.py's
     * store_chunks makes the same choice) */
    for (int i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        uint64_t stored = 0;
        for (uint64_t c = 0; t->method == MF_METHOD_DEFLATE && c < t->n_chunks; c++)
            stored += t->chunks[c].size;
        if (t->method == MF_METHOD_DEFLATE && 10 * stored > 9 * t->decoded) {
            t->method = MF_METHOD_NONE;
            t->filter = MF_FILTER_NONE;
            for (uint64_t c = 0; c < t->n_chunks; c++) {
                uint64_t off = c * opt->chunk_size;
                free(t->chunks[c].data);
                t->chunks[c].data = NULL;
                t->chunks[c].size = t->decoded - off < opt->chunk_size ? t->decoded - off
                                                                          : opt->chunk_size;
                t->chunks[c].crc = mf_crc32(0, t->data + off, t->chunks[c].size);
            }
        }
    }
    return ATTN_OK;
}

/* ==== layout and output =================================================================== */

/* Appends n bytes to a growing buffer; returns 0 or -1 when out of memory. */
static int put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        uint8_t *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    if (n)
        memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

/* Appends zero bytes up to a multiple of 8 (and at least one when nul is set); returns 0 or -1. */
static int pad8(uint8_t **buf, size_t *len, size_t *cap, int nul)
{
    static const uint8_t zero[8];
    size_t target = (size_t)mf_round_up(*len + (nul ? 1 : 0), 8);
    return put(buf, len, cap, zero, target - *len);
}

/* Serializes the metadata section; returns 0 or -1 when out of memory. */
static int build_meta(const mf_writer *w, uint8_t **buf, size_t *len)
{
    size_t cap = 0;
    *buf = NULL;
    *len = 0;
    for (int i = 0; i < w->n_meta; i++) {
        const wmeta *m = &w->meta[i];
        uint8_t e[MF_META_ENTRY];
        size_t klen = strlen(m->key);
        mf_wr32(e, (uint32_t)klen);
        mf_wr32(e + 4, (uint32_t)m->type);
        mf_wr64(e + 8, m->size);
        if (put(buf, len, &cap, e, sizeof e) < 0 || put(buf, len, &cap, m->key, klen) < 0 ||
            pad8(buf, len, &cap, 1) < 0 || put(buf, len, &cap, m->value, (size_t)m->size) < 0 ||
            pad8(buf, len, &cap, m->type == MF_T_STR) < 0)
            return -1;
    }
    return 0;
}

/* Serializes the tensor directory (data offsets left 0: mf_writer_write patches them in);
 * returns 0 or -1 when out of memory. */
static int build_dir(mf_writer *w, uint64_t chunk_size, uint8_t **buf, size_t *len)
{
    size_t cap = 0;
    *buf = NULL;
    *len = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        uint8_t e[MF_TENSOR_ENTRY];
        memset(e, 0, sizeof e);
        size_t nlen = strlen(t->name);
        t->stored = 0;
        for (uint64_t c = 0; c < t->n_chunks; c++)
            t->stored += t->chunks[c].size;
        mf_wr32(e, (uint32_t)nlen);
        e[4] = (uint8_t)t->dtype;
        e[5] = (uint8_t)t->method;
        e[6] = (uint8_t)t->filter;
        e[7] = (uint8_t)t->ndim;
        for (int d = 0; d < t->ndim; d++)
            mf_wr64(e + 8 + 8 * d, (uint64_t)t->shape[d]);
        mf_wr64(e + 48, t->stored);
        mf_wr64(e + 56, t->decoded);
        mf_wr64(e + 64, chunk_size);
        mf_wr32(e + 72, (uint32_t)t->n_chunks);
        mf_wr32(e + 76, t->crc);
        if (put(buf, len, &cap, e, sizeof e) < 0 || put(buf, len, &cap, t->name, nlen) < 0 ||
            pad8(buf, len, &cap, 1) < 0)
            return -1;
        for (uint64_t c = 0; c < t->n_chunks; c++) {
            uint8_t ce[MF_CHUNK_ENTRY];
            memset(ce, 0, sizeof ce);
            mf_wr64(ce, t->chunks[c].size);
            mf_wr32(ce + 8, t->chunks[c].crc);
            if (put(buf, len, &cap, ce, sizeof ce) < 0)
                return -1;
        }
    }
    return 0;
}

/* Writes n bytes to fp; returns 0 or -1. */
static int out(FILE *fp, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, fp) == n ? 0 : -1;
}

int mf_writer_write(mf_writer *w, const char *path, const mf_write_options *opt,
                    char *why, size_t why_len)
{
    mf_write_options defaults;
    if (!opt) {
        mf_write_options_default(&defaults);
        opt = &defaults;
    }
    if (!w || !path)
        return attn_fail(why, why_len, ATTN_ERR_ARG, "no writer or path");
    if ((opt->method != MF_METHOD_NONE && opt->method != MF_METHOD_DEFLATE) || opt->level < 0 ||
        opt->level > 9 || opt->chunk_size < MF_ALIGN || opt->chunk_size % MF_ALIGN ||
        opt->chunk_size > MF_MAX_CHUNK)
        return attn_fail(why, why_len, ATTN_ERR_ARG, "invalid write options");
    for (int i = 0; i < w->n_tensors; i++)
        if ((w->tensors[i].decoded + opt->chunk_size - 1) / opt->chunk_size > UINT32_MAX)
            return attn_fail(why, why_len, ATTN_ERR_ARG, "tensor %s: too many chunks",
                             w->tensors[i].name);
    int st = compress_all(w, opt);
    if (st < 0)
        return attn_fail(why, why_len, st, "compressing: out of memory");
    uint8_t *meta = NULL, *dir = NULL;
    size_t meta_len, dir_len;
    if (build_meta(w, &meta, &meta_len) < 0 || build_dir(w, opt->chunk_size, &dir, &dir_len) < 0) {
        free(meta);
        free(dir);
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory");
    }
    /* data offsets: each tensor at the next multiple of 64 */
    uint64_t pos = MF_HEADER_SIZE + meta_len + dir_len;
    size_t dpos = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        t->offset = mf_round_up(pos, MF_ALIGN);
        pos = t->offset + t->stored;
        /* patch the offset into the directory entry */
        mf_wr64(dir + dpos + 40, t->offset);
        dpos += MF_TENSOR_ENTRY + (size_t)mf_round_up(strlen(t->name) + 1, 8) +
                (size_t)t->n_chunks * MF_CHUNK_ENTRY;
    }
    uint8_t h[MF_HEADER_SIZE];
    memset(h, 0, sizeof h);
    memcpy(h, mf_magic, 8);
    mf_wr16(h + 8, MF_VERSION_MAJOR);
    int minor = MF_VERSION_MINOR;
    for (int i = 0; i < w->n_tensors; i++)
        if (w->tensors[i].dtype == ATTN_Q4)
            minor = MF_VERSION_MINOR_Q4;
    mf_wr16(h + 10, (uint16_t)minor);
    mf_wr64(h + 16, pos);
    mf_wr64(h + 24, meta_len);
    mf_wr64(h + 32, dir_len);
    mf_wr32(h + 40, (uint32_t)w->n_meta);
    mf_wr32(h + 44, (uint32_t)w->n_tensors);
    mf_wr32(h + 48, mf_crc32(0, meta, meta_len));
    mf_wr32(h + 52, mf_crc32(0, dir, dir_len));
    mf_wr32(h + 60, mf_crc32(0, h, 60));

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        free(meta);
        free(dir);
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        st = attn_fail(why, why_len, ATTN_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    static const uint8_t zero[MF_ALIGN];
    int bad = out(fp, h, sizeof h) < 0 || out(fp, meta, meta_len) < 0 || out(fp, dir, dir_len) < 0;
    uint64_t here = MF_HEADER_SIZE + meta_len + dir_len;
    for (int i = 0; i < w->n_tensors && !bad; i++) {
        wtensor *t = &w->tensors[i];
        bad = out(fp, zero, (size_t)(t->offset - here)) < 0;
        uint64_t doff = 0;
        for (uint64_t c = 0; c < t->n_chunks && !bad; c++) {
            const wchunk *ch = &t->chunks[c];
            bad = out(fp, ch->data ? ch->data : t->data + doff, (size_t)ch->size) < 0;
            doff += opt->chunk_size;
        }
        here = t->offset + t->stored;
    }
    int e = errno;
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        st = attn_fail(why, why_len, ATTN_ERR_IO, "writing %s: %s", tmp, strerror(e));
    } else if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        st = attn_fail(why, why_len, ATTN_ERR_IO, "renaming %s: %s", tmp, strerror(e));
    }
done:
    for (int i = 0; i < w->n_tensors; i++)
        free_chunks(&w->tensors[i]);
    free(tmp);
    free(meta);
    free(dir);
    return st;
}
