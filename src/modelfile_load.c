/* modelfile_load.c — loading a model file's tensors: one job per chunk on the thread pool (read,
 * check the stored CRC, inflate, undo the byte shuffle, CRC the decoded bytes), then the
 * tensors' CRCs from their chunks' (see modelfile.c for the parsing that comes first). */
#include "modelfile_int.h"

#include "threadpool.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { JOB_OK, JOB_IO, JOB_NOMEM, JOB_CRC, JOB_INFLATE, JOB_SHORT, JOB_LONG, JOB_TRAILING };

typedef struct job {
    int tensor;
    uint32_t chunk;
    uint64_t file_off;      /* where the stored chunk is */
    uint64_t stored;        /* its stored bytes */
    uint64_t dec_off;       /* where its decoded bytes go, from the tensor's start */
    uint64_t dec_len;
    uint32_t crc;           /* CRC-32 of the decoded chunk (computed) */
    int result;             /* JOB_* */
    int err;                /* errno for JOB_IO */
    const char *zmsg;       /* zlib's message for JOB_INFLATE (a static string) */
} job;

/* One thread's inflate stream and buffers, set up by its first job. */
typedef struct load_buf {
    int ready;              /* 1 once set up (zok and the buffers say how it went) */
    int zok;                /* 1 when the z_stream is initialized */
    z_stream zs;
    uint8_t *inbuf;         /* (max_stored) a stored deflate chunk */
    uint8_t *scratch;       /* (max_shuffled) an inflated chunk before unshuffling */
} load_buf;

typedef struct loader {
    mf_file *f;
    const mf_source *src;
    job *jobs;              /* (n_jobs) */
    size_t n_jobs;
    int verify;             /* compute and check CRCs */
    size_t max_stored;      /* largest deflate chunk to read */
    size_t max_shuffled;    /* largest shuffled chunk to inflate into a scratch buffer */
    load_buf *bufs;         /* (n_threads) */
    atomic_int stop;        /* set by the first failed job: the jobs not yet begun are skipped */
} loader;

/* Runs one chunk job with the thread's buffers; sets j->result. */
static void run_job(loader *L, job *j, z_stream *zs, uint8_t *inbuf, uint8_t *scratch)
{
    mf_tensor_rec *r = &L->f->tensors[j->tensor];
    uint8_t *dest = (uint8_t *)r->t.data + j->dec_off;
    const uint8_t *chunk = r->chunks + (uint64_t)j->chunk * MF_CHUNK_ENTRY;
    uint32_t want_crc = mf_rd32(chunk + 8);
    if (r->t.method == MF_METHOD_NONE) {
        if (!r->t.mapped && mf_src_read(L->src, dest, (size_t)j->dec_len, j->file_off) < 0) {
            j->result = JOB_IO;
            j->err = errno;
            return;
        }
        if (L->verify) {
            j->crc = mf_crc32(0, dest, j->dec_len);
            if (j->crc != want_crc) {
                j->result = JOB_CRC;
                return;
            }
        }
        j->result = JOB_OK;
        return;
    }
    if (mf_src_read(L->src, inbuf, (size_t)j->stored, j->file_off) < 0) {
        j->result = JOB_IO;
        j->err = errno;
        return;
    }
    if (L->verify && mf_crc32(0, inbuf, j->stored) != want_crc) {
        j->result = JOB_CRC;
        return;
    }
    uint8_t *out = r->t.filter == MF_FILTER_SHUFFLE ? scratch : dest;
    inflateReset(zs);
    zs->next_in = inbuf;
    zs->avail_in = (uInt)j->stored;
    zs->next_out = out;
    zs->avail_out = (uInt)j->dec_len;
    int ret = inflate(zs, Z_FINISH);
    if (ret == Z_STREAM_END)
        j->result = zs->avail_out ? JOB_SHORT : zs->avail_in ? JOB_TRAILING : JOB_OK;
    else if (ret == Z_BUF_ERROR && zs->avail_out == 0)
        j->result = JOB_LONG;
    else if (ret == Z_MEM_ERROR)
        j->result = JOB_NOMEM;
    else {
        j->result = JOB_INFLATE;
        j->zmsg = zs->msg ? zs->msg : "unexpected end of data";
    }
    if (j->result != JOB_OK)
        return;
    if (r->t.filter == MF_FILTER_SHUFFLE)
        mf_unshuffle(dest, scratch, (size_t)j->dec_len, attn_dtype_size(r->t.dtype));
    if (L->verify)
        j->crc = mf_crc32(0, dest, j->dec_len);
}

