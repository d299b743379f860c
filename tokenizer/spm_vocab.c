/* spm_vocab.c — the trie over a SentencePiece model's pieces: build, exact lookup, user-defined
 * prefix match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

/* Returns the hash slot where key lives or would go. */
static size_t slot(const spm_trie *t, uint64_t key)
{
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & t->mask;
    while (t->keys[h] && t->keys[h] != key)
        h = (h + 1) & t->mask;
    return h;
}

int spm_trie_build(spm *m, char *why, size_t why_len)
{
    spm_trie *t = &m->trie;
    size_t bytes = 0;
    for (int32_t i = 0; i < m->n; i++)
        bytes += m->len[i];
    size_t cap = 16;
    while (cap < 2 * bytes)
        cap *= 2;
    t->mask = cap - 1;
    t->keys = calloc(cap, sizeof *t->keys);
    t->child = malloc(cap * sizeof *t->child);
    t->id = malloc((bytes + 1) * sizeof *t->id);
    if (!t->keys || !t->child || !t->id)
        return SPM_ERR_NOMEM;
    memset(t->root, 0, sizeof t->root);
    t->n_nodes = 1;
    t->id[0] = -1;
    for (int32_t i = 0; i < m->n; i++) {
        const unsigned char *s = (const unsigned char *)m->text + m->off[i];
        uint32_t node = 0;
        for (uint32_t j = 0; j < m->len[i]; j++) {
            uint32_t next = spm_trie_next(t, node, s[j]);
            if (!next) {
                next = t->n_nodes++;
                t->id[next] = -1;
                if (node == 0) {
                    t->root[s[j]] = next;
                } else {
                    uint64_t key = ((uint64_t)node << 8 | s[j]) + 1;
                    size_t h = slot(t, key);
                    t->keys[h] = key;
                    t->child[h] = next;
                }
            }
            node = next;
        }
        if (t->id[node] >= 0) {
            if (why && why_len)
                snprintf(why, why_len, "pieces %d and %d are the same text", t->id[node], i);
            return SPM_ERR_FORMAT;
        }
        t->id[node] = i;
    }
    return SPM_OK;
}

void spm_trie_free(spm_trie *t)
{
    free(t->keys);
    free(t->child);
    free(t->id);
    t->keys = NULL;
    t->child = NULL;
    t->id = NULL;
}

int32_t spm_trie_find(const spm_trie *t, const char *s, size_t k)
{
    uint32_t node = 0;
    for (size_t i = 0; i < k; i++)
        if (!(node = spm_trie_next(t, node, (unsigned char)s[i])))
            return -1;
    return k ? t->id[node] : -1;
}

size_t spm_user_match(const spm *m, const char *s, size_t n)
{
    uint32_t node = 0;
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(node = spm_trie_next(&m->trie, node, (unsigned char)s[i])))
            break;
        int32_t id = m->trie.id[node];
        if (id >= 0 && m->type[id] == SPM_USER_DEFINED)
            best = i + 1;
    }
    return best;
}
