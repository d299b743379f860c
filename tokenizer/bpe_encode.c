/* bpe_encode.c — byte-level BPE encoding: pre-tokenized pieces merged lowest rank first, by a
 * quadratic scan for short pieces and a heap for long ones, through a cache of pieces seen.
 * Contracts: tok.h and bpe.h. */
#include "bpe_impl.h"

#include <stdlib.h>

#define SMALL_PIECE 24      /* pieces up to this many bytes merge with the quadratic scan */
#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_PIECE 64
#define CACHE_BYTES (1u << 20)   /* cached piece bytes */
#define CACHE_IDS (1u << 18)     /* cached ids */
#define ONE_SHOT_CACHE (1u << 16) /* bpe_encode uses a piece cache from this many bytes on */
#define KEY_LEN 16 /* pieces up to this many bytes are hashed from two 8-byte words */
#define BATCH 32   /* pieces split ahead of their encoding */

/* ---- encoding ----------------------------------------------------------------------------- */

typedef struct {
    uint64_t key;       /* rank << 32 | id of the merged token */
    uint32_t left, end; /* pair (left node, its right neighbour) spanning [left, end) */
} heap_ent;

typedef struct {
    uint64_t hash;
    uint32_t key, key_len, ids, n_ids; /* offsets into the cache arenas */
} cache_ent;

/* The kind's tok_encoder: scratch for merging and the piece cache. */
typedef struct {
    tok_encoder base;   /* first: the generic handle (tok_impl.h) */
    const bpe *t;
    pretok_iter it;
    size_t cap;         /* piece length the scratch arrays hold */
    uint32_t *next;     /* (cap + 1) next part start, per part start */
    int32_t *id;        /* (cap) token of the part starting here */
    uint32_t *prev;     /* (cap) start of the previous part, per part start */
    heap_ent *heap;     /* (3 * cap) */
    cache_ent *cache;   /* (CACHE_SLOTS) */
    size_t cache_used;
    char *ckeys;        /* (CACHE_BYTES) cached piece bytes */
    int32_t *cids;      /* (CACHE_IDS) cached ids */
    size_t ckeys_used, cids_used;
} encoder;

/* Appends id to the output (counting past cap). */
static inline void emit(int32_t *ids, size_t cap, size_t *n, int32_t id)
{
    if (*n < cap)
        ids[*n] = id;
    (*n)++;
}

/* Makes the scratch arrays hold a piece of len bytes; returns a status. */
static int reserve(encoder *e, size_t len)
{
    if (len <= e->cap)
        return TOK_OK;
    size_t cap = e->cap ? e->cap : 256;
    while (cap < len)
        cap *= 2;
    uint32_t *next = realloc(e->next, (cap + 1) * sizeof *next);
    if (next)
        e->next = next;
    int32_t *id = realloc(e->id, cap * sizeof *id);
    if (id)
        e->id = id;
    uint32_t *prev = realloc(e->prev, cap * sizeof *prev);
    if (prev)
        e->prev = prev;
    heap_ent *heap = realloc(e->heap, 3 * cap * sizeof *heap);
    if (heap)
        e->heap = heap;
    if (!next || !id || !prev || !heap)
        return TOK_ERR_NOMEM;
    e->cap = cap;
    return TOK_OK;
}

/* Sets key to s[0..n-1] (n <= KEY_LEN) zero-padded to 16 bytes; avail is how many bytes from s
 * on may be read. */
static inline void load_key(uint64_t key[2], const char *s, size_t n, size_t avail)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (avail >= 16) { /* two loads and a mask instead of a copy of n bytes */
        memcpy(key, s, 16);
        if (n < 8) {
            key[0] &= (1ull << (8 * n)) - 1;
            key[1] = 0;
        } else if (n < 16) {
            key[1] &= (1ull << (8 * (n - 8))) - 1;
        }
        return;
    }
#endif
    (void)avail;
    key[0] = key[1] = 0;
    memcpy(key, s, n);
}

