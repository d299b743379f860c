/* spm_encode.c — SentencePiece encoding: normalize, segment (unigram, BPE, word, char), then map
 * unknown pieces to one id or to byte pieces. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

/* A BPE symbol: a run of the normalized text, linked to its neighbours. */
typedef struct {
    int32_t prev, next; /* neighbours' indices, -1 at the ends */
    uint32_t start, len;
    uint32_t node;      /* the trie slot its text leads to, 0 if none */
    int frozen;         /* a user-defined piece: never merged */
} symbol;

/* Unigram: the best path that ends at one byte offset of the normalized text. */
typedef struct {
    float score;  /* its score */
    int32_t from; /* where its last piece starts, -1 while no path ends here */
    int32_t id;   /* its last piece */
} lattice_end;

/* A candidate BPE merge of symbols left and right into a piece of size bytes. */
typedef struct {
    float score;
    int32_t left, right;
    uint32_t size;
    uint32_t node; /* the trie slot of the merged piece */
} merge;

/* A piece the segmentation found: the text s[start..start+len-1] and its id. */
typedef struct {
    uint32_t start, len;
    int32_t id;
} found;

/* One word in the BPE word cache: its text in keys, its pieces in vals. */
typedef struct {
    uint64_t hash; /* 0 for an empty slot */
    uint32_t key, key_len, val, val_n;
} cached_word;

/* BPE results by word (the text from one U+2581 to the next), for models where no merge can
 * cross a word boundary; emptied when full. */
typedef struct {
    cached_word *slot; /* [CACHE_SLOTS] */
    size_t used;
    spm_buf keys;
    found *vals;
    size_t vals_n, vals_cap;
} word_cache;

#define CACHE_SLOTS (1u << 15)
#define CACHE_WORDS (1u << 14)  /* emptied at this many words */
#define CACHE_BYTES (1u << 22)  /* or this many bytes of text */

/* Encoding scratch kept between calls (a tok_encoder of kind spm). */
typedef struct {
    tok_encoder base;   /* kind: &tok_kind_spm */
    const spm *m;
    spm_buf norm;       /* the normalized text */
    lattice_end *end;   /* [n + 1] unigram: the best path ending at each byte offset */
    size_t end_cap;
    symbol *sym;        /* [n] BPE symbols */
    merge *heap;        /* BPE merge candidates, a binary heap */
    size_t sym_cap, heap_n, heap_cap;
    uint32_t *split;    /* [vocab] BPE: left length of the pair last seen forming an unused id */
    uint32_t *split_gen; /* [vocab] the call that wrote split[id] */
    uint32_t gen;
    uint32_t *stack;    /* BPE: (start, len) pairs of pieces to resegment */
    size_t stack_cap;
    found *got;         /* BPE: the pieces of the run just merged */
    size_t got_n, got_cap;
    word_cache cache;   /* BPE: the pieces of words seen before */
} spm_encoder;

/* Where the ids go: the caller's buffer, counting past its end; with unk set, also the surface
 * of each unknown id (unk: the texts one after the other, unk_len: their uint32_t lengths). */
typedef struct {
    int32_t *ids;
    size_t cap, n;
    int prev_unk;
    spm_buf *unk, *unk_len;
    int nomem;
} sink;

/* Grows *p to hold at least n elements of size sz (*cap counts them); returns a status. */
static int grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return TOK_OK;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q)
        return TOK_ERR_NOMEM;
    *p = q;
    *cap = c;
    return TOK_OK;
}

/* Adds id to the output. */
static inline void push(sink *o, int32_t id)
{
    if (o->n < o->cap)
        o->ids[o->n] = id;
    o->n++;
}

/* Emits one segmented piece s[0..len-1] with id: an unknown piece becomes its bytes' pieces with
 * byte fallback, else joins an unknown piece just before it. */
