/* modelfile.c — the attn model-file reader: open, parse and validate, lay out, free.
 *
 * The byte layout is man/attn-format.5.  mf_open reads the 64-byte header, then the metadata
 * section and the tensor directory (each CRC-checked) into memory, validates every field of
 * both against the file length and against each other, and lays the decoded tensors out in one
 * 64-byte aligned arena (an anonymous mapping, so pages are only committed as they are filled).
 * modelfile_load.c then reads, inflates and checks the chunks on the thread pool; uncompressed
 * tensors are either read straight into the arena or, with use_mmap, pointed at in a mapping of
 * the file.  Queries are in modelfile_query.c, the writer in modelfile_write.c, the byte shuffle
 * here (both directions); shared internals in modelfile_int.h.
 */
#include "modelfile_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <emmintrin.h>
#include <zlib.h>

/* ==== small helpers ======================================================================= */

const uint8_t mf_magic[8] = {0x89, 'A', 'T', 'T', 'N', '\r', '\n', 0x1a};

/* Copies a name for messages, with control bytes shown as '?'; returns out. */
const char *mf_printable(char *out, size_t out_len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < out_len; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    out[i] = 0;
    return out;
}

/* Reads n bytes at off from the source; returns 0, or -1 (errno set) on a read error. */
int mf_src_read(const mf_source *s, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    if (off > s->size || n > s->size - off) {
        errno = EIO;
        return -1;
    }
    if (s->mem) {
        memcpy(p, s->mem + off, n);
        return 0;
    }
    while (n > 0) {
        ssize_t r = pread(s->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;    /* the file shrank while we read it */
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Returns 1 when the n bytes at p are all zero. */
static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

uint64_t mf_decoded_bytes(attn_dtype dtype, int64_t rows, int64_t n_elements)
{
    if (dtype == ATTN_Q8)
        return mf_round_up((uint64_t)n_elements, MF_ALIGN) + 4 * (uint64_t)rows;
    if (dtype == ATTN_Q4) {
        int64_t cols = n_elements / rows;
        return mf_round_up((uint64_t)rows * attn_q4_row_bytes(cols), MF_ALIGN) +
               2 * (uint64_t)rows * (uint64_t)attn_q4_groups(cols);
    }
    return (uint64_t)n_elements * attn_dtype_size(dtype);
}

/* ==== byte shuffle ======================================================================== */

void mf_shuffle(uint8_t *out, const uint8_t *in, size_t n_bytes, size_t esize)
{
    size_t n = n_bytes / esize;
    for (size_t b = 0; b < esize; b++)
        for (size_t i = 0; i < n; i++)
            out[b * n + i] = in[i * esize + b];
}

void mf_unshuffle(uint8_t *out, const uint8_t *in, size_t n_bytes, size_t esize)
{
    size_t n = n_bytes / esize, i = 0;
    if (esize == 4) {
        const uint8_t *b0 = in, *b1 = in + n, *b2 = in + 2 * n, *b3 = in + 3 * n;
        for (; i + 16 <= n; i += 16) {      /* SSE2: interleave 16 values at a time */
            __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)(b0 + i));
            __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(b1 + i));
            __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(b2 + i));
            __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(b3 + i));
            __m128i lo01 = _mm_unpacklo_epi8(x0, x1), hi01 = _mm_unpackhi_epi8(x0, x1);
            __m128i lo23 = _mm_unpacklo_epi8(x2, x3), hi23 = _mm_unpackhi_epi8(x2, x3);
            __m128i *o = (__m128i *)(void *)(out + 4 * i);
            _mm_storeu_si128(o, _mm_unpacklo_epi16(lo01, lo23));
            _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(lo01, lo23));
            _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(hi01, hi23));
            _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(hi01, hi23));
        }
        for (; i < n; i++) {
            uint32_t v = (uint32_t)b0[i] | (uint32_t)b1[i] << 8 | (uint32_t)b2[i] << 16 |
                         (uint32_t)b3[i] << 24;
            memcpy(out + 4 * i, &v, 4);
        }
    } else if (esize == 2) {
        const uint8_t *b0 = in, *b1 = in + n;
        for (; i + 16 <= n; i += 16) {
            __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)(b0 + i));
            __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(b1 + i));
            __m128i *o = (__m128i *)(void *)(out + 2 * i);
            _mm_storeu_si128(o, _mm_unpacklo_epi8(x0, x1));
            _mm_storeu_si128(o + 1, _mm_unpackhi_epi8(x0, x1));
        }
        for (; i < n; i++) {
            uint16_t v = (uint16_t)(b0[i] | b1[i] << 8);
            memcpy(out + 2 * i, &v, 2);
        }
    } else {
        for (size_t b = 0; b < esize; b++)
            for (i = 0; i < n; i++)
                out[i * esize + b] = in[b * n + i];
    }
}

