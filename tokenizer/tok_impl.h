/* tok_impl.h — what a kind of tokenizer implements (the table tok.c dispatches through) and the
 * helpers the kinds share; private to the library. */
#ifndef ATTN_TOK_IMPL_H
#define ATTN_TOK_IMPL_H

#include "tok.h"

#include <string.h>

typedef struct tok_kind tok_kind;

/* The first member of every kind's tokenizer object: the kind that made it. */
struct tokenizer {
    const tok_kind *kind;
};

/* The first member of every kind's encoder object. */
struct tok_encoder {
    const tok_kind *kind;
};

/* A kind of tokenizer: its name and its implementation of each tok.h function (same contracts).
 * Entries marked optional may be NULL; tok.c then returns TOK_ERR_UNSUPPORTED (NULL for
 * pattern). */
struct tok_kind {
    const char *name;
    /* Returns 1 if data[0..len-1] is recognisably a file of this kind, else 0. */
    int (*sniff)(const void *data, size_t len);
    /* Opens data[0..len-1]; path is the file's name, or NULL for bytes from memory. */
    int (*open)(tokenizer **out, const char *path, const void *data, size_t len, char *why,
                size_t why_len);
    void (*free)(tokenizer *t);
    size_t (*vocab_size)(const tokenizer *t);
    size_t (*max_token_bytes)(const tokenizer *t);
    const char *(*token_bytes)(const tokenizer *t, int32_t id, size_t *len);
    int (*is_special)(const tokenizer *t, int32_t id);
    int32_t (*special_id)(const tokenizer *t, const char *s, size_t len);
    int32_t (*token_id)(const tokenizer *t, const char *s, size_t len);
    int (*encode)(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                  size_t len, int flags);
    int (*encoder_open)(tok_encoder **out, const tokenizer *t);
    void (*encoder_free)(tok_encoder *e);
    int (*encoder_encode)(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids,
                          const char *text, size_t len, int flags);
    int (*decode)(const tokenizer *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
                  size_t n_ids);
    /* The stream's held tail may be kept with tok_stream_hold. */
    int (*stream_push)(tok_stream *s, char *out, size_t cap, size_t *n_out, int32_t id);
    /* Optional: NULL writes the held tail as it is and resets the stream. */
    int (*stream_flush)(tok_stream *s, char *out, size_t cap, size_t *n_out);
    const char *(*pattern)(const tokenizer *t);                                   /* optional */
    int (*set_pattern)(tokenizer *t, const char *pattern, char *why, size_t why_len); /* opt. */
    int (*serialize)(const tokenizer *t, char **buf, size_t *len);                /* optional */
};

/* Writes a formatted reason into why (when why_len > 0). */
void tok_why(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads a whole file into a malloc'd buffer the caller frees; returns a status with errno set on
 * TOK_ERR_IO. */
int tok_read_file(const char *path, char **buf, size_t *len);

/* Returns the length of the Python white-space character (str.isspace) at s[0..n-1], or 0. */
size_t tok_space_len(const char *s, size_t n);

/* Returns how many bytes of Python white space start s[0..n-1]. */
size_t tok_leading_space(const char *s, size_t n);

/* Returns how many bytes of Python white space end s[0..n-1]. */
size_t tok_trailing_space(const char *s, size_t n);

/* Returns how many bytes the character led by byte c needs (1 for bytes that cannot lead). */
static inline int tok_utf8_need(unsigned char c)
{
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 1;
}

/* Given out[0..n-1] = the stream's held tail followed by a token's bytes, moves a trailing
 * incomplete UTF-8 character into s's tail; returns how many bytes of out are complete. */
static inline size_t tok_stream_hold(tok_stream *s, const char *out, size_t n)
{
    size_t keep = 0;
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)out[n - back];
        if ((c & 0xC0) == 0x80)
            continue;
        if (tok_utf8_need(c) > (int)back)
            keep = back;
        break;
    }
    memcpy(s->tail, out + n - keep, keep);
    s->n_tail = (int)keep;
    return n - keep;
}

#endif
