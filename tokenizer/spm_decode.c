/* spm_decode.c — SentencePiece decoding: ids back to text, as the library's Decode does. */
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

/* Returns the value of the hex digit c (validated upper-case by the loader). */
static int hex(char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* Appends the bytes of byte pieces ids[0..n-1], each byte that does not start a valid UTF-8
 * character becoming U+FFFD; returns a status. */
static int put_bytes(const spm *m, spm_buf *b, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n;) {
        char c4[4]; /* a character is at most 4 bytes */
        size_t k = n - i < 4 ? n - i : 4;
        for (size_t j = 0; j < k; j++) {
            const char *p = m->text + m->off[ids[i + j]];
            c4[j] = (char)(hex(p[3]) * 16 + hex(p[4]));
        }
        size_t c = spm_utf8_len(c4, k);
        int rc = c ? spm_buf_put(b, c4, c) : spm_buf_put(b, "\xEF\xBF\xBD", 3);
        if (rc)
            return rc;
        i += c ? c : 1;
    }
    return SPM_OK;
}

/* Appends piece s[0..len-1] with every U+2581 turned into ' '; returns a status. */
static int put_piece(spm_buf *b, const char *s, size_t len)
{
    const char *end = s + len, *q;
    while ((q = memmem(s, (size_t)(end - s), SPM_SPACE, SPM_SPACE_LEN))) {
        int rc = spm_buf_put(b, s, (size_t)(q - s));
        if (rc || (rc = spm_buf_put(b, " ", 1)))
            return rc;
        s = q + SPM_SPACE_LEN;
    }
    return spm_buf_put(b, s, (size_t)(end - s));
}

/* Decodes ids into b; returns a status. */
static int decode(const spm *m, spm_buf *b, const int32_t *ids, size_t n)
{
    int is_bos_ws = 1, bos_ws_seen = 0, rc;
    size_t byte_start = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        int t = m->type[id];
        if (t == SPM_BYTE)
            continue;
        if ((rc = put_bytes(m, b, ids + byte_start, i - byte_start)))
            return rc;
        if (bos_ws_seen || b->n)
            is_bos_ws = 0;
        byte_start = i + 1;
        bos_ws_seen = 0;
        if (t == SPM_CONTROL)
            continue;
        if (t == SPM_UNKNOWN) {
            if ((rc = spm_buf_put(b, m->unk_surface, m->unk_surface_len)))
                return rc;
            continue;
        }
        const char *s = m->text + m->off[id];
        size_t len = m->len[id];
        if (is_bos_ws && (m->norm.add_dummy_prefix || m->norm.remove_extra_ws) &&
            len >= SPM_SPACE_LEN && !memcmp(s, SPM_SPACE, SPM_SPACE_LEN)) {
            s += SPM_SPACE_LEN;
            len -= SPM_SPACE_LEN;
            bos_ws_seen = !m->norm.remove_extra_ws;
        }
        if ((rc = put_piece(b, s, len)))
            return rc;
    }
    return put_bytes(m, b, ids + byte_start, n - byte_start);
}

int spm_decode(const spm *m, char *out, size_t cap, size_t *n_out, const int32_t *ids,
               size_t n_ids)
{
    *n_out = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= m->n)
            return SPM_ERR_ID;
    spm_buf b = {0}, d = {0};
    int rc = decode(m, &b, ids, n_ids);
    spm_buf *r = &b;
    if (rc == SPM_OK && m->denorm.units) {
        rc = spm_norm_run(&m->denorm, NULL, 0, &d, b.p, b.n);
        r = &d;
    }
    if (rc == SPM_OK) {
        *n_out = r->n;
        if (r->n > cap)
            rc = SPM_ERR_SPACE;
        else if (r->n)
            memcpy(out, r->p, r->n);
    }
    free(b.p);
    free(d.p);
    return rc;
}