/* Runs job `task` on thread `thread` (a tp_fn), setting up the thread's buffers first. */
static void load_task(void *ctx, int task, int thread)
{
    loader *L = ctx;
    if (atomic_load(&L->stop))
        return;
    load_buf *b = &L->bufs[thread];
    if (!b->ready) {
        b->ready = 1;
        b->inbuf = L->max_stored ? malloc(L->max_stored) : NULL;
        b->scratch = L->max_shuffled ? malloc(L->max_shuffled) : NULL;
        b->zok = inflateInit2(&b->zs, -15) == Z_OK;
    }
    job *j = &L->jobs[task];
    if (!b->zok || (L->max_stored && !b->inbuf) || (L->max_shuffled && !b->scratch))
        j->result = JOB_NOMEM;
    else
        run_job(L, j, &b->zs, b->inbuf, b->scratch);
    if (j->result != JOB_OK)
        atomic_store(&L->stop, 1);
}

/* Frees the buffers of the n threads that ran jobs. */
static void free_bufs(load_buf *bufs, int n)
{
    for (int t = 0; t < n; t++) {
        if (bufs[t].zok)
            inflateEnd(&bufs[t].zs);
        free(bufs[t].inbuf);
        free(bufs[t].scratch);
    }
    free(bufs);
}

/* Number of threads for n_jobs jobs when the caller asked for n (<= 0: all CPUs up to 16). */
int mf_thread_count(int n, size_t n_jobs)
{
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus;
    }
    if ((size_t)n > n_jobs)
        n = n_jobs ? (int)n_jobs : 1;
    return n;
}

/* Turns the first failed job into a status and reason. */
static int job_error(const mf_file *f, const job *j, char *why, size_t why_len)
{
    char name[80];
    const mf_tensor_rec *r = &f->tensors[j->tensor];
    mf_printable(name, sizeof name, r->t.name);
    switch (j->result) {
    case JOB_IO:
        return attn_fail(why, why_len, ATTN_ERR_IO,
                         "tensor %s: reading chunk %u: %s", name, j->chunk, strerror(j->err));
    case JOB_NOMEM:
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "tensor %s: out of memory", name);
    case JOB_CRC:
        return attn_fail(why, why_len, ATTN_ERR_CRC,
                         "tensor %s: chunk %u of %u: CRC mismatch (the file is damaged)", name,
                         j->chunk, r->t.n_chunks);
    case JOB_INFLATE:
        return attn_fail(why, why_len, ATTN_ERR_INFLATE,
                         "tensor %s: chunk %u: invalid deflate data (%s)", name, j->chunk, j->zmsg);
    case JOB_SHORT:
        return attn_fail(why, why_len, ATTN_ERR_INFLATE,
                         "tensor %s: chunk %u inflates to fewer bytes than the directory says",
                         name, j->chunk);
    case JOB_LONG:
        return attn_fail(why, why_len, ATTN_ERR_INFLATE,
                         "tensor %s: chunk %u inflates to more bytes than the directory says", name,
                         j->chunk);
    default:
        return attn_fail(why, why_len, ATTN_ERR_INFLATE,
                         "tensor %s: chunk %u has bytes after its deflate stream", name, j->chunk);
    }
}

/* Builds the job list, runs it on n_threads threads and checks the tensor CRCs; returns ATTN_OK or
 * the first error. */
