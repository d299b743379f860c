/* spm_norm.c — SentencePiece's normalizer: the precompiled character map and the space rules.
 *
 * The precompiled character map (NormalizerSpec.precompiled_charsmap) is a blob: a little-endian
 * uint32 T, then T bytes of darts-clone double-array units (uint32 each, little-endian), then the
 * replacement strings, each ending at a NUL (or at the end of the blob).  A unit holds a label
 * (bits 0-7, plus bit 31, which no byte matches), a has-leaf flag (bit 8) and an offset (bits
 * 10-31, shifted left by 8 when bit 9 is set); from node position p, byte c leads to unit
 * p ^ c, which must carry label c; the child's position is (p ^ c) ^ offset, and when the unit
 * has a leaf, the unit at the child's position holds the value (bits 0-30): where the
 * replacement string starts.  The root's position is units[0]'s offset.  Loading walks every
 * node reachable from the root and refuses a map in which any byte from any of them could index
 * outside the array, any leaf points outside the strings, or a path returns to a node on it, so
 * matching needs no checks and no match runs longer than the map's longest key.
 */
#include <stdlib.h>
#include <string.h>

#include "spm_impl.h"

/* At most this many matches along one prefix count, as in the library. */
#define MAX_MATCHES 32

/* Fields of a double-array unit. */
static inline uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFF); }
static inline int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static inline uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

/* Writes a reason into why and returns TOK_ERR_FORMAT. */
static int bad_map(char *why, size_t why_len, const char *what)
{
    tok_why(why, why_len, "precompiled_charsmap: %s", what);
    return TOK_ERR_FORMAT;
}

/* Walks every node reachable from the root of nm's trie, depth first; returns TOK_OK,
 * TOK_ERR_FORMAT when a reachable transition or leaf is out of range or a path comes back to a
 * node on it (a cycle: a match could then run as long as the text), or TOK_ERR_NOMEM. */
static int check_trie(const spm_norm *nm, char *why, size_t why_len)
{
    enum { NEW, OPEN, DONE }; /* a node not seen, on the current path, finished */
    typedef struct {
        uint32_t pos, c; /* a node and the next byte to try from it */
    } frame;
    size_t n = nm->n_units, top = 0;
    uint8_t *state = calloc(n, 1);
    frame *stack = malloc(n * sizeof *stack);
    int rc = TOK_OK;
    if (!state || !stack) {
        rc = TOK_ERR_NOMEM;
        goto out;
    }
    uint32_t root = unit_offset(nm->units[0]);
    if (root >= n) {
        rc = bad_map(why, why_len, "the root lies outside the trie");
        goto out;
    }
    state[root] = OPEN;
    stack[top++] = (frame){root, 0};
    while (top) {
        frame *f = &stack[top - 1];
        uint32_t pos = f->pos;
        if ((pos | 0xFFu) >= n) {
            rc = bad_map(why, why_len, "a node's transitions leave the trie");
            goto out;
        }
        if (f->c == 256) {
            state[pos] = DONE;
            top--;
            continue;
        }
        uint32_t c = f->c++, u = nm->units[pos ^ c];
        if (unit_label(u) != c)
            continue;
        uint32_t child = (pos ^ c) ^ unit_offset(u);
        if (child >= n) {
            rc = bad_map(why, why_len, "a transition leaves the trie");
            goto out;
        }
        if (unit_has_leaf(u) && unit_value(nm->units[child]) >= nm->strs_len) {
            rc = bad_map(why, why_len, "a replacement lies outside the strings");
            goto out;
        }
        if (state[child] == OPEN) {
            rc = bad_map(why, why_len, "the trie has a cycle");
            goto out;
        }
        if (state[child] == NEW) {
            state[child] = OPEN;
            stack[top++] = (frame){child, 0};
        }
    }
out:
    free(state);
    free(stack);
    return rc;
}

int spm_norm_load(spm_norm *nm, const uint8_t *blob, size_t len, char *why, size_t why_len)
{
    if (len < 4)
        return bad_map(why, why_len, "shorter than its size field");
    size_t t = (size_t)blob[0] | (size_t)blob[1] << 8 | (size_t)blob[2] << 16 |
               (size_t)blob[3] << 24;
    if (t > len - 4 || t == len - 4)
        return bad_map(why, why_len, "the trie size leaves no room for strings");
    if (t == 0 || t % 4)
        return bad_map(why, why_len, "the trie size is not a whole number of units");
    nm->n_units = t / 4;
    nm->strs_len = len - 4 - t;
    nm->units = malloc(t);
    nm->strs = malloc(nm->strs_len);
    if (!nm->units || !nm->strs)
        return TOK_ERR_NOMEM;
    for (size_t i = 0; i < nm->n_units; i++) {
        const uint8_t *u = blob + 4 + 4 * i;
        nm->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                       (uint32_t)u[3] << 24;
    }
    memcpy(nm->strs, blob + 4 + t, nm->strs_len);
    return check_trie(nm, why, why_len);
}

