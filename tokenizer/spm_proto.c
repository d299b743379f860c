/* spm_proto.c — reads a SentencePiece ModelProto (protobuf wire format), checking every field used.
 *
 * The wire format: a message is a sequence of fields, each a varint key (field number << 3 | wire
 * type) and a value: wire type 0 a varint, 1 eight bytes, 2 a varint length and that many bytes
 * (strings, bytes and nested messages), 5 four bytes (floats, little-endian).  Wire types 3 and 4
 * (groups) are not used by this schema and are refused.  Fields this reader does not use are
 * skipped; those it uses must have their schema's wire type and, when singular, appear once.
 *
 * ModelProto: 1 pieces (repeated SentencePiece: 1 piece, 2 score, 3 type), 2 trainer_spec, 3
 * normalizer_spec, 4 self_test_data (skipped), 5 denormalizer_spec.  TrainerSpec: 3 model_type,
 * 24 treat_whitespace_as_suffix, 35 byte_fallback, 40-43 unk/bos/eos/pad ids, 44 unk_surface,
 * 45-48 unk/bos/eos/pad pieces (the rest only matters to training).  NormalizerSpec: 1 name, 2
 * precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces, 6
 * normalization_rule_tsv.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

/* A cursor over one message's bytes. */
typedef struct {
    const uint8_t *p, *end;
} pb;

/* One field: its number, wire type and value (v for wire types 0, 1, 5; s/n for 2). */
typedef struct {
    uint32_t field;
    int wt;
    uint64_t v;
    const uint8_t *s;
    size_t n;
} pb_field;

/* Writes a formatted reason into why and returns SPM_ERR_FORMAT. */
static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return SPM_ERR_FORMAT;
}

/* Reads a varint; returns 0, or -1 when it is truncated or longer than 10 bytes. */
static int pb_varint(pb *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p == r->end)
            return -1;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 0);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Reads the next field into f; returns 1, 0 at the end of the message, or -1 when malformed. */
static int pb_next(pb *r, pb_field *f)
{
    if (r->p == r->end)
        return 0;
    uint64_t key, n;
    if (pb_varint(r, &key) < 0 || key >> 3 == 0 || key >> 3 > 0x1fffffff)
        return -1;
    f->field = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    switch (f->wt) {
    case 0:
        return pb_varint(r, &f->v) < 0 ? -1 : 1;
    case 1:
    case 5: {
        size_t k = f->wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < k)
            return -1;
        f->v = 0;
        for (size_t i = 0; i < k; i++)
            f->v |= (uint64_t)r->p[i] << (8 * i);
        r->p += k;
        return 1;
    }
    case 2:
        if (pb_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        f->s = r->p;
        f->n = (size_t)n;
        r->p += n;
        return 1;
    default:
        return -1;
    }
}

/* Checks that field f of message msg has wire type wt and, when singular (seen != NULL), appears
 * only once (bit f->field % 64 of *seen); returns 0 or SPM_ERR_FORMAT with a reason. */
static int expect(const pb_field *f, int wt, uint64_t *seen, const char *msg, char *why,
                  size_t why_len)
{
    if (f->wt != wt)
        return fail(why, why_len, "%s field %u has wire type %d, expected %d", msg, f->field,
                    f->wt, wt);
    if (seen) {
        uint64_t bit = (uint64_t)1 << (f->field % 64);
        if (*seen & bit)
            return fail(why, why_len, "%s field %u appears twice", msg, f->field);
        *seen |= bit;
    }
    return 0;
}

/* Reads a bool field (a varint 0 or 1) into *out; returns 0 or SPM_ERR_FORMAT. */
static int get_bool(const pb_field *f, uint64_t *seen, const char *msg, int *out, char *why,
                    size_t why_len)
{
    int rc = expect(f, 0, seen, msg, why, why_len);
    if (rc)
        return rc;
    if (f->v > 1)
        return fail(why, why_len, "%s field %u: boolean value %llu", msg, f->field,
                    (unsigned long long)f->v);
    *out = (int)f->v;
    return 0;
}

/* Reads an int32 field (a varint, negative values sign-extended to 64 bits) into *out; returns 0
 * or SPM_ERR_FORMAT. */
static int get_int32(const pb_field *f, uint64_t *seen, const char *msg, int32_t *out, char *why,
                     size_t why_len)
{
    int rc = expect(f, 0, seen, msg, why, why_len);
    if (rc)
        return rc;
    int64_t v = (int64_t)f->v;
    if (v < INT32_MIN || v > INT32_MAX)
        return fail(why, why_len, "%s field %u: value out of the int32 range", msg, f->field);
    *out = (int32_t)v;
    return 0;
}

