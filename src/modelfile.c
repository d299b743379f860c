/* modelfile.c — the attn model-file reader: parse, validate, inflate in parallel, query.
 *
 * The byte layout is man/attn-format.5.  mf_open reads the 64-byte header, then the metadata
 * section and the tensor directory (each CRC-checked) into memory, validates every field of
 * both against the file length and against each other, lays the decoded tensors out in one
 * 64-byte aligned arena (an anonymous mapping, so pages are only committed as they are filled),
 * and then runs one job per chunk on a few threads: read the stored chunk with pread, check its
 * CRC, inflate it straight into its final place (through a small per-thread buffer when the
 * byte-shuffle filter must be undone), and CRC the decoded bytes.  Uncompressed tensors are
 * either read straight into the arena or, with use_mmap, pointed at in a mapping of the file.
 * The writer lives in modelfile_write.c; shared internals in modelfile_int.h.
 */
#include "modelfile_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <emmintrin.h>
#include <zlib.h>

/* ==== small helpers ======================================================================= */

typedef struct meta_entry {
    const char *key;
    mf_type type;
    uint64_t size;          /* value bytes (without padding or NUL) */
    const uint8_t *value;   /* 8-byte aligned, inside meta_buf */
} meta_entry;

typedef struct tensor_rec {
    mf_tensor t;
    uint64_t offset;        /* file offset of the stored data */
    uint64_t chunk_size;    /* decoded bytes per chunk (the last may be shorter) */
    const uint8_t *chunks;  /* (n_chunks, 16) chunk table inside dir_buf */
    uint64_t arena_off;     /* where the decoded data goes in the arena */
    int checked;            /* 1 when the data CRC was verified at open */
} tensor_rec;

struct mf_file {
    int version;
    uint64_t file_size;
    uint64_t decoded_total;
    uint8_t *meta_buf;      /* (meta_size) metadata section */
    uint8_t *dir_buf;       /* (dir_size) tensor directory */
    meta_entry *meta;       /* (n_meta) in file order */
    int *meta_order;        /* (n_meta) indices sorted by key */
    int n_meta;
    tensor_rec *tensors;    /* (n_tensors) in file order */
    int *tensor_order;      /* (n_tensors) indices sorted by name */
    int n_tensors;
    uint8_t *arena;         /* (arena_size) decoded tensors, anonymous mapping */
    size_t arena_size;
    uint8_t *map;           /* (map_size) the file, when mapped */
    size_t map_size;
};

/* Where the file's bytes come from: a file descriptor or a memory buffer. */
typedef struct source {
    int fd;
    const uint8_t *mem;
    uint64_t size;
} source;

const uint8_t mf_magic[8] = {0x89, 'A', 'T', 'T', 'N', '\r', '\n', 0x1a};

