/* run_text.c — `attn run`'s repair of outputs: the protected spans of each source (src/spans.h)
 * made to appear in its outputs exactly as in the source, and with --markup the record's tags
 * taken out before translation and put back after (src/markup.h), both guided by the output's
 * word alignment when one is made (--align, --markup), which they carry into the words of the
 * output as written; such outputs are written whole once decoded instead of streamed. */
#include "run.h"
#include "spm.h"

#include <stdlib.h>
#include <string.h>

int run_text_record(run *R, record *r, long no)
{
    char why[160];
    markup_free(r->mk);
    r->mk = NULL;
    if (!R->o.markup)
        return 0;
    int rc = markup_parse(&r->mk, R->o.markup, r->text, r->text_len, why, sizeof why);
    if (rc == ATTN_ERR_FORMAT) {
        cli_error("%s:%ld: warning: not well-formed %s (%s): translated as plain text",
                  R->rd.name, no, R->o.markup == MARKUP_HTML ? "HTML" : "XML", why);
        return 0;
    }
    size_t n;
    const char *plain = rc == ATTN_OK ? markup_text(r->mk, &n) : NULL;
    if (plain && n + 1 > r->text_cap) {
        char *p = realloc(r->text, n + 1);
        if (p) {
            r->text = p;
            r->text_cap = n + 1;
        } else {
            plain = NULL;
        }
    }
    if (!plain) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    memcpy(r->text, plain, n + 1);
    r->text_len = n;
    return 0;
}

/* Returns 1 when item it's source holds a special token found in its text (a T5 sentinel, an
 * mBART <mask> or language code): such a source is not repaired, as the token would count as a
 * span the output must repeat. */
static int has_text_special(const run *R, const item *it)
{
    const eng_defaults *d = eng_file_defaults(R->e);
    for (int i = 0; i < it->src_len; i++)
        if (it->src[i] != d->src_lang_id && spm_map_is_added(eng_tokenizer(R->e), it->src[i]))
            return 1;
    return 0;
}

int run_text_item(run *R, item *it)
{
    const record *r = &R->recs[it->rec];
    it->repair = r->mk != NULL;
    if (!R->finder || it->repair || has_text_special(R, it))
        return 0;
    int n = spans_count(R->finder, r->text + it->off, it->size);
    if (n < 0) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    it->repair = n > 0 && n <= SPANS_MAX;
    return 0;
}

text_words run_text_words(const char *p, size_t n)
{
    text_words w = {al_count_words(p, n), 0, 0};
    if (n > 0) {
        w.first_in = !al_is_space((unsigned char)p[0]);
        w.last_in = !al_is_space((unsigned char)p[n - 1]);
    }
    return w;
}

/* Repairs the protected spans of hyp (len bytes), hypothesis k of item it, into *fixed
 * (malloc'd; NULL when there is nothing to repair) and *fixed_len, placing missing spans by
 * its word alignment when there is one; carried (may be NULL) receives that alignment in the
 * words of the repair (room for 2 * max_new links) and *n_carried their number.  Returns 0
 * or -1 (out of memory). */
static int fix_spans(run *R, const item *it, int k, const char *hyp, size_t len, char **fixed,
                     size_t *fixed_len, al_link *carried, int *n_carried, spans_stats *st)
{
    const record *r = &R->recs[it->rec];
    *fixed = NULL;
    if (!R->finder)
        return 0;
    spans_links sl = {NULL, 0, carried, carried ? 2 * R->max_new : 0, 0};
    if (R->aligning && !it->empty) {
        sl.in = it->links + (size_t)k * R->max_new;
        sl.n_in = it->n_links[k];
    }
    if (spans_restore(R->finder, r->text + it->off, it->size, hyp, len, &sl, fixed, fixed_len,
                      st) < 0)
        return -1;
    if (n_carried)
        *n_carried = sl.n_out;
    return 0;
}

