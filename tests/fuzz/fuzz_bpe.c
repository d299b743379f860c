/* fuzz_bpe.c — libFuzzer target for the byte-level BPE tokenizer (make fuzz).
 *
 * Each input is used three ways: opened as an attn tokenizer file (whatever opens must encode,
 * decode and stream-decode a fixed text, invalid UTF-8 included, and round-trip it); opened as a
 * tiktoken rank file; and encoded as text by a fixed tokenizer trained at start-up (with and
 * without special-token parsing), which must round-trip it byte for byte.
 * Seeds: tests/data/fuzz-bpe. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "tok.h"

static tokenizer *fixed;

/* Encodes s[0..len-1] with t, decodes it back and aborts unless the bytes match; streams too. */
static void round_trip(const tokenizer *t, const char *s, size_t len, int flags)
{
    int32_t *ids = malloc((len + 1) * sizeof *ids);
    char *back = malloc(len + 1);
    size_t n, m, got = 0;
    if (tok_encode(t, ids, len + 1, &n, s, len, flags) != TOK_OK || n > len ||
        tok_decode(t, back, len + 1, &m, ids, n) != TOK_OK || m != len || memcmp(back, s, len))
        abort();
    size_t cap = tok_max_token_bytes(t) + 4;
    char *chunk = malloc(cap);
    tok_stream st;
    tok_stream_init(&st, t);
    for (size_t i = 0; i < n; i++) {
        if (tok_stream_push(&st, chunk, cap, &m, ids[i]) != TOK_OK || got + m > len ||
            memcmp(chunk, s + got, m))
            abort();
        got += m;
    }
    if (tok_stream_flush(&st, chunk, cap, &m) != TOK_OK || got + m != len ||
        memcmp(chunk, s + got, m))
        abort();
    free(chunk);
    free(ids);
    free(back);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char text[] = "the cat sat on the mat; the rat ate the hat. "
                               "Caf\xc3\xa9 na\xc3\xafve "
                               "12345 don't  \t\n\n  \xe2\x80\x94 \xf0\x9f\x98\x80";
    const char *specials[] = {"<s>", "</s>", "<|endoftext|>"};
    bpe_trainer *tr;
    char why[256];
    if (bpe_trainer_open(&tr, "cl100k", why, sizeof why) < 0 ||
        bpe_trainer_feed(tr, text, sizeof text - 1) < 0 ||
        bpe_trainer_finish(tr, &fixed, 400, specials, 3, why, sizeof why) < 0)
        abort();
    bpe_trainer_free(tr);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sample[] = "Hello <s>world</s> \xff\xfe caf\xc3\xa9 \xe2\x82";
    char why[256];
    tokenizer *t = NULL;
    if (tok_open_mem(&t, data, size, why, sizeof why) == TOK_OK) {
        round_trip(t, sample, sizeof sample - 1, 0);
        round_trip(t, sample, sizeof sample - 1, TOK_SPECIAL);
        tok_free(t);
    }
    static const char *const sp[] = {"<|endoftext|>=300"};
    if (bpe_open_tiktoken(&t, data, size, "gpt2", sp, 1, why, sizeof why) == TOK_OK) {
        round_trip(t, sample, sizeof sample - 1, TOK_SPECIAL);
        tok_free(t);
    }
    round_trip(fixed, (const char *)data, size, 0);
    round_trip(fixed, (const char *)data, size, TOK_SPECIAL);
    return 0;
}