/* Reads a string or bytes field into s/n; returns 0 or SPM_ERR_FORMAT. */
static int get_bytes(const pb_field *f, uint64_t *seen, const char *msg, const uint8_t **s,
                     size_t *n, char *why, size_t why_len)
{
    int rc = expect(f, 2, seen, msg, why, why_len);
    if (rc)
        return rc;
    *s = f->s;
    *n = f->n;
    return 0;
}

/* Returns 1 if s[0..n-1] is valid UTF-8 without NUL bytes, else 0. */
static int clean_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = s[i] ? spm_utf8_len((const char *)s + i, n - i) : 0;
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* Copies s[0..n-1] into a new NUL-terminated string *out; returns a status. */
static int dup_string(char **out, const uint8_t *s, size_t n)
{
    *out = malloc(n + 1);
    if (!*out)
        return SPM_ERR_NOMEM;
    memcpy(*out, s, n);
    (*out)[n] = 0;
    return SPM_OK;
}

/* Parses a NormalizerSpec into nm (defaults: all three switches on); returns a status. */
static int parse_normalizer(spm_norm *nm, const uint8_t *s, size_t n, const char *msg, char *why,
                            size_t why_len)
{
    pb r = {s, s + n};
    pb_field f;
    uint64_t seen = 0;
    const uint8_t *map = NULL, *name;
    size_t map_len = 0, name_len;
    int rc, got;
    nm->add_dummy_prefix = nm->remove_extra_ws = nm->escape_ws = 1;
    while ((got = pb_next(&r, &f)) > 0) {
        switch (f.field) {
        case 1:
            rc = get_bytes(&f, &seen, msg, &name, &name_len, why, why_len);
            break;
        case 2:
            rc = get_bytes(&f, &seen, msg, &map, &map_len, why, why_len);
            break;
        case 3:
            rc = get_bool(&f, &seen, msg, &nm->add_dummy_prefix, why, why_len);
            break;
        case 4:
            rc = get_bool(&f, &seen, msg, &nm->remove_extra_ws, why, why_len);
            break;
        case 5:
            rc = get_bool(&f, &seen, msg, &nm->escape_ws, why, why_len);
            break;
        case 6:
            rc = get_bytes(&f, &seen, msg, &name, &name_len, why, why_len);
            break;
        default:
            rc = 0;
        }
        if (rc)
            return rc;
    }
    if (got < 0)
        return fail(why, why_len, "%s: malformed protobuf", msg);
    rc = map_len ? spm_norm_load(nm, map, map_len, why, why_len) : SPM_OK;
    if (rc == SPM_OK)
        spm_norm_plain(nm);
    if (rc == SPM_ERR_FORMAT) {
        char inner[200];
        snprintf(inner, sizeof inner, "%s", why);
        return fail(why, why_len, "%s: %s", msg, inner);
    }
    return rc;
}

/* The trainer-spec fields that change encoding or decoding. */
typedef struct {
    int model_type, byte_fallback, ws_suffix;
    const uint8_t *unk_surface; /* NULL: not given */
    size_t unk_surface_len;
    const uint8_t *name[4]; /* unk, bos, eos, pad pieces (NULL or empty: the default) */
    size_t name_len[4];
} trainer;

/* Parses a TrainerSpec into tr; returns a status. */
static int parse_trainer(trainer *tr, const uint8_t *s, size_t n, char *why, size_t why_len)
{
    static const char msg[] = "trainer_spec";
    pb r = {s, s + n};
    pb_field f;
    uint64_t seen = 0;
    int32_t v = 0;
    int rc, got;
    while ((got = pb_next(&r, &f)) > 0) {
        switch (f.field) {
        case 3:
            rc = get_int32(&f, &seen, msg, &v, why, why_len);
            if (!rc && (v < SPM_UNIGRAM || v > SPM_CHAR))
                rc = fail(why, why_len, "unknown model type %d", v);
            tr->model_type = v;
            break;
        case 24:
            rc = get_bool(&f, &seen, msg, &tr->ws_suffix, why, why_len);
            break;
        case 35:
            rc = get_bool(&f, &seen, msg, &tr->byte_fallback, why, why_len);
            break;
        case 40:
        case 41:
        case 42:
        case 43:
            rc = get_int32(&f, &seen, msg, &v, why, why_len);
            break;
        case 44:
            rc = get_bytes(&f, &seen, msg, &tr->unk_surface, &tr->unk_surface_len, why, why_len);
            if (!rc && !clean_utf8(tr->unk_surface, tr->unk_surface_len))
                rc = fail(why, why_len, "unk_surface is not valid UTF-8 or holds a NUL byte");
            break;
        case 45:
        case 46:
        case 47:
        case 48:
            rc = get_bytes(&f, &seen, msg, &tr->name[f.field - 45], &tr->name_len[f.field - 45],
                           why, why_len);
            break;
        default:
            rc = 0;
        }
        if (rc)
            return rc;
    }
    return got < 0 ? fail(why, why_len, "trainer_spec: malformed protobuf") : SPM_OK;
}