int run_text_links(run *R, item *it, int k, const char *text, size_t len)
{
    al_link *w = it->wlinks + (size_t)k * 2 * R->max_new;
    char *fixed = NULL;
    if (it->repair && fix_spans(R, it, k, text, len, &fixed, &len, w, &it->n_wlinks[k],
                                NULL) < 0)
        return -1;
    if (!fixed) {
        memcpy(w, it->links + (size_t)k * R->max_new, (size_t)it->n_links[k] * sizeof *w);
        it->n_wlinks[k] = it->n_links[k];
    }
    it->ow[k] = run_text_words(fixed ? fixed : text, len);
    free(fixed);
    return 0;
}

int run_text_joined(const record *r)
{
    return r->mk && r->n > 1;
}

void run_text_fixed(run *R, const item *it, int k, const int32_t *ids, int n, size_t *at)
{
    size_t start = *at;
    run_append_ids(R, at, ids, n);
    size_t len = *at - start;
    char *fixed = NULL;
    if (fix_spans(R, it, k, R->out + start, len, &fixed, &len, NULL, NULL, &R->span_stats) < 0)
        goto nomem;
    if (fixed) {
        *at = start;
        run_append(R, at, fixed, len);
        free(fixed);
    }
    return;
nomem:
    cli_error("out of memory");
    exit(CLI_FAIL);
}

/* Appends record r's whole output (its first hypotheses, the record cut into pieces) at *at:
 * its pieces' repaired outputs with its text between and around them, tags put back where
 * their links, put together in the record's words, say; exits when out of memory. */
static void add_joined(run *R, const record *r, size_t *at)
{
    size_t start = *at, cap = 1;
    for (int i = r->first; i < r->first + r->n; i++)
        cap += R->items[i].empty ? 0 : (size_t)R->items[i].n_wlinks[0];
    al_link *links = malloc(cap * sizeof *links);
    if (!links)
        goto nomem;
    text_words tw = {0, 0, 0};
    int n = 0;
    for (int i = r->first; i < r->first + r->n; i++) {
        const item *it = &R->items[i];
        int s0, t0;
        run_append(R, at, r->text + it->lead, it->off - it->lead);
        run_align_offsets(R, it, 0, &tw, &s0, &t0);
        if (it->empty)
            continue;
        run_text_fixed(R, it, 0, it->ids, it->len[0], at);
        for (int j = 0; j < it->n_wlinks[0]; j++)
            links[n++] = (al_link){s0 + it->wlinks[j].src, t0 + it->wlinks[j].tgt};
    }
    const item *last = &R->items[r->first + r->n - 1];
    size_t end = last->off + last->size;
    run_append(R, at, r->text + end, r->text_len - end);
    char *tagged;
    size_t len;
    if (markup_restore(r->mk, R->out + start, *at - start, links, n, &tagged, &len) < 0)
        goto nomem;
    *at = start;
    run_append(R, at, tagged, len);
    free(tagged);
    free(links);
    return;
nomem:
    cli_error("out of memory");
    exit(CLI_FAIL);
}

void run_text_output(run *R, const item *it, int k, const int32_t *ids, int n, size_t *at)
{
    const record *r = &R->recs[it->rec];
    if (run_text_joined(r)) {
        if (it->last)
            add_joined(R, r, at);
        return;
    }
    size_t start = *at;
    run_text_fixed(R, it, k, ids, n, at);
    if (!r->mk)
        return;
    const al_link *links = NULL;
    if (R->aligning && !it->empty)
        links = it->wlinks + (size_t)k * 2 * R->max_new;
    char *tagged;
    size_t len;
    if (markup_restore(r->mk, R->out + start, *at - start, links,
                       links ? it->n_wlinks[k] : 0, &tagged, &len) < 0) {
        cli_error("out of memory");
        exit(CLI_FAIL);
    }
    *at = start;
    run_append(R, at, tagged, len);
    free(tagged);
}