/* Sets key to the bpe_head and bpe_tail of s[0..n-1] (n >= 1; avail bytes from s on may be
 * read); returns its bpe_hash. */
static inline uint64_t hash_key(uint64_t key[2], const char *s, size_t n, size_t avail)
{
    if (n > KEY_LEN) {
        key[0] = bpe_head(s, n);
        key[1] = bpe_tail(s, n);
        return bpe_hash(s, n);
    }
    load_key(key, s, n, avail);
    return bpe_hash16(key, n);
}

/* Looks s[0..n-1] (n >= 1; avail bytes from s on may be read) up among the normal tokens of t;
 * returns its id or -1, and its bpe_hash in *h. */
static inline __attribute__((always_inline)) int32_t lookup(const bpe *t, const char *s,
                                                            size_t n, size_t avail, uint64_t *h)
{
    uint64_t key[2];
    *h = hash_key(key, s, n, avail);
    return bpe_lookup_hashed(t, s, n, *h, key[0], key[1]);
}

/* Returns the merge key of bytes [a, b) of s (rank << 32 | id: lower merges first), or
 * UINT64_MAX when they are not a token; avail bytes from s on may be read. */
static inline uint64_t pair_key(const bpe *t, const char *s, uint32_t a, uint32_t b,
                                size_t avail)
{
    if (b - a == 2)
        return bpe_pair2(t, s + a);
    uint64_t h;
    int32_t id = lookup(t, s + a, b - a, avail - a, &h);
    return id < 0 ? UINT64_MAX : (uint64_t)t->rank[id] << 32 | (uint32_t)id;
}

/* Starts fetching the table entry that pair_key(t, s, a, b, avail) will read. */
static inline void pair_prefetch(const bpe *t, const char *s, uint32_t a, uint32_t b,
                                 size_t avail)
{
    uint64_t key[2];
    if (b - a == 2)
        __builtin_prefetch(&t->pair2[bpe_pair2_slot(s + a)]);
    else
        __builtin_prefetch(&t->normal.slot[hash_key(key, s + a, b - a, avail - a) &
                                           t->normal.mask]);
}

/* Merges a short piece by scanning for the lowest-rank pair each round (quadratic, small n);
 * leaves the parts in e->next / e->id from offset 0. */
static void merge_small(encoder *e, const char *piece, uint32_t n)
{
    const bpe *t = e->t;
    char s[SMALL_PIECE + KEY_LEN]; /* the piece, then zeros: pair keys load 16 bytes at a time */
    memcpy(s, piece, n);
    memset(s + n, 0, KEY_LEN);
    uint32_t pos[SMALL_PIECE + 1];
    uint64_t rank[SMALL_PIECE]; /* merge key of the pair starting at each part */
    int32_t id[SMALL_PIECE];
    uint32_t m = n;
    for (uint32_t i = 0; i <= n; i++)
        pos[i] = i;
    for (uint32_t i = 0; i < n; i++) {
        id[i] = t->byte_id[(unsigned char)s[i]];
        rank[i] = i + 1 < n ? bpe_pair2(t, s + i) : UINT64_MAX;
    }
    for (;;) {
        uint64_t best = UINT64_MAX;
        uint32_t bi = 0;
        for (uint32_t i = 0; i + 1 < m; i++)
            if (rank[i] < best) {
                best = rank[i];
                bi = i;
            }
        if (best == UINT64_MAX)
            break;
        id[bi] = (int32_t)(uint32_t)best;
        for (uint32_t i = bi + 1; i + 1 < m; i++) { /* loops: memmove calls cost more here */
            pos[i] = pos[i + 1];
            id[i] = id[i + 1];
            rank[i] = rank[i + 1];
        }
        pos[m - 1] = pos[m];
        m--;
        if (bi + 1 < m && bi > 0) /* fetch one pair's slot while the other is looked up */
            pair_prefetch(t, s, pos[bi - 1], pos[bi + 1], sizeof s);
        rank[bi] = bi + 1 < m ? pair_key(t, s, pos[bi], pos[bi + 2], sizeof s) : UINT64_MAX;
        if (bi > 0)
            rank[bi - 1] = pair_key(t, s, pos[bi - 1], pos[bi + 1], sizeof s);
    }
    for (uint32_t i = 0; i < m; i++) {
        e->next[pos[i]] = pos[i + 1];
        e->id[pos[i]] = id[i];
    }
}

