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
               ATTN_N_DTYPES == 4, "attn_dtype codes must be the model file's dtype codes");

#define MF_VERSION_MAJOR 1
#define MF_VERSION_MINOR 0
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

/* The 8 bytes every model file starts with. */
extern const uint8_t mf_magic[8];

/* Writes a formatted reason into why (if any room) and returns status. */
int mf_fail(char *why, size_t why_len, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* CRC-32 (zlib's) continued over n bytes of any size; returns the new CRC. */
uint32_t mf_crc32(uint32_t crc, const void *data, uint64_t n);

/* Decoded bytes of a tensor of n_elements values with `rows` rows (q8 adds padding and scales). */
uint64_t mf_decoded_bytes(attn_dtype dtype, int64_t rows, int64_t n_elements);

/* Byte shuffle of n_bytes (a multiple of esize): all first bytes of the values, then all second
 * bytes...; and its inverse. out and in do not overlap. */
void mf_shuffle(uint8_t *out, const uint8_t *in, size_t n_bytes, size_t esize);
void mf_unshuffle(uint8_t *out, const uint8_t *in, size_t n_bytes, size_t esize);

/* Threads to use for n_jobs jobs when n were asked for (<= 0: online CPUs, at most 16). */
int mf_thread_count(int n, size_t n_jobs);

#endif
