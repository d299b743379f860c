/* tokenizer.c — in-process tokenizer timings for scripts/bench/tokenizer.sh: load time,
 * pre-tokenizer split alone, encode, decode (single thread), and single 1 MB pieces.
 *
 *   build/bench-tokenizer TOKENIZER TEXT       (TOKENIZER: attn file or *.tiktoken)
 * Prints "name value unit" lines.  Times are the thread's CPU time.  The Makefile builds it
 * (make build/bench-tokenizer; make bench and make check do). */
#include "tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Returns the CPU time this thread has used, in seconds (robust on a shared, loaded machine). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads a whole file; exits on error (a benchmark, not a library). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-tokenizer TOKENIZER TEXT\n");
        return 2;
    }
    char why[256];
    tokenizer *t;
    double best_load = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        if (tok_open(&t, argv[1], why, sizeof why) < 0) {
            fprintf(stderr, "%s: %s\n", argv[1], why);
            return 1;
        }
        double dt = now() - t0;
        if (dt < best_load)
            best_load = dt;
        if (i < 4)
            tok_free(t);
    }
    printf("load %.2f ms (%zu ids)\n", best_load * 1e3, tok_vocab_size(t));
    char *ser;
    size_t ser_len;
    if (tok_serialize(t, &ser, &ser_len) < 0)
        return 1;
    best_load = 1e9;
    for (int i = 0; i < 5; i++) {
        tokenizer *u;
        double t0 = now();
        if (tok_open_mem(&u, ser, ser_len, why, sizeof why) < 0)
            return 1;
        double dt = now() - t0;
        if (dt < best_load)
            best_load = dt;
        tok_free(u);
    }
    free(ser);
    printf("load-attn %.2f ms (the same tokenizer in the attn format, from memory)\n", best_load * 1e3);
    size_t len;
    char *text = slurp(argv[2], &len);
    int32_t *ids = malloc((len + 1) * sizeof *ids);
    size_t n = 0;
    tok_encoder *e;
    if (tok_encoder_open(&e, t) < 0)
        return 1;
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        tok_encoder_free(e);
        tok_encoder_open(&e, t); /* a cold piece cache each run */
        double t0 = now();
        if (tok_encoder_encode(e, ids, len + 1, &n, text, len, 0) < 0)
            return 1;
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("encode %.1f MB/s (%zu bytes, %zu tokens, %.3f s)\n", (double)len / best / 1e6, len, n, best);
    char *out = malloc(len + 1);
    size_t m;
    best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        if (tok_decode(t, out, len + 1, &m, ids, n) < 0 || m != len || memcmp(out, text, len)) {
            fprintf(stderr, "decode does not round-trip\n");
            return 1;
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("decode %.0f MB/s (%.1f M tokens/s)\n", (double)len / best / 1e6, (double)n / best / 1e6);
    tok_stream s;
    char chunk[4096];
    best = 1e9;
    for (int i = 0; i < 3; i++) {
        double t0 = now();
        tok_stream_init(&s, t);
        for (size_t k = 0; k < n; k++)
            tok_stream_push(&s, chunk, sizeof chunk, &m, ids[k]);
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("stream-decode %.1f M tokens/s\n", (double)n / best / 1e6);
    free(out);
    const size_t big = 1 << 20;
    char *piece = malloc(big);
    int32_t *pids = malloc((big + 1) * sizeof *pids);
    const char fill[] = {'a', ' ', '^'};
    const char *fill_name[] = {"'a'", "spaces", "'^'"};
    for (int k = 0; k < 3; k++) {
        memset(piece, fill[k], big);
        double t0 = now();
        if (tok_encoder_encode(e, pids, big + 1, &m, piece, big, 0) < 0)
            return 1;
        printf("1MB-piece %s %.3f s (%zu tokens)\n", fill_name[k], now() - t0, m);
    }
    free(piece);
    free(pids);
    tok_encoder_free(e);
    free(ids);
    free(text);
    tok_free(t);
    return 0;
}
