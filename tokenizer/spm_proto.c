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
#include <stddef.h>
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

/* Writes a formatted reason into why; is TOK_ERR_FORMAT. */
#define fail(why, why_len, ...) (tok_why(why, why_len, __VA_ARGS__), TOK_ERR_FORMAT)

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

/* A bytes or string field as read: where it lies in the file. */
typedef struct {
    const uint8_t *s;
    size_t n;
    int given;
} pb_bytes;

/* What a field holds and how it is stored. */
typedef enum {
    PB_BOOL,    /* varint 0 or 1, stored as int */
    PB_INT32,   /* varint within the int32 range (negative: sign-extended), stored as int32_t */
    PB_FLOAT,   /* fixed32, stored as float */
    PB_BYTES,   /* length-delimited, stored as pb_bytes */
    PB_REPEATED /* length-delimited and repeated: counted into a size_t, the bytes into the next */
} pb_kind;

/* One field a message reader knows: its number, kind and offset in the output struct. */
typedef struct {
    uint32_t field;
    pb_kind kind;
    size_t at;
} pb_rule;

/* Reads the message s[0..n-1] (named msg in reasons) into out by rules[0..n_rules-1] (at most
 * 64), skipping the fields they do not name; returns TOK_OK or TOK_ERR_FORMAT with a reason. */
static int pb_read(void *out, const pb_rule *rules, size_t n_rules, const uint8_t *s, size_t n,
                   const char *msg, char *why, size_t why_len)
{
    static const int wire[] = {0, 0, 5, 2, 2};
    pb r = {s, s + n};
    pb_field f;
    uint64_t seen = 0;
    int got;
    while ((got = pb_next(&r, &f)) > 0) {
        size_t k = 0;
        while (k < n_rules && rules[k].field != f.field)
            k++;
        if (k == n_rules)
            continue;
        pb_kind kind = rules[k].kind;
        char *p = (char *)out + rules[k].at;
        if (f.wt != wire[kind])
            return fail(why, why_len, "%s field %u has wire type %d, expected %d", msg, f.field,
                        f.wt, wire[kind]);
        if (kind != PB_REPEATED && (seen >> k & 1))
            return fail(why, why_len, "%s field %u appears twice", msg, f.field);
        seen |= (uint64_t)1 << k;
        int64_t v = (int64_t)f.v;
        uint32_t bits = (uint32_t)f.v;
        switch (kind) {
        case PB_BOOL:
            if (f.v > 1)
                return fail(why, why_len, "%s field %u: boolean value %llu", msg, f.field,
                            (unsigned long long)f.v);
            *(int *)(void *)p = (int)f.v;
            break;
        case PB_INT32:
            if (v < INT32_MIN || v > INT32_MAX)
                return fail(why, why_len, "%s field %u: value out of the int32 range", msg,
                            f.field);
            *(int32_t *)(void *)p = (int32_t)v;
            break;
        case PB_FLOAT:
            memcpy(p, &bits, sizeof bits);
            break;
        case PB_BYTES:
            *(pb_bytes *)(void *)p = (pb_bytes){f.s, f.n, 1};
            break;
        case PB_REPEATED:
            ((size_t *)(void *)p)[0]++;
            ((size_t *)(void *)p)[1] += f.n;
            break;
        }
    }
    return got < 0 ? fail(why, why_len, "%s: malformed protobuf", msg) : TOK_OK;
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
        return TOK_ERR_NOMEM;
    memcpy(*out, s, n);
    (*out)[n] = 0;
    return TOK_OK;
}

/* A NormalizerSpec's fields. */
typedef struct {
    pb_bytes name, map, rules;
    int add_dummy_prefix, remove_extra_ws, escape_ws;
} normalizer;

/* Parses a NormalizerSpec into nm (its switches default to on); returns a status. */
static int parse_normalizer(spm_norm *nm, const pb_bytes *b, const char *msg, char *why,
                            size_t why_len)
{
    static const pb_rule rules[] = {
        {1, PB_BYTES, offsetof(normalizer, name)},
        {2, PB_BYTES, offsetof(normalizer, map)},
        {3, PB_BOOL, offsetof(normalizer, add_dummy_prefix)},
        {4, PB_BOOL, offsetof(normalizer, remove_extra_ws)},
        {5, PB_BOOL, offsetof(normalizer, escape_ws)},
        {6, PB_BYTES, offsetof(normalizer, rules)},
    };
    normalizer ns = {.add_dummy_prefix = 1, .remove_extra_ws = 1, .escape_ws = 1};
    int rc = pb_read(&ns, rules, sizeof rules / sizeof *rules, b->s, b->n, msg, why, why_len);
    if (rc)
        return rc;
    nm->add_dummy_prefix = ns.add_dummy_prefix;
    nm->remove_extra_ws = ns.remove_extra_ws;
    nm->escape_ws = ns.escape_ws;
    rc = ns.map.n ? spm_norm_load(nm, ns.map.s, ns.map.n, why, why_len) : TOK_OK;
    if (rc == TOK_OK)
        spm_norm_plain(nm);
    if (rc == TOK_ERR_FORMAT && why && why_len) {
        char inner[200];
        snprintf(inner, sizeof inner, "%s", why);
        return fail(why, why_len, "%s: %s", msg, inner);
    }
    return rc;
}