static void emit(const spm *m, sink *o, const char *s, size_t len, int32_t id)
{
    int unk = m->type[id] == SPM_UNKNOWN;
    if (unk && m->byte_fallback)
        for (size_t i = 0; i < len; i++)
            push(o, m->byte_id[(unsigned char)s[i]]);
    else if (!(unk && o->prev_unk))
        push(o, id);
    if (unk && !m->byte_fallback && o->unk) {
        uint32_t k = (uint32_t)len;
        if (o->prev_unk) {
            memcpy(&k, o->unk_len->p + o->unk_len->n - sizeof k, sizeof k);
            k += (uint32_t)len;
            o->unk_len->n -= sizeof k;
        }
        o->nomem |= spm_buf_put(o->unk, s, len) | spm_buf_put(o->unk_len, (char *)&k, sizeof k);
    }
    o->prev_unk = unk;
}

/* Returns the id of piece s[0..len-1] of any type, or the unknown id. */
static int32_t piece_to_id(const spm *m, const char *s, size_t len)
{
    int32_t id = spm_trie_find(&m->trie, s, len);
    return id >= 0 ? id : m->unk_id;
}

/* ---- unigram --------------------------------------------------------------------------------- */

/* Viterbi over the pieces that match s[0..n-1]; returns a status. */
static int unigram(spm_encoder *e, sink *o, const char *s, size_t n)
{
    const spm *m = e->m;
    if (grow((void **)&e->end, &e->end_cap, n + 1, sizeof *e->end))
        return TOK_ERR_NOMEM;
    lattice_end *at = e->end;
    for (size_t i = 0; i <= n; i++)
        at[i].from = -1;
    at[0].score = 0;
    const float unk_score = m->min_score - 10.0f;
    for (size_t start = 0; start < n;) {
        const float here = at[start].score;
        size_t mblen = spm_char_len((unsigned char)s[start]);
        if (mblen > n - start)
            mblen = n - start;
        int single = 0;
        uint32_t node = 0;
        for (size_t k = start; k < n; k++) {
            if (!(node = spm_trie_next(&m->trie, node, (unsigned char)s[k])))
                break;
            int32_t id = spm_trie_id(&m->trie, node);
            if (id < 0 || isnan(m->vscore[id]))
                continue;
            size_t len = k + 1 - start;
            double cand = m->vscore[id] + (double)here; /* in double, as the library sums */
            lattice_end *z = &at[k + 1];
            if (z->from == -1 || cand > (double)z->score) {
                z->score = (float)cand;
                z->from = (int32_t)start;
                z->id = id;
            }
            single |= len == mblen;
        }
        if (!single) {
            float cand = unk_score + here;
            lattice_end *z = &at[start + mblen];
            if (z->from == -1 || cand > z->score) {
                z->score = cand;
                z->from = (int32_t)start;
                z->id = m->unk_id;
            }
        }
        start += mblen;
    }
    /* Reverse the back links in place so that from[] points forward, then emit. */
    int32_t cur = (int32_t)n, after = -1;
    while (cur > 0) {
        int32_t b = at[cur].from;
        at[cur].from = after;
        after = cur;
        cur = b;
    }
    for (int32_t b = 0, z = after; b < (int32_t)n; b = z, z = at[z].from)
        emit(m, o, s + b, (size_t)(z - b), at[z].id);
    return TOK_OK;
}

/* ---- BPE ------------------------------------------------------------------------------------- */

/* Returns 1 if merge a comes out of the heap before b: higher score, then leftmost. */
static inline int before(const merge *a, const merge *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

/* Pushes a merge onto the heap; returns a status. */
static int heap_push(spm_encoder *e, merge x)
{
    if (grow((void **)&e->heap, &e->heap_cap, e->heap_n + 1, sizeof *e->heap))
        return TOK_ERR_NOMEM;
    size_t i = e->heap_n++;
    while (i > 0 && before(&x, &e->heap[(i - 1) / 2])) {
        e->heap[i] = e->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    e->heap[i] = x;
    return TOK_OK;
}

/* Removes the heap's top into *x. */
static void heap_pop(spm_encoder *e, merge *x)
{
    merge *h = e->heap;
    *x = h[0];
    merge y = h[--e->heap_n];
    size_t i = 0, n = e->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h[c + 1], &h[c]))
            c++;
        if (!before(&h[c], &y))
            break;
        h[i] = h[c];
        i = c;
    }
    if (n)
        h[i] = y;
}