/* Parses piece i (a SentencePiece message) into m, its text into m->text at *used; returns a
 * status. */
static int parse_piece(spm *m, int32_t i, const uint8_t *s, size_t n, size_t *used, char *why,
                       size_t why_len)
{
    static const char msg[] = "piece";
    pb r = {s, s + n};
    pb_field f;
    uint64_t seen = 0;
    const uint8_t *text = NULL;
    size_t len = 0;
    int32_t type = SPM_NORMAL;
    int rc, got;
    m->score[i] = 0;
    while ((got = pb_next(&r, &f)) > 0) {
        switch (f.field) {
        case 1:
            rc = get_bytes(&f, &seen, msg, &text, &len, why, why_len);
            break;
        case 2:
            rc = expect(&f, 5, &seen, msg, why, why_len);
            if (!rc) {
                uint32_t bits = (uint32_t)f.v;
                memcpy(&m->score[i], &bits, sizeof bits);
                if (!isfinite(m->score[i]))
                    rc = fail(why, why_len, "piece %d: score is not finite", i);
            }
            break;
        case 3:
            rc = get_int32(&f, &seen, msg, &type, why, why_len);
            if (!rc && (type < SPM_NORMAL || type > SPM_BYTE))
                rc = fail(why, why_len, "piece %d: unknown type %d", i, type);
            break;
        default:
            rc = 0;
        }
        if (rc)
            return rc;
    }
    if (got < 0)
        return fail(why, why_len, "piece %d: malformed protobuf", i);
    if (len == 0)
        return fail(why, why_len, "piece %d is empty", i);
    if (!clean_utf8(text, len))
        return fail(why, why_len, "piece %d is not valid UTF-8 or holds a NUL byte", i);
    m->type[i] = (uint8_t)type;
    m->off[i] = (uint32_t)*used;
    m->len[i] = (uint32_t)len;
    memcpy(m->text + *used, text, len);
    m->text[*used + len] = 0;
    *used += len + 1;
    return SPM_OK;
}

/* Returns the byte that a byte piece "<0xXX>" (upper-case hex) stands for, or -1. */
static int byte_of_piece(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>' || !s[3] || !s[4])
        return -1;
    const char *hi = strchr(hex, s[3]), *lo = strchr(hex, s[4]);
    return hi && lo ? (int)((hi - hex) * 16 + (lo - hex)) : -1;
}

/* Checks the piece types against each other and the trainer spec; fills unk_id, byte_id, scores'
 * range; returns a status. */
static int check_pieces(spm *m, const trainer *tr, char *why, size_t why_len)
{
    int n_lattice = 0;
    m->unk_id = -1;
    m->min_score = FLT_MAX;
    m->max_score = FLT_MIN;
    for (int b = 0; b < 256; b++)
        m->byte_id[b] = -1;
    for (int32_t i = 0; i < m->n; i++) {
        int t = m->type[i];
        const char *s = m->text + m->off[i];
        if (t == SPM_UNKNOWN) {
            if (m->unk_id >= 0)
                return fail(why, why_len, "pieces %d and %d are both unknown pieces", m->unk_id,
                            i);
            m->unk_id = i;
        } else if (t == SPM_BYTE) {
            int b = byte_of_piece(s, m->len[i]);
            if (!tr->byte_fallback)
                return fail(why, why_len, "byte piece %d without byte_fallback", i);
            if (b < 0)
                return fail(why, why_len, "byte piece %d is not <0xXX>", i);
            m->byte_id[b] = i;
        } else if (t == SPM_NORMAL) {
            m->min_score = m->score[i] < m->min_score ? m->score[i] : m->min_score;
            m->max_score = m->score[i] > m->max_score ? m->score[i] : m->max_score;
        }
        n_lattice += t == SPM_NORMAL || t == SPM_USER_DEFINED || t == SPM_UNUSED;
        if (t == SPM_USER_DEFINED)
            m->has_user = m->user_first[(unsigned char)s[0]] = 1;
    }
    if (m->unk_id < 0)
        return fail(why, why_len, "no unknown piece");
    for (int b = 0; tr->byte_fallback && b < 256; b++)
        if (m->byte_id[b] < 0)
            return fail(why, why_len, "byte_fallback without the byte piece <0x%02X>", b);
    if (m->model_type == SPM_UNIGRAM && n_lattice == 0)
        return fail(why, why_len, "a unigram model without normal pieces");
    return SPM_OK;
}