int mf_fail(char *why, size_t why_len, int status, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Copies a name for messages, with control bytes shown as '?'; returns out. */
static const char *printable(char *out, size_t out_len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < out_len; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    out[i] = 0;
    return out;
}

/* Reads n bytes at off from the source; returns 0, or -1 (errno set) on a read error. */
static int src_read(const source *s, void *buf, size_t n, uint64_t off)
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
static int read_header(mf_file *f, header *h, const source *s, char *why, size_t why_len)
{
    uint8_t b[MF_HEADER_SIZE];
    size_t have = s->size < MF_HEADER_SIZE ? (size_t)s->size : MF_HEADER_SIZE;
    if (src_read(s, b, have, 0) < 0)
        return mf_fail(why, why_len, ATTN_ERR_IO, "reading the header: %s", strerror(errno));
    if (memcmp(b, mf_magic, have < 8 ? have : 8) != 0)
        return mf_fail(why, why_len, ATTN_ERR_FORMAT, "not an attn model file (bad magic number)");
    if (have < MF_HEADER_SIZE)
        return mf_fail(why, why_len, ATTN_ERR_TRUNCATED,
                    "truncated: %zu bytes, shorter than the 64-byte header", have);
    unsigned major = mf_rd16(b + 8), minor = mf_rd16(b + 10);
    if (major != MF_VERSION_MAJOR)
        return mf_fail(why, why_len, ATTN_ERR_VERSION,
                    "format version %u.%u; this attn reads version %d.x", major, minor,
                    MF_VERSION_MAJOR);
    if ((uint32_t)crc32(0, b, 60) != mf_rd32(b + 60))
        return mf_fail(why, why_len, ATTN_ERR_CRC, "header: CRC mismatch (the file is damaged)");
    if (mf_rd32(b + 12) != 0 || mf_rd32(b + 56) != 0)
        return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "header: reserved field not zero");
    uint64_t file_size = mf_rd64(b + 16);
    if (file_size != s->size)
        return mf_fail(why, why_len, file_size > s->size ? ATTN_ERR_TRUNCATED : ATTN_ERR_CORRUPT,
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
        return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                    "header: metadata (%llu bytes) and directory (%llu bytes) do not fit the file",
                    (unsigned long long)h->meta_size, (unsigned long long)h->dir_size);
    if (h->n_meta > h->meta_size / MF_META_ENTRY || h->n_tensors > h->dir_size / MF_TENSOR_ENTRY)
        return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
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
static void sort_indices(const mf_file *f, int *order, int n, int (*cmp)(const void *, const void *))
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
        return mf_fail(why, why_len, ATTN_ERR_NOMEM, "metadata: out of memory");
    for (uint32_t i = 0; i < h->n_meta; i++) {
        if (size - pos < MF_META_ENTRY)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "metadata entry %u runs past the metadata section", i);
        uint32_t klen = mf_rd32(buf + pos), type = mf_rd32(buf + pos + 4);
        uint64_t vsize = mf_rd64(buf + pos + 8);
        pos += MF_META_ENTRY;
        if (klen == 0 || klen > MF_MAX_NAME)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "metadata entry %u: key length %u", i, klen);
        uint64_t kpad = check_string(buf + pos, klen, size - pos);
        if (!kpad)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "metadata entry %u: key not NUL-terminated and zero-padded", i);
        meta_entry *e = &f->meta[i];
        e->key = (const char *)buf + pos;
        pos += kpad;
        printable(name, sizeof name, e->key);
        if (type < MF_T_I64 || type > MF_T_F64_ARRAY)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "key %s: unknown type %u", name, type);
        if (((type == MF_T_I64 || type == MF_T_F64) && vsize != 8) ||
            ((type == MF_T_I64_ARRAY || type == MF_T_F64_ARRAY) && vsize % 8))
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "key %s: a %llu-byte value cannot be its type",
                        name, (unsigned long long)vsize);
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
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "key %s: value runs past the section or is badly terminated", name);
        e->type = (mf_type)type;
        e->size = vsize;
        e->value = buf + pos;
        pos += vpad;
    }
    if (pos != size)
        return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "metadata section: %llu bytes left over",
                    (unsigned long long)(size - pos));
    f->n_meta = (int)h->n_meta;
    sort_indices(f, f->meta_order, f->n_meta, cmp_meta);
    for (int i = 1; i < f->n_meta; i++)
        if (strcmp(f->meta[f->meta_order[i - 1]].key, f->meta[f->meta_order[i]].key) == 0)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "key %s: appears twice",
                        printable(name, sizeof name, f->meta[f->meta_order[i]].key));
    return ATTN_OK;
}

/* Checks that the padding [from, to) of the data section is zero; returns ATTN_OK or an error. */
static int check_gap(const source *s, uint64_t from, uint64_t to, const char *name,
                     char *why, size_t why_len)
{
    uint8_t gap[MF_ALIGN];
    if (to == from)
        return ATTN_OK;
    if (src_read(s, gap, (size_t)(to - from), from) < 0)
        return mf_fail(why, why_len, ATTN_ERR_IO, "reading padding: %s", strerror(errno));
    if (!all_zero(gap, (size_t)(to - from)))
        return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                    "tensor %s: padding before its data is not zero (the file is damaged)", name);
    return ATTN_OK;
}

