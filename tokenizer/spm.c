/* spm.c — opening and closing SentencePiece models, their lookups and the helpers the spm files
 * share. */
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

int spm_buf_put(spm_buf *b, const char *s, size_t k)
{
    if (b->n + k > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + k)
            c *= 2;
        char *p = realloc(b->p, c);
        if (!p)
            return TOK_ERR_NOMEM;
        b->p = p;
        b->cap = c;
    }
    if (k)
        memcpy(b->p + b->n, s, k);
    b->n += k;
    return TOK_OK;
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

int spm_sniff(const void *data, size_t len)
{
    /* A ModelProto starts with its first piece: field 1, wire type 2, a length that fits. */
    const uint8_t *d = data;
    if (len < 3 || d[0] != 0x0A)
        return 0;
    size_t n = 0, i = 1;
    for (int shift = 0; i < len && i < 6; shift += 7) {
        n |= (size_t)(d[i] & 0x7F) << shift;
        if (!(d[i++] & 0x80))
            return n > 0 && n <= len - i;
    }
    return 0;
}

/* Sets the longest piece (or unknown surface) and whether there are control pieces. */
static void measure(spm *m)
{
    m->max_piece = m->unk_surface_len;
    for (int32_t i = 0; i < m->n; i++) {
        m->max_piece = m->len[i] > m->max_piece ? m->len[i] : m->max_piece;
        m->has_special |= m->type[i] == SPM_CONTROL || m->type[i] == SPM_UNKNOWN;
    }
}

int spm_open(tokenizer **out, const char *path, const void *data, size_t len, char *why,
             size_t why_len)
{
    (void)path;
    *out = NULL;
    tok_why(why, why_len, "%s", "");
    spm *m = calloc(1, sizeof *m);
    if (!m || !(m->file = malloc(len ? len : 1))) {
        free(m);
        tok_why(why, why_len, "%s", tok_strerror(TOK_ERR_NOMEM));
        return TOK_ERR_NOMEM;
    }
    m->base.kind = &tok_kind_spm;
    memcpy(m->file, data, len);
    m->file_len = len;
    int rc = spm_parse(m, data, len, why, why_len);
    if (rc < 0) {
        if (rc == TOK_ERR_NOMEM)
            tok_why(why, why_len, "%s", tok_strerror(rc));
        spm_free(&m->base);
        return rc;
    }
    measure(m);
    *out = &m->base;
    return TOK_OK;
}

int spm_open_mem(tokenizer **out, const void *data, size_t len, char *why, size_t why_len)
{
    return spm_open(out, NULL, data ? data : "", data ? len : 0, why, why_len);
}

void spm_free(tokenizer *t)
{
    spm *m = (spm *)t;
    if (!m)
        return;
    free(m->file);
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

int spm_serialize(const tokenizer *t, char **buf, size_t *len)
{
    const spm *m = (const spm *)t;
    if (!(*buf = malloc(m->file_len ? m->file_len : 1)))
        return TOK_ERR_NOMEM;
    memcpy(*buf, m->file, m->file_len);
    *len = m->file_len;
    return TOK_OK;
}

size_t spm_vocab_size(const tokenizer *t)
{
    return (size_t)((const spm *)t)->n;
}

size_t spm_max_token_bytes(const tokenizer *t)
{
    return ((const spm *)t)->max_piece + 8;
}

const char *spm_token_bytes(const tokenizer *t, int32_t id, size_t *len)
{
    const spm *m = (const spm *)t;
    if (id < 0 || id >= m->n)
        return NULL;
    *len = m->len[id];
    return m->text + m->off[id];
}

/* Returns 1 if piece id is special in tok.h's sense (a control or the unknown piece), else 0. */
static int special(const spm *m, int32_t id)
{
    return m->type[id] == SPM_CONTROL || m->type[id] == SPM_UNKNOWN;
}

int spm_is_special(const tokenizer *t, int32_t id)
{
    const spm *m = (const spm *)t;
    return id >= 0 && id < m->n && special(m, id);
}

int32_t spm_special_id(const tokenizer *t, const char *s, size_t len)
{
    const spm *m = (const spm *)t;
    int32_t id = spm_trie_find(&m->trie, s, len);
    return id >= 0 && special(m, id) ? id : -1;
}

int32_t spm_token_id(const tokenizer *t, const char *s, size_t len)
{
    const spm *m = (const spm *)t;
    int32_t id = spm_trie_find(&m->trie, s, len);
    return id >= 0 && !special(m, id) ? id : -1;
}

int spm_model_type(const tokenizer *t)
{
    return ((const spm *)t)->model_type;
}

int spm_piece_type(const tokenizer *t, int32_t id)
{
    const spm *m = (const spm *)t;
    return id < 0 || id >= m->n ? 0 : m->type[id];
}

float spm_piece_score(const tokenizer *t, int32_t id)
{
    const spm *m = (const spm *)t;
    return id < 0 || id >= m->n ? 0.0f : m->score[id];
}

int32_t spm_unk_id(const tokenizer *t)
{
    return ((const spm *)t)->unk_id;
}

int32_t spm_bos_id(const tokenizer *t)
{
    return ((const spm *)t)->bos_id;
}

int32_t spm_eos_id(const tokenizer *t)
{
    return ((const spm *)t)->eos_id;
}

int32_t spm_pad_id(const tokenizer *t)
{
    return ((const spm *)t)->pad_id;
}