/* Sets the bos/eos/pad ids: the named piece's id when it is a control piece, else -1. */
static void special_ids(spm *m, const trainer *tr)
{
    static const char *const dflt[4] = {"<unk>", "<s>", "</s>", "<pad>"};
    int32_t *out[3] = {&m->bos_id, &m->eos_id, &m->pad_id};
    for (int k = 1; k < 4; k++) {
        const char *s = tr->name[k] && tr->name_len[k] ? (const char *)tr->name[k] : dflt[k];
        size_t n = tr->name[k] && tr->name_len[k] ? tr->name_len[k] : strlen(dflt[k]);
        int32_t id = spm_trie_find(&m->trie, s, n);
        *out[k - 1] = id >= 0 && m->type[id] == SPM_CONTROL ? id : -1;
    }
}

int spm_parse(spm *m, const uint8_t *data, size_t len, char *why, size_t why_len)
{
    static const char msg[] = "ModelProto";
    pb r = {data, data + len};
    pb_field f;
    uint64_t seen = 0;
    const uint8_t *ts = NULL, *ns = NULL, *ds = NULL, *skip;
    size_t tn = 0, nn = 0, dn = 0, skip_n, n_pieces = 0, text_bytes = 0;
    int rc = 0, got;
    while ((got = pb_next(&r, &f)) > 0) {
        switch (f.field) {
        case 1:
            rc = expect(&f, 2, NULL, msg, why, why_len);
            n_pieces++;
            text_bytes += f.n + 1;
            break;
        case 2:
            rc = get_bytes(&f, &seen, msg, &ts, &tn, why, why_len);
            break;
        case 3:
            rc = get_bytes(&f, &seen, msg, &ns, &nn, why, why_len);
            break;
        case 4:
            rc = get_bytes(&f, &seen, msg, &skip, &skip_n, why, why_len);
            break;
        case 5:
            rc = get_bytes(&f, &seen, msg, &ds, &dn, why, why_len);
            break;
        }
        if (rc)
            return rc;
    }
    if (got < 0)
        return fail(why, why_len, "malformed protobuf (not a SentencePiece model?)");
    if (n_pieces == 0)
        return fail(why, why_len, "no pieces (not a SentencePiece model?)");
    if (n_pieces > INT32_MAX)
        return fail(why, why_len, "too many pieces");
    if (!ts || !ns)
        return fail(why, why_len, "no %s (every spm_train model has one)",
                    ts ? "normalizer_spec" : "trainer_spec");

    trainer tr = {.model_type = SPM_UNIGRAM};
    if (ts && (rc = parse_trainer(&tr, ts, tn, why, why_len)))
        return rc;
    m->model_type = tr.model_type;
    m->byte_fallback = tr.byte_fallback;
    m->ws_suffix = tr.ws_suffix;
    m->norm.add_dummy_prefix = m->norm.remove_extra_ws = m->norm.escape_ws = 1;
    if (ns && (rc = parse_normalizer(&m->norm, ns, nn, "normalizer_spec", why, why_len)))
        return rc;
    if (ds && (rc = parse_normalizer(&m->denorm, ds, dn, "denormalizer_spec", why, why_len)))
        return rc;
    static const char unk_default[] = " \xE2\x81\x87 ";
    rc = tr.unk_surface ? dup_string(&m->unk_surface, tr.unk_surface, tr.unk_surface_len)
                        : dup_string(&m->unk_surface, (const uint8_t *)unk_default,
                                     sizeof unk_default - 1);
    if (rc)
        return rc;
    m->unk_surface_len = strlen(m->unk_surface);

    m->n = (int32_t)n_pieces;
    m->off = malloc(n_pieces * sizeof *m->off);
    m->len = malloc(n_pieces * sizeof *m->len);
    m->score = malloc(n_pieces * sizeof *m->score);
    m->type = malloc(n_pieces);
    m->text = malloc(text_bytes);
    if (!m->off || !m->len || !m->score || !m->type || !m->text)
        return SPM_ERR_NOMEM;
    r.p = data;
    int32_t i = 0;
    size_t used = 0;
    while (pb_next(&r, &f) > 0)
        if (f.field == 1 && (rc = parse_piece(m, i++, f.s, f.n, &used, why, why_len)))
            return rc;
    if ((rc = check_pieces(m, &tr, why, why_len)) || (rc = spm_trie_build(m, why, why_len)))
        return rc;
    special_ids(m, &tr);
    return SPM_OK;
}
