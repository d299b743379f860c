/* bpe_train.c — learns a byte-level BPE vocabulary: pieces are counted once, then the most frequent
 * adjacent pair is merged repeatedly.  Pair counts are updated incrementally (only the words that
 * contain the merged pair are touched) and the best pair comes from a max-heap with lazy
 * invalidation, so no merge recounts the corpus. */
#include "bpe_impl.h"

#include <stdlib.h>

/* A growable byte-string -> count table (the distinct pieces). */
typedef struct {
    uint64_t *hash;  /* (cap) 0 = empty */
    uint32_t *key;   /* (cap) offset of the piece in keys */
    uint32_t *len;   /* (cap) */
    uint64_t *count; /* (cap) */
    size_t cap, used;
    char *keys;
    size_t keys_used, keys_cap;
} piece_map;

struct bpe_trainer {
    pretok pt;
    pretok_iter it;
    piece_map pm;
};

typedef struct {
    uint32_t *w; /* words that contained the pair when it appeared (may hold stale entries) */
    uint32_t n, cap;
} word_list;

typedef struct {
    int64_t count;
    uint32_t pair;
} heap_item;

/* The merge state. */
typedef struct {
    /* words: the distinct pieces as symbol sequences */
    uint32_t *sym;      /* all words' symbols back to back */
    uint32_t *wstart;   /* (n_words + 1) */
    uint32_t *wlen;     /* (n_words) current length (shrinks as merges apply) */
    uint64_t *wfreq;    /* (n_words) */
    uint32_t *wstamp;   /* (n_words) last merge that visited the word */
    size_t n_words;
    /* pairs */
    uint64_t *pkey;     /* (pcap) a << 32 | b, UINT64_MAX = empty */
    uint32_t *pidx;     /* (pcap) pair index */
    size_t pcap, pused;
    uint32_t *pa, *pb;  /* (n_pairs) */
    int64_t *pcount;    /* (n_pairs) */
    word_list *pwords;  /* (n_pairs) */
    uint32_t *pstamp;   /* (n_pairs) */
    size_t n_pairs, pairs_cap;
    heap_item *heap;
    size_t hn, hcap;
} trainer_state;

/* ---- the piece table ---------------------------------------------------------------------- */

/* Adds one occurrence of piece s[0..n-1]; returns a status. */
static int pm_add(piece_map *m, const char *s, size_t n)
{
    if (2 * (m->used + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1 << 16;
        piece_map g = *m;
        g.cap = cap;
        g.hash = calloc(cap, sizeof *g.hash);
        g.key = malloc(cap * sizeof *g.key);
        g.len = malloc(cap * sizeof *g.len);
        g.count = malloc(cap * sizeof *g.count);
        if (!g.hash || !g.key || !g.len || !g.count) {
            free(g.hash);
            free(g.key);
            free(g.len);
            free(g.count);
            return TOK_ERR_NOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->hash[i])
                continue;
            size_t j = m->hash[i] & (cap - 1);
            while (g.hash[j])
                j = (j + 1) & (cap - 1);
            g.hash[j] = m->hash[i];
            g.key[j] = m->key[i];
            g.len[j] = m->len[i];
            g.count[j] = m->count[i];
        }
        free(m->hash);
        free(m->key);
        free(m->len);
        free(m->count);
        *m = g;
    }
    uint64_t h = bpe_hash(s, n) | 1;
    size_t j = h & (m->cap - 1);
    while (m->hash[j]) {
        if (m->hash[j] == h && m->len[j] == n && memcmp(m->keys + m->key[j], s, n) == 0) {
            m->count[j]++;
            return TOK_OK;
        }
        j = (j + 1) & (m->cap - 1);
    }
    if (m->keys_used + n > m->keys_cap) {
        size_t cap = m->keys_cap ? m->keys_cap : 1 << 20;
        while (cap < m->keys_used + n)
            cap *= 2;
        if (cap > UINT32_MAX)
            return TOK_ERR_NOMEM;
        char *k = realloc(m->keys, cap);
        if (!k)
            return TOK_ERR_NOMEM;
        m->keys = k;
        m->keys_cap = cap;
    }
    memcpy(m->keys + m->keys_used, s, n);
    m->hash[j] = h;
    m->key[j] = (uint32_t)m->keys_used;
    m->len[j] = (uint32_t)n;
    m->count[j] = 1;
    m->keys_used += n;
    m->used++;
    return TOK_OK;
}