/* Queues the merge of symbols l and r if their joined text is a normal, user-defined or unused
 * piece (remembering how an unused piece was formed); returns a status. */
static int maybe_merge(spm_encoder *e, const char *s, int32_t l, int32_t r)
{
    if (l < 0 || r < 0 || e->sym[l].frozen || e->sym[r].frozen)
        return TOK_OK;
    const spm *m = e->m;
    const symbol *a = &e->sym[l], *b = &e->sym[r];
    uint32_t node = a->node;
    for (uint32_t i = 0; node && i < b->len; i++)
        node = spm_trie_next(&m->trie, node, (unsigned char)s[b->start + i]);
    int32_t id = node ? spm_trie_id(&m->trie, node) : -1;
    if (id < 0 || (m->type[id] != SPM_NORMAL && m->type[id] != SPM_USER_DEFINED &&
                   m->type[id] != SPM_UNUSED))
        return TOK_OK;
    if (m->type[id] == SPM_UNUSED) {
        e->split[id] = a->len;
        e->split_gen[id] = e->gen;
    }
    return heap_push(e, (merge){m->score[id], l, r, a->len + b->len, node});
}

/* Appends a found piece to e->got; returns a status. */
static int add_found(spm_encoder *e, uint32_t start, uint32_t len, int32_t id)
{
    if (grow((void **)&e->got, &e->got_cap, e->got_n + 1, sizeof *e->got))
        return TOK_ERR_NOMEM;
    e->got[e->got_n++] = (found){start, len, id};
    return TOK_OK;
}

/* Adds piece s[start..start+len-1] to e->got, splitting unused pieces back into the pairs that
 * formed them; returns a status. */
static int resegment(spm_encoder *e, const char *s, uint32_t start, uint32_t len)
{
    const spm *m = e->m;
    size_t top = 0;
    if (grow((void **)&e->stack, &e->stack_cap, 2, sizeof *e->stack))
        return TOK_ERR_NOMEM;
    e->stack[top++] = start;
    e->stack[top++] = len;
    while (top) {
        len = e->stack[--top];
        start = e->stack[--top];
        int32_t id = piece_to_id(m, s + start, len);
        int rc;
        if (m->type[id] != SPM_UNUSED || e->split_gen[id] != e->gen) {
            if ((rc = add_found(e, start, len, id)))
                return rc;
            continue;
        }
        if (grow((void **)&e->stack, &e->stack_cap, top + 4, sizeof *e->stack))
            return TOK_ERR_NOMEM;
        uint32_t k = e->split[id];
        e->stack[top++] = start + k; /* the right part, emitted second */
        e->stack[top++] = len - k;
        e->stack[top++] = start;
        e->stack[top++] = k;
    }
    return TOK_OK;
}

/* Merges symbols a..b-1 (a run of neighbours) by piece score and adds the pieces they form to
 * e->got; returns a status. */
