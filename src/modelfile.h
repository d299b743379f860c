/* modelfile.h — attn model files: open, validate, decode, query; and write them.
 *
 * A model file holds typed key/value metadata (hyperparameters, special ids, the tokenizer,
 * provenance) and named tensors (f32, f16, bf16, q8 or q4), each stored uncompressed or as
 * independent raw-deflate chunks, with CRC-32 checks.  The byte layout is specified in
 * man/attn-format.5; scripts/lib/attnfile.py reads and writes the same format.
 *
 * Reading:
 *
 *     mf_file *f;
 *     char why[256];
 *     if (mf_open(&f, "model.attn", NULL, why, sizeof why) < 0) {
 *         fprintf(stderr, "attn: model.attn: %s\n", why);  // "tensor enc.0.ffn.up.weight: ..."
 *         return 1;
 *     }
 *     int64_t d_model;
 *     if (mf_get_i64(f, "d_model", &d_model) != ATTN_OK) ...  // ATTN_ABSENT: the key is missing
 *     mf_tensor t;
 *     if (mf_tensor_get(f, "embed.weight", &t) == ATTN_OK && t.dtype == ATTN_F32) {
 *         const float *w = t.data;            // (t.shape[0], t.shape[1]), 64-byte aligned
 *     }
 *     mf_free(f);
 *
 * mf_open checks everything before it trusts it: the header, metadata and directory CRCs, every
 * size, offset, count and shape against the file's length and against each other, and (unless
 * told otherwise) the CRC-32 of every tensor's data.  Nothing is allocated on the word of an
 * unchecked field.  Once open, an mf_file is read-only: every query below may be called from
 * several threads at once.  Pointers it hands out live until mf_free.
 *
 * Writing (attn convert, tests):
 *
 *     mf_writer *w;
 *     mf_writer_open(&w);
 *     mf_writer_set_i64(w, "d_model", 512);
 *     mf_writer_add_f32(w, "embed.weight", ATTN_Q8, shape, 2, values);   // converted at once
 *     mf_writer_write(w, "out.attn", NULL, why, sizeof why);
 *     mf_writer_free(w);
 *
 * The format and this code assume a little-endian host (x86-64).
 */
#ifndef ATTN_MODELFILE_H
#define ATTN_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "status.h"

/* Status codes: functions return ATTN_OK (0), ATTN_ABSENT (1: a normal event, the key or tensor
 * is not there) or a negative ATTN_ERR_* of status.h, which attn_strerror() describes; mf_open,
 * mf_verify and mf_writer_write also write a one-line reason into the caller's why buffer.
 * Element types are the attn_dtype of dtype.h (its codes are the file's). */

/* Metadata value types (the codes are the file's). */
typedef enum mf_type {
    MF_T_I64 = 1,
    MF_T_F64 = 2,
    MF_T_STR = 3,        /* UTF-8 text, NUL-terminated in memory */
    MF_T_BLOB = 4,       /* bytes */
    MF_T_I64_ARRAY = 5,
    MF_T_F64_ARRAY = 6,
} mf_type;

/* Storage methods and filters (the codes are the file's). */
enum { MF_METHOD_NONE = 0, MF_METHOD_DEFLATE = 1 };
enum { MF_FILTER_NONE = 0, MF_FILTER_SHUFFLE = 1 };

#define MF_MAX_DIMS 4
#define MF_MAX_NAME 4095
#define MF_ALIGN 64

/* Options of mf_open; NULL means the defaults of mf_options_default. */
typedef struct mf_options {
    int verify;     /* MF_VERIFY_*: which tensor CRCs mf_open checks (default MF_VERIFY_READ) */
    int n_threads;  /* threads that inflate and check chunks; <= 0: online CPUs, at most 16 */
    int use_mmap;   /* 1 (default): map the file and point uncompressed tensors into it, no copy */
} mf_options;

enum {
    MF_VERIFY_READ = 0,  /* check every tensor mf_open reads or inflates (not mapped ones) */
    MF_VERIFY_ALL = 1,   /* check every tensor, mapped ones too (reads the whole file) */
    MF_VERIFY_NONE = 2,  /* check no tensor CRC (header, metadata, directory still checked) */
};