/* The TrainerSpec fields that change encoding or decoding (and the special ids, checked only). */
typedef struct {
    int32_t model_type;
    int byte_fallback, ws_suffix;
    int32_t ids[4];
    pb_bytes unk_surface;
    pb_bytes name[4]; /* unk, bos, eos, pad pieces (not given or empty: the default) */
} trainer;

/* Parses a TrainerSpec into tr; returns a status. */
static int parse_trainer(trainer *tr, const pb_bytes *b, char *why, size_t why_len)
{
    static const pb_rule rules[] = {
        {3, PB_INT32, offsetof(trainer, model_type)},
        {24, PB_BOOL, offsetof(trainer, ws_suffix)},
        {35, PB_BOOL, offsetof(trainer, byte_fallback)},
        {40, PB_INT32, offsetof(trainer, ids[0])},
        {41, PB_INT32, offsetof(trainer, ids[1])},
        {42, PB_INT32, offsetof(trainer, ids[2])},
        {43, PB_INT32, offsetof(trainer, ids[3])},
        {44, PB_BYTES, offsetof(trainer, unk_surface)},
        {45, PB_BYTES, offsetof(trainer, name[0])},
        {46, PB_BYTES, offsetof(trainer, name[1])},
        {47, PB_BYTES, offsetof(trainer, name[2])},
        {48, PB_BYTES, offsetof(trainer, name[3])},
    };
    tr->model_type = SPM_UNIGRAM;
    int rc = pb_read(tr, rules, sizeof rules / sizeof *rules, b->s, b->n, "trainer_spec", why,
                     why_len);
    if (rc)
        return rc;
    if (tr->model_type < SPM_UNIGRAM || tr->model_type > SPM_CHAR)
        return fail(why, why_len, "unknown model type %d", tr->model_type);
    if (!clean_utf8(tr->unk_surface.s, tr->unk_surface.n))
        return fail(why, why_len, "unk_surface is not valid UTF-8 or holds a NUL byte");
    return TOK_OK;
}

/* A SentencePiece message's fields. */
typedef struct {
    pb_bytes text;
    float score;
    int32_t type;
} piece;

/* Parses piece i (a SentencePiece message) into m, its text into m->text at *used; returns a
 * status. */
static int parse_piece(spm *m, int32_t i, const uint8_t *s, size_t n, size_t *used, char *why,
                       size_t why_len)
{
    static const pb_rule rules[] = {
        {1, PB_BYTES, offsetof(piece, text)},
        {2, PB_FLOAT, offsetof(piece, score)},
        {3, PB_INT32, offsetof(piece, type)},
    };
    piece p = {.type = SPM_NORMAL};
    int rc = pb_read(&p, rules, sizeof rules / sizeof *rules, s, n, "piece", why, why_len);
    if (rc)
        return rc;
    if (!isfinite(p.score))
        return fail(why, why_len, "piece %d: score is not finite", i);
    if (p.type < SPM_NORMAL || p.type > SPM_BYTE)
        return fail(why, why_len, "piece %d: unknown type %d", i, p.type);
    if (p.text.n == 0)
        return fail(why, why_len, "piece %d is empty", i);
    if (!clean_utf8(p.text.s, p.text.n))
        return fail(why, why_len, "piece %d is not valid UTF-8 or holds a NUL byte", i);
    m->score[i] = p.score;
    m->type[i] = (uint8_t)p.type;
    m->off[i] = (uint32_t)*used;
    m->len[i] = (uint32_t)p.text.n;
    memcpy(m->text + *used, p.text.s, p.text.n);
    m->text[*used + p.text.n] = 0;
    *used += p.text.n + 1;
    return TOK_OK;
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
    return TOK_OK;
}

/* Sets the bos/eos/pad ids: the named piece's id when it is a control piece, else -1. */
static void special_ids(spm *m, const trainer *tr)
{
    static const char *const dflt[4] = {"<unk>", "<s>", "</s>", "<pad>"};
    int32_t *out[3] = {&m->bos_id, &m->eos_id, &m->pad_id};
    for (int k = 1; k < 4; k++) {
        const pb_bytes *b = &tr->name[k];
        const char *s = b->n ? (const char *)b->s : dflt[k];
        int32_t id = spm_trie_find(&m->trie, s, b->n ? b->n : strlen(dflt[k]));
        *out[k - 1] = id >= 0 && m->type[id] == SPM_CONTROL ? id : -1;
    }
}