static int merge_run(spm_encoder *e, const char *s, int32_t a, int32_t b)
{
    int rc;
    e->sym[a].prev = -1;
    e->sym[b - 1].next = -1;
    e->heap_n = 0;
    for (int32_t i = a + 1; i < b; i++)
        if ((rc = maybe_merge(e, s, i - 1, i)))
            return rc;
    while (e->heap_n) {
        merge top;
        heap_pop(e, &top);
        symbol *l = &e->sym[top.left], *r = &e->sym[top.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != top.size)
            continue;
        l->len += r->len;
        l->node = top.node;
        l->next = r->next;
        if (r->next >= 0)
            e->sym[r->next].prev = top.left;
        r->len = 0;
        if ((rc = maybe_merge(e, s, l->prev, top.left)) ||
            (rc = maybe_merge(e, s, top.left, l->next)))
            return rc;
    }
    for (int32_t i = a; i >= 0; i = e->sym[i].next)
        if ((rc = resegment(e, s, e->sym[i].start, e->sym[i].len)))
            return rc;
    return TOK_OK;
}

/* Returns a hash of s[0..n-1] that is never 0. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return h | 1;
}

/* Returns the cache slot of word w[0..n-1] with hash h: its entry, or the empty slot where it
 * would go. */
static cached_word *cache_slot(const word_cache *c, const char *w, size_t n, uint64_t h)
{
    for (size_t i = (size_t)(h >> 17) & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        cached_word *x = &c->slot[i];
        if (!x->hash || (x->hash == h && x->key_len == n && !memcmp(c->keys.p + x->key, w, n)))
            return x;
    }
}

/* Stores the pieces of e->got (relative to the word's start w0) as word w[0..n-1] in slot x,
 * first emptying the cache when it is full; returns a status. */
static int cache_put(spm_encoder *e, cached_word *x, const char *w, size_t n, uint64_t h,
                     uint32_t w0)
{
    word_cache *c = &e->cache;
    if (c->used >= CACHE_WORDS || c->keys.n + n > CACHE_BYTES) {
        memset(c->slot, 0, CACHE_SLOTS * sizeof *c->slot);
        c->used = c->keys.n = c->vals_n = 0;
        x = cache_slot(c, w, n, h);
    }
    if (grow((void **)&c->vals, &c->vals_cap, c->vals_n + e->got_n, sizeof *c->vals) ||
        spm_buf_put(&c->keys, w, n))
        return TOK_ERR_NOMEM;
    *x = (cached_word){h, (uint32_t)(c->keys.n - n), (uint32_t)n, (uint32_t)c->vals_n,
                       (uint32_t)e->got_n};
    for (size_t i = 0; i < e->got_n; i++)
        c->vals[c->vals_n++] = (found){e->got[i].start - w0, e->got[i].len, e->got[i].id};
    c->used++;
    return TOK_OK;
}

/* Merges the symbols of s[0..n-1] by piece score, word by word through the cache where the
 * model allows it; returns a status. */