/* Parses and checks the tensor directory in f->dir_buf against the file; returns ATTN_OK or an error. */
static int parse_dir(mf_file *f, const header *h, const source *s, char *why, size_t why_len)
{
    const uint8_t *buf = f->dir_buf;
    uint64_t pos = 0, size = h->dir_size;
    uint64_t data_end = MF_HEADER_SIZE + h->meta_size + h->dir_size;   /* end of what came before */
    char name[80];
    f->tensors = calloc(h->n_tensors ? h->n_tensors : 1, sizeof *f->tensors);
    f->tensor_order = calloc(h->n_tensors ? h->n_tensors : 1, sizeof *f->tensor_order);
    if (!f->tensors || !f->tensor_order)
        return mf_fail(why, why_len, ATTN_ERR_NOMEM, "directory: out of memory");
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        if (size - pos < MF_TENSOR_ENTRY)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor entry %u runs past the tensor directory", i);
        const uint8_t *e = buf + pos;
        uint32_t nlen = mf_rd32(e);
        unsigned dtype = e[4], method = e[5], filter = e[6], ndim = e[7];
        uint64_t offset = mf_rd64(e + 40), stored = mf_rd64(e + 48), decoded = mf_rd64(e + 56);
        uint64_t chunk_size = mf_rd64(e + 64);
        uint32_t n_chunks = mf_rd32(e + 72), crc = mf_rd32(e + 76);
        pos += MF_TENSOR_ENTRY;
        if (nlen == 0 || nlen > MF_MAX_NAME)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor entry %u: name length %u", i, nlen);
        uint64_t npad = check_string(buf + pos, nlen, size - pos);
        if (!npad)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor entry %u: name not NUL-terminated and zero-padded", i);
        tensor_rec *r = &f->tensors[i];
        r->t.name = (const char *)buf + pos;
        pos += npad;
        printable(name, sizeof name, r->t.name);
        if (dtype > ATTN_Q8 || method > MF_METHOD_DEFLATE || filter > MF_FILTER_SHUFFLE)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: unknown dtype %u, method %u or filter %u", name, dtype, method,
                        filter);
        if (filter == MF_FILTER_SHUFFLE && (method != MF_METHOD_DEFLATE || dtype == ATTN_Q8))
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: byte shuffle only goes with deflate on float types", name);
        if (ndim < 1 || ndim > MF_MAX_DIMS)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor %s: %u dimensions (1 to 4)", name,
                        ndim);
        uint64_t n = 1;
        for (unsigned d = 0; d < MF_MAX_DIMS; d++) {
            uint64_t dim = mf_rd64(e + 8 + 8 * d);
            if (d < ndim ? (dim == 0 || dim > MF_MAX_ELEMENTS / n) : dim != 0)
                return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                            "tensor %s: shape dimension %u is %llu", name, d,
                            (unsigned long long)dim);
            if (d < ndim) {
                n *= dim;
                r->t.shape[d] = (int64_t)dim;
            }
        }
        uint64_t want = mf_decoded_bytes((attn_dtype)dtype, r->t.shape[0], (int64_t)n);
        if (decoded != want)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: decoded size %llu, its shape and type need %llu", name,
                        (unsigned long long)decoded, (unsigned long long)want);
        if (chunk_size < MF_ALIGN || chunk_size % MF_ALIGN || chunk_size > MF_MAX_CHUNK ||
            n_chunks != (decoded + chunk_size - 1) / chunk_size)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: chunk size %llu and %u chunks do not fit %llu bytes", name,
                        (unsigned long long)chunk_size, n_chunks, (unsigned long long)decoded);
        uint64_t expect = mf_round_up(data_end, MF_ALIGN);
        if (offset != expect)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: data offset %llu, expected %llu", name,
                        (unsigned long long)offset, (unsigned long long)expect);
        if (offset > f->file_size || stored > f->file_size - offset)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: %llu bytes at offset %llu run past the end of the file", name,
                        (unsigned long long)stored, (unsigned long long)offset);
        if ((uint64_t)n_chunks > (size - pos) / MF_CHUNK_ENTRY)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: chunk table runs past the tensor directory", name);
        r->chunks = buf + pos;
        pos += (uint64_t)n_chunks * MF_CHUNK_ENTRY;
        uint64_t sum = 0;
        for (uint32_t c = 0; c < n_chunks; c++) {
            const uint8_t *ce = r->chunks + (uint64_t)c * MF_CHUNK_ENTRY;
            uint64_t cs = mf_rd64(ce);
            uint64_t dl = c + 1 < n_chunks ? chunk_size : decoded - (uint64_t)c * chunk_size;
            if (mf_rd32(ce + 12) != 0)
                return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                            "tensor %s: chunk %u: reserved field not zero", name, c);
            if (cs > stored - sum)
                return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                            "tensor %s: chunk sizes add up to more than its %llu stored bytes",
                            name, (unsigned long long)stored);
            sum += cs;
            if (method == MF_METHOD_NONE ? cs != dl
                                         : (cs == 0 || dl > MF_DEFLATE_RATIO * cs + 258 ||
                                            cs > dl + dl / 256 + 64))
                return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                            "tensor %s: chunk %u: %llu stored bytes cannot hold %llu decoded bytes",
                            name, c, (unsigned long long)cs, (unsigned long long)dl);
        }
        if (sum != stored)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT,
                        "tensor %s: chunk sizes add up to %llu, not its %llu stored bytes", name,
                        (unsigned long long)sum, (unsigned long long)stored);
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
        return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor directory: %llu bytes left over",
                    (unsigned long long)(size - pos));
    if (data_end != f->file_size)
        return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "%llu bytes after the last tensor",
                    (unsigned long long)(f->file_size - data_end));
    f->n_tensors = (int)h->n_tensors;
    sort_indices(f, f->tensor_order, f->n_tensors, cmp_tensor);
    for (int i = 1; i < f->n_tensors; i++)
        if (strcmp(f->tensors[f->tensor_order[i - 1]].t.name,
                   f->tensors[f->tensor_order[i]].t.name) == 0)
            return mf_fail(why, why_len, ATTN_ERR_CORRUPT, "tensor %s: appears twice",
                        printable(name, sizeof name, f->tensors[f->tensor_order[i]].t.name));
    return ATTN_OK;
}