/* ==== header, metadata, directory ========================================================= */

typedef struct header {
    uint64_t meta_size, dir_size;
    uint32_t n_meta, n_tensors, meta_crc, dir_crc;
} header;

/* Reads and checks the header; returns ATTN_OK or an error with a reason. */
static int read_header(mf_file *f, header *h, const mf_source *s, char *why, size_t why_len)
{
    uint8_t b[MF_HEADER_SIZE];
    size_t have = s->size < MF_HEADER_SIZE ? (size_t)s->size : MF_HEADER_SIZE;
    if (mf_src_read(s, b, have, 0) < 0)
        return attn_fail(why, why_len, ATTN_ERR_IO, "reading the header: %s", strerror(errno));
    if (memcmp(b, mf_magic, have < 8 ? have : 8) != 0)
        return attn_fail(why, why_len, ATTN_ERR_FORMAT,
                         "not an attn model file (bad magic number)");
    if (have < MF_HEADER_SIZE)
        return attn_fail(why, why_len, ATTN_ERR_TRUNCATED,
                         "truncated: %zu bytes, shorter than the 64-byte header", have);
    unsigned major = mf_rd16(b + 8), minor = mf_rd16(b + 10);
    if (major != MF_VERSION_MAJOR)
        return attn_fail(why, why_len, ATTN_ERR_VERSION,
                         "format version %u.%u; this attn reads version %d.x", major, minor,
                         MF_VERSION_MAJOR);
    if ((uint32_t)crc32(0, b, 60) != mf_rd32(b + 60))
        return attn_fail(why, why_len, ATTN_ERR_CRC, "header: CRC mismatch (the file is damaged)");
    if (mf_rd32(b + 12) != 0 || mf_rd32(b + 56) != 0)
        return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "header: reserved field not zero");
    uint64_t file_size = mf_rd64(b + 16);
    if (file_size != s->size)
        return attn_fail(why, why_len, file_size > s->size ? ATTN_ERR_TRUNCATED : ATTN_ERR_CORRUPT,
                         "the file is %llu bytes, its header says %llu (%s)",
                         (unsigned long long)s->size, (unsigned long long)file_size,
                         file_size > s->size ? "truncated" : "trailing data");
    h->meta_size = mf_rd64(b + 24);
    h->dir_size = mf_rd64(b + 32);
    h->n_meta = mf_rd32(b + 40);
    h->n_tensors = mf_rd32(b + 44);
    h->meta_crc = mf_rd32(b + 48);
    h->dir_crc = mf_rd32(b + 52);
    uint64_t room = file_size - MF_HEADER_SIZE;
    if (h->meta_size % 8 || h->dir_size % 8 || h->meta_size > room ||
        h->dir_size > room - h->meta_size)
        return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                         "header: metadata (%llu bytes) and directory (%llu bytes) do not fit "
                         "the file", (unsigned long long)h->meta_size,
                         (unsigned long long)h->dir_size);
    if (h->n_meta > h->meta_size / MF_META_ENTRY || h->n_tensors > h->dir_size / MF_TENSOR_ENTRY)
        return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                         "header: %u keys and %u tensors cannot fit their sections", h->n_meta,
                         h->n_tensors);
    f->version = (int)(major * 1000 + minor);
    f->file_size = file_size;
    return ATTN_OK;
}

