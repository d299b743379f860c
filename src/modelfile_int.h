/* modelfile_int.h — what the model-file reader and writer share; not part of the API. */
#ifndef ATTN_MODELFILE_INT_H
#define ATTN_MODELFILE_INT_H

#include "modelfile.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "attn model files are read and written on little-endian hosts only"
#endif

/* The dtype codes of dtype.h are the file's (man/attn-format.5, directory entry byte 4). */
_Static_assert(ATTN_F32 == 0 && ATTN_F16 == 1 && ATTN_BF16 == 2 && ATTN_Q8 == 3 &&
               ATTN_Q4 == 4 && ATTN_N_DTYPES == 5,
               "attn_dtype codes must be the model file's dtype codes");

#define MF_VERSION_MAJOR 1
#define MF_VERSION_MINOR 0      /* written when no tensor needs a newer code */
#define MF_VERSION_MINOR_Q4 1   /* the minor version that added the q4 dtype */
#define MF_HEADER_SIZE 64
#define MF_META_ENTRY 16        /* fixed part of a metadata entry */
#define MF_TENSOR_ENTRY 80      /* fixed part of a directory entry */
#define MF_CHUNK_ENTRY 16       /* one chunk-table row */
#define MF_MAX_CHUNK (1u << 26) /* largest decoded chunk: 64 MiB */
#define MF_DEFAULT_CHUNK (1u << 18)
#define MF_MAX_ELEMENTS (1ull << 46)
#define MF_DEFLATE_RATIO 1032   /* deflate never decodes more than 1032 bytes per stored byte */

static inline uint16_t mf_rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t mf_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t mf_rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void mf_wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void mf_wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void mf_wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* n rounded up to a multiple of a (n < 2^62). */
static inline uint64_t mf_round_up(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

/* One metadata entry as parsed. */
typedef struct mf_meta_entry {
    const char *key;
    mf_type type;
    uint64_t size;          /* value bytes (without padding or NUL) */
    const uint8_t *value;   /* 8-byte aligned, inside meta_buf */
} mf_meta_entry;

/* One tensor as parsed, with where its data is in the file and in memory. */
typedef struct mf_tensor_rec {
    mf_tensor t;
    uint64_t offset;        /* file offset of the stored data */
    uint64_t chunk_size;    /* decoded bytes per chunk (the last may be shorter) */
    const uint8_t *chunks;  /* (n_chunks, 16) chunk table inside dir_buf */
    uint64_t arena_off;     /* where the decoded data goes in the arena */
    int checked;            /* 1 when the data CRC was verified at open */
} mf_tensor_rec;

/* An open model file (the mf_file of modelfile.h). */
struct mf_file {
    int version;
    uint64_t file_size;
    uint64_t decoded_total;
    uint8_t *meta_buf;      /* (meta_size) metadata section */
    uint8_t *dir_buf;       /* (dir_size) tensor directory */
    mf_meta_entry *meta;       /* (n_meta) in file order */
    int *meta_order;        /* (n_meta) indices sorted by key */
    int n_meta;
    mf_tensor_rec *tensors;    /* (n_tensors) in file order */
    int *tensor_order;      /* (n_tensors) indices sorted by name */
    int n_tensors;
    uint8_t *arena;         /* (arena_size) decoded tensors, anonymous mapping */
    size_t arena_size;
    uint8_t *map;           /* (map_size) the file, when mapped */
    size_t map_size;
};

/* Where the file's bytes come from: a file descriptor or a memory buffer. */
typedef struct mf_source {
    int fd;
    const uint8_t *mem;
    uint64_t size;
} mf_source;


/* Reads n bytes at off from the source into buf; returns 0, or -1 (errno set) on a read error. */
int mf_src_read(const mf_source *s, void *buf, size_t n, uint64_t off);

/* Copies the name s for messages into out (out_len bytes), control bytes shown as '?';
 * returns out. */
const char *mf_printable(char *out, size_t out_len, const char *s);

/* Reads, inflates and checks the data of f's tensors (modelfile_load.c) once their places are
 * set; returns ATTN_OK or the first error with a reason in why. */
int mf_load_tensors(mf_file *f, const mf_source *s, const mf_options *opt, char *why,
                    size_t why_len);

/* The 8 bytes every model file starts with. */
extern const uint8_t mf_magic[8];


/* CRC-32 (zlib's) continued over n bytes of any size; returns the new CRC. */
uint32_t mf_crc32(uint32_t crc, const void *data, uint64_t n);

/* Decoded bytes of a tensor of n_elements values with `rows` rows (q8 and q4 add padding and
 * scales). */
uint64_t mf_decoded_bytes(attn_dtype dtype, int64_t rows, int64_t n_elements);

/* Byte shuffle of n_bytes (a multiple of esize): all first bytes of the values, then all second
 * bytes...; and its inverse. out and in do not overlap. */
void mf_shuffle(uint8_t *out, const uint8_t *in, size_t n_bytes, size_t esize);
void mf_unshuffle(uint8_t *out, const uint8_t *in, size_t n_bytes, size_t esize);

/* Threads to use for n_jobs jobs when n were asked for (<= 0: online CPUs, at most 16). */
int mf_thread_count(int n, size_t n_jobs);

#endif
