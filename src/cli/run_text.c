/* run_text.c — `attn run`'s repair of outputs: the protected spans of a record (src/spans.h)
 * made to appear in each of its outputs exactly as in the record, and with --markup the record's
 * tags taken out before translation and put back after (src/markup.h); such outputs are written
 * whole once decoded instead of streamed. */
#include "run.h"

#include <stdlib.h>
#include <string.h>

/* Replaces it->text by the plain text of its markup (it->mk); returns 0, or CLI_FAIL after the
 * error. */
static int take_markup(run *R, item *it, long record)
{
    char why[160];
    markup_free(it->mk);
    it->mk = NULL;
    int rc = markup_parse(&it->mk, R->o.markup, it->text, it->text_len, why, sizeof why);
    if (rc == ATTN_ERR_FORMAT) {
        cli_error("%s:%ld: warning: not well-formed %s (%s): translated as plain text",
                  R->rd.name, record, R->o.markup == MARKUP_HTML ? "HTML" : "XML", why);
        return 0;
    }
    size_t n;
    const char *plain = rc == ATTN_OK ? markup_text(it->mk, &n) : NULL;
    if (plain && n + 1 > it->text_cap) {
        char *p = realloc(it->text, n + 1);
        if (p) {
            it->text = p;
            it->text_cap = n + 1;
        } else {
            plain = NULL;
        }
    }
    if (!plain) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    memcpy(it->text, plain, n + 1);
    it->text_len = n;
    return 0;
}

int run_text_prepare(run *R, item *it, long record)
{
    it->repair = 0;
    if (R->o.markup && take_markup(R, it, record) != 0)
        return CLI_FAIL;
    if (it->mk)
        it->repair = 1;
    if (!R->spans || it->repair)
        return 0;
    int n = spans_count(R->spans, it->text, it->text_len);
    if (n < 0) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    it->repair = n > 0;
    return 0;
}

int run_text_output(run *R, const item *it, const int32_t *ids, int n, size_t *len)
{
    size_t raw;
    if (run_out_text(R, ids, n, &raw) < 0)
        return -1;
    char *fixed = NULL, *tagged = NULL;
    size_t fixed_len = raw;
    if (R->spans && spans_restore(R->spans, it->text, it->text_len, R->out, raw, &fixed,
                                  &fixed_len, &R->span_stats) < 0)
        goto nomem;
    if (it->mk) {
        if (markup_restore(it->mk, fixed ? fixed : R->out, fixed_len, &tagged, &fixed_len) < 0)
            goto nomem;
        free(fixed);
        fixed = tagged;
    }
    if (!fixed) {
        *len = raw;
        return 0;
    }
    if (run_out_reserve(R, fixed_len + 1) < 0) {
        free(fixed);
        return -1;
    }
    memcpy(R->out, fixed, fixed_len);
    free(fixed);
    *len = fixed_len;
    return 0;
nomem:
    free(fixed);
    cli_error("out of memory");
    return -1;
}
