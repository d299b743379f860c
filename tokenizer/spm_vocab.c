/* spm_vocab.c — the trie over a SentencePiece model's pieces: built in a hash table, laid out as a
 * double array; exact lookup and the user-defined prefix match. */
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

/* The trie while it is built: nodes numbered as created, edges in a hash table. */
typedef struct {
    uint64_t *keys;  /* [mask + 1] (node << 8 | byte) + 1, 0 = empty */
    uint32_t *child; /* [mask + 1] */
    size_t mask;
    uint32_t *parent; /* [n_nodes] */
    uint8_t *byte;    /* [n_nodes] the byte from the parent */
    int32_t *id;      /* [n_nodes] the piece ending here, -1 for none */
    uint32_t n_nodes;
} draft;

/* Returns the child of node by byte c in d, creating it if create is set (0 if absent). */
static uint32_t draft_child(draft *d, uint32_t node, unsigned char c, int create)
{
    uint64_t key = ((uint64_t)node << 8 | c) + 1;
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & d->mask;
    while (d->keys[h] && d->keys[h] != key)
        h = (h + 1) & d->mask;
    if (d->keys[h] || !create)
        return d->keys[h] ? d->child[h] : 0;
    uint32_t n = d->n_nodes++;
    d->keys[h] = key;
    d->child[h] = n;
    d->parent[n] = node;
    d->byte[n] = c;
    d->id[n] = -1;
    return n;
}

/* Frees a draft's tables. */
static void draft_free(draft *d)
{
    free(d->keys);
    free(d->child);
    free(d->parent);
    free(d->byte);
    free(d->id);
}

/* The double array while nodes are placed, with its free slots in a doubly linked list. */
typedef struct {
    spm_trie *t;
    int32_t *next, *prev; /* [t->n] neighbours in the free list (-1: none); meaningful when free */
    int32_t head, last;   /* the lowest and highest free slot */
} layout;

/* Grows the array to at least n slots, the new ones free and linked; returns a status. */
static int reserve(layout *l, size_t n)
{
    spm_trie *t = l->t;
    if (n <= t->n)
        return TOK_OK;
    size_t c = t->n ? t->n : 1024;
    while (c < n)
        c *= 2;
    if (c > INT32_MAX)
        return TOK_ERR_NOMEM;
    spm_slot *a = realloc(t->a, c * sizeof *a);
    int32_t *nx = a ? realloc(l->next, c * sizeof *nx) : NULL;
    int32_t *pv = nx ? realloc(l->prev, c * sizeof *pv) : NULL;
    if (a)
        t->a = a;
    if (nx)
        l->next = nx;
    if (!pv)
        return TOK_ERR_NOMEM;
    l->prev = pv;
    for (size_t i = t->n; i < c; i++) {
        a[i] = (spm_slot){0, -1, -1};
        l->prev[i] = l->last;
        l->next[i] = -1;
        if (l->last >= 0)
            l->next[l->last] = (int32_t)i;
        else
            l->head = (int32_t)i;
        l->last = (int32_t)i;
    }
    t->n = c;
    return TOK_OK;
}

/* Takes slot i out of the free list and gives it to parent slot p with piece id. */
static void take(layout *l, int32_t i, int32_t p, int32_t id)
{
    l->t->a[i].check = p;
    l->t->a[i].id = id;
    if (l->prev[i] >= 0)
        l->next[l->prev[i]] = l->next[i];
    else
        l->head = l->next[i];
    if (l->next[i] >= 0)
        l->prev[l->next[i]] = l->prev[i];
    else
        l->last = l->prev[i];
}

/* Lays the draft out as a double array: breadth first, each node's children at the lowest base
 * whose slots are all free (walking the free list); returns a status. */