/* Checks a NUL-terminated, zero-padded string of len bytes at p (room bytes available);
 * returns its padded size, or 0 when it is not one. */
static uint64_t check_string(const uint8_t *p, uint64_t len, uint64_t room)
{
    if (len >= room)
        return 0;
    uint64_t padded = mf_round_up(len + 1, 8);
    if (padded > room || memchr(p, 0, len) != NULL || !all_zero(p + len, padded - len))
        return 0;
    return padded;
}

static const mf_file *sort_file;   /* qsort has no context argument; guarded by sort_lock */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

/* qsort comparison of two metadata indices by key. */
static int cmp_meta(const void *a, const void *b)
{
    return strcmp(sort_file->meta[*(const int *)a].key, sort_file->meta[*(const int *)b].key);
}

/* qsort comparison of two tensor indices by name. */
static int cmp_tensor(const void *a, const void *b)
{
    return strcmp(sort_file->tensors[*(const int *)a].t.name,
                  sort_file->tensors[*(const int *)b].t.name);
}

/* Sorts order[0..n-1] with cmp over f. */
static void sort_indices(const mf_file *f, int *order, int n,
                         int (*cmp)(const void *, const void *))
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    pthread_mutex_lock(&sort_lock);
    sort_file = f;
    qsort(order, (size_t)n, sizeof *order, cmp);
    pthread_mutex_unlock(&sort_lock);
}

/* Parses and checks the metadata section in f->meta_buf; returns ATTN_OK or an error. */
static int parse_meta(mf_file *f, const header *h, char *why, size_t why_len)
{
    const uint8_t *buf = f->meta_buf;
    uint64_t pos = 0, size = h->meta_size;
    char name[80];
    f->meta = calloc(h->n_meta ? h->n_meta : 1, sizeof *f->meta);
    f->meta_order = calloc(h->n_meta ? h->n_meta : 1, sizeof *f->meta_order);
    if (!f->meta || !f->meta_order)
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "metadata: out of memory");
    for (uint32_t i = 0; i < h->n_meta; i++) {
        if (size - pos < MF_META_ENTRY)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "metadata entry %u runs past the metadata section", i);
        uint32_t klen = mf_rd32(buf + pos), type = mf_rd32(buf + pos + 4);
        uint64_t vsize = mf_rd64(buf + pos + 8);
        pos += MF_META_ENTRY;
        if (klen == 0 || klen > MF_MAX_NAME)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "metadata entry %u: key length %u", i,
                             klen);
        uint64_t kpad = check_string(buf + pos, klen, size - pos);
        if (!kpad)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "metadata entry %u: key not NUL-terminated and zero-padded", i);
        mf_meta_entry *e = &f->meta[i];
        e->key = (const char *)buf + pos;
        pos += kpad;
        mf_printable(name, sizeof name, e->key);
        if (type < MF_T_I64 || type > MF_T_F64_ARRAY)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "key %s: unknown type %u", name, type);
        if (((type == MF_T_I64 || type == MF_T_F64) && vsize != 8) ||
            ((type == MF_T_I64_ARRAY || type == MF_T_F64_ARRAY) && vsize % 8))
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "key %s: a %llu-byte value cannot be its type", name,
                             (unsigned long long)vsize);
        uint64_t vpad;
        int ok;
        if (type == MF_T_STR) {
            vpad = check_string(buf + pos, vsize, size - pos);
            ok = vpad != 0;
        } else {
            vpad = mf_round_up(vsize <= size - pos ? vsize : 0, 8);
            ok = vsize <= size - pos && vpad <= size - pos &&
                 all_zero(buf + pos + vsize, (size_t)(vpad - vsize));
        }
        if (!ok)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "key %s: value runs past the section or is badly terminated", name);
        e->type = (mf_type)type;
        e->size = vsize;
        e->value = buf + pos;
        pos += vpad;
    }
    if (pos != size)
        return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "metadata section: %llu bytes left over",
                         (unsigned long long)(size - pos));
    f->n_meta = (int)h->n_meta;
    sort_indices(f, f->meta_order, f->n_meta, cmp_meta);
    for (int i = 1; i < f->n_meta; i++)
        if (strcmp(f->meta[f->meta_order[i - 1]].key, f->meta[f->meta_order[i]].key) == 0)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "key %s: appears twice",
                             mf_printable(name, sizeof name, f->meta[f->meta_order[i]].key));
    return ATTN_OK;
}