int bpe_trainer_open(bpe_trainer **out, const char *pattern, char *why, size_t why_len)
{
    *out = NULL;
    bpe_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) {
        tok_why(why, why_len, "out of memory");
        return TOK_ERR_NOMEM;
    }
    int rc = pretok_compile(&tr->pt, pattern, why, why_len);
    if (rc < 0) {
        free(tr);
        return rc;
    }
    if (pretok_iter_open(&tr->it, &tr->pt) < 0) {
        pretok_free(&tr->pt);
        free(tr);
        tok_why(why, why_len, "out of memory");
        return TOK_ERR_NOMEM;
    }
    *out = tr;
    return TOK_OK;
}

void bpe_trainer_free(bpe_trainer *tr)
{
    if (!tr)
        return;
    pretok_iter_free(&tr->it);
    pretok_free(&tr->pt);
    free(tr->pm.hash);
    free(tr->pm.key);
    free(tr->pm.len);
    free(tr->pm.count);
    free(tr->pm.keys);
    free(tr);
}

int bpe_trainer_feed(bpe_trainer *tr, const char *text, size_t len)
{
    size_t a, b;
    int rc;
    pretok_iter_reset(&tr->it);
    while ((rc = pretok_next(&tr->it, text, len, &a, &b)) == 1) {
        rc = pm_add(&tr->pm, text + a, b - a);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* ---- pairs and the heap ------------------------------------------------------------------- */

/* Returns 1 if heap item x should come out before y: higher count, then lower left id, then
 * lower right id. */
static inline int before(const trainer_state *st, heap_item x, heap_item y)
{
    if (x.count != y.count)
        return x.count > y.count;
    if (st->pa[x.pair] != st->pa[y.pair])
        return st->pa[x.pair] < st->pa[y.pair];
    return st->pb[x.pair] < st->pb[y.pair];
}

/* Pushes the pair's current count onto the heap; returns a status. */
static int hpush(trainer_state *st, uint32_t pair)
{
    if (st->hn == st->hcap) {
        size_t cap = st->hcap ? 2 * st->hcap : 1 << 16;
        heap_item *h = realloc(st->heap, cap * sizeof *h);
        if (!h)
            return TOK_ERR_NOMEM;
        st->heap = h;
        st->hcap = cap;
    }
    heap_item x = {st->pcount[pair], pair};
    size_t i = st->hn++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(st, x, st->heap[p]))
            break;
        st->heap[i] = st->heap[p];
        i = p;
    }
    st->heap[i] = x;
    return TOK_OK;
}

/* Removes and returns the best heap item (the heap is not empty). */
static heap_item hpop(trainer_state *st)
{
    heap_item top = st->heap[0], x = st->heap[--st->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= st->hn)
            break;
        if (c + 1 < st->hn && before(st, st->heap[c + 1], st->heap[c]))
            c++;
        if (!before(st, st->heap[c], x))
            break;
        st->heap[i] = st->heap[c];
        i = c;
    }
    st->heap[i] = x;
    return top;
}

