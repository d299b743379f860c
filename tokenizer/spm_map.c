/* spm_map.c — the spm-map kind of tokenizer: a SentencePiece model seen through a model's own
 * vocabulary (Marian's vocab.json, mBART's fairseq ids, T5's sentinels), its file format, encoding
 * and decoding (the rules: spm.h). */
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

#define MAGIC "attn-spm-map 1\n"

/* What an id of the vocabulary is (the letter that starts its line in the file). */
enum { E_UNUSED, E_PIECE, E_SPECIAL, E_ADDED, E_LANG };

/* Which white space a matched special token takes from the text beside it. */
enum { STRIP_LEFT = 1, STRIP_RIGHT = 2 };

typedef struct {
    tokenizer base;       /* kind: &tok_kind_spmmap */
    tokenizer *inner;     /* the SentencePiece model (kind spm) */
    char *file;           /* the file's bytes, for tok_serialize */
    size_t file_len;
    int32_t n;            /* ids in the vocabulary */
    char *text;           /* every entry's text, each followed by a NUL */
    uint32_t *off, *len;  /* [n] where entry i's text starts in text, and its length */
    uint8_t *kind;        /* [n] E_* */
    uint8_t *strip;       /* [n] STRIP_* of a special entry */
    int32_t *spm_id;      /* [n] the SentencePiece id of a piece entry, -1 if it has none */
    int32_t *to_model;    /* [inner size] the vocabulary id of each SentencePiece id */
    int32_t *hash;        /* [hash_n] entry ids by text (open addressing), -1 empty */
    size_t hash_n;
    int32_t unk;          /* the unknown id */
    int marian;           /* Marian's rules: a leading >>..<< of each text span is one token,
                           * unknown pieces are looked up by their text */
    uint8_t first[2][256];   /* [all][byte]: 1 if a matchable special starts with byte */
    size_t max_text;      /* the longest entry text */
} smap;

typedef struct {
    tok_encoder base;
    const smap *m;
    tok_encoder *inner;
    spm_buf unk, unk_len;   /* the unknown pieces' surfaces of the last span (Marian) */
    spm_buf clean;          /* the span without its language codes (Marian) */
} smap_encoder;

extern const tok_kind tok_kind_spmmap;

/* ---- the file ----------------------------------------------------------------------------- */

/* Returns the FNV-1a hash of s[0..k-1]. */
static uint64_t hash_text(const char *s, size_t k)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Returns the id of the entry whose text is s[0..k-1], or -1. */
static int32_t find_text(const smap *m, const char *s, size_t k)
{
    for (size_t i = hash_text(s, k) & (m->hash_n - 1);; i = (i + 1) & (m->hash_n - 1)) {
        int32_t id = m->hash[i];
        if (id < 0)
            return -1;
        if (m->len[id] == k && !memcmp(m->text + m->off[id], s, k))
            return id;
    }
}

/* Reads the line at *p (up to end) into [*ls, *le) and moves *p past its newline; returns 0, or
 * -1 when no newline ends it. */
static int next_line(const char **p, const char *end, const char **ls, const char **le)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return -1;
    *ls = *p;
    *le = nl;
    *p = nl + 1;
    return 0;
}