static int bpe(spm_encoder *e, sink *o, const char *s, size_t n)
{
    const spm *m = e->m;
    int rc;
    if (!e->split) {
        e->split = malloc((size_t)m->n * sizeof *e->split);
        e->split_gen = calloc((size_t)m->n, sizeof *e->split_gen);
        if (!e->split || !e->split_gen)
            return TOK_ERR_NOMEM;
    }
    if (m->bpe_words && !e->cache.slot && !(e->cache.slot = calloc(CACHE_SLOTS,
                                                                  sizeof *e->cache.slot)))
        return TOK_ERR_NOMEM;
    e->gen++;
    if (grow((void **)&e->sym, &e->sym_cap, n, sizeof *e->sym))
        return TOK_ERR_NOMEM;
    int32_t count = 0;
    for (size_t p = 0; p < n;) {
        size_t k = m->has_user ? spm_user_match(m, s + p, n - p) : 0;
        symbol *y = &e->sym[count];
        y->frozen = k > 0;
        if (!k) {
            k = spm_char_len((unsigned char)s[p]);
            k = k < n - p ? k : n - p;
        }
        y->start = (uint32_t)p;
        y->len = (uint32_t)k;
        y->node = 0;
        for (size_t i = 0; i < k && (i == 0 || y->node); i++)
            y->node = spm_trie_next(&m->trie, y->node, (unsigned char)s[p + i]);
        y->prev = count - 1;
        p += k;
        y->next = p < n ? count + 1 : -1;
        count++;
    }
    if (!m->bpe_words) {
        e->got_n = 0;
        if ((rc = merge_run(e, s, 0, count)))
            return rc;
        for (size_t i = 0; i < e->got_n; i++)
            emit(m, o, s + e->got[i].start, e->got[i].len, e->got[i].id);
        return TOK_OK;
    }
    /* Words: runs of symbols from one that starts with U+2581 to the next. */
    for (int32_t a = 0, b; a < count; a = b) {
        for (b = a + 1; b < count && !(e->sym[b].len >= SPM_SPACE_LEN &&
                                       !memcmp(s + e->sym[b].start, SPM_SPACE, SPM_SPACE_LEN));)
            b++;
        uint32_t w0 = e->sym[a].start;
        size_t wn = (size_t)(e->sym[b - 1].start + e->sym[b - 1].len - w0);
        uint64_t h = hash_bytes(s + w0, wn);
        cached_word *x = cache_slot(&e->cache, s + w0, wn, h);
        if (!x->hash) {
            e->got_n = 0;
            if ((rc = merge_run(e, s, a, b)) || (rc = cache_put(e, x, s + w0, wn, h, w0)))
                return rc;
            x = cache_slot(&e->cache, s + w0, wn, h);
        }
        for (uint32_t i = 0; i < x->val_n; i++) {
            const found *f = &e->cache.vals[x->val + i];
            emit(m, o, s + w0 + f->start, f->len, f->id);
        }
    }
    return TOK_OK;
}

/* ---- word and char --------------------------------------------------------------------------- */

/* Cuts s[0..n-1] before each U+2581 and looks each word up. */
static void words(const spm *m, sink *o, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t p = 0; p < n;) {
        size_t k = spm_char_len((unsigned char)s[p]);
        k = k < n - p ? k : n - p;
        if (p > w && k == SPM_SPACE_LEN && !memcmp(s + p, SPM_SPACE, SPM_SPACE_LEN)) {
            emit(m, o, s + w, p - w, piece_to_id(m, s + w, p - w));
            w = p;
        }
        p += k;
    }
    if (n > w)
        emit(m, o, s + w, n - w, piece_to_id(m, s + w, n - w));
}

/* Looks up each character (or user-defined piece) of s[0..n-1]. */
static void chars(const spm *m, sink *o, const char *s, size_t n)
{
    for (size_t p = 0; p < n;) {
        size_t k = m->has_user ? spm_user_match(m, s + p, n - p) : 0;
        if (!k) {
            k = spm_char_len((unsigned char)s[p]);
            k = k < n - p ? k : n - p;
        }
        emit(m, o, s + p, k, piece_to_id(m, s + p, k));
        p += k;
    }
}

/* ---- entry points ---------------------------------------------------------------------------- */

int spm_encoder_open(tok_encoder **out, const tokenizer *t)
{
    spm_encoder *e = calloc(1, sizeof *e);
    *out = e ? &e->base : NULL;
    if (!e)
        return TOK_ERR_NOMEM;
    e->base.kind = &tok_kind_spm;
    e->m = (const spm *)t;
    return TOK_OK;
}

void spm_encoder_free(tok_encoder *base)
{
    spm_encoder *e = (spm_encoder *)base;
    if (!e)
        return;
    free(e->norm.p);
    free(e->end);
    free(e->sym);
    free(e->heap);
    free(e->split);
    free(e->split_gen);
    free(e->stack);
    free(e->got);
    free(e->cache.slot);
    free(e->cache.keys.p);
    free(e->cache.vals);
    free(e);
}