/* Checks that the padding [from, to) of the data section is zero; returns ATTN_OK or an error. */
static int check_gap(const mf_source *s, uint64_t from, uint64_t to, const char *name,
                     char *why, size_t why_len)
{
    uint8_t gap[MF_ALIGN];
    if (to == from)
        return ATTN_OK;
    if (mf_src_read(s, gap, (size_t)(to - from), from) < 0)
        return attn_fail(why, why_len, ATTN_ERR_IO, "reading padding: %s", strerror(errno));
    if (!all_zero(gap, (size_t)(to - from)))
        return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                         "tensor %s: padding before its data is not zero (the file is damaged)",
                         name);
    return ATTN_OK;
}

/* Parses and checks the tensor directory in f->dir_buf against the file; returns ATTN_OK or an
 * error. */
static int parse_dir(mf_file *f, const header *h, const mf_source *s, char *why, size_t why_len)
{
    const uint8_t *buf = f->dir_buf;
    uint64_t pos = 0, size = h->dir_size;
    uint64_t data_end = MF_HEADER_SIZE + h->meta_size + h->dir_size;   /* end of what came before */
    char name[80];
    f->tensors = calloc(h->n_tensors ? h->n_tensors : 1, sizeof *f->tensors);
    f->tensor_order = calloc(h->n_tensors ? h->n_tensors : 1, sizeof *f->tensor_order);
    if (!f->tensors || !f->tensor_order)
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "directory: out of memory");
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        if (size - pos < MF_TENSOR_ENTRY)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor entry %u runs past the tensor directory", i);
        const uint8_t *e = buf + pos;
        uint32_t nlen = mf_rd32(e);
        unsigned dtype = e[4], method = e[5], filter = e[6], ndim = e[7];
        uint64_t offset = mf_rd64(e + 40), stored = mf_rd64(e + 48), decoded = mf_rd64(e + 56);
        uint64_t chunk_size = mf_rd64(e + 64);
        uint32_t n_chunks = mf_rd32(e + 72), crc = mf_rd32(e + 76);
        pos += MF_TENSOR_ENTRY;
        if (nlen == 0 || nlen > MF_MAX_NAME)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor entry %u: name length %u", i,
                             nlen);
        uint64_t npad = check_string(buf + pos, nlen, size - pos);
        if (!npad)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor entry %u: name not NUL-terminated and zero-padded", i);
        mf_tensor_rec *r = &f->tensors[i];
        r->t.name = (const char *)buf + pos;
        pos += npad;
        mf_printable(name, sizeof name, r->t.name);
        if (dtype > ATTN_Q4 || method > MF_METHOD_DEFLATE || filter > MF_FILTER_SHUFFLE)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: unknown dtype %u, method %u or filter %u", name, dtype,
                             method, filter);
        if (filter == MF_FILTER_SHUFFLE && (method != MF_METHOD_DEFLATE || dtype >= ATTN_Q8))
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: byte shuffle only goes with deflate on float types", name);
        if (ndim < 1 || ndim > MF_MAX_DIMS)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor %s: %u dimensions (1 to 4)",
                             name, ndim);
        uint64_t n = 1;
        for (unsigned d = 0; d < MF_MAX_DIMS; d++) {
            uint64_t dim = mf_rd64(e + 8 + 8 * d);
            if (d < ndim ? (dim == 0 || dim > MF_MAX_ELEMENTS / n) : dim != 0)
                return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                                 "tensor %s: shape dimension %u is %llu", name, d,
                                 (unsigned long long)dim);
            if (d < ndim) {
                n *= dim;
                r->t.shape[d] = (int64_t)dim;
            }
        }
        uint64_t want = mf_decoded_bytes((attn_dtype)dtype, r->t.shape[0], (int64_t)n);
        if (decoded != want)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: decoded size %llu, its shape and type need %llu", name,
                             (unsigned long long)decoded, (unsigned long long)want);
        if (chunk_size < MF_ALIGN || chunk_size % MF_ALIGN || chunk_size > MF_MAX_CHUNK ||
            n_chunks != (decoded + chunk_size - 1) / chunk_size)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: chunk size %llu and %u chunks do not fit %llu bytes", name,
                             (unsigned long long)chunk_size, n_chunks, (unsigned long long)decoded);
        uint64_t expect = mf_round_up(data_end, MF_ALIGN);
        if (offset != expect)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: data offset %llu, expected %llu", name,
                             (unsigned long long)offset, (unsigned long long)expect);
        if (offset > f->file_size || stored > f->file_size - offset)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: %llu bytes at offset %llu run past the end of the file",
                             name, (unsigned long long)stored, (unsigned long long)offset);
        if ((uint64_t)n_chunks > (size - pos) / MF_CHUNK_ENTRY)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: chunk table runs past the tensor directory", name);
        r->chunks = buf + pos;
        pos += (uint64_t)n_chunks * MF_CHUNK_ENTRY;
        uint64_t sum = 0;
        for (uint32_t c = 0; c < n_chunks; c++) {
            const uint8_t *ce = r->chunks + (uint64_t)c * MF_CHUNK_ENTRY;
            uint64_t cs = mf_rd64(ce);
            uint64_t dl = c + 1 < n_chunks ? chunk_size : decoded - (uint64_t)c * chunk_size;
            if (mf_rd32(ce + 12) != 0)
                return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                                 "tensor %s: chunk %u: reserved field not zero", name, c);
            if (cs > stored - sum)
                return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                                 "tensor %s: chunk sizes add up to more than its %llu stored bytes",
                                 name, (unsigned long long)stored);
            sum += cs;
            if (method == MF_METHOD_NONE ? cs != dl
                                         : (cs == 0 || dl > MF_DEFLATE_RATIO * cs + 258 ||
                                            cs > dl + dl / 256 + 64))
                return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                                 "tensor %s: chunk %u: %llu stored bytes cannot hold %llu "
                                 "decoded bytes", name, c, (unsigned long long)cs,
                                 (unsigned long long)dl);
        }
        if (sum != stored)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT,
                             "tensor %s: chunk sizes add up to %llu, not its %llu stored bytes",
                             name, (unsigned long long)sum, (unsigned long long)stored);
        int st = check_gap(s, data_end, offset, name, why, why_len);
        if (st < 0)
            return st;
        data_end = offset + stored;
        r->t.dtype = (attn_dtype)dtype;
        r->t.ndim = (int)ndim;
        r->t.n_elements = (int64_t)n;
        r->t.stored_size = stored;
        r->t.decoded_size = decoded;
        r->t.method = (int)method;
        r->t.filter = (int)filter;
        r->t.n_chunks = n_chunks;
        r->t.crc = crc;
        r->offset = offset;
        r->chunk_size = chunk_size;
    }
    if (pos != size)
        return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor directory: %llu bytes left over",
                         (unsigned long long)(size - pos));
    if (data_end != f->file_size)
        return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "%llu bytes after the last tensor",
                         (unsigned long long)(f->file_size - data_end));
    f->n_tensors = (int)h->n_tensors;
    sort_indices(f, f->tensor_order, f->n_tensors, cmp_tensor);
    for (int i = 1; i < f->n_tensors; i++)
        if (strcmp(f->tensors[f->tensor_order[i - 1]].t.name,
                   f->tensors[f->tensor_order[i]].t.name) == 0)
            return attn_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor %s: appears twice",
                             mf_printable(name, sizeof name,
                                          f->tensors[f->tensor_order[i]].t.name));
    return ATTN_OK;
}