/* Parses decimal s[0..k-1] (no sign, at most 9 digits) into *v; returns 0 or -1. */
static int parse_count(const char *s, size_t k, long *v)
{
    if (k == 0 || k > 9)
        return -1;
    *v = 0;
    for (size_t i = 0; i < k; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* Returns the value of hex digit c, or -1. */
static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parses one entry line s[0..k-1] for id into m (its text appended at *used); returns 0 or -1
 * with the reason in why. */
static int parse_entry(smap *m, int32_t id, const char *s, size_t k, size_t *used, char *why,
                       size_t why_len)
{
    static const char kinds[] = "-psal";
    const char *c = k ? strchr(kinds, s[0]) : NULL;
    if (!c || !s[0] || (k > 1 && s[1] != ' ')) {
        tok_why(why, why_len, "vocabulary id %d: not a '-', 'p', 's', 'a' or 'l' line", id);
        return -1;
    }
    m->kind[id] = (uint8_t)(c - kinds);
    if (m->kind[id] == E_UNUSED) {
        if (k != 1) {
            tok_why(why, why_len, "vocabulary id %d: text after '-'", id);
            return -1;
        }
        return 0;
    }
    if (k < 4) {
        tok_why(why, why_len, "vocabulary id %d: no hexadecimal text", id);
        return -1;
    }
    const char *h = s + 2, *he = memchr(h, ' ', k - 2);
    he = he ? he : s + k;
    if (he == h || (he - h) % 2) {
        tok_why(why, why_len, "vocabulary id %d: empty or odd-length hexadecimal text", id);
        return -1;
    }
    m->off[id] = (uint32_t)*used;
    for (const char *q = h; q < he; q += 2) {
        int hi = hexval(q[0]), lo = hexval(q[1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            tok_why(why, why_len, "vocabulary id %d: bad hexadecimal text (lower case, no NUL)",
                    id);
            return -1;
        }
        m->text[(*used)++] = (char)(hi * 16 + lo);
    }
    m->len[id] = (uint32_t)(*used - m->off[id]);
    m->text[(*used)++] = '\0';
    for (size_t i = m->off[id]; i < m->off[id] + m->len[id];) {
        size_t cl = spm_utf8_len(m->text + i, m->off[id] + m->len[id] - i);
        if (!cl) {
            tok_why(why, why_len, "vocabulary id %d: text is not valid UTF-8", id);
            return -1;
        }
        i += cl;
    }
    const char *rest = he < s + k ? he + 1 : NULL;
    size_t rk = rest ? (size_t)(s + k - rest) : 0;
    if (m->kind[id] == E_PIECE) {
        if (rest) {
            tok_why(why, why_len, "vocabulary id %d: text after a piece", id);
            return -1;
        }
        return 0;
    }
    static const char *const strips[] = {"none", "left", "right", "both"};
    for (int i = 0; i < 4; i++)
        if (rest && strlen(strips[i]) == rk && !memcmp(rest, strips[i], rk)) {
            m->strip[id] = (uint8_t)i;
            return 0;
        }
    tok_why(why, why_len, "vocabulary id %d: a special token needs none, left, right or both",
            id);
    return -1;
}

/* Builds the text index, the special tokens' first bytes and the SentencePiece id maps; returns
 * a status with the reason in why. */
static int index_entries(smap *m, char *why, size_t why_len)
{
    size_t hn = 16;
    while (hn < (size_t)m->n * 2)
        hn *= 2;
    m->hash = malloc(hn * sizeof *m->hash);
    size_t in = tok_vocab_size(m->inner);
    m->spm_id = malloc((size_t)m->n * sizeof *m->spm_id);
    m->to_model = malloc(in * sizeof *m->to_model);
    if (!m->hash || !m->spm_id || !m->to_model)
        return TOK_ERR_NOMEM;
    m->hash_n = hn;
    memset(m->hash, 0xff, hn * sizeof *m->hash);
    for (int32_t id = 0; id < m->n; id++) {
        m->spm_id[id] = -1;
        if (m->kind[id] == E_UNUSED)
            continue;
        const char *s = m->text + m->off[id];
        if (find_text(m, s, m->len[id]) >= 0) {
            tok_why(why, why_len, "vocabulary id %d: the same text as an earlier id", id);
            return TOK_ERR_FORMAT;
        }
        size_t i = hash_text(s, m->len[id]) & (hn - 1);
        while (m->hash[i] >= 0)
            i = (i + 1) & (hn - 1);
        m->hash[i] = id;
        if (m->len[id] > m->max_text)
            m->max_text = m->len[id];
        if (m->kind[id] == E_PIECE) {
            int32_t sid = tok_token_id(m->inner, s, m->len[id]);
            m->spm_id[id] = sid >= 0 ? sid : tok_special_id(m->inner, s, m->len[id]);
        } else {
            m->first[1][(unsigned char)s[0]] = 1;
            m->first[0][(unsigned char)s[0]] |= m->kind[id] != E_SPECIAL;
        }
    }
    for (size_t sid = 0; sid < in; sid++) {
        size_t k;
        const char *s = tok_token_bytes(m->inner, (int32_t)sid, &k);
        int32_t id = s ? find_text(m, s, k) : -1;
        m->to_model[sid] = id >= 0 && m->kind[id] <= E_SPECIAL ? id : m->unk;
    }
    return TOK_OK;
}

/* Parses the file data[0..len-1] into m; returns a status with the reason in why. */
static int parse(smap *m, const char *data, size_t len, char *why, size_t why_len)
{
    const char *p = data, *end = data + len, *ls, *le;
    long n, unk, spm_len;
    if (len < sizeof MAGIC - 1 || memcmp(data, MAGIC, sizeof MAGIC - 1)) {
        tok_why(why, why_len, "not an attn-spm-map 1 file");
        return TOK_ERR_FORMAT;
    }
    p += sizeof MAGIC - 1;
    if (next_line(&p, end, &ls, &le) || le - ls < 8 || memcmp(ls, "tokens ", 7) ||
        parse_count(ls + 7, (size_t)(le - ls - 7), &n) || n < 1 || n > (1 << 24)) {
        tok_why(why, why_len, "no 'tokens N' line with N from 1 to 16777216");
        return TOK_ERR_FORMAT;
    }
    if (next_line(&p, end, &ls, &le) || le - ls < 5 || memcmp(ls, "unk ", 4) ||
        parse_count(ls + 4, (size_t)(le - ls - 4), &unk) || unk >= n) {
        tok_why(why, why_len, "no 'unk ID' line with an id below %ld", n);
        return TOK_ERR_FORMAT;
    }
    m->n = (int32_t)n;
    m->unk = (int32_t)unk;
    if ((size_t)(end - p) >= 7 && !memcmp(p, "marian\n", 7)) {
        m->marian = 1;
        p += 7;
    }
    m->text = malloc(len);
    m->off = calloc((size_t)n, sizeof *m->off);
    m->len = calloc((size_t)n, sizeof *m->len);
    m->kind = calloc((size_t)n, 1);
    m->strip = calloc((size_t)n, 1);
    if (!m->text || !m->off || !m->len || !m->kind || !m->strip)
        return TOK_ERR_NOMEM;
    size_t used = 0;
    for (int32_t id = 0; id < m->n; id++) {
        if (next_line(&p, end, &ls, &le)) {
            tok_why(why, why_len, "the file ends before vocabulary id %d", id);
            return TOK_ERR_FORMAT;
        }
        if (parse_entry(m, id, ls, (size_t)(le - ls), &used, why, why_len) < 0)
            return TOK_ERR_FORMAT;
    }
    if (m->kind[m->unk] == E_UNUSED) {
        tok_why(why, why_len, "the unknown id %d is unused", m->unk);
        return TOK_ERR_FORMAT;
    }
    if (next_line(&p, end, &ls, &le) || le - ls < 5 || memcmp(ls, "spm ", 4) ||
        parse_count(ls + 4, (size_t)(le - ls - 4), &spm_len) || spm_len != end - p) {
        tok_why(why, why_len, "no 'spm LENGTH' line followed by exactly LENGTH bytes");
        return TOK_ERR_FORMAT;
    }
    char inner_why[200];
    int rc = spm_open_mem(&m->inner, p, (size_t)spm_len, inner_why, sizeof inner_why);
    if (rc < 0) {
        tok_why(why, why_len, "SentencePiece model: %s", inner_why);
        return rc;
    }
    return index_entries(m, why, why_len);
}

/* Returns 1 when data[0..len-1] starts as an attn-spm-map file. */
static int smap_sniff(const void *data, size_t len)
{
    return len >= sizeof MAGIC - 1 && !memcmp(data, MAGIC, sizeof MAGIC - 1);
}

static void smap_free(tokenizer *t);

/* Opens an attn-spm-map file's bytes; returns a status with the reason in why. */
static int smap_open(tokenizer **out, const char *path, const void *data, size_t len, char *why,
                     size_t why_len)
{
    (void)path;
    *out = NULL;
    smap *m = calloc(1, sizeof *m);
    if (!m)
        return TOK_ERR_NOMEM;
    m->base.kind = &tok_kind_spmmap;
    int rc = parse(m, data, len, why, why_len);
    if (rc == TOK_OK && !(m->file = malloc(len ? len : 1)))
        rc = TOK_ERR_NOMEM;
    if (rc < 0) {
        if (rc == TOK_ERR_NOMEM)
            tok_why(why, why_len, "out of memory");
        smap_free(&m->base);
        return rc;
    }
    memcpy(m->file, data, len);
    m->file_len = len;
    *out = &m->base;
    return TOK_OK;
}

/* Frees an spm-map tokenizer. */
static void smap_free(tokenizer *t)
{
    smap *m = (smap *)t;
    tok_free(m->inner);
    free(m->file);
    free(m->text);
    free(m->off);
    free(m->len);
    free(m->kind);
    free(m->strip);
    free(m->spm_id);
    free(m->to_model);
    free(m->hash);
    free(m);
}

/* ---- lookups ------------------------------------------------------------------------------ */

static size_t smap_vocab_size(const tokenizer *t)
{
    return (size_t)((const smap *)t)->n;
}

/* The longest output of one push: the inner model's, or an entry's text after up to three held
 * bytes written as U+FFFD, plus 8. */
static size_t smap_max_token_bytes(const tokenizer *t)
{
    const smap *m = (const smap *)t;
    size_t a = tok_max_token_bytes(m->inner), b = m->max_text + 9 + 8;
    return a > b ? a : b;
}

static const char *smap_token_bytes(const tokenizer *t, int32_t id, size_t *len)
{
    const smap *m = (const smap *)t;
    if (id < 0 || id >= m->n || m->kind[id] == E_UNUSED)
        return NULL;
    *len = m->len[id];
    return m->text + m->off[id];
}

/* An unused id decodes as the unknown token, so it is special when that is. */
static int smap_is_special(const tokenizer *t, int32_t id)
{
    const smap *m = (const smap *)t;
    if (id >= 0 && id < m->n && m->kind[id] == E_UNUSED)
        id = m->unk;
    return id >= 0 && id < m->n && m->kind[id] >= E_SPECIAL;
}

static int32_t smap_special_id(const tokenizer *t, const char *s, size_t len)
{
    const smap *m = (const smap *)t;
    int32_t id = find_text(m, s, len);
    return id >= 0 && m->kind[id] >= E_SPECIAL ? id : -1;
}

static int32_t smap_token_id(const tokenizer *t, const char *s, size_t len)
{
    const smap *m = (const smap *)t;
    int32_t id = find_text(m, s, len);
    return id >= 0 && m->kind[id] == E_PIECE ? id : -1;
}

static int smap_serialize(const tokenizer *t, char **buf, size_t *len)
{
    const smap *m = (const smap *)t;
    if (!(*buf = malloc(m->file_len ? m->file_len : 1)))
        return TOK_ERR_NOMEM;
    memcpy(*buf, m->file, m->file_len);
    *len = m->file_len;
    return TOK_OK;
}

int spm_map_is_added(const tokenizer *t, int32_t id)
{
    const smap *m = (const smap *)t;
    return t->kind == &tok_kind_spmmap && id >= 0 && id < m->n && m->kind[id] >= E_ADDED;
}

int spm_map_is_lang(const tokenizer *t, int32_t id)
{
    const smap *m = (const smap *)t;
    return t->kind == &tok_kind_spmmap && id >= 0 && id < m->n && m->kind[id] == E_LANG;
}

int32_t spm_map_lang_id(const tokenizer *t, const char *code)
{
    if (t->kind != &tok_kind_spmmap)
        return -1;
    int32_t id = find_text((const smap *)t, code, strlen(code));
    return spm_map_is_lang(t, id) ? id : -1;
}

/* ---- encoding ----------------------------------------------------------------------------- */

/* Finds the earliest matchable special token in s[0..n-1] (the longest at one place; control
 * tokens only with all set); returns its id and sets *at, or -1. */
static int32_t find_special(const smap *m, const char *s, size_t n, int all, size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        if (!m->first[all][(unsigned char)s[i]])
            continue;
        int32_t best = -1;
        for (size_t k = n - i < m->max_text ? n - i : m->max_text; k > 0 && best < 0; k--) {
            int32_t id = find_text(m, s + i, k);
            if (id >= 0 && m->kind[id] >= E_SPECIAL && (all || m->kind[id] != E_SPECIAL))
                best = id;
        }
        if (best >= 0) {
            *at = i;
            return best;
        }
    }
    return -1;
}

/* Returns the length of the match of Marian's >>.+<< at s[0..n-1] (the last << on the line that
 * leaves at least one character between), or 0. */
static size_t code_match(const char *s, size_t n)
{
    if (n < 5 || s[0] != '>' || s[1] != '>')
        return 0;
    const char *nl = memchr(s, '\n', n);
    size_t line = nl ? (size_t)(nl - s) : n, best = 0;
    for (size_t q = 3; q + 2 <= line; q++)
        if (s[q] == '<' && s[q + 1] == '<')
            best = q + 2;
    return best;
}

/* Encodes one span of text between special tokens through the SentencePiece model into ids at
 * *n (Marian: its leading language code as one id, every code match removed, unknown pieces by
 * their text); returns a status. */
static int encode_span(smap_encoder *e, int32_t *ids, size_t cap, size_t *n, const char *s,
                       size_t len)
{
    const smap *m = e->m;
    if (m->marian && memmem(s, len, ">>", 2)) {
        size_t k = code_match(s, len);
        if (k) {
            if (*n < cap) {
                int32_t id = find_text(m, s, k);
                ids[*n] = id >= 0 ? id : m->unk;
            }
            (*n)++;
        }
        e->clean.n = 0;
        for (size_t i = 0; i < len;) {
            size_t c = code_match(s + i, len - i);
            if (!c && spm_buf_put(&e->clean, s + i, 1) < 0)
                return TOK_ERR_NOMEM;
            i += c ? c : 1;
        }
        s = e->clean.p ? e->clean.p : "";
        len = e->clean.n;
    }
    size_t got = 0, at = cap > *n ? *n : cap;
    int rc = spm_encoder_encode_unk(e->inner, ids + at, cap - at, &got, s, len, &e->unk,
                                    &e->unk_len);
    if (rc < 0 && rc != TOK_ERR_SPACE)
        return rc;
    if (rc == TOK_OK) {
        int32_t inner_unk = spm_unk_id(m->inner);
        size_t u = 0, uoff = 0;
        for (size_t i = 0; i < got; i++) {
            int32_t id = ids[at + i], x = -1;
            if (m->marian && id == inner_unk && u * 4 < e->unk_len.n) {
                uint32_t k;
                memcpy(&k, e->unk_len.p + 4 * u++, 4);
                x = find_text(m, e->unk.p + uoff, k);
                uoff += k;
            }
            ids[at + i] = x >= 0 && m->kind[x] != E_UNUSED ? x : m->to_model[id];
        }
    }
    *n += got;
    return TOK_OK;
}

/* Encodes text as the model's tokenizer does (spm.h: spm-map); returns a status. */
static int encode(smap_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                  size_t len, int flags)
{
    const smap *m = e->m;
    size_t n = 0, pos = 0;
    int all = (flags & TOK_SPECIAL) != 0;
    uint8_t left_strip = 0; /* the special before this span strips its leading space */
    while (pos <= len) {
        size_t at = 0;
        int32_t sp = find_special(m, text + pos, len - pos, all, &at);
        size_t span = sp >= 0 ? at : len - pos;
        const char *s = text + pos;
        if (left_strip) {
            size_t k = tok_leading_space(s, span);
            s += k;
            span -= k;
        }
        if (sp >= 0 && (m->strip[sp] & STRIP_LEFT))
            span -= tok_trailing_space(s, span);
        if (span) {
            int rc = encode_span(e, ids, cap, &n, s, span);
            if (rc < 0)
                return rc;
        }
        if (sp < 0)
            break;
        if (n < cap)
            ids[n] = sp;
        n++;
        left_strip = m->strip[sp] & STRIP_RIGHT;
        pos += at + m->len[sp];
    }
    *n_ids = n;
    return n > cap ? TOK_ERR_SPACE : TOK_OK;
}

static int smap_encoder_open(tok_encoder **out, const tokenizer *t)
{
    *out = NULL;
    smap_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return TOK_ERR_NOMEM;
    e->base.kind = &tok_kind_spmmap;
    e->m = (const smap *)t;
    int rc = tok_encoder_open(&e->inner, e->m->inner);
    if (rc < 0) {
        free(e);
        return rc;
    }
    *out = &e->base;
    return TOK_OK;
}

static void smap_encoder_free(tok_encoder *base)
{
    smap_encoder *e = (smap_encoder *)base;
    tok_encoder_free(e->inner);
    free(e->unk.p);
    free(e->unk_len.p);
    free(e->clean.p);
    free(e);
}

static int smap_encoder_encode(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids,
                               const char *text, size_t len, int flags)
{
    return encode((smap_encoder *)e, ids, cap, n_ids, text, len, flags);
}

static int smap_encode(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids,
                       const char *text, size_t len, int flags)
{
    tok_encoder *e;
    int rc = smap_encoder_open(&e, t);
    if (rc == TOK_OK)
        rc = encode((smap_encoder *)e, ids, cap, n_ids, text, len, flags);
    if (e)
        smap_encoder_free(e);
    return rc;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static int smap_stream_push(tok_stream *s, char *out, size_t cap, size_t *n_out, int32_t id)
{
    const smap *m = (const smap *)s->t;
    *n_out = 0;
    if (id < 0 || id >= m->n)
        return TOK_ERR_ID;
    if (m->kind[id] == E_UNUSED)
        id = m->unk;
    tok_stream in = *s;
    in.t = m->inner;
    int rc;
    if (m->spm_id[id] >= 0) {
        rc = tok_stream_push(&in, out, cap, n_out, m->spm_id[id]);
    } else {
        /* text outside the model: what the model holds back goes out first, then the text as
         * it is, U+2581 kept (SentencePiece writes a piece it does not know literally) */
        size_t held;
        tok_stream save = in;
        rc = tok_stream_flush(&in, out, cap, &held);
        in.spm_out = save.spm_out || held > 0 || m->len[id] > 0;
        in.spm_past_bos = save.spm_past_bos;
        in.spm_bos_ws = 0;
        if (rc == TOK_OK && held + m->len[id] > cap) {
            *n_out = held + m->len[id];
            return TOK_ERR_SPACE;
        }
        if (rc == TOK_OK) {
            memcpy(out + held, m->text + m->off[id], m->len[id]);
            *n_out = held + m->len[id];
            in.spm_past_bos = 1;
        } else {
            in = save;
        }
    }
    if (rc == TOK_OK) {
        in.t = s->t;
        *s = in;
    }
    return rc;
}

static int smap_stream_flush(tok_stream *s, char *out, size_t cap, size_t *n_out)
{
    const tokenizer *t = s->t;
    tok_stream in = *s;
    in.t = ((const smap *)t)->inner;
    int rc = tok_stream_flush(&in, out, cap, n_out);
    if (rc == TOK_OK)
        tok_stream_init(s, t);
    return rc;
}

static int smap_decode(const tokenizer *t, char *out, size_t cap, size_t *n_out,
                       const int32_t *ids, size_t n_ids)
{
    const smap *m = (const smap *)t;
    *n_out = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= m->n)
            return TOK_ERR_ID;
    size_t room = tok_max_token_bytes(t) + 16, got;
    char *piece = malloc(room);
    spm_buf b = {0};
    if (!piece)
        return TOK_ERR_NOMEM;
    tok_stream st;
    tok_stream_init(&st, t);
    int rc = TOK_OK;
    for (size_t i = 0; i <= n_ids && rc == TOK_OK; i++) {
        rc = i < n_ids ? smap_stream_push(&st, piece, room, &got, ids[i])
                       : smap_stream_flush(&st, piece, room, &got);
        if (rc == TOK_OK)
            rc = spm_buf_put(&b, piece, got);
    }
    if (rc == TOK_OK) {
        *n_out = b.n;
        if (b.n > cap)
            rc = TOK_ERR_SPACE;
        else if (b.n)
            memcpy(out, b.p, b.n);
    }
    free(piece);
    free(b.p);
    return rc;
}

const tok_kind tok_kind_spmmap = {
    .name = "spm-map",
    .sniff = smap_sniff,
    .open = smap_open,
    .free = smap_free,
    .vocab_size = smap_vocab_size,
    .max_token_bytes = smap_max_token_bytes,
    .token_bytes = smap_token_bytes,
    .is_special = smap_is_special,
    .special_id = smap_special_id,
    .token_id = smap_token_id,
    .encode = smap_encode,
    .encoder_open = smap_encoder_open,
    .encoder_free = smap_encoder_free,
    .encoder_encode = smap_encoder_encode,
    .decode = smap_decode,
    .stream_push = smap_stream_push,
    .stream_flush = smap_stream_flush,
    .serialize = smap_serialize,
};