/* Sets each piece's unigram lattice score as the library computes it: a normal piece's score,
 * length * max_score - 0.1 (in double) for a user-defined one, NaN for the rest; returns a
 * status. */
static int lattice_scores(spm *m)
{
    m->vscore = malloc((size_t)m->n * sizeof *m->vscore);
    if (!m->vscore)
        return TOK_ERR_NOMEM;
    for (int32_t i = 0; i < m->n; i++)
        m->vscore[i] = m->type[i] == SPM_NORMAL ? (double)m->score[i]
                       : m->type[i] == SPM_USER_DEFINED
                           ? (double)((float)m->len[i] * m->max_score) - 0.1
                           : NAN;
    return TOK_OK;
}

/* Returns 1 if m is a BPE model whose merges can never cross the start of a word (a U+2581):
 * no unused piece (their splits are remembered across words), no merge target with U+2581 past
 * its first byte, spaces marked in front; else 0. */
static int bpe_words(const spm *m)
{
    if (m->model_type != SPM_BPE || m->ws_suffix)
        return 0;
    for (int32_t i = 0; i < m->n; i++) {
        const char *s = m->text + m->off[i];
        if (m->type[i] == SPM_UNUSED)
            return 0;
        if ((m->type[i] == SPM_NORMAL || m->type[i] == SPM_USER_DEFINED) && m->len[i] > 1 &&
            memmem(s + 1, m->len[i] - 1, SPM_SPACE, SPM_SPACE_LEN))
            return 0;
    }
    return 1;
}

/* A ModelProto's fields. */
typedef struct {
    size_t n_pieces, piece_bytes; /* field 1, counted */
    pb_bytes trainer, normalizer, self_test, denormalizer;
} model;

int spm_parse(spm *m, const uint8_t *data, size_t len, char *why, size_t why_len)
{
    static const pb_rule rules[] = {
        {1, PB_REPEATED, offsetof(model, n_pieces)},
        {2, PB_BYTES, offsetof(model, trainer)},
        {3, PB_BYTES, offsetof(model, normalizer)},
        {4, PB_BYTES, offsetof(model, self_test)},
        {5, PB_BYTES, offsetof(model, denormalizer)},
    };
    model mp = {0};
    int rc = pb_read(&mp, rules, sizeof rules / sizeof *rules, data, len, "ModelProto", why,
                     why_len);
    if (rc)
        return rc;
    if (mp.n_pieces == 0)
        return fail(why, why_len, "no pieces (not a SentencePiece model?)");
    if (mp.n_pieces > INT32_MAX)
        return fail(why, why_len, "too many pieces");
    if (!mp.trainer.given || !mp.normalizer.given)
        return fail(why, why_len, "no %s (every spm_train model has one)",
                    mp.trainer.given ? "normalizer_spec" : "trainer_spec");
    trainer tr = {0};
    if ((rc = parse_trainer(&tr, &mp.trainer, why, why_len)) ||
        (rc = parse_normalizer(&m->norm, &mp.normalizer, "normalizer_spec", why, why_len)) ||
        (mp.denormalizer.given && (rc = parse_normalizer(&m->denorm, &mp.denormalizer,
                                                         "denormalizer_spec", why, why_len))))
        return rc;
    m->model_type = tr.model_type;
    m->byte_fallback = tr.byte_fallback;
    m->ws_suffix = tr.ws_suffix;
    static const char unk_default[] = " \xE2\x81\x87 ";
    rc = tr.unk_surface.given
             ? dup_string(&m->unk_surface, tr.unk_surface.s, tr.unk_surface.n)
             : dup_string(&m->unk_surface, (const uint8_t *)unk_default, sizeof unk_default - 1);
    if (rc)
        return rc;
    m->unk_surface_len = strlen(m->unk_surface);

    size_t n = mp.n_pieces;
    m->n = (int32_t)n;
    m->off = malloc(n * sizeof *m->off);
    m->len = malloc(n * sizeof *m->len);
    m->score = malloc(n * sizeof *m->score);
    m->type = malloc(n);
    m->text = malloc(mp.piece_bytes + n);
    if (!m->off || !m->len || !m->score || !m->type || !m->text)
        return TOK_ERR_NOMEM;
    pb r = {data, data + len};
    pb_field f;
    int32_t i = 0;
    size_t used = 0;
    while (pb_next(&r, &f) > 0)
        if (f.field == 1 && (rc = parse_piece(m, i++, f.s, f.n, &used, why, why_len)))
            return rc;
    if ((rc = check_pieces(m, &tr, why, why_len)) || (rc = spm_trie_build(m, why, why_len)))
        return rc;
    special_ids(m, &tr);
    m->bpe_words = bpe_words(m);
    return m->model_type == SPM_UNIGRAM ? lattice_scores(m) : TOK_OK;
}
