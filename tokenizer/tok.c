/* tok.c — the generic tokenizer: the list of kinds, opening a file with the right kind, and the
 * tok.h functions, which forward to the tokenizer's kind.  Contracts: tok.h. */
#include "tok_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds, in the order tok_open asks them (the first also opens what no kind recognises):
 * X(name) registers `const tok_kind tok_kind_name`. */
#define TOK_KINDS(X) X(bpe) X(spm) X(spmmap)

#define DECLARE_KIND(name) extern const tok_kind tok_kind_##name;
#define LIST_KIND(name) &tok_kind_##name,
TOK_KINDS(DECLARE_KIND)
static const tok_kind *const kinds[] = {TOK_KINDS(LIST_KIND)};

const char *tok_strerror(int status)
{
    switch (status) {
    case TOK_OK: return "success";
    case TOK_ERR_NOMEM: return "out of memory";
    case TOK_ERR_IO: return "input/output error";
    case TOK_ERR_FORMAT: return "malformed tokenizer file";
    case TOK_ERR_PATTERN: return "invalid pre-tokenizer pattern";
    case TOK_ERR_SPACE: return "output buffer too small";
    case TOK_ERR_ID: return "token id out of range";
    case TOK_ERR_MATCH: return "pattern matching failed";
    case TOK_ERR_ARG: return "invalid argument";
    case TOK_ERR_UNSUPPORTED: return "not supported by this kind of tokenizer";
    default: return "unknown status";
    }
}

void tok_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (!why || why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

/* ---- opening ------------------------------------------------------------------------------ */

int tok_read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return TOK_ERR_IO;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) {
            fclose(f);
            return TOK_ERR_NOMEM;
        }
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(b, cap);
        if (!nb)
            free(b);
        b = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        errno = EIO;
        return TOK_ERR_IO;
    }
    *buf = b;
    *len = n;
    return TOK_OK;
}

/* Returns the kind that recognises data[0..len-1], or the first kind when none does. */
static const tok_kind *kind_of(const void *data, size_t len)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i]->sniff(data, len))
            return kinds[i];
    return kinds[0];
}

int tok_open(tokenizer **out, const char *path, char *why, size_t why_len)
{
    *out = NULL;
    char *buf;
    size_t len;
    int rc = tok_read_file(path, &buf, &len);
    if (rc < 0) {
        tok_why(why, why_len, "%s", rc == TOK_ERR_IO ? strerror(errno) : tok_strerror(rc));
        return rc;
    }
    rc = kind_of(buf, len)->open(out, path, buf, len, why, why_len);
    free(buf);
    return rc;
}

int tok_open_mem(tokenizer **out, const void *data, size_t len, char *why, size_t why_len)
{
    *out = NULL;
    if (!data && len)
        return TOK_ERR_ARG;
    if (!data)
        data = "";
    return kind_of(data, len)->open(out, NULL, data, len, why, why_len);
}

void tok_free(tokenizer *t)
{
    if (t)
        t->kind->free(t);
}

/* ---- lookups ------------------------------------------------------------------------------ */

const char *tok_kind_name(const tokenizer *t)
{
    return t->kind->name;
}

size_t tok_vocab_size(const tokenizer *t)
{
    return t->kind->vocab_size(t);
}

size_t tok_max_token_bytes(const tokenizer *t)
{
    return t->kind->max_token_bytes(t);
}

const char *tok_token_bytes(const tokenizer *t, int32_t id, size_t *len)
{
    return t->kind->token_bytes(t, id, len);
}

int tok_is_special(const tokenizer *t, int32_t id)
{
    return t->kind->is_special(t, id);
}

int32_t tok_special_id(const tokenizer *t, const char *s, size_t len)
{
    return t->kind->special_id(t, s, len);
}

int32_t tok_token_id(const tokenizer *t, const char *s, size_t len)
{
    return t->kind->token_id(t, s, len);
}

const char *tok_pattern(const tokenizer *t)
{
    return t->kind->pattern ? t->kind->pattern(t) : NULL;
}

int tok_set_pattern(tokenizer *t, const char *pattern, char *why, size_t why_len)
{
    if (!t->kind->set_pattern) {
        tok_why(why, why_len, "a %s tokenizer has no pre-tokenizer pattern", t->kind->name);
        return TOK_ERR_UNSUPPORTED;
    }
    return t->kind->set_pattern(t, pattern, why, why_len);
}

/* ---- writing ------------------------------------------------------------------------------ */

int tok_serialize(const tokenizer *t, char **buf, size_t *len)
{
    return t->kind->serialize ? t->kind->serialize(t, buf, len) : TOK_ERR_UNSUPPORTED;
}

