/* spm.c — opening and closing SentencePiece models, their accessors and shared helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

const char *spm_strerror(int status)
{
    switch (status) {
    case SPM_OK:
        return "success";
    case SPM_ERR_NOMEM:
        return "out of memory";
    case SPM_ERR_IO:
        return "cannot read the SentencePiece model";
    case SPM_ERR_FORMAT:
        return "malformed SentencePiece model";
    case SPM_ERR_SPACE:
        return "output buffer too small";
    case SPM_ERR_ID:
        return "token id outside the vocabulary";
    case SPM_ERR_STREAM:
        return "this model's decoding cannot be streamed (it has a denormalizer)";
    default:
        return "unknown SentencePiece error";
    }
}

int spm_buf_put(spm_buf *b, const char *s, size_t k)
{
    if (b->n + k > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + k)
            c *= 2;
        char *p = realloc(b->p, c);
        if (!p)
            return SPM_ERR_NOMEM;
        b->p = p;
        b->cap = c;
    }
    if (k)
        memcpy(b->p + b->n, s, k);
    b->n += k;
    return SPM_OK;
}

size_t spm_utf8_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c;
    if (u[0] < 0x80)
        return 1;
#define TRAIL(i) ((u[i] & 0xC0) == 0x80)
    if (n >= 2 && (u[0] & 0xE0) == 0xC0 && TRAIL(1)) {
        c = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
        return c >= 0x80 ? 2 : 0;
    }
    if (n >= 3 && (u[0] & 0xF0) == 0xE0 && TRAIL(1) && TRAIL(2)) {
        c = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
        return c >= 0x800 && (c < 0xD800 || c > 0xDFFF) ? 3 : 0;
    }
    if (n >= 4 && (u[0] & 0xF8) == 0xF0 && TRAIL(1) && TRAIL(2) && TRAIL(3)) {
        c = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 |
            (uint32_t)(u[2] & 0x3F) << 6 | (u[3] & 0x3F);
        return c >= 0x10000 && c <= 0x10FFFF ? 4 : 0;
    }
#undef TRAIL
    return 0;
}

int spm_open_mem(spm **out, const void *data, size_t len, char *why, size_t why_len)
{
    *out = NULL;
    if (why && why_len)
        why[0] = 0;
    spm *m = calloc(1, sizeof *m);
    if (!m)
        return SPM_ERR_NOMEM;
    int rc = spm_parse(m, data, len, why, why_len);
    if (rc < 0) {
        if (rc == SPM_ERR_NOMEM && why && why_len)
            snprintf(why, why_len, "%s", spm_strerror(rc));
        spm_free(m);
        return rc;
    }
    *out = m;
    return SPM_OK;
}

int spm_open(spm **out, const char *path, char *why, size_t why_len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (why && why_len)
            snprintf(why, why_len, "%s", strerror(errno));
        return SPM_ERR_IO;
    }
    spm_buf b = {0};
    char chunk[65536];
    size_t k;
    int rc = SPM_OK;
    while (rc == SPM_OK && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = spm_buf_put(&b, chunk, k);
    if (rc == SPM_OK && ferror(f)) {
        rc = SPM_ERR_IO;
        if (why && why_len)
            snprintf(why, why_len, "%s", strerror(errno));
    }
    fclose(f);
    if (rc == SPM_OK)
        rc = spm_open_mem(out, b.p ? b.p : "", b.n, why, why_len);
    else if (rc == SPM_ERR_NOMEM && why && why_len)
        snprintf(why, why_len, "%s", spm_strerror(rc));
    free(b.p);
    return rc;
}

void spm_free(spm *m)
{
    if (!m)
        return;
    free(m->text);
    free(m->off);
    free(m->len);
    free(m->score);
    free(m->vscore);
    free(m->type);
    free(m->unk_surface);
    spm_trie_free(&m->trie);
    spm_norm_free(&m->norm);
    spm_norm_free(&m->denorm);
    free(m);
}

size_t spm_vocab_size(const spm *m)
{
    return (size_t)m->n;
}

int spm_model_type(const spm *m)
{
    return m->model_type;
}

const char *spm_piece(const spm *m, int32_t id, size_t *len)
{
    if (id < 0 || id >= m->n)
        return NULL;
    if (len)
        *len = m->len[id];
    return m->text + m->off[id];
}

int spm_piece_type(const spm *m, int32_t id)
{
    return id < 0 || id >= m->n ? 0 : m->type[id];
}

float spm_piece_score(const spm *m, int32_t id)
{
    return id < 0 || id >= m->n ? 0.0f : m->score[id];
}

int32_t spm_piece_id(const spm *m, const char *s, size_t len)
{
    return spm_trie_find(&m->trie, s, len);
}

size_t spm_stream_cap(const spm *m)
{
    size_t most = m->unk_surface_len;
    for (int32_t i = 0; i < m->n; i++)
        most = m->len[i] > most ? m->len[i] : most;
    return most + 4 * 3; /* and up to four held bytes, each as U+FFFD */
}

int32_t spm_unk_id(const spm *m)
{
    return m->unk_id;
}

int32_t spm_bos_id(const spm *m)
{
    return m->bos_id;
}

int32_t spm_eos_id(const spm *m)
{
    return m->eos_id;
}

int32_t spm_pad_id(const spm *m)
{
    return m->pad_id;
}