/* Encodes text[0..len-1] as SentencePiece does, adding its ids to o; returns a status. */
static int encode_text(spm_encoder *e, sink *o, const char *text, size_t len)
{
    const spm *m = e->m;
    int rc = spm_norm_run(&m->norm, m, m->ws_suffix, &e->norm, text, len);
    const char *s = e->norm.p;
    size_t n = e->norm.n;
    o->prev_unk = 0;
    if (rc || n == 0)
        return rc;
    if (n >= INT32_MAX)
        return TOK_ERR_NOMEM; /* positions are 32-bit */
    switch (m->model_type) {
    case SPM_UNIGRAM:
        return unigram(e, o, s, n);
    case SPM_BPE:
        return bpe(e, o, s, n);
    case SPM_WORD:
        words(m, o, s, n);
        return TOK_OK;
    default:
        chars(m, o, s, n);
        return TOK_OK;
    }
}

/* Returns the length of the longest control or unknown piece that starts s[0..n-1] and sets *id,
 * or returns 0. */
static size_t special_at(const spm *m, const char *s, size_t n, int32_t *id)
{
    uint32_t node = 0;
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(node = spm_trie_next(&m->trie, node, (unsigned char)s[i])))
            break;
        int32_t x = spm_trie_id(&m->trie, node);
        if (x >= 0 && (m->type[x] == SPM_CONTROL || m->type[x] == SPM_UNKNOWN)) {
            best = i + 1;
            *id = x;
        }
    }
    return best;
}

int spm_encoder_encode_unk(tok_encoder *base, int32_t *ids, size_t cap, size_t *n_ids,
                           const char *text, size_t len, spm_buf *unk, spm_buf *unk_len)
{
    spm_encoder *e = (spm_encoder *)base;
    sink o = {ids, cap, 0, 0, unk, unk_len, 0};
    unk->n = unk_len->n = 0;
    int rc = encode_text(e, &o, text, len);
    *n_ids = o.n;
    if (rc == TOK_OK && o.nomem)
        rc = TOK_ERR_NOMEM;
    if (rc == TOK_OK && o.n > cap)
        rc = TOK_ERR_SPACE;
    return rc;
}

int spm_encoder_encode(tok_encoder *base, int32_t *ids, size_t cap, size_t *n_ids,
                       const char *text, size_t len, int flags)
{
    spm_encoder *e = (spm_encoder *)base;
    const spm *m = e->m;
    sink o = {ids, cap, 0, 0, NULL, NULL, 0};
    int rc = TOK_OK;
    size_t from = 0;
    if ((flags & TOK_SPECIAL) && m->has_special) {
        /* The text between special pieces is encoded as texts of their own. */
        for (size_t p = 0; p < len && rc == TOK_OK;) {
            int32_t id;
            size_t k = special_at(m, text + p, len - p, &id);
            if (!k) {
                p++;
                continue;
            }
            if (p > from)
                rc = encode_text(e, &o, text + from, p - from);
            push(&o, id);
            p += k;
            from = p;
        }
    }
    if (rc == TOK_OK && (from < len || len == 0))
        rc = encode_text(e, &o, text + from, len - from);
    *n_ids = o.n;
    if (rc == TOK_OK && o.n > cap)
        rc = TOK_ERR_SPACE;
    return rc;
}

int spm_encode(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags)
{
    tok_encoder *e;
    int rc = spm_encoder_open(&e, t);
    if (rc == TOK_OK)
        rc = spm_encoder_encode(e, ids, cap, n_ids, text, len, flags);
    spm_encoder_free(e);
    return rc;
}

int spm_normalize(const tokenizer *t, char *out, size_t cap, size_t *n_out, const char *text,
                  size_t len)
{
    const spm *m = (const spm *)t;
    spm_buf b = {0};
    int rc = spm_norm_run(&m->norm, m, m->ws_suffix, &b, text, len);
    *n_out = b.n;
    if (rc == TOK_OK && b.n > cap)
        rc = TOK_ERR_SPACE;
    if (rc == TOK_OK && b.n)
        memcpy(out, b.p, b.n);
    free(b.p);
    return rc;
}