/* Returns 1 if heap entry a comes before b (lower rank, then leftmost). */
static inline int heap_less(heap_ent a, heap_ent b)
{
    return a.key < b.key || (a.key == b.key && a.left < b.left);
}

/* Pushes an entry onto the min-heap of h[0..*n-1]. */
static void heap_push(heap_ent *h, size_t *n, heap_ent x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(x, h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

/* Removes and returns the smallest entry of the non-empty heap h[0..*n-1]. */
static heap_ent heap_pop(heap_ent *h, size_t *n)
{
    heap_ent top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && heap_less(h[c + 1], h[c]))
            c++;
        if (!heap_less(h[c], x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

/* Merges a long piece with a heap of candidate pairs and lazy invalidation: O(n log n).
 * Leaves the parts in e->next / e->id (a part starting at i ends at e->next[i]). */
static void merge_large(encoder *e, const char *s, uint32_t n)
{
    const bpe *t = e->t;
    uint32_t *next = e->next;
    int32_t *id = e->id;
    uint32_t *prev = e->prev;
    size_t hn = 0;
    for (uint32_t i = 0; i < n; i++) {
        next[i] = i + 1;
        prev[i] = i ? i - 1 : UINT32_MAX;
        id[i] = t->byte_id[(unsigned char)s[i]];
    }
    next[n] = n;
    for (uint32_t i = 0; i + 1 < n; i++) {
        uint64_t r = bpe_pair2(t, s + i);
        if (r != UINT64_MAX)
            heap_push(e->heap, &hn, (heap_ent){r, i, i + 2});
    }
    while (hn > 0) {
        heap_ent x = heap_pop(e->heap, &hn);
        uint32_t l = x.left;
        if (id[l] < 0 || next[l] >= n || next[next[l]] != x.end)
            continue; /* stale: the left part was absorbed or a neighbour changed */
        uint32_t r = next[l];
        id[l] = (int32_t)(uint32_t)x.key;
        id[r] = -1;
        next[l] = next[r];
        if (next[l] < n)
            prev[next[l]] = l;
        if (next[l] < n) {
            uint64_t rr = pair_key(t, s, l, next[next[l]], n);
            if (rr != UINT64_MAX)
                heap_push(e->heap, &hn, (heap_ent){rr, l, next[next[l]]});
        }
        if (prev[l] != UINT32_MAX) {
            uint32_t p = prev[l];
            uint64_t rr = pair_key(t, s, p, next[l], n);
            if (rr != UINT64_MAX)
                heap_push(e->heap, &hn, (heap_ent){rr, p, next[l]});
        }
    }
}

/* Encodes one piece s[0..n-1] of two bytes or more that is not a token (no specials; h its
 * bpe_hash) into the output, from the piece cache or by merging; returns a status.  Kept out of
 * line: most pieces are whole tokens and never come here. */
static __attribute__((noinline)) int encode_merged(encoder *e, int32_t *ids, size_t cap,
                                                   size_t *n_ids, const char *s, size_t n,
                                                   uint64_t h)
{
    size_t slot = 0;
    if (e->cache && n <= CACHE_MAX_PIECE) {
        slot = h & (CACHE_SLOTS - 1);
        for (;;) {
            cache_ent *c = &e->cache[slot];
            if (c->n_ids == 0)
                break;
            if (c->hash == h && c->key_len == n && memcmp(e->ckeys + c->key, s, n) == 0) {
                for (uint32_t i = 0; i < c->n_ids; i++)
                    emit(ids, cap, n_ids, e->cids[c->ids + i]);
                return TOK_OK;
            }
            slot = (slot + 1) & (CACHE_SLOTS - 1);
        }
    }
    if (reserve(e, n) < 0)
        return TOK_ERR_NOMEM;
    if (n <= SMALL_PIECE)
        merge_small(e, s, (uint32_t)n);
    else
        merge_large(e, s, (uint32_t)n);
    size_t first = *n_ids;
    for (uint32_t i = 0; i < n; i = e->next[i])
        emit(ids, cap, n_ids, e->id[i]);
    if (e->cache && n <= CACHE_MAX_PIECE && *n_ids <= cap) {
        size_t k = *n_ids - first;
        if (e->cache_used >= CACHE_SLOTS / 2 || e->ckeys_used + n > CACHE_BYTES ||
            e->cids_used + k > CACHE_IDS) {
            memset(e->cache, 0, CACHE_SLOTS * sizeof *e->cache);
            e->cache_used = e->ckeys_used = e->cids_used = 0;
            slot = h & (CACHE_SLOTS - 1);
        }
        cache_ent *c = &e->cache[slot];
        c->hash = h;
        c->key = (uint32_t)e->ckeys_used;
        c->key_len = (uint32_t)n;
        c->ids = (uint32_t)e->cids_used;
        c->n_ids = (uint32_t)k;
        memcpy(e->ckeys + e->ckeys_used, s, n);
        memcpy(e->cids + e->cids_used, ids + first, k * sizeof *ids);
        e->ckeys_used += n;
        e->cids_used += k;
        e->cache_used++;
    }
    return TOK_OK;
}

/* A piece split ahead of its encoding, with what its lookup needs. */
typedef struct {
    size_t start, len; /* text[start, start + len) */
    uint64_t h;        /* bpe_hash (pieces of 3 bytes or more) */
    uint64_t key[2];   /* bpe_head and bpe_tail (pieces of 3 bytes or more) */
} piece;

/* Fills in the lookup keys of p, whose bytes are s (avail bytes from s on may be read), and starts
 * fetching the table entry it will look up. */
static inline void prepare_piece(const bpe *t, piece *p, const char *s, size_t avail)
{
    if (p->len == 2) {
        __builtin_prefetch(&t->pair2[bpe_pair2_slot(s)]);
    } else if (p->len > 2) {
        p->h = hash_key(p->key, s, p->len, avail);
        __builtin_prefetch(&t->normal.slot[p->h & t->normal.mask]);
    }
}

/* Encodes one prepared piece p, whose bytes are s (no specials), into the output; returns a
 * status. */
static inline int encode_piece(encoder *e, int32_t *ids, size_t cap, size_t *n_ids,
                               const char *s, const piece *p)
{
    size_t n = p->len;
    if (n == 1) {
        emit(ids, cap, n_ids, e->t->byte_id[(unsigned char)s[0]]);
        return TOK_OK;
    }
    if (n == 2) {
        uint64_t k = bpe_pair2(e->t, s);
        if (k == UINT64_MAX)
            return encode_merged(e, ids, cap, n_ids, s, n, bpe_hash(s, n));
        emit(ids, cap, n_ids, (int32_t)(uint32_t)k);
        return TOK_OK;
    }
    int32_t whole = bpe_lookup_hashed(e->t, s, n, p->h, p->key[0], p->key[1]);
    if (whole >= 0) {
        emit(ids, cap, n_ids, whole);
        return TOK_OK;
    }
    return encode_merged(e, ids, cap, n_ids, s, n, p->h);
}

/* Encodes text with no special-token recognition, splitting BATCH pieces ahead so that their
 * table entries are fetched at once rather than one cache miss after another; returns a
 * status. */
static int encode_ordinary(encoder *e, int32_t *ids, size_t cap, size_t *n_ids,
                           const char *text, size_t len)
{
    piece batch[BATCH];
    size_t ends[BATCH], start = 0;
    pretok_iter_reset(&e->it);
    for (;;) {
        int k = pretok_split(&e->it, text, len, ends, BATCH);
        if (k < 0)
            return k;
        for (int i = 0; i < k; i++) {
            batch[i].start = start;
            batch[i].len = ends[i] - start;
            prepare_piece(e->t, &batch[i], text + start, len - start);
            start = ends[i];
        }
        for (int i = 0; i < k; i++) {
            int rc = encode_piece(e, ids, cap, n_ids, text + batch[i].start, &batch[i]);
            if (rc < 0)
                return rc;
        }
        if (k < BATCH)
            return TOK_OK;
    }
}

/* Finds the first special token in text[0..len-1]; returns its offset (len if none), *id. */
static size_t find_special(const bpe *t, const char *text, size_t len, int32_t *id)
{
    for (size_t i = 0; i < len; i++) {
        if (!t->special_first[(unsigned char)text[i]])
            continue;
        for (size_t k = 0; k < t->n_special; k++) {
            int32_t s = t->special[k];
            size_t l = id_len(t, (size_t)s);
            if (l <= len - i && memcmp(text + i, t->bytes + t->off[s], l) == 0) {
                *id = s;
                return i;
            }
        }
    }
    return len;
}

/* Encodes text[0..len-1] with e (see tok_encode); returns a status. */
static int encode(encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                  size_t len, int flags)
{
    *n_ids = 0;
    int rc = TOK_OK;
    if (!(flags & TOK_SPECIAL) || e->t->n_special == 0) {
        rc = encode_ordinary(e, ids, cap, n_ids, text, len);
    } else {
        while (len > 0) {
            int32_t sid = -1;
            size_t at = find_special(e->t, text, len, &sid);
            rc = encode_ordinary(e, ids, cap, n_ids, text, at);
            if (rc < 0 || at == len)
                break;
            emit(ids, cap, n_ids, sid);
            size_t l = id_len(e->t, (size_t)sid);
            text += at + l;
            len -= at + l;
        }
    }
    if (rc < 0)
        return rc;
    return *n_ids > cap ? TOK_ERR_SPACE : TOK_OK;
}

/* Creates an encoder, with a piece cache (about 3.5 MB) or without; returns a status. */
static int encoder_new(encoder **out, const bpe *t, int with_cache)
{
    *out = NULL;
    encoder *e = calloc(1, sizeof *e);
    if (!e)
        return TOK_ERR_NOMEM;
    e->base.kind = &tok_kind_bpe;
    e->t = t;
    if (with_cache) {
        e->cache = calloc(CACHE_SLOTS, sizeof *e->cache);
        e->ckeys = malloc(CACHE_BYTES);
        e->cids = malloc(CACHE_IDS * sizeof *e->cids);
    }
    if ((with_cache && (!e->cache || !e->ckeys || !e->cids)) ||
        pretok_iter_open(&e->it, &t->pt) < 0 || reserve(e, 256) < 0) {
        bpe_encoder_free(&e->base);
        return TOK_ERR_NOMEM;
    }
    *out = e;
    return TOK_OK;
}

int bpe_encoder_open(tok_encoder **out, const tokenizer *t)
{
    encoder *e;
    int rc = encoder_new(&e, as_bpe(t), 1);
    *out = e ? &e->base : NULL;
    return rc;
}

void bpe_encoder_free(tok_encoder *base)
{
    encoder *e = (encoder *)base;
    if (!e)
        return;
    pretok_iter_free(&e->it);
    free(e->next);
    free(e->id);
    free(e->prev);
    free(e->heap);
    free(e->cache);
    free(e->ckeys);
    free(e->cids);
    free(e);
}

int bpe_encoder_encode(tok_encoder *e, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
                       size_t len, int flags)
{
    return encode((encoder *)e, ids, cap, n_ids, text, len, flags);
}

int bpe_encode(const tokenizer *t, int32_t *ids, size_t cap, size_t *n_ids, const char *text,
               size_t len, int flags)
{
    encoder *e;
    *n_ids = 0;
    int rc = encoder_new(&e, as_bpe(t), len >= ONE_SHOT_CACHE);
    if (rc < 0)
        return rc;
    rc = encode(e, ids, cap, n_ids, text, len, flags);
    bpe_encoder_free(&e->base);
    return rc;
}
