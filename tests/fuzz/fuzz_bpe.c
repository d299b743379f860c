/* fuzz_bpe.c — libFuzzer target for the byte-level BPE tokenizer (make fuzz).
 *
 * The input's first byte picks one job for the rest (low two bits): 0, open it as an attn
 * tokenizer file; 1, open it as a tiktoken rank file (gpt2 pattern, one special); whatever opens
 * must encode, decode and stream-decode a fixed text (invalid UTF-8 and specials included) and
 * round-trip it, with and without special-token parsing.  2 and 3, encode it as text (3: with
 * special-token parsing) with a fixed tokenizer trained at start-up, both one-shot and through a
 * long-lived encoder whose piece cache carries over from input to input: the two must give the
 * same ids, which must round-trip byte for byte; texts longer than TEXT_MAX are skipped (every
 * path of the merge loop is reached well within it).  One job per input and short texts keep
 * the rate in the thousands per second: running every job on every input spent most of the time
 * encoding kilobytes of tokenizer files as text, under the sanitizers (about 80 inputs a
 * second).
 * Seeds: tests/data/fuzz-bpe (a selector byte '0' to '3' and the job's bytes: small tokenizer
 * files, r50k's first ranks, pieces of tests/data/tok/edge.txt), written by
 * tests/fuzz/bpe-seeds.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "tok.h"

#define TEXT_MAX 256 /* longest text a text job encodes (bytes after the selector) */

static tokenizer *fixed;
static tok_encoder *cached; /* an encoder of fixed, its piece cache shared by all inputs */

/* Checks that ids[0..n-1], the encoding of s[0..len-1] by t, decode back to s, whole and
 * streamed; aborts if not. */
static void check_decode(const tokenizer *t, const int32_t *ids, size_t n, const char *s,
                         size_t len)
{
    char *back = malloc(len + 1);
    size_t m, got = 0;
    if (n > len || tok_decode(t, back, len + 1, &m, ids, n) != TOK_OK || m != len ||
        memcmp(back, s, len))
        abort();
    free(back);
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
}

/* Encodes s[0..len-1] with t (flags: TOK_SPECIAL or 0) and checks the round trip; when e is not
 * NULL (an encoder of t), also checks that it gives the same ids.  Aborts on any failure. */
static void round_trip(const tokenizer *t, tok_encoder *e, const char *s, size_t len, int flags)
{
    int32_t *ids = malloc((len + 1) * sizeof *ids);
    size_t n;
    if (tok_encode(t, ids, len + 1, &n, s, len, flags) != TOK_OK)
        abort();
    if (e) {
        int32_t *again = malloc((len + 1) * sizeof *again);
        size_t n2;
        if (tok_encoder_encode(e, again, len + 1, &n2, s, len, flags) != TOK_OK || n2 != n ||
            memcmp(again, ids, n * sizeof *ids))
            abort();
        free(again);
    }
    check_decode(t, ids, n, s, len);
    free(ids);
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
        bpe_trainer_finish(tr, &fixed, 400, specials, 3, why, sizeof why) < 0 ||
        tok_encoder_open(&cached, fixed) != TOK_OK)
        abort();
    bpe_trainer_free(tr);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sample[] = "Hello <s>world</s> \xff\xfe caf\xc3\xa9 \xe2\x82";
    static const char *const sp[] = {"<|endoftext|>=300"};
    char why[256];
    tokenizer *t = NULL;
    if (size == 0)
        return 0;
    int job = data[0] & 3;
    data++;
    size--;
    if (job == 0 && tok_open_mem(&t, data, size, why, sizeof why) != TOK_OK)
        return 0;
    if (job == 1 && bpe_open_tiktoken(&t, data, size, "gpt2", sp, 1, why, sizeof why) != TOK_OK)
        return 0;
    if (t) {
        round_trip(t, NULL, sample, sizeof sample - 1, 0);
        round_trip(t, NULL, sample, sizeof sample - 1, TOK_SPECIAL);
        tok_free(t);
        return 0;
    }
    if (size > TEXT_MAX)
        return 0; /* longer texts take no new paths, only time */
    round_trip(fixed, cached, (const char *)data, size, job == 3 ? TOK_SPECIAL : 0);
    return 0;
}
