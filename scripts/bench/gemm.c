/* bench-gemm.c — the blocked products (gemm.h) against this thread's peak: a tight FMA loop and
 * a tight int8 dot-product loop give the peak GFLOP/s and GOP/s, then gm_linear and kn_linear
 * (in the column blocks the engine gives it; f32 from panels on AVX-512, as the engine packs
 * them) run the bulk shapes of a base-size model, 128 input rows x (512 -> 2048, 2048 -> 512,
 * 512 -> 32000), for each weight dtype.  Every time is the thread's CPU time, the median of
 * --reps runs; one thread.  Built and run by gemm.sh.
 *
 *   bench-gemm [ROWS [REPS [ISA]]]      ISA: portable, avx2 or avx512 (default: the best)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm.h"

/* Returns this thread's CPU time in seconds. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sorts doubles ascending (for medians). */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Returns the median of n doubles (reorders them). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Returns the median rate (operations per second) of a peak probe over reps runs. */
static double peak(double (*probe)(long), int reps)
{
    double r[32];
    for (int i = 0; i < reps; i++) {
        double t0 = cpu_now(), ops = probe(20000000);
        r[i] = ops / (cpu_now() - t0);
    }
    return median(r, reps);
}

/* Fills n bytes with a pattern valid for every dtype: small finite halves, int8 in -127..127,
 * nibbles; floats are written separately. */
static void fill_bytes(uint8_t *p, size_t n)
{
    uint32_t s = 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        p[i] = (uint8_t)((s >> 16) % 255);
    }
}

