/* tok_test.h — helpers shared by the tokenizer's test programs (include after cmocka.h): loading
 * test data, opening the tiktoken encodings, round trips and a deterministic PRNG. */
#ifndef ATTN_TOK_TEST_H
#define ATTN_TOK_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bpe.h"
#include "tok.h"

#define DATA "tests/data/tok/"

/* Reads a file (gzip or plain) into a malloc'd NUL-terminated buffer; fails the test if missing. */
static inline char *load(const char *path, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        int r = gzread(f, b + n, (unsigned)(cap - n));
        assert_true(r >= 0);
        n += (size_t)r;
        if (r == 0)
            break;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
            assert_non_null(b);
        }
    }
    gzclose(f);
    b[n] = 0;
    *len = n;
    return b;
}


/* Opens a gzipped tiktoken rank file with its encoding's pattern and specials. */
static inline tokenizer *open_tiktoken(const char *path, const char *pattern,
                                        const char *const *sp, size_t n_sp)
{
    size_t len;
    char *buf = load(path, &len);
    char why[256] = "";
    tokenizer *t = NULL;
    int rc = bpe_open_tiktoken(&t, buf, len, pattern, sp, n_sp, why, sizeof why);
    free(buf);
    if (rc < 0)
        fail_msg("%s: %s", path, why);
    return t;
}

static const char *const r50k_sp[] = {"<|endoftext|>=50256"};
static const char *const cl100k_sp[] = {"<|endoftext|>=100257", "<|fim_prefix|>=100258",
                                        "<|fim_middle|>=100259", "<|fim_suffix|>=100260",
                                        "<|endofprompt|>=100276"};
static const char *const o200k_sp[] = {"<|endoftext|>=199999", "<|endofprompt|>=200018"};


/* Opens r50k_base (GPT-2) from the test data. */
static inline tokenizer *r50k(void)
{
    return open_tiktoken(DATA "r50k_base.tiktoken.gz", "gpt2", r50k_sp, 1);
}

/* Opens cl100k_base from the test data. */
static inline tokenizer *cl100k(void)
{
    return open_tiktoken(DATA "cl100k_base.tiktoken.gz", "cl100k", cl100k_sp, 5);
}


/* Encodes then decodes s[0..len-1] and checks the bytes come back; returns the token count. */
static inline size_t round_trip(const tokenizer *t, const char *s, size_t len, int flags)
{
    int32_t *ids = malloc((len + 1) * sizeof *ids);
    char *back = malloc(len + 1);
    size_t n, m;
    assert_int_equal(tok_encode(t, ids, len + 1, &n, s, len, flags), TOK_OK);
    assert_true(n <= len);
    assert_int_equal(tok_decode(t, back, len + 1, &m, ids, n), TOK_OK);
    assert_int_equal(m, len);
    assert_memory_equal(back, s, len);
    free(ids);
    free(back);
    return n;
}


/* A small deterministic PRNG (xorshift64*). */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static inline uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}


#endif