/* ==== parallel chunk loading ============================================================== */

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

typedef struct loader {
    mf_file *f;
    const source *src;
    job *jobs;
    size_t n_jobs;
    int verify;             /* compute and check CRCs */
    size_t max_stored;      /* largest deflate chunk to read */
    size_t max_shuffled;    /* largest shuffled chunk to inflate into a scratch buffer */
    atomic_size_t next;
    atomic_int stop;
} loader;

/* Runs one chunk job with the thread's buffers; sets j->result. */
static void run_job(loader *L, job *j, z_stream *zs, uint8_t *inbuf, uint8_t *scratch)
{
    tensor_rec *r = &L->f->tensors[j->tensor];
    uint8_t *dest = (uint8_t *)r->t.data + j->dec_off;
    const uint8_t *chunk = r->chunks + (uint64_t)j->chunk * MF_CHUNK_ENTRY;
    uint32_t want_crc = mf_rd32(chunk + 8);
    if (r->t.method == MF_METHOD_NONE) {
        if (!r->t.mapped && src_read(L->src, dest, (size_t)j->dec_len, j->file_off) < 0) {
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
    if (src_read(L->src, inbuf, (size_t)j->stored, j->file_off) < 0) {
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

/* One loading thread: takes jobs until none is left or one failed; returns NULL. */
static void *load_worker(void *arg)
{
    loader *L = arg;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    uint8_t *inbuf = L->max_stored ? malloc(L->max_stored) : NULL;
    uint8_t *scratch = L->max_shuffled ? malloc(L->max_shuffled) : NULL;
    int zok = inflateInit2(&zs, -15) == Z_OK;
    for (;;) {
        if (atomic_load(&L->stop))
            break;
        size_t i = atomic_fetch_add(&L->next, 1);
        if (i >= L->n_jobs)
            break;
        job *j = &L->jobs[i];
        if (!zok || (L->max_stored && !inbuf) || (L->max_shuffled && !scratch))
            j->result = JOB_NOMEM;
        else
            run_job(L, j, &zs, inbuf, scratch);
        if (j->result != JOB_OK)
            atomic_store(&L->stop, 1);
    }
    if (zok)
        inflateEnd(&zs);
    free(inbuf);
    free(scratch);
    return NULL;
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
    const tensor_rec *r = &f->tensors[j->tensor];
    printable(name, sizeof name, r->t.name);
    switch (j->result) {
    case JOB_IO:
        return mf_fail(why, why_len, ATTN_ERR_IO, "tensor %s: reading chunk %u: %s", name, j->chunk,
                    strerror(j->err));
    case JOB_NOMEM:
        return mf_fail(why, why_len, ATTN_ERR_NOMEM, "tensor %s: out of memory", name);
    case JOB_CRC:
        return mf_fail(why, why_len, ATTN_ERR_CRC,
                    "tensor %s: chunk %u of %u: CRC mismatch (the file is damaged)", name,
                    j->chunk, r->t.n_chunks);
    case JOB_INFLATE:
        return mf_fail(why, why_len, ATTN_ERR_INFLATE, "tensor %s: chunk %u: invalid deflate data (%s)",
                    name, j->chunk, j->zmsg);
    case JOB_SHORT:
        return mf_fail(why, why_len, ATTN_ERR_INFLATE,
                    "tensor %s: chunk %u inflates to fewer bytes than the directory says", name,
                    j->chunk);
    case JOB_LONG:
        return mf_fail(why, why_len, ATTN_ERR_INFLATE,
                    "tensor %s: chunk %u inflates to more bytes than the directory says", name,
                    j->chunk);
    default:
        return mf_fail(why, why_len, ATTN_ERR_INFLATE,
                    "tensor %s: chunk %u has bytes after its deflate stream", name, j->chunk);
    }
}

/* Builds the job list, runs it on n_threads threads and checks the tensor CRCs; returns ATTN_OK or
 * the first error. */
static int load_tensors(mf_file *f, const source *s, const mf_options *opt, char *why,
                        size_t why_len)
{
    loader L;
    memset(&L, 0, sizeof L);
    L.f = f;
    L.src = s;
    L.verify = opt->verify != MF_VERIFY_NONE;
    for (int i = 0; i < f->n_tensors; i++) {
        tensor_rec *r = &f->tensors[i];
        if (!r->t.mapped || opt->verify == MF_VERIFY_ALL)
            L.n_jobs += r->t.n_chunks;
    }
    if (L.n_jobs == 0)
        return ATTN_OK;
    L.jobs = calloc(L.n_jobs, sizeof *L.jobs);
    if (!L.jobs)
        return mf_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory for %zu chunk jobs", L.n_jobs);
    size_t k = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        tensor_rec *r = &f->tensors[i];
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
    int n_threads = mf_thread_count(opt->n_threads, L.n_jobs);
    pthread_t th[16];
    int started = 0;
    for (; started < n_threads - 1; started++)
        if (pthread_create(&th[started], NULL, load_worker, &L) != 0)
            break;
    load_worker(&L);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    int status = ATTN_OK;
    for (size_t i = 0; i < L.n_jobs && status == ATTN_OK; i++)
        if (L.jobs[i].result != JOB_OK)
            status = job_error(f, &L.jobs[i], why, why_len);
    /* every job ran when none failed: combine the chunk CRCs of each tensor */
    for (size_t i = 0; i < L.n_jobs && status == ATTN_OK && L.verify;) {
        const tensor_rec *r = &f->tensors[L.jobs[i].tensor];
        uint32_t crc = 0;
        for (uint32_t c = 0; c < r->t.n_chunks; c++, i++)
            crc = (uint32_t)crc32_combine(crc, L.jobs[i].crc, (z_off_t)L.jobs[i].dec_len);
        if (crc != r->t.crc) {
            char name[80];
            status = mf_fail(why, why_len, ATTN_ERR_CRC,
                          "tensor %s: CRC mismatch of the decoded data (file says %08x, data gives "
                          "%08x)", printable(name, sizeof name, r->t.name), r->t.crc, crc);
        }
    }
    free(L.jobs);
    return status;
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
static int open_source(mf_file **out, const source *s, const mf_options *opt, int can_map,
                       char *why, size_t why_len)
{
    mf_options defaults;
    if (!opt) {
        mf_options_default(&defaults);
        opt = &defaults;
    }
    mf_file *f = calloc(1, sizeof *f);
    if (!f)
        return mf_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory");
    header h = {0, 0, 0, 0, 0, 0};
    int st = read_header(f, &h, s, why, why_len);
    if (st < 0)
        goto done;
    f->meta_buf = malloc(h.meta_size ? h.meta_size : 1);
    f->dir_buf = malloc(h.dir_size ? h.dir_size : 1);
    if (!f->meta_buf || !f->dir_buf) {
        st = mf_fail(why, why_len, ATTN_ERR_NOMEM, "out of memory for the metadata and directory");
        goto done;
    }
    if (src_read(s, f->meta_buf, h.meta_size, MF_HEADER_SIZE) < 0 ||
        src_read(s, f->dir_buf, h.dir_size, MF_HEADER_SIZE + h.meta_size) < 0) {
        st = mf_fail(why, why_len, ATTN_ERR_IO, "reading the directory: %s", strerror(errno));
        goto done;
    }
    if (mf_crc32(0, f->meta_buf, h.meta_size) != h.meta_crc) {
        st = mf_fail(why, why_len, ATTN_ERR_CRC, "metadata section: CRC mismatch (the file is damaged)");
        goto done;
    }
    if (mf_crc32(0, f->dir_buf, h.dir_size) != h.dir_crc) {
        st = mf_fail(why, why_len, ATTN_ERR_CRC, "tensor directory: CRC mismatch (the file is damaged)");
        goto done;
    }
    if ((st = parse_meta(f, &h, why, why_len)) < 0 ||
        (st = parse_dir(f, &h, s, why, why_len)) < 0)
        goto done;

    /* lay out the arena; map the file when some tensors can be used in place */
    int want_map = 0;
    uint64_t arena = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        tensor_rec *r = &f->tensors[i];
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
            st = mf_fail(why, why_len, ATTN_ERR_IO, "mapping the file: %s", strerror(errno));
            goto done;
        }
        f->map = m;
        f->map_size = (size_t)f->file_size;
    }
    if (arena > (uint64_t)SIZE_MAX / 2) {
        st = mf_fail(why, why_len, ATTN_ERR_NOMEM, "%llu decoded bytes do not fit in memory",
                  (unsigned long long)arena);
        goto done;
    }
    if (arena && (st = map_arena(f, (size_t)arena)) < 0) {
        st = mf_fail(why, why_len, st, "out of memory for %llu decoded bytes",
                  (unsigned long long)arena);
        goto done;
    }
    for (int i = 0; i < f->n_tensors; i++) {
        tensor_rec *r = &f->tensors[i];
        uint8_t *base = r->t.mapped ? f->map + r->offset : f->arena + r->arena_off;
        r->t.data = base;
        if (r->t.dtype == ATTN_Q8)
            r->t.scales = (const float *)(base + mf_round_up((uint64_t)r->t.n_elements, MF_ALIGN));
    }
    st = load_tensors(f, s, opt, why, why_len);
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
        return mf_fail(why, why_len, ATTN_ERR_IO, "%s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return mf_fail(why, why_len, ATTN_ERR_IO, "%s", strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return mf_fail(why, why_len, ATTN_ERR_IO, "%s",
                    S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
    }
    source s = {fd, NULL, (uint64_t)sb.st_size};
    int st = open_source(out, &s, opt, 1, why, why_len);
    close(fd);
    return st;
}

int mf_open_mem(mf_file **out, const void *data, size_t len, const mf_options *opt,
                char *why, size_t why_len)
{
    *out = NULL;
    if (!data && len)
        return mf_fail(why, why_len, ATTN_ERR_ARG, "no data");
    source s = {-1, data ? data : (const void *)"", (uint64_t)len};
    return open_source(out, &s, opt, 0, why, why_len);
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
        const tensor_rec *r = &f->tensors[i];
        if (r->checked)
            continue;
        uint32_t crc = mf_crc32(0, r->t.data, r->t.decoded_size);
        if (crc != r->t.crc) {
            char name[80];
            return mf_fail(why, why_len, ATTN_ERR_CRC,
                        "tensor %s: CRC mismatch (file says %08x, data gives %08x)",
                        printable(name, sizeof name, r->t.name), r->t.crc, crc);
        }
    }
    return ATTN_OK;
}

int mf_version(const mf_file *f) { return f->version; }
uint64_t mf_file_size(const mf_file *f) { return f->file_size; }
uint64_t mf_decoded_size(const mf_file *f) { return f->decoded_total; }

/* ==== queries ============================================================================= */

/* Finds key; returns its entry or NULL. */
static const meta_entry *find_meta(const mf_file *f, const char *key)
{
    int lo = 0, hi = f->n_meta - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const meta_entry *e = &f->meta[f->meta_order[mid]];
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
    const meta_entry *e = find_meta(f, key);
    if (!e)
        return ATTN_ABSENT;
    *type = e->type;
    return ATTN_OK;
}

/* Finds key with the given type: returns ATTN_OK with *e set, ATTN_ABSENT or ATTN_ERR_TYPE. */
static int typed(const mf_file *f, const char *key, mf_type type, const meta_entry **e)
{
    *e = find_meta(f, key);
    if (!*e)
        return ATTN_ABSENT;
    return (*e)->type == type ? ATTN_OK : ATTN_ERR_TYPE;
}

int mf_get_i64(const mf_file *f, const char *key, int64_t *out)
{
    const meta_entry *e;
    int st = typed(f, key, MF_T_I64, &e);
    if (st == ATTN_OK)
        memcpy(out, e->value, 8);
    return st;
}

int mf_get_f64(const mf_file *f, const char *key, double *out)
{
    const meta_entry *e;
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
    const meta_entry *e;
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
    const meta_entry *e;
    int st = typed(f, key, MF_T_BLOB, &e);
    if (st == ATTN_OK) {
        *out = e->value;
        *len = (size_t)e->size;
    }
    return st;
}

int mf_get_i64_array(const mf_file *f, const char *key, const int64_t **out, size_t *n)
{
    const meta_entry *e;
    int st = typed(f, key, MF_T_I64_ARRAY, &e);
    if (st == ATTN_OK) {
        *out = (const int64_t *)(const void *)e->value;
        *n = (size_t)(e->size / 8);
    }
    return st;
}

int mf_get_f64_array(const mf_file *f, const char *key, const double **out, size_t *n)
{
    const meta_entry *e;
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
        const tensor_rec *r = &f->tensors[f->tensor_order[mid]];
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
    case ATTN_Q8: {
        int64_t cols = n / t->shape[0];
        for (int64_t i = 0; i < n; i++)
            out[i] = t->scales[i / cols] * (float)((const int8_t *)t->data)[i];
        break;
    }
    }
    return ATTN_OK;
}
