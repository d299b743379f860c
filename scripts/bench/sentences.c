/* sentences.c — the sentence splitter's speed: splits every line of a text file (as attn
 * splits records) five times and prints the median CPU time of the calling thread in MB/s.
 *
 *   bench-sentences FILE [LANG]      (built by the Makefile, run by scripts/bench/sentences.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sentences.h"

/* Returns the calling thread's CPU time in seconds. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Orders doubles for qsort. */
static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-sentences FILE [LANG]\n");
        return 2;
    }
    const char *lang = argc > 2 ? argv[2] : "en";
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "bench-sentences: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    static sentence_span spans[1 << 16];
    double times[5];
    size_t sentences = 0, records = 0;
    for (int rep = 0; rep < 5; rep++) {
        sentences = records = 0;
        double t0 = cpu_seconds();
        for (char *p = text, *end = text + size; p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), n;
            if (sentences_split(spans, 1 << 16, &n, p, len, lang) < 0) {
                fprintf(stderr, "bench-sentences: split failed\n");
                return 1;
            }
            sentences += n;
            records++;
            p += len + 1;
        }
        times[rep] = cpu_seconds() - t0;
    }
    qsort(times, 5, sizeof times[0], by_value);
    printf("%s: %.1f MB, %zu lines, %zu sentences, median %.3f s CPU: %.0f MB/s\n", argv[1],
           (double)size / 1e6, records, sentences, times[2], (double)size / 1e6 / times[2]);
    free(text);
    return 0;
}