/* Returns the index of pair (a, b), creating it with count 0; returns -1 when out of memory. */
static long pair_get(trainer_state *st, uint32_t a, uint32_t b)
{
    uint64_t key = (uint64_t)a << 32 | b;
    if (2 * (st->pused + 1) > st->pcap) {
        size_t cap = st->pcap ? 2 * st->pcap : 1 << 16;
        uint64_t *k = malloc(cap * sizeof *k);
        uint32_t *v = malloc(cap * sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return -1;
        }
        memset(k, 0xff, cap * sizeof *k);
        for (size_t i = 0; i < st->pcap; i++) {
            if (st->pkey[i] == UINT64_MAX)
                continue;
            size_t j = bpe_hash(&st->pkey[i], 8) & (cap - 1);
            while (k[j] != UINT64_MAX)
                j = (j + 1) & (cap - 1);
            k[j] = st->pkey[i];
            v[j] = st->pidx[i];
        }
        free(st->pkey);
        free(st->pidx);
        st->pkey = k;
        st->pidx = v;
        st->pcap = cap;
    }
    size_t j = bpe_hash(&key, 8) & (st->pcap - 1);
    while (st->pkey[j] != UINT64_MAX) {
        if (st->pkey[j] == key)
            return st->pidx[j];
        j = (j + 1) & (st->pcap - 1);
    }
    if (st->n_pairs == st->pairs_cap) {
        size_t cap = st->pairs_cap ? 2 * st->pairs_cap : 1 << 16;
        uint32_t *pa = realloc(st->pa, cap * sizeof *pa);
        if (pa)
            st->pa = pa;
        uint32_t *pb = realloc(st->pb, cap * sizeof *pb);
        if (pb)
            st->pb = pb;
        int64_t *pc = realloc(st->pcount, cap * sizeof *pc);
        if (pc)
            st->pcount = pc;
        word_list *pw = realloc(st->pwords, cap * sizeof *pw);
        if (pw)
            st->pwords = pw;
        uint32_t *ps = realloc(st->pstamp, cap * sizeof *ps);
        if (ps)
            st->pstamp = ps;
        if (!pa || !pb || !pc || !pw || !ps)
            return -1;
        st->pairs_cap = cap;
    }
    size_t p = st->n_pairs++;
    st->pa[p] = a;
    st->pb[p] = b;
    st->pcount[p] = 0;
    st->pwords[p] = (word_list){NULL, 0, 0};
    st->pstamp[p] = UINT32_MAX;
    st->pkey[j] = key;
    st->pidx[j] = (uint32_t)p;
    st->pused++;
    return (long)p;
}

/* Records that word w contains pair p; returns a status. */
static int pair_add_word(trainer_state *st, uint32_t p, uint32_t w)
{
    word_list *l = &st->pwords[p];
    if (l->n && l->w[l->n - 1] == w)
        return TOK_OK;
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 4;
        uint32_t *nw = realloc(l->w, cap * sizeof *nw);
        if (!nw)
            return TOK_ERR_NOMEM;
        l->w = nw;
        l->cap = cap;
    }
    l->w[l->n++] = w;
    return TOK_OK;
}

/* Frees the merge state. */
static void state_free(trainer_state *st)
{
    free(st->sym);
    free(st->wstart);
    free(st->wlen);
    free(st->wfreq);
    free(st->wstamp);
    free(st->pkey);
    free(st->pidx);
    for (size_t p = 0; p < st->n_pairs; p++)
        free(st->pwords[p].w);
    free(st->pa);
    free(st->pb);
    free(st->pcount);
    free(st->pwords);
    free(st->pstamp);
    free(st->heap);
}

/* Builds the words from the piece table and counts every adjacent pair; returns a status. */
static int state_init(trainer_state *st, const piece_map *m, uint32_t first_byte_id)
{
    st->n_words = m->used;
    st->sym = malloc((m->keys_used + 1) * sizeof *st->sym);
    st->wstart = malloc((m->used + 1) * sizeof *st->wstart);
    st->wlen = malloc((m->used + 1) * sizeof *st->wlen);
    st->wfreq = malloc((m->used + 1) * sizeof *st->wfreq);
    st->wstamp = malloc((m->used + 1) * sizeof *st->wstamp);
    if (!st->sym || !st->wstart || !st->wlen || !st->wfreq || !st->wstamp)
        return TOK_ERR_NOMEM;
    size_t w = 0, at = 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->hash[i])
            continue;
        st->wstart[w] = (uint32_t)at;
        st->wlen[w] = m->len[i];
        st->wfreq[w] = m->count[i];
        st->wstamp[w] = UINT32_MAX;
        for (uint32_t k = 0; k < m->len[i]; k++)
            st->sym[at++] = first_byte_id + (unsigned char)m->keys[m->key[i] + k];
        w++;
    }
    st->wstart[w] = (uint32_t)at;
    for (uint32_t v = 0; v < st->n_words; v++) {
        const uint32_t *s = st->sym + st->wstart[v];
        for (uint32_t k = 0; k + 1 < st->wlen[v]; k++) {
            long p = pair_get(st, s[k], s[k + 1]);
            if (p < 0 || pair_add_word(st, (uint32_t)p, v) < 0)
                return TOK_ERR_NOMEM;
            st->pcount[p] += (int64_t)st->wfreq[v];
        }
    }
    for (uint32_t p = 0; p < st->n_pairs; p++)
        if (hpush(st, p) < 0)
            return TOK_ERR_NOMEM;
    return TOK_OK;
}