static int place(spm_trie *t, const draft *d)
{
    uint32_t n = d->n_nodes;
    uint32_t *first = calloc((size_t)n + 1, sizeof *first), *kids = malloc(n * sizeof *kids);
    uint32_t *queue = malloc(n * sizeof *queue), *slot = malloc(n * sizeof *slot);
    layout l = {t, NULL, NULL, -1, -1};
    int rc = TOK_ERR_NOMEM;
    if (!first || !kids || !queue || !slot || reserve(&l, 1024))
        goto out;
    for (uint32_t v = 1; v < n; v++) /* children of each node, contiguous in kids */
        first[d->parent[v] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        first[v + 1] += first[v];
    for (uint32_t v = 1; v < n; v++)
        kids[first[d->parent[v]]++] = v;
    for (uint32_t v = n; v > 0; v--)
        first[v] = first[v - 1];
    first[0] = 0;
    take(&l, 0, -2, d->id[0]);
    slot[0] = 0;
    queue[0] = 0;
    size_t head = 0, tail = 1;
    int64_t max_base = 0;
    while (head < tail) {
        uint32_t v = queue[head++], k0 = first[v], k1 = first[v + 1];
        if (k0 == k1)
            continue;
        unsigned lo = 255;
        for (uint32_t k = k0; k < k1; k++)
            lo = d->byte[kids[k]] < lo ? d->byte[kids[k]] : lo;
        int64_t base;
        for (int32_t f = l.head;; f = l.next[f]) {
            if (f < 0 || (size_t)f + 256 >= t->n) { /* out of free slots near the end: grow */
                int32_t before = l.last;
                if (reserve(&l, t->n * 2))
                    goto out;
                f = f >= 0 ? f : before >= 0 ? l.next[before] : l.head;
            }
            if ((unsigned)f < lo)
                continue;
            base = (int64_t)f - lo;
            uint32_t k = k0;
            while (k < k1 && t->a[base + d->byte[kids[k]]].check == -1)
                k++;
            if (k == k1)
                break;
        }
        t->a[slot[v]].base = (int32_t)base;
        max_base = base > max_base ? base : max_base;
        for (uint32_t k = k0; k < k1; k++) {
            uint32_t c = kids[k];
            slot[c] = (uint32_t)(base + d->byte[c]);
            take(&l, (int32_t)slot[c], (int32_t)slot[v], d->id[c]);
            queue[tail++] = c;
        }
    }
    rc = reserve(&l, (size_t)max_base + 257);
out:
    free(first);
    free(kids);
    free(queue);
    free(slot);
    free(l.next);
    free(l.prev);
    return rc;
}

int spm_trie_build(spm *m, char *why, size_t why_len)
{
    draft d = {0};
    size_t bytes = 0;
    for (int32_t i = 0; i < m->n; i++)
        bytes += m->len[i];
    size_t cap = 16;
    while (cap < 2 * bytes)
        cap *= 2;
    d.mask = cap - 1;
    d.keys = calloc(cap, sizeof *d.keys);
    d.child = malloc(cap * sizeof *d.child);
    d.parent = malloc((bytes + 1) * sizeof *d.parent);
    d.byte = malloc(bytes + 1);
    d.id = malloc((bytes + 1) * sizeof *d.id);
    int rc = TOK_ERR_NOMEM;
    if (!d.keys || !d.child || !d.parent || !d.byte || !d.id)
        goto out;
    d.n_nodes = 1;
    d.id[0] = -1;
    for (int32_t i = 0; i < m->n; i++) {
        const unsigned char *s = (const unsigned char *)m->text + m->off[i];
        uint32_t node = 0;
        for (uint32_t j = 0; j < m->len[i]; j++)
            node = draft_child(&d, node, s[j], 1);
        if (d.id[node] >= 0) {
            tok_why(why, why_len, "pieces %d and %d are the same text", d.id[node], i);
            rc = TOK_ERR_FORMAT;
            goto out;
        }
        d.id[node] = i;
    }
    rc = place(&m->trie, &d);
out:
    draft_free(&d);
    return rc;
}

void spm_trie_free(spm_trie *t)
{
    free(t->a);
    t->a = NULL;
    t->n = 0;
}

int32_t spm_trie_find(const spm_trie *t, const char *s, size_t k)
{
    uint32_t node = 0;
    for (size_t i = 0; i < k; i++)
        if (!(node = spm_trie_next(t, node, (unsigned char)s[i])))
            return -1;
    return k ? spm_trie_id(t, node) : -1;
}

size_t spm_user_match(const spm *m, const char *s, size_t n)
{
    uint32_t node = 0;
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(node = spm_trie_next(&m->trie, node, (unsigned char)s[i])))
            break;
        int32_t id = spm_trie_id(&m->trie, node);
        if (id >= 0 && m->type[id] == SPM_USER_DEFINED)
            best = i + 1;
    }
    return best;
}
