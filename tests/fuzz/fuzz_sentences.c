/* fuzz_sentences.c — libFuzzer target for the sentence splitter (make fuzz).
 *
 * Each input is split with every language's rules and with the generic ones; the spans must be
 * in order, inside the input, not empty, and the bytes between them separators only (the
 * splitter's contract in sentences.h), so that rejoining them rebuilds the input.
 * Seeds: tests/data/fuzz-sentences. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sentences.h"

/* Returns the length of the separator at s[i] (control character or white space), else 0. */
static size_t separator_at(const unsigned char *s, size_t n, size_t i)
{
    static const char *const multi[] = {"\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xaf", "\xe2\x80\xa8",
                                        "\xe2\x80\xa9", "\xe2\x81\x9f", "\xe3\x80\x80", NULL};
    if (s[i] <= 0x20 || s[i] == 0x7f)
        return 1;
    if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
        return 2;
    if (s[i] == 0xe2 && i + 2 < n && s[i + 1] == 0x80 && s[i + 2] >= 0x80 && s[i + 2] <= 0x8a)
        return 3;
    for (const char *const *m = multi; *m; m++)
        if (n - i >= strlen(*m) && memcmp(s + i, *m, strlen(*m)) == 0)
            return strlen(*m);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const langs[] = {"en", "fr", "de", NULL};
    size_t cap = size + 1, n;
    sentence_span *sp = malloc(cap * sizeof *sp);
    for (int l = 0; l < 4; l++) {
        if (sentences_split(sp, cap, &n, (const char *)data, size, langs[l]) != ATTN_OK)
            abort();
        size_t at = 0;
        for (size_t k = 0; k <= n; k++) {
            size_t stop = k < n ? sp[k].off : size;
            if (stop < at || stop > size)
                abort();
            for (size_t i = at, w; i < stop; i += w)
                if ((w = separator_at(data, size, i)) == 0)
                    abort();
            if (k == n)
                break;
            if (sp[k].len == 0 || sp[k].off + sp[k].len > size ||
                separator_at(data, size, sp[k].off))
                abort();
            at = sp[k].off + sp[k].len;
        }
    }
    free(sp);
    return 0;
}