/* Adds f to the count of pair (x, y); pairs containing c (new or grown) are recorded for word v
 * and added once to touched; returns a status. */
static int bump(trainer_state *st, uint32_t x, uint32_t y, int64_t f, uint32_t c, uint32_t v,
                uint32_t stamp, uint32_t *touched, size_t *n_touched)
{
    long p = pair_get(st, x, y);
    if (p < 0)
        return TOK_ERR_NOMEM;
    st->pcount[p] += f;
    if (f > 0 && (x == c || y == c)) {
        if (pair_add_word(st, (uint32_t)p, v) < 0)
            return TOK_ERR_NOMEM;
        if (st->pstamp[p] != stamp) {
            st->pstamp[p] = stamp;
            touched[(*n_touched)++] = (uint32_t)p;
        }
    }
    return TOK_OK;
}

/* Applies merge (a, b) -> c in word v, left to right, updating the counts of the pairs around
 * each occurrence only; pairs containing c are added to *touched (deduplicated by stamp; the
 * caller reserves room for 2 per symbol); returns a status. */
static int merge_word(trainer_state *st, uint32_t v, uint32_t a, uint32_t b, uint32_t c,
                      uint32_t stamp, uint32_t *touched, size_t *n_touched)
{
    uint32_t *s = st->sym + st->wstart[v];
    uint32_t n = st->wlen[v], m = 0;
    int64_t f = (int64_t)st->wfreq[v];
    int rc = TOK_OK;
    for (uint32_t k = 0; k < n && rc == TOK_OK; k++) {
        if (k + 1 < n && s[k] == a && s[k + 1] == b) {
            /* the left neighbour is the output so far (it may be a c just made) */
            if (m > 0 &&
                (rc = bump(st, s[m - 1], a, -f, c, v, stamp, touched, n_touched)) == TOK_OK)
                rc = bump(st, s[m - 1], c, f, c, v, stamp, touched, n_touched);
            if (rc == TOK_OK)
                rc = bump(st, a, b, -f, c, v, stamp, touched, n_touched);
            if (rc == TOK_OK && k + 2 < n &&
                (rc = bump(st, b, s[k + 2], -f, c, v, stamp, touched, n_touched)) == TOK_OK)
                rc = bump(st, c, s[k + 2], f, c, v, stamp, touched, n_touched);
            s[m++] = c;
            k++;
        } else {
            s[m++] = s[k];
        }
    }
    st->wlen[v] = m;
    return rc;
}