/* Times one shape and dtype: the gm_linear and engine-blocked kn_linear medians in seconds. */
static void run_shape(int dtype, int n, int in_dim, int out_dim, int reps, double *t_gm,
                      double *t_kn)
{
    size_t nw = (size_t)out_dim * (size_t)in_dim;
    size_t esize = dtype == ATTN_F32 ? 4 : dtype == ATTN_Q8 ? 1 : 2;
    uint8_t *raw = aligned_alloc(64, (nw * esize + 63) & ~(size_t)63);   /* as a mapped file's */
    fill_bytes(raw, nw * esize);
    if (dtype == ATTN_F16 || dtype == ATTN_BF16)
        for (size_t i = 0; i < nw; i++)
            ((uint16_t *)raw)[i] = (uint16_t)(0x3800 | (((uint16_t *)raw)[i] & 0x83ff));
    if (dtype == ATTN_F32)
        for (size_t i = 0; i < nw; i++)
            ((float *)raw)[i] = (float)(i % 1000) * 1e-3f - 0.5f;
    if (dtype == ATTN_Q8)
        for (size_t i = 0; i < nw; i++)
            if (raw[i] == 0x80)
                raw[i] = 0;
    int groups = (int)attn_q4_groups(in_dim);
    uint16_t *d = malloc((size_t)out_dim * (size_t)groups * sizeof *d);
    float *scale = malloc((size_t)out_dim * sizeof *scale);
    int32_t *rowsum = calloc((size_t)out_dim, sizeof *rowsum);
    for (size_t i = 0; i < (size_t)out_dim * (size_t)groups; i++)
        d[i] = 0x2000;
    for (int o = 0; o < out_dim; o++)
        scale[o] = 0.01f;
    const void *sc = dtype == ATTN_Q8 ? (const void *)scale : dtype == ATTN_Q4 ? (const void *)d : NULL;
    size_t size = gm_pack_size(dtype, out_dim, in_dim);
    void *mem = aligned_alloc(64, (size + 63) & ~(size_t)63);
    gm_weight w;
    if (gm_pack(&w, mem, size, dtype, out_dim, in_dim, raw, sc) != 0) {
        fprintf(stderr, "bench-gemm: gm_pack failed\n");
        exit(1);
    }
    float *x = malloc((size_t)n * (size_t)in_dim * sizeof *x);
    float *y = malloc((size_t)n * (size_t)out_dim * sizeof *y);
    int8_t *q = malloc((size_t)n * (size_t)kn_qcols(in_dim));
    float *qs = malloc((size_t)n * sizeof *qs);
    for (size_t i = 0; i < (size_t)n * (size_t)in_dim; i++)
        x[i] = (float)((i * 7) % 13) * 0.1f - 0.6f;
    kn_quantize_rows(q, qs, x, n, in_dim);
    kn_input in = {x, q, qs, n, in_dim, NULL};
    kn_weight kw = {dtype, out_dim, in_dim, raw, scale, rowsum, NULL, NULL};
    float *panels = NULL;
    /* the engine's column blocks for several rows on one thread: weights of one block <= 256 KiB,
     * a multiple of 16 columns, at most 256; f32 on AVX-512: packed into panels, a quarter of the
     * columns (in panels) per block */
    int cap = (int)(262144 / ((size_t)in_dim * esize)) & ~15;
    cap = cap < 16 ? 16 : cap > 256 ? 256 : cap;
    if (dtype == ATTN_F32 && kn_isa() == KN_AVX512) {
        panels = aligned_alloc(64, kn_panels_size(out_dim, in_dim));
        kn_pack_panels(panels, (const float *)raw, out_dim, in_dim);
        kw.panels = panels;
        cap = (out_dim / 4 + KN_PANEL - 1) / KN_PANEL * KN_PANEL;
    }
    double tg[32], tk[32];
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        gm_linear(y, out_dim, &in, &w, NULL, 0, out_dim);
        tg[r] = cpu_now() - t0;
        if (dtype != ATTN_Q4) {
            t0 = cpu_now();
            for (int o = 0; o < out_dim; o += cap)
                kn_linear(y, out_dim, &in, &kw, NULL, o, o + cap < out_dim ? o + cap : out_dim);
            tk[r] = cpu_now() - t0;
        } else {
            tk[r] = 0.0;
        }
    }
    *t_gm = median(tg, reps);
    *t_kn = median(tk, reps);
    free(raw);
    free(panels);
    free(d);
    free(scale);
    free(rowsum);
    free(mem);
    free(x);
    free(y);
    free(q);
    free(qs);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 128, reps = argc > 2 ? atoi(argv[2]) : 5;
    int isa = KN_AVX512;
    if (argc > 3)
        for (isa = KN_PORTABLE; isa <= KN_AVX512 && strcmp(argv[3], kn_isa_name(isa)); isa++)
            ;
    if (n < 1 || reps < 1 || reps > 32 || isa > KN_AVX512) {
        fprintf(stderr, "usage: bench-gemm [ROWS [REPS (1..32) [portable|avx2|avx512]]]\n");
        return 2;
    }
    kn_set_isa(isa);
    static const char *names[] = {"f32", "f16", "bf16", "q8", "q4"};
    static const int shapes[][2] = {{512, 2048}, {2048, 512}, {512, 32000}};
    printf("isa\t%s\n", kn_isa_name(kn_isa()));
    double pf = peak(gm_peak_fma, reps), pi = peak(gm_peak_int8, reps);
    printf("peak_fma_gflops\t%.1f\npeak_int8_gops\t%.1f\n", pf * 1e-9, pi * 1e-9);
    printf("dtype\tshape\tgemm_gops\tgemm_share\tkn_linear_gops\tspeedup\n");
    for (int dt = ATTN_F32; dt <= ATTN_Q4; dt++) {
        double ops_all = 0.0, tg_all = 0.0, tk_all = 0.0;
        double pk = dt >= ATTN_Q8 ? pi : pf;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            double tg, tk, ops = 2.0 * n * shapes[s][0] * shapes[s][1];
            run_shape(dt, n, shapes[s][0], shapes[s][1], reps, &tg, &tk);
            ops_all += ops;
            tg_all += tg;
            tk_all += tk;
            printf("%s\t%dx%d->%d\t%.1f\t%.0f%%\t", names[dt], n, shapes[s][0], shapes[s][1],
                   ops / tg * 1e-9, 100.0 * ops / tg / pk);
            if (tk > 0.0)
                printf("%.1f\t%.2fx\n", ops / tk * 1e-9, tk / tg);
            else
                printf("-\t-\n");
        }
        printf("%s\tall three\t%.1f\t%.0f%%\t", names[dt], ops_all / tg_all * 1e-9,
               100.0 * ops_all / tg_all / pk);
        if (tk_all > 0.0)
            printf("%.1f\t%.2fx\n", ops_all / tk_all * 1e-9, tk_all / tg_all);
        else
            printf("-\t-\n");
    }
    return 0;
}