int tok_save(const tokenizer *t, const char *path)
{
    char *buf;
    size_t len;
    int rc = tok_serialize(t, &buf, &len);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return TOK_ERR_IO;
    }
    size_t w = fwrite(buf, 1, len, f);
    free(buf);
    int bad = w != len || ferror(f);
    if (fclose(f) != 0 || bad)
        return TOK_ERR_IO;
    return TOK_OK;
}

/* ---- encoding and decoding ---------------------------------------------------------------- */

int tok_encode(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags)
{
    return t->kind->encode(t, ids, cap, n_ids, text, len, flags);
}

int tok_encoder_open(tok_encoder **out, const tokenizer *t)
{
    return t->kind->encoder_open(out, t);
}

void tok_encoder_free(tok_encoder *e)
{
    if (e)
        e->kind->encoder_free(e);
}

int tok_encoder_encode(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len, int flags)
{
    return e->kind->encoder_encode(e, ids, cap, n_ids, text, len, flags);
}

int tok_decode(const tokenizer *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids)
{
    return t->kind->decode(t, out, cap, n_out, ids, n_ids);
}

/* ---- Python's white space (str.isspace) ------------------------------------------------- */

size_t tok_space_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if ((u[0] >= 0x09 && u[0] <= 0x0D) || (u[0] >= 0x1C && u[0] <= 0x20))
        return 1;
    if (n >= 2 && u[0] == 0xC2 && (u[1] == 0x85 || u[1] == 0xA0))
        return 2;
    if (n < 3 || (u[0] & 0xF0) != 0xE0 || (u[1] & 0xC0) != 0x80 || (u[2] & 0xC0) != 0x80)
        return 0;
    uint32_t c = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
    return c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000 ? 3 : 0;
}

size_t tok_trailing_space(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n) {
        size_t back = 1;
        while (back < 3 && back < n - k && ((unsigned char)s[n - k - back] & 0xC0) == 0x80)
            back++;
        if (tok_space_len(s + n - k - back, back) != back)
            break;
        k += back;
    }
    return k;
}

size_t tok_leading_space(const char *s, size_t n)
{
    size_t k = 0, c;
    while (k < n && (c = tok_space_len(s + k, n - k)))
        k += c;
    return k;
}

/* ---- transformers' clean-up of decoded text ------------------------------------------------ */

/* One rule of the clean-up: the text it finds and which of its bytes it drops (a bit each). */
typedef struct clean_rule {
    const char *find;
    unsigned drop;
} clean_rule;

static const clean_rule clean_rules[] = {
    {" .", 1}, {" ?", 1}, {" !", 1}, {" ,", 1}, {" ' ", 5},
    {" n't", 1}, {" 'm", 1}, {" 's", 1}, {" 've", 1}, {" 're", 1},
};

/* Applies the clean-up rules to s (n bytes), carrying orig (may be NULL) along; returns the new
 * length. */
static size_t clean_spaces(char *s, size_t n, int *orig)
{
    for (size_t r = 0; r < sizeof clean_rules / sizeof clean_rules[0]; r++) {
        const clean_rule *c = &clean_rules[r];
        size_t len = strlen(c->find), j = 0;
        for (size_t i = 0; i < n;) {
            size_t take = len <= n - i && memcmp(s + i, c->find, len) == 0 ? len : 1;
            for (size_t k = 0; k < take; k++) {
                if (take > 1 && (c->drop >> k & 1))
                    continue;
                s[j] = s[i + k];
                if (orig)
                    orig[j] = orig[i + k];
                j++;
            }
            i += take;
        }
        n = j;
    }
    return n;
}

size_t tok_clean_text(char *s, size_t n, int *orig, int flags)
{
    size_t lead = 0;
    if (n == 0)
        return 0;
    if (flags & TOK_CLEAN_STRIP) {
        lead = tok_leading_space(s, n);
        n -= lead + tok_trailing_space(s + lead, n - lead);
        memmove(s, s + lead, n);
    }
    if (orig)
        for (size_t i = 0; i < n; i++)
            orig[i] = (int)(i + lead);
    return flags & TOK_CLEAN_SPACES ? clean_spaces(s, n, orig) : n;
}

/* ---- streaming decoder -------------------------------------------------------------------- */

void tok_stream_init(tok_stream *s, const tokenizer *t)
{
    memset(s, 0, sizeof *s);
    s->t = t;
}

int tok_stream_push(tok_stream *s, char *out, size_t cap, size_t *n_out, int32_t id)
{
    return s->t->kind->stream_push(s, out, cap, n_out, id);
}

int tok_stream_flush(tok_stream *s, char *out, size_t cap, size_t *n_out)
{
    if (s->t->kind->stream_flush)
        return s->t->kind->stream_flush(s, out, cap, n_out);
    *n_out = (size_t)s->n_tail;
    if ((size_t)s->n_tail > cap)
        return TOK_ERR_SPACE;
    memcpy(out, s->tail, (size_t)s->n_tail);
    s->n_tail = 0;
    return TOK_OK;
}