int bpe_trainer_finish(bpe_trainer *tr, tokenizer **out, size_t vocab_size,
                       const char *const *specials, size_t n_specials, char *why, size_t why_len)
{
    *out = NULL;
    if (vocab_size < n_specials + 256 || vocab_size > (1u << 24)) {
        tok_why(why, why_len, "vocabulary size must be between %zu (specials + 256 bytes) and %u",
                n_specials + 256, 1u << 24);
        return TOK_ERR_ARG;
    }
    for (size_t i = 0; i < n_specials; i++) {
        if (!specials[i][0]) {
            tok_why(why, why_len, "special token %zu is empty", i + 1);
            return TOK_ERR_ARG;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(specials[i], specials[j]) == 0) {
                tok_why(why, why_len, "special token '%.40s' is given twice", specials[i]);
                return TOK_ERR_ARG;
            }
    }
    trainer_state st;
    memset(&st, 0, sizeof st);
    uint32_t first = (uint32_t)n_specials;
    size_t n_merges = vocab_size - n_specials - 256;
    /* token table: bytes of every id; merged tokens are concatenations */
    size_t spec_bytes = 0;
    for (size_t i = 0; i < n_specials; i++)
        spec_bytes += strlen(specials[i]);
    size_t bcap = spec_bytes + 256 + 1024, bused = 0;
    char *bytes = malloc(bcap);
    uint32_t *off = malloc((vocab_size + 1) * sizeof *off);
    uint8_t *kind = malloc(vocab_size);
    uint32_t *touched = NULL;
    int rc = TOK_ERR_NOMEM;
    if (!bytes || !off || !kind)
        goto fail;
    for (size_t i = 0; i < n_specials; i++) {
        size_t l = strlen(specials[i]);
        off[i] = (uint32_t)bused;
        kind[i] = ID_SPECIAL;
        memcpy(bytes + bused, specials[i], l);
        bused += l;
    }
    for (int b = 0; b < 256; b++) {
        off[first + b] = (uint32_t)bused;
        kind[first + b] = ID_NORMAL;
        bytes[bused++] = (char)b;
    }
    size_t n = first + 256;
    if (state_init(&st, &tr->pm, first) < 0)
        goto fail;
    size_t tcap = 1024;
    touched = malloc(tcap * sizeof *touched);
    if (!touched)
        goto fail;
    for (uint32_t merge = 0; merge < n_merges && st.hn > 0;) {
        heap_item top = hpop(&st);
        uint32_t p = top.pair;
        if (top.count != st.pcount[p]) {
            if (st.pcount[p] > 0 && hpush(&st, p) < 0)
                goto fail;
            continue;
        }
        if (top.count <= 0)
            continue;
        uint32_t a = st.pa[p], b = st.pb[p], c = (uint32_t)n;
        size_t la = off[a + 1] - off[a], lb = off[b + 1] - off[b];
        if (bused + la + lb > bcap) {
            bcap = 2 * (bused + la + lb);
            char *nb = realloc(bytes, bcap);
            if (!nb)
                goto fail;
            bytes = nb;
        }
        off[c] = (uint32_t)bused;
        kind[c] = ID_NORMAL;
        memcpy(bytes + bused, bytes + off[a], la);
        memcpy(bytes + bused + la, bytes + off[b], lb);
        bused += la + lb;
        off[c + 1] = (uint32_t)bused;
        n++;
        size_t n_touched = 0;
        /* the word list may grow while we walk it (pairs with c are other lists) */
        for (uint32_t i = 0; i < st.pwords[p].n; i++) {
            uint32_t v = st.pwords[p].w[i];
            if (st.wstamp[v] == merge)
                continue;
            st.wstamp[v] = merge;
            if (n_touched + 2 * (size_t)st.wlen[v] >= tcap) {
                tcap = 2 * (n_touched + 2 * (size_t)st.wlen[v]);
                uint32_t *nt = realloc(touched, tcap * sizeof *nt);
                if (!nt)
                    goto fail;
                touched = nt;
            }
            if (merge_word(&st, v, a, b, c, merge, touched, &n_touched) < 0)
                goto fail;
        }
        free(st.pwords[p].w);
        st.pwords[p] = (word_list){NULL, 0, 0};
        for (size_t i = 0; i < n_touched; i++)
            if (st.pcount[touched[i]] > 0 && hpush(&st, touched[i]) < 0)
                goto fail;
        merge++;
    }
    off[n] = (uint32_t)bused;
    state_free(&st);
    free(touched);
    return bpe_build(out, n, bytes, off, kind, NULL, tr->pt.source, why, why_len);
fail:
    state_free(&st);
    free(touched);
    free(bytes);
    free(off);
    free(kind);
    tok_why(why, why_len, "out of memory");
    return rc;
}
