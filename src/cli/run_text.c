/* run_text.c — `attn run`'s repair of outputs: the protected spans of each source (src/spans.h)
 * made to appear in its outputs exactly as in the source, and with --markup the record's tags
 * taken out before translation and put back after (src/markup.h); such outputs are written
 * whole once decoded instead of streamed. */
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

void run_text_output(run *R, const item *it, const int32_t *ids, int n, size_t *at)
{
    const record *r = &R->recs[it->rec];
    size_t start = *at;
    run_append_ids(R, at, ids, n);
    size_t len = *at - start;
    char *fixed = NULL, *tagged = NULL;
    if (R->finder && spans_restore(R->finder, r->text + it->off, it->size, R->out + start, len,
                                   &fixed, &len, &R->span_stats) < 0)
        goto nomem;
    if (r->mk) {
        if (markup_restore(r->mk, fixed ? fixed : R->out + start, len, &tagged, &len) < 0)
            goto nomem;
        free(fixed);
        fixed = tagged;
    }
    if (fixed) {
        *at = start;
        run_append(R, at, fixed, len);
        free(fixed);
    }
    return;
nomem:
    free(fixed);
    cli_error("out of memory");
    exit(CLI_FAIL);
}
