/* bpe_vocab.c — the byte-level BPE vocabulary: the token table, its lookups and its pattern.
 * Contracts: tok.h and bpe.h. */
#include "bpe_impl.h"

#include <stdlib.h>

/* ---- building the table ------------------------------------------------------------------- */

/* Sorts the special ids by decreasing text length (longest match first); insertion sort. */
static void sort_specials(bpe *t)
{
    for (size_t i = 1; i < t->n_special; i++) {
        int32_t x = t->special[i];
        size_t j = i;
        while (j > 0 && id_len(t, (size_t)t->special[j - 1]) < id_len(t, (size_t)x)) {
            t->special[j] = t->special[j - 1];
            j--;
        }
        t->special[j] = x;
    }
}

int bpe_build(tokenizer **out, size_t n, char *bytes, uint32_t *off, uint8_t *kind,
              uint32_t *rank, const char *pattern, char *why, size_t why_len)
{
    *out = NULL;
    bpe *t = calloc(1, sizeof *t);
    if (!rank && (rank = malloc((n ? n : 1) * sizeof *rank)) != NULL)
        for (size_t i = 0; i < n; i++)
            rank[i] = (uint32_t)i;
    if (!t || !rank) {
        free(t);
        free(bytes);
        free(off);
        free(kind);
        free(rank);
        tok_why(why, why_len, "out of memory");
        return TOK_ERR_NOMEM;
    }
    t->base.kind = &tok_kind_bpe;
    t->n = n;
    t->bytes = bytes;
    t->off = off;
    t->kind = kind;
    t->rank = rank;
    int rc = TOK_ERR_NOMEM;
    size_t n_normal = 0; /* the table holds these, not every id (ranks may leave gaps) */
    for (size_t id = 0; id < n; id++)
        n_normal += kind[id] == ID_NORMAL;
    size_t cap = 1024;
    while (cap < 2 * n_normal)
        cap *= 2;
    t->normal.slot = malloc(cap * sizeof *t->normal.slot);
    t->special = malloc((n ? n : 1) * sizeof *t->special);
    t->pair2 = malloc(65536 * sizeof *t->pair2);
    t->tail = calloc(n ? n : 1, sizeof *t->tail);
    if (!t->normal.slot || !t->special || !t->pair2 || !t->tail) {
        tok_why(why, why_len, "out of memory");
        goto fail;
    }
    memset(t->normal.slot, 0xff, cap * sizeof *t->normal.slot);
    memset(t->pair2, 0xff, 65536 * sizeof *t->pair2);
    t->normal.mask = cap - 1;
    for (int b = 0; b < 256; b++)
        t->byte_id[b] = -1;
    rc = TOK_ERR_FORMAT;
    for (size_t id = 0; id < n; id++) {
        size_t len = id_len(t, id);
        const char *s = t->bytes + t->off[id];
        if (id + 16 < n) /* the slot of a later token, fetched while this one is placed */
            __builtin_prefetch(&t->normal.slot[bpe_hash(t->bytes + t->off[id + 16],
                                                        id_len(t, id + 16)) & t->normal.mask]);
        if (kind[id] == ID_UNUSED)
            continue;
        if (len == 0) {
            tok_why(why, why_len, "token %zu is empty", id);
            goto fail;
        }
        if (len > t->max_len)
            t->max_len = len;
        if (kind[id] == ID_SPECIAL) {
            if (bpe_special_id(&t->base, s, len) >= 0) {
                tok_why(why, why_len, "special token %zu repeats an earlier one", id);
                goto fail;
            }
            t->special[t->n_special++] = (int32_t)id;
            t->special_first[(unsigned char)s[0]] = 1;
            continue;
        }
        uint64_t h = bpe_hash(s, len);
        size_t i = h & t->normal.mask;
        while (t->normal.slot[i].id >= 0) {
            int32_t o = t->normal.slot[i].id;
            if (id_len(t, (size_t)o) == len && memcmp(t->bytes + t->off[o], s, len) == 0) {
                tok_why(why, why_len, "token %zu repeats token %d", id, (int)o);
                goto fail;
            }
            i = (i + 1) & t->normal.mask;
        }
        t->normal.slot[i] = (strmap_slot){bpe_head(s, len), (int32_t)id, (uint32_t)len};
        t->tail[id] = bpe_tail(s, len);
        if (len == 1)
            t->byte_id[(unsigned char)s[0]] = (int32_t)id;
        if (len == 2)
            t->pair2[bpe_pair2_slot(s)] = (uint64_t)rank[id] << 32 | (uint32_t)id;
    }
    for (int b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) {
            tok_why(why, why_len, "no token for the single byte 0x%02x", b);
            goto fail;
        }
    sort_specials(t);
    rc = pretok_compile(&t->pt, pattern, why, why_len);
    if (rc < 0)
        goto fail;
    *out = &t->base;
    return TOK_OK;
fail:
    bpe_free(&t->base);
    return rc;
}

void bpe_free(tokenizer *base)
{
    bpe *t = (bpe *)base;
    if (!t)
        return;
    free(t->bytes);
    free(t->off);
    free(t->kind);
    free(t->rank);
    free(t->normal.slot);
    free(t->pair2);
    free(t->tail);
    free(t->special);
    pretok_free(&t->pt);
    free(t);
}

int bpe_set_pattern(tokenizer *base, const char *pattern, char *why, size_t why_len)
{
    bpe *t = (bpe *)base;
    pretok pt;
    int rc = pretok_compile(&pt, pattern, why, why_len);
    if (rc < 0)
        return rc;
    pretok_free(&t->pt);
    t->pt = pt;
    return TOK_OK;
}

/* ---- lookups ------------------------------------------------------------------------------ */

size_t bpe_vocab_size(const tokenizer *t)
{
    return as_bpe(t)->n;
}

const char *bpe_pattern(const tokenizer *t)
{
    return as_bpe(t)->pt.source;
}

const char *bpe_token_bytes(const tokenizer *base, int32_t id, size_t *len)
{
    const bpe *t = as_bpe(base);
    if (!bpe_valid_id(t, id))
        return NULL;
    *len = id_len(t, (size_t)id);
    return t->bytes + t->off[id];
}

int bpe_is_special(const tokenizer *base, int32_t id)
{
    const bpe *t = as_bpe(base);
    return id >= 0 && (size_t)id < t->n && t->kind[id] == ID_SPECIAL;
}

int32_t bpe_special_id(const tokenizer *base, const char *s, size_t len)
{
    const bpe *t = as_bpe(base);
    for (size_t i = 0; i < t->n_special; i++) {
        int32_t id = t->special[i];
        if (id_len(t, (size_t)id) == len && memcmp(t->bytes + t->off[id], s, len) == 0)
            return id;
    }
    return -1;
}

int32_t bpe_token_id(const tokenizer *t, const char *s, size_t len)
{
    return len ? bpe_lookup(as_bpe(t), s, len) : -1;
}

size_t bpe_max_token_bytes(const tokenizer *t)
{
    return as_bpe(t)->max_len;
}