/* One tensor as mf_open decoded it. */
typedef struct mf_tensor {
    const char *name;
    attn_dtype dtype;
    int ndim;                        /* 1..MF_MAX_DIMS */
    int64_t shape[MF_MAX_DIMS];      /* shape[0] is the outermost (rows; out features); unused 0 */
    int64_t n_elements;              /* product of the shape */
    const void *data;                /* (shape) row-major, MF_ALIGN-aligned: float, uint16_t or
                                      * int8_t */
    const float *scales;             /* (shape[0]) q8 per-row scales; NULL for other dtypes */
    const uint16_t *half_scales;     /* (shape[0], attn_q4_groups(cols)) q4 group scales (half
                                      * bits); NULL for other dtypes */
    uint64_t stored_size;            /* bytes in the file */
    uint64_t decoded_size;           /* bytes decoded (q8 / q4: values, padding to 64, scales) */
    int method;                      /* MF_METHOD_* */
    int filter;                      /* MF_FILTER_* */
    uint32_t n_chunks;
    uint32_t crc;                    /* CRC-32 of the decoded bytes */
    int mapped;                      /* 1 when data points into the mapped file (no copy) */
} mf_tensor;

typedef struct mf_file mf_file;

/* Fills opt with the defaults (MF_VERIFY_READ, n_threads 0 = all CPUs up to 16, use_mmap 1). */
void mf_options_default(mf_options *opt);

/* Opens, validates and decodes the model file at path into *out; on error returns a negative
 * status, sets *out to NULL and writes a one-line reason (naming the tensor or key at fault,
 * without the path) into why (why_len bytes, may be 0). */
int mf_open(mf_file **out, const char *path, const mf_options *opt, char *why, size_t why_len);

/* Like mf_open on the len bytes at data (copied as needed: data may be freed afterwards;
 * use_mmap is ignored); same errors. */
int mf_open_mem(mf_file **out, const void *data, size_t len, const mf_options *opt,
                char *why, size_t why_len);

/* Frees everything mf_open allocated or mapped; accepts NULL. */
void mf_free(mf_file *f);

/* Says that the bytes [p, p + n) of a tensor in the file mapping will not be read for a while:
 * the whole pages inside leave the process's resident memory and come back from the file on the
 * next read (the data stay valid).  A no-op for anything outside the mapping (read or decoded
 * tensors, whose memory has no file behind it). */
void mf_drop_pages(const mf_file *f, const void *p, size_t n);

/* Checks the CRC of every tensor not checked at open (mapped ones); returns ATTN_OK or ATTN_ERR_CRC
 * with a reason in why. */
int mf_verify(const mf_file *f, char *why, size_t why_len);

/* Format version of the opened file (major * 1000 + minor) and its size in bytes. */
int mf_version(const mf_file *f);
uint64_t mf_file_size(const mf_file *f);

/* Total decoded bytes of all tensors (what the model weighs in memory). */
uint64_t mf_decoded_size(const mf_file *f);

/* ---- metadata -------------------------------------------------------------------------- */

/* Number of metadata keys. */
int mf_meta_count(const mf_file *f);

/* Key and type of the i-th entry in file order; returns ATTN_OK or ATTN_ERR_ARG when i is out
 * of range. */
int mf_meta_at(const mf_file *f, int i, const char **key, mf_type *type);

/* Type of key: returns ATTN_OK, or ATTN_ABSENT. */
int mf_meta_type(const mf_file *f, const char *key, mf_type *type);

/* Reads an i64 value: ATTN_OK, ATTN_ABSENT (*out untouched) or ATTN_ERR_TYPE (the key holds
 * another type). */
int mf_get_i64(const mf_file *f, const char *key, int64_t *out);

/* Reads an f64 value (an i64 value is converted): ATTN_OK, ATTN_ABSENT or ATTN_ERR_TYPE. */
int mf_get_f64(const mf_file *f, const char *key, double *out);

/* Reads a string (NUL-terminated; *len, if not NULL, excludes the NUL): ATTN_OK, ATTN_ABSENT or
 * ATTN_ERR_TYPE. */
int mf_get_str(const mf_file *f, const char *key, const char **out, size_t *len);

/* Reads a blob (8-byte aligned): ATTN_OK, ATTN_ABSENT or ATTN_ERR_TYPE. */
int mf_get_blob(const mf_file *f, const char *key, const void **out, size_t *len);

