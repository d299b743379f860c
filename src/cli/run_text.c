/* run_text.c — `attn run`'s repair of outputs: the protected spans of a record (src/spans.h)
 * made to appear in each of its outputs exactly as in the record; such outputs are written whole
 * once decoded instead of streamed. */
#include "run.h"

#include <stdlib.h>
#include <string.h>

int run_text_prepare(run *R, item *it)
{
    it->repair = 0;
    if (!R->spans || it->empty)
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
    char *fixed;
    size_t fixed_len;
    if (spans_restore(R->spans, it->text, it->text_len, R->out, raw, &fixed, &fixed_len,
                      &R->span_stats) < 0) {
        cli_error("out of memory");
        return -1;
    }
    if (run_out_reserve(R, fixed_len + 1) < 0) {
        free(fixed);
        return -1;
    }
    memcpy(R->out, fixed, fixed_len);
    free(fixed);
    *len = fixed_len;
    return 0;
}