/* ==== open / free ========================================================================= */

void mf_options_default(mf_options *opt)
{
    opt->verify = MF_VERIFY_READ;
    opt->n_threads = 0;
    opt->use_mmap = 1;
}

/* Maps size bytes of zeroed memory for the decoded tensors (pages are committed only as chunks
 * are inflated into them); returns ATTN_OK or ATTN_ERR_NOMEM.  Huge pages were tried: on a shared
 * machine their compaction made loading slower on average, not faster. */
static int map_arena(mf_file *f, size_t size)
{
    void *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return ATTN_ERR_NOMEM;
    f->arena = a;
    f->arena_size = size;
    return ATTN_OK;
}

/* Opens from a source once the source's size is known; the worker of mf_open and mf_open_mem. */
static int open_source(mf_file **out, const mf_source *s, const mf_options *opt, int can_map,
                       char *why, size_t why_len)
{
    mf_options defaults;
    if (!opt) {
        mf_options_default(&defaults);
        opt = &defaults;
    }
    mf_file *f = calloc(1, sizeof *f);
    if (!f)
        return attn_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory");
    header h = {0, 0, 0, 0, 0, 0};
    int st = read_header(f, &h, s, why, why_len);
    if (st < 0)
        goto done;
    f->meta_buf = malloc(h.meta_size ? h.meta_size : 1);
    f->dir_buf = malloc(h.dir_size ? h.dir_size : 1);
    if (!f->meta_buf || !f->dir_buf) {
        st = attn_fail(why, why_len, ATTN_ERR_NOMEM,
                       "out of memory for the metadata and directory");
        goto done;
    }
    if (mf_src_read(s, f->meta_buf, h.meta_size, MF_HEADER_SIZE) < 0 ||
        mf_src_read(s, f->dir_buf, h.dir_size, MF_HEADER_SIZE + h.meta_size) < 0) {
        st = attn_fail(why, why_len, ATTN_ERR_IO, "reading the directory: %s", strerror(errno));
        goto done;
    }
    if (mf_crc32(0, f->meta_buf, h.meta_size) != h.meta_crc) {
        st = attn_fail(why, why_len, ATTN_ERR_CRC,
                       "metadata section: CRC mismatch (the file is damaged)");
        goto done;
    }
    if (mf_crc32(0, f->dir_buf, h.dir_size) != h.dir_crc) {
        st = attn_fail(why, why_len, ATTN_ERR_CRC,
                       "tensor directory: CRC mismatch (the file is damaged)");
        goto done;
    }
    if ((st = parse_meta(f, &h, why, why_len)) < 0 ||
        (st = parse_dir(f, &h, s, why, why_len)) < 0)
        goto done;

    /* lay out the arena; map the file when some tensors can be used in place */
    int want_map = 0;
    uint64_t arena = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        mf_tensor_rec *r = &f->tensors[i];
        f->decoded_total += r->t.decoded_size;
        if (can_map && opt->use_mmap && r->t.method == MF_METHOD_NONE) {
            r->t.mapped = 1;
            want_map = 1;
            continue;
        }
        r->arena_off = arena;
        arena += mf_round_up(r->t.decoded_size, MF_ALIGN);
    }
    if (want_map) {
        void *m = mmap(NULL, (size_t)f->file_size, PROT_READ, MAP_SHARED, s->fd, 0);
        if (m == MAP_FAILED) {
            st = attn_fail(why, why_len, ATTN_ERR_IO, "mapping the file: %s", strerror(errno));
            goto done;
        }
        f->map = m;
        f->map_size = (size_t)f->file_size;
    }
    if (arena > (uint64_t)SIZE_MAX / 2) {
        st = attn_fail(why, why_len, ATTN_ERR_NOMEM, "%llu decoded bytes do not fit in memory",
                       (unsigned long long)arena);
        goto done;
    }
    if (arena && (st = map_arena(f, (size_t)arena)) < 0) {
        st = attn_fail(why, why_len, st, "out of memory for %llu decoded bytes",
                       (unsigned long long)arena);
        goto done;
    }
    for (int i = 0; i < f->n_tensors; i++) {
        mf_tensor_rec *r = &f->tensors[i];
        uint8_t *base = r->t.mapped ? f->map + r->offset : f->arena + r->arena_off;
        r->t.data = base;
        if (r->t.dtype == ATTN_Q8)
            r->t.scales = (const float *)(base + mf_round_up((uint64_t)r->t.n_elements, MF_ALIGN));
        if (r->t.dtype == ATTN_Q4) {
            uint64_t nib = (uint64_t)r->t.shape[0] *
                           attn_q4_row_bytes(r->t.n_elements / r->t.shape[0]);
            r->t.half_scales = (const uint16_t *)(base + mf_round_up(nib, MF_ALIGN));
        }
    }
    st = mf_load_tensors(f, s, opt, why, why_len);
    if (st == ATTN_OK && f->arena)
        mprotect(f->arena, f->arena_size, PROT_READ);
