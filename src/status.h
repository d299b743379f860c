/* status.h — the status codes of libattn (model files, kernels, engine, generation, sentences). */
#ifndef ATTN_STATUS_H
#define ATTN_STATUS_H

#include <stddef.h>

/* Every libattn function that can fail returns one of these: 0 success, positive a normal event,
 * negative an error.  The numbers are never changed; attn_strerror names each one.  Functions
 * that can say more (the model-file reader, the model loader) also write a one-line reason into
 * a caller's `why` buffer. */
enum attn_status {
    ATTN_OK = 0,
    ATTN_ABSENT = 1,            /* the key or tensor is not in the file: use a default */
    ATTN_ERR_IO = -1,           /* the file cannot be opened, read or written (see errno / why) */
    ATTN_ERR_NOMEM = -2,        /* out of memory */
    ATTN_ERR_FORMAT = -3,       /* not an attn model file (bad magic) */
    ATTN_ERR_VERSION = -4,      /* a format version this reader does not read */
    ATTN_ERR_TRUNCATED = -5,    /* the file is shorter (or longer) than its header says */
    ATTN_ERR_CORRUPT = -6,      /* a field is out of range or inconsistent with the others */
    ATTN_ERR_CRC = -7,          /* a CRC-32 does not match: the file is damaged */
    ATTN_ERR_INFLATE = -8,      /* compressed data does not inflate to what the directory says */
    ATTN_ERR_TYPE = -9,         /* the key holds another type than the one asked for */
    ATTN_ERR_ARG = -10,         /* invalid argument (NULL, out of range, bad dtype or shape) */
    ATTN_ERR_FILE = -11,        /* the model file cannot be read or is not a valid attn file */
    ATTN_ERR_MODEL = -12,       /* the model's metadata or tensors are missing or inconsistent */
    ATTN_ERR_STATE = -13,       /* call out of order (decode before encode, step past the end) */
    ATTN_ERR_THREAD = -14,      /* worker threads cannot be started */
    ATTN_ERR_PARAM = -15,       /* a generation parameter is out of range or inconsistent */
    ATTN_ERR_DECODER = -16,     /* the decoder failed during generation (gen_model_status) */
    ATTN_ERR_TOO_MANY = -17,    /* more sources (or rows) than the object was opened for */
    ATTN_ERR_TOO_LONG = -18,    /* a target is longer than max_new_tokens allows */
    ATTN_ERR_LENGTH = -19,      /* more new tokens asked for than the model has positions */
    ATTN_ERR_ISA = -20,         /* an instruction set this CPU lacks, or no such name */
    ATTN_ERR_LANG = -21,        /* a language the sentence splitter has no rules for */
    ATTN_ERR_SPACE = -22,       /* the caller's array is too small; the size needed is returned */
};

/* Returns a static one-line English description of a status (never NULL). */
const char *attn_strerror(int status);

/* Writes a formatted one-line reason into why (when why is not NULL and why_len > 0) and returns
 * status, so that an error path reads `return attn_fail(why, why_len, ATTN_ERR_X, "...", ...)`. */
int attn_fail(char *why, size_t why_len, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
