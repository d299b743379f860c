/* golden_text.h — reading the whitespace-separated text goldens that scripts/goldens write
 * (NAME.ref of reference.py, NAME.attnw of attention.py); for cmocka tests, which include it
 * after cmocka.h. */
#ifndef ATTN_TEST_GOLDEN_TEXT_H
#define ATTN_TEST_GOLDEN_TEXT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the next whitespace-separated word and checks it. */
static inline void expect_word(FILE *f, const char *want)
{
    char w[64];
    assert_int_equal(fscanf(f, "%63s", w), 1);
    if (strcmp(w, want) != 0)
        fail_msg("golden: expected '%s', found '%s'", want, w);
}

/* Reads n floats. */
static inline float *read_floats(FILE *f, size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fscanf(f, "%f", &v[i]), 1);
    return v;
}

/* Reads n ints. */
static inline int32_t *read_ints(FILE *f, size_t n)
{
    int32_t *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fscanf(f, "%d", &v[i]), 1);
    return v;
}

#endif
