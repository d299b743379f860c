/* spm_decode.c — SentencePiece decoding, as the library's Decode does: ids back to text, whole or
 * one id at a time (the streaming decoder serves both). */
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

/* Where decoded bytes go: a growable buffer (grow != NULL), or a fixed one whose overflow is
 * only counted. */
typedef struct {
    spm_buf *grow;
    char *p;
    size_t cap, n;
    int nomem;
} sink;

/* Writes s[0..k-1] to o. */
static void put(sink *o, const char *s, size_t k)
{
    if (o->grow) {
        o->nomem |= spm_buf_put(o->grow, s, k) != TOK_OK;
        return;
    }
    if (o->n + k <= o->cap && k)
        memcpy(o->p + o->n, s, k);
    o->n += k;
}

/* Returns the byte that byte piece id stands for (its text is <0xXX>, upper-case hex). */
static unsigned char piece_byte(const spm *m, int32_t id)
{
    const char *p = m->text + m->off[id];
    int hi = p[3] <= '9' ? p[3] - '0' : p[3] - 'A' + 10;
    int lo = p[4] <= '9' ? p[4] - '0' : p[4] - 'A' + 10;
    return (unsigned char)(hi * 16 + lo);
}

/* Returns how many bytes SentencePiece reads for the character that lead byte c starts (1 for a
 * byte that starts none). */
static size_t lead_len(unsigned char c)
{
    return (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
}

/* Writes the held bytes that are decided: whole valid characters, and U+FFFD for each byte that
 * cannot start one; with end set (the run of byte pieces is over) every held byte is decided. */
static void drain(tok_stream *st, sink *o, int end)
{
    while (st->n_tail) {
        size_t need = lead_len(st->tail[0]), k = 1;
        while (k < (size_t)st->n_tail && (st->tail[k] & 0xC0) == 0x80)
            k++;
        if (!end && (size_t)st->n_tail < need && k == (size_t)st->n_tail)
            return; /* a character still being completed */
        size_t c = spm_utf8_len((const char *)st->tail, (size_t)st->n_tail);
        if (c)
            put(o, (const char *)st->tail, c);
        else
            put(o, "\xEF\xBF\xBD", 3);
        c = c ? c : 1;
        memmove(st->tail, st->tail + c, (size_t)st->n_tail - c);
        st->n_tail -= (int)c;
        st->spm_out = 1;
    }
}

/* Writes piece s[0..len-1] with every U+2581 turned into ' '. */
static void put_piece(sink *o, const char *s, size_t len)
{
    const char *end = s + len, *q;
    while ((q = memmem(s, (size_t)(end - s), SPM_SPACE, SPM_SPACE_LEN))) {
        put(o, s, (size_t)(q - s));
        put(o, " ", 1);
        s = q + SPM_SPACE_LEN;
    }
    put(o, s, (size_t)(end - s));
}

/* Decodes one id (in range) of model m into o, updating st: its tail holds byte-piece bytes,
 * spm_out says whether text has gone out, spm_past_bos whether the leading-space rule is over and
 * spm_bos_ws whether the last piece's leading U+2581 was dropped. */
static void step(tok_stream *st, const spm *m, sink *o, int32_t id)
{
    int t = m->type[id];
    if (t == SPM_BYTE) {
        st->tail[st->n_tail++] = piece_byte(m, id);
        drain(st, o, 0);
        return;
    }
    drain(st, o, 1);
    size_t before = o->grow ? o->grow->n : o->n;
    if (st->spm_bos_ws || st->spm_out)
        st->spm_past_bos = 1;
    st->spm_bos_ws = 0;
    if (t == SPM_UNKNOWN) {
        put(o, m->unk_surface, m->unk_surface_len);
    } else if (t != SPM_CONTROL) {
        const char *s = m->text + m->off[id];
        size_t len = m->len[id];
        if (!st->spm_past_bos && (m->norm.add_dummy_prefix || m->norm.remove_extra_ws) &&
            len >= SPM_SPACE_LEN && !memcmp(s, SPM_SPACE, SPM_SPACE_LEN)) {
            s += SPM_SPACE_LEN;
            len -= SPM_SPACE_LEN;
            st->spm_bos_ws = !m->norm.remove_extra_ws;
        }
        put_piece(o, s, len);
    }
    st->spm_out |= (o->grow ? o->grow->n : o->n) > before;
}

/* Finishes a push or flush into o: on overflow restores st from saved and reports the size
 * needed; returns a status. */
static int finish(tok_stream *st, const tok_stream *saved, sink *o, size_t *n_out)
{
    *n_out = o->n;
    if (o->n <= o->cap)
        return TOK_OK;
    *st = *saved;
    return TOK_ERR_SPACE;
}

int spm_stream_push(tok_stream *st, char *out, size_t cap, size_t *n_out, int32_t id)
{
    const spm *m = (const spm *)st->t;
    *n_out = 0;
    if (m->denorm.units)
        return TOK_ERR_UNSUPPORTED;
    if (id < 0 || id >= m->n)
        return TOK_ERR_ID;
    tok_stream saved = *st;
    sink o = {NULL, out, cap, 0, 0};
    step(st, m, &o, id);
    return finish(st, &saved, &o, n_out);
}

int spm_stream_flush(tok_stream *st, char *out, size_t cap, size_t *n_out)
{
    tok_stream saved = *st;
    sink o = {NULL, out, cap, 0, 0};
    drain(st, &o, 1);
    int rc = finish(st, &saved, &o, n_out);
    if (rc == TOK_OK)
        tok_stream_init(st, st->t);
    return rc;
}

int spm_decode(const tokenizer *t, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids)
{
    const spm *m = (const spm *)t;
    *n_out = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= m->n)
            return TOK_ERR_ID;
    spm_buf b = {0}, d = {0};
    tok_stream st;
    tok_stream_init(&st, t);
    sink o = {&b, NULL, 0, 0, 0};
    for (size_t i = 0; i < n_ids; i++)
        step(&st, m, &o, ids[i]);
    drain(&st, &o, 1);
    int rc = o.nomem ? TOK_ERR_NOMEM : TOK_OK;
    spm_buf *r = &b;
    if (rc == TOK_OK && m->denorm.units) {
        rc = spm_norm_run(&m->denorm, NULL, 0, &d, b.p, b.n);
        r = &d;
    }
    if (rc == TOK_OK) {
        *n_out = r->n;
        if (r->n > cap)
            rc = TOK_ERR_SPACE;
        else if (r->n)
            memcpy(out, r->p, r->n);
    }
    free(b.p);
    free(d.p);
    return rc;
}