int mf_load_tensors(mf_file *f, const mf_source *s, const mf_options *opt, char *why,
                        size_t why_len)
{
    loader L;
    memset(&L, 0, sizeof L);
    L.f = f;
    L.src = s;
    L.verify = opt->verify != MF_VERIFY_NONE;
    for (int i = 0; i < f->n_tensors; i++) {
        mf_tensor_rec *r = &f->tensors[i];
        if (!r->t.mapped || opt->verify == MF_VERIFY_ALL)
            L.n_jobs += r->t.n_chunks;
    }
    if (L.n_jobs == 0)
        return ATTN_OK;
    if (L.n_jobs > INT32_MAX)
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "%zu chunks: too many to load", L.n_jobs);
    L.jobs = calloc(L.n_jobs, sizeof *L.jobs);
    if (!L.jobs)
        return attn_fail(why, why_len, ATTN_ERR_NOMEM,
                         "out of memory for %zu chunk jobs", L.n_jobs);
    size_t k = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        mf_tensor_rec *r = &f->tensors[i];
        if (r->t.mapped && opt->verify != MF_VERIFY_ALL)
            continue;
        uint64_t off = r->offset;
        for (uint32_t c = 0; c < r->t.n_chunks; c++) {
            job *j = &L.jobs[k++];
            j->tensor = i;
            j->chunk = c;
            j->file_off = off;
            j->stored = mf_rd64(r->chunks + (uint64_t)c * MF_CHUNK_ENTRY);
            j->dec_off = (uint64_t)c * r->chunk_size;
            j->dec_len = c + 1 < r->t.n_chunks ? r->chunk_size : r->t.decoded_size - j->dec_off;
            off += j->stored;
            if (r->t.method == MF_METHOD_DEFLATE && j->stored > L.max_stored)
                L.max_stored = (size_t)j->stored;
            if (r->t.filter == MF_FILTER_SHUFFLE && j->dec_len > L.max_shuffled)
                L.max_shuffled = (size_t)j->dec_len;
        }
        r->checked = L.verify;
    }
    /* as many threads as the machine gives, down to the caller's alone */
    int n_threads = mf_thread_count(opt->n_threads, L.n_jobs);
    tp_pool *pool = NULL;
    while (tp_open(&pool, n_threads) != 0 && n_threads > 1)
        n_threads = 1;
    L.bufs = calloc((size_t)n_threads, sizeof *L.bufs);
    if (!pool || !L.bufs) {
        tp_free(pool);
        free(L.bufs);
        free(L.jobs);
        return attn_fail(why, why_len, ATTN_ERR_NOMEM,
                         "out of memory for %zu chunk jobs", L.n_jobs);
    }
    tp_run(pool, load_task, &L, (int)L.n_jobs);
    tp_free(pool);
    free_bufs(L.bufs, n_threads);
    int status = ATTN_OK;
    for (size_t i = 0; i < L.n_jobs && status == ATTN_OK; i++)
        if (L.jobs[i].result != JOB_OK)
            status = job_error(f, &L.jobs[i], why, why_len);
    /* every job ran when none failed: combine the chunk CRCs of each tensor */
    for (size_t i = 0; i < L.n_jobs && status == ATTN_OK && L.verify;) {
        const mf_tensor_rec *r = &f->tensors[L.jobs[i].tensor];
        uint32_t crc = 0;
        for (uint32_t c = 0; c < r->t.n_chunks; c++, i++)
            crc = (uint32_t)crc32_combine(crc, L.jobs[i].crc, (z_off_t)L.jobs[i].dec_len);
        if (crc != r->t.crc) {
            char name[80];
            status = attn_fail(why, why_len, ATTN_ERR_CRC,
                               "tensor %s: CRC mismatch of the decoded data (file says %08x, "
                               "data gives %08x)",
                               mf_printable(name, sizeof name, r->t.name), r->t.crc, crc);
        }
    }
    free(L.jobs);
    return status;
}