/* Reads an i64 array of *n values (8-byte aligned): ATTN_OK, ATTN_ABSENT or ATTN_ERR_TYPE. */
int mf_get_i64_array(const mf_file *f, const char *key, const int64_t **out, size_t *n);

/* Reads an f64 array of *n values (8-byte aligned): ATTN_OK, ATTN_ABSENT or ATTN_ERR_TYPE. */
int mf_get_f64_array(const mf_file *f, const char *key, const double **out, size_t *n);

/* The same getters with a default: an absent key gives def and ATTN_OK; ATTN_ERR_TYPE otherwise. */
int mf_get_i64_or(const mf_file *f, const char *key, int64_t def, int64_t *out);
int mf_get_f64_or(const mf_file *f, const char *key, double def, double *out);
int mf_get_str_or(const mf_file *f, const char *key, const char *def, const char **out);

/* ---- tensors --------------------------------------------------------------------------- */

/* Number of tensors. */
int mf_tensor_count(const mf_file *f);

/* Fills *out with the i-th tensor in file order; returns ATTN_OK or ATTN_ERR_ARG when out of
 * range. */
int mf_tensor_at(const mf_file *f, int i, mf_tensor *out);

/* Fills *out with the tensor called name; returns ATTN_OK or ATTN_ABSENT. */
int mf_tensor_get(const mf_file *f, const char *name, mf_tensor *out);

/* Writes the n = t->n_elements values of t, converted to float, into out (n floats); returns
 * ATTN_OK. */
int mf_tensor_to_f32(float *out, const mf_tensor *t);

/* ---- writer ---------------------------------------------------------------------------- */

typedef struct mf_writer mf_writer;

/* Options of mf_writer_write; NULL means the defaults. */
typedef struct mf_write_options {
    int method;        /* MF_METHOD_DEFLATE (default) or MF_METHOD_NONE */
    int level;         /* deflate level 0..9 (default 6) */
    int shuffle;       /* 1 (default): byte-shuffle f32/f16/bf16 chunks before deflate */
    uint32_t chunk_size; /* decoded bytes per chunk, a multiple of 64 up to 64 MiB (256 KiB) */
    int n_threads;     /* threads that compress chunks; <= 0: online CPUs, at most 16 */
} mf_write_options;

/* Fills opt with the defaults. */
void mf_write_options_default(mf_write_options *opt);

/* Creates an empty writer in *out; returns ATTN_OK or ATTN_ERR_NOMEM. */
int mf_writer_open(mf_writer **out);

/* Frees a writer and every copy it holds; accepts NULL. */
void mf_writer_free(mf_writer *w);

/* Adds (or replaces) a metadata entry, copying the value; return ATTN_OK, ATTN_ERR_ARG (bad key) or
 * ATTN_ERR_NOMEM. Entries are written in the order first added. */
int mf_writer_set_i64(mf_writer *w, const char *key, int64_t v);
int mf_writer_set_f64(mf_writer *w, const char *key, double v);
int mf_writer_set_str(mf_writer *w, const char *key, const char *s);
int mf_writer_set_blob(mf_writer *w, const char *key, const void *data, size_t len);
int mf_writer_set_i64_array(mf_writer *w, const char *key, const int64_t *v, size_t n);
int mf_writer_set_f64_array(mf_writer *w, const char *key, const double *v, size_t n);

/* Copies every metadata entry of f into w; returns ATTN_OK or an error of mf_writer_set_*. */
int mf_writer_copy_meta(mf_writer *w, const mf_file *f);

/* Adds a tensor from float values (shape: ndim dims, each >= 1; values: product of them),
 * converting to dtype now; returns ATTN_OK, ATTN_ERR_ARG (bad name, shape, duplicate name,
 * non-finite value for q8) or ATTN_ERR_NOMEM. */
int mf_writer_add_f32(mf_writer *w, const char *name, attn_dtype dtype, const int64_t *shape,
                      int ndim, const float *values);

/* Adds a copy of a tensor of an open file with its dtype and values unchanged; same returns. */
int mf_writer_add_tensor(mf_writer *w, const mf_tensor *t);

/* Writes the file to path (through path.tmp, renamed at the end); returns ATTN_OK, ATTN_ERR_ARG
 * (bad options), ATTN_ERR_NOMEM or ATTN_ERR_IO, with a reason in why. */
int mf_writer_write(mf_writer *w, const char *path, const mf_write_options *opt,
                    char *why, size_t why_len);

#endif