done:
    if (st < 0) {
        mf_free(f);
        f = NULL;
    }
    *out = f;
    return st;
}

int mf_open(mf_file **out, const char *path, const mf_options *opt, char *why, size_t why_len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return attn_fail(why, why_len, ATTN_ERR_IO, "%s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return attn_fail(why, why_len, ATTN_ERR_IO, "%s", strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return attn_fail(why, why_len, ATTN_ERR_IO, "%s",
                         S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
    }
    mf_source s = {fd, NULL, (uint64_t)sb.st_size};
    int st = open_source(out, &s, opt, 1, why, why_len);
    close(fd);
    return st;
}

int mf_open_mem(mf_file **out, const void *data, size_t len, const mf_options *opt,
                char *why, size_t why_len)
{
    *out = NULL;
    if (!data && len)
        return attn_fail(why, why_len, ATTN_ERR_ARG, "no data");
    mf_source s = {-1, data ? data : (const void *)"", (uint64_t)len};
    return open_source(out, &s, opt, 0, why, why_len);
}

void mf_drop_pages(const mf_file *f, const void *p, size_t n)
{
    const uint8_t *b = p;
    if (!f || !f->map || b < f->map || n > f->map_size || (size_t)(b - f->map) > f->map_size - n)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)b + page - 1) & ~(page - 1), hi = ((uintptr_t)b + n) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void mf_free(mf_file *f)
{
    if (!f)
        return;
    if (f->arena)
        munmap(f->arena, f->arena_size);
    if (f->map)
        munmap(f->map, f->map_size);
    free(f->meta);
    free(f->meta_order);
    free(f->tensors);
    free(f->tensor_order);
    free(f->meta_buf);
    free(f->dir_buf);
    free(f);
}

int mf_verify(const mf_file *f, char *why, size_t why_len)
{
    for (int i = 0; i < f->n_tensors; i++) {
        const mf_tensor_rec *r = &f->tensors[i];
        if (r->checked)
            continue;
        uint32_t crc = mf_crc32(0, r->t.data, r->t.decoded_size);
        if (crc != r->t.crc) {
            char name[80];
            return attn_fail(why, why_len, ATTN_ERR_CRC,
                             "tensor %s: CRC mismatch (file says %08x, data gives %08x)",
                             mf_printable(name, sizeof name, r->t.name), r->t.crc, crc);
        }
    }
    return ATTN_OK;
}

int mf_version(const mf_file *f) { return f->version; }
uint64_t mf_file_size(const mf_file *f) { return f->file_size; }
uint64_t mf_decoded_size(const mf_file *f) { return f->decoded_total; }