void spm_norm_plain(spm_norm *nm)
{
    const uint32_t *a = nm->units;
    uint32_t root = a ? unit_offset(a[0]) : 0;
    for (uint32_t c = 0; c < 256; c++) {
        nm->plain[c] = c < 0x80 && (!a || unit_label(a[root ^ c]) != c);
        if (c >= 0x80 || nm->plain[c] || unit_has_leaf(a[root ^ c]))
            continue;
        uint32_t node = (root ^ c) ^ unit_offset(a[root ^ c]), b = 0;
        while (b < 0x80 && unit_label(a[node ^ b]) != b)
            b++;
        nm->plain[c] = b == 0x80 ? 2 : 0;
    }
}

void spm_norm_free(spm_norm *nm)
{
    free(nm->units);
    free(nm->strs);
    nm->units = NULL;
    nm->strs = NULL;
}

/* Finds the longest map entry that starts s[0..n-1]; returns its length (0: none) and sets *rep and
 * *rep_len to its replacement. */
static size_t map_match(const spm_norm *nm, const char *s, size_t n, const char **rep,
                        size_t *rep_len)
{
    const uint32_t *a = nm->units;
    uint32_t pos = unit_offset(a[0]), value = 0;
    size_t best = 0, found = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = (unsigned char)s[i];
        pos ^= c;
        uint32_t u = a[pos];
        if (unit_label(u) != c)
            break;
        pos ^= unit_offset(u);
        if (unit_has_leaf(u) && found++ < MAX_MATCHES) {
            best = i + 1;
            value = unit_value(a[pos]);
        }
    }
    if (best) {
        *rep = nm->strs + value;
        *rep_len = strnlen(*rep, nm->strs_len - value);
    }
    return best;
}

/* Normalizes the first character (or map entry, or user-defined piece) of s[0..n-1], n >= 1:
 * returns the bytes consumed and sets *rep and *rep_len to what replaces them. */
static size_t norm_prefix(const spm_norm *nm, const spm *um, const char *s, size_t n,
                          const char **rep, size_t *rep_len)
{
    size_t k;
    if (um && um->has_user && (k = spm_user_match(um, s, n))) {
        *rep = s;
        *rep_len = k;
        return k;
    }
    if (nm->units && (k = map_match(nm, s, n, rep, rep_len)))
        return k;
    k = spm_utf8_len(s, n);
    if (k == 0) {
        *rep = "\xEF\xBF\xBD";
        *rep_len = 3;
        return 1;
    }
    *rep = s;
    *rep_len = k;
    return k;
}

int spm_norm_run(const spm_norm *nm, const spm *um, int ws_suffix, spm_buf *out, const char *text,
                 size_t len)
{
    const char *p = text, *end = text + len, *rep;
    const char *space = nm->escape_ws ? SPM_SPACE : " ";
    size_t space_len = nm->escape_ws ? SPM_SPACE_LEN : 1, k, rep_len;
    int rc;
    out->n = 0;
    if (nm->remove_extra_ws)
        while (p < end && (k = norm_prefix(nm, um, p, (size_t)(end - p), &rep, &rep_len)) &&
               rep_len == 1 && *rep == ' ')
            p += k;
    if (p == end)
        return TOK_OK;
    if (!ws_suffix && nm->add_dummy_prefix && (rc = spm_buf_put(out, space, space_len)))
        return rc;
    int prev_space = nm->remove_extra_ws;
    const uint8_t *user_first = um && um->has_user ? um->user_first : NULL;
    while (p < end) {
        /* A run of ASCII bytes other than ' ' that neither the map (given what follows) nor a
         * user piece starts. */
        const char *q = p;
        for (; q < end && *q != ' '; q++) {
            unsigned v = nm->plain[(unsigned char)*q];
            if (!v || (v == 2 && q + 1 < end && (unsigned char)q[1] >= 0x80) ||
                (user_first && user_first[(unsigned char)*q]))
                break;
        }
        if (q > p) {
            if ((rc = spm_buf_put(out, p, (size_t)(q - p))))
                return rc;
            prev_space = 0;
            p = q;
            continue;
        }
        p += norm_prefix(nm, um, p, (size_t)(end - p), &rep, &rep_len);
        while (prev_space && rep_len && *rep == ' ')
            rep++, rep_len--;
        if (rep_len) {
            const char *run = rep, *rend = rep + rep_len;
            for (const char *x = rep; x <= rend; x++) {
                if (x < rend && !(nm->escape_ws && *x == ' '))
                    continue;
                if ((rc = spm_buf_put(out, run, (size_t)(x - run))))
                    return rc;
                if (x < rend && (rc = spm_buf_put(out, SPM_SPACE, SPM_SPACE_LEN)))
                    return rc;
                run = x + 1;
            }
            prev_space = rep[rep_len - 1] == ' ';
        }
        if (!nm->remove_extra_ws)
            prev_space = 0;
    }
    if (nm->remove_extra_ws)
        while (out->n >= space_len && !memcmp(out->p + out->n - space_len, space, space_len))
            out->n -= space_len;
    if (ws_suffix && nm->add_dummy_prefix && (rc = spm_buf_put(out, space, space_len)))
        return rc;
    return TOK_OK;
}
