/* product_check.h — what the matrix-product tests (test_kernels.c, test_gemm.c) share (include
 * after cmocka.h): a deterministic generator, the buffers of one product case, and the check of
 * its outputs against a double-precision reference the test computes. */
#ifndef ATTN_PRODUCT_CHECK_H
#define ATTN_PRODUCT_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels.h"

/* Outputs a product must not write hold this value. */
#define PC_SENTINEL 1234.5f

/* A small deterministic generator (xorshift32); pc_seed sets its state. */
static uint32_t pc_rng = 12345;

/* Sets the generator's state (nonzero). */
static inline void pc_seed(uint32_t seed)
{
    pc_rng = seed ? seed : 1;
}

/* Returns the next 32 random bits. */
static inline uint32_t next_u32(void)
{
    pc_rng ^= pc_rng << 13;
    pc_rng ^= pc_rng >> 17;
    pc_rng ^= pc_rng << 5;
    return pc_rng;
}

/* Returns a uniform float in [-1, 1). */
static inline float next_f(void)
{
    return (float)((double)next_u32() / 2147483648.0 - 1.0);
}

/* One product case: inputs x (n, cols) in [-3, 3) with their per-row q8 form, a bias (rows) in
 * [-1, 1), and outputs y (n, ldy) filled with PC_SENTINEL. */
typedef struct product_case {
    int n, rows, cols, ldy;
    float *x;                   /* (n, cols) */
    float *bias;                /* (rows) */
    float *y;                   /* (n, ldy) */
    int8_t *q;                  /* (n, kn_qcols(cols)) */
    float *qs;                  /* (n) */
    kn_input in;                /* x, q, qs, n, cols */
} product_case;

/* Allocates and fills a case. */
static inline void pc_open(product_case *c, int n, int rows, int cols, int ldy)
{
    c->n = n;
    c->rows = rows;
    c->cols = cols;
    c->ldy = ldy;
    c->x = malloc((size_t)n * cols * sizeof *c->x);
    c->bias = malloc((size_t)rows * sizeof *c->bias);
    c->y = malloc((size_t)n * ldy * sizeof *c->y);
    c->q = malloc((size_t)n * kn_qcols(cols));
    c->qs = malloc((size_t)n * sizeof *c->qs);
    for (int i = 0; i < n * cols; i++)
        c->x[i] = next_f() * 3.0f;
    for (int o = 0; o < rows; o++)
        c->bias[o] = next_f();
    for (int i = 0; i < n * ldy; i++)
        c->y[i] = PC_SENTINEL;
    kn_quantize_rows(c->q, c->qs, c->x, n, cols);
    c->in = (kn_input){c->x, c->q, c->qs, n, cols, NULL};
}

/* Frees a case's buffers. */
static inline void pc_free(product_case *c)
{
    free(c->x);
    free(c->bias);
    free(c->y);
    free(c->q);
    free(c->qs);
}

/* The reference y[b, o] without bias; writes the sum of its terms' magnitudes to *mag. */
typedef double (*pc_ref_fn)(void *ctx, const product_case *c, int b, int o, double *mag);

/* Checks y after a product over the outputs [o0, o1) with bias (or NULL): every output within
 * 1e-6 of the terms' magnitude (+ 1e-6) of ref + bias, and nothing written outside [o0, o1);
 * fails with the first difference, named by what and dtype. */
static inline void pc_check(const product_case *c, const char *what, int dtype, int o0, int o1,
                            const float *bias, pc_ref_fn ref, void *ctx)
{
    for (int b = 0; b < c->n; b++)
        for (int o = 0; o < c->ldy; o++) {
            float got = c->y[(size_t)b * c->ldy + o];
            if (o < o0 || o >= o1) {
                if (got != PC_SENTINEL)
                    fail_msg("%s %s dtype %d n=%d rows=%d cols=%d: wrote outside [%d, %d) at %d",
                             what, kn_isa_name(kn_isa()), dtype, c->n, c->rows, c->cols, o0, o1,
                             o);
                continue;
            }
            double mag, want = ref(ctx, c, b, o, &mag);
            if (bias) {
                want += bias[o];
                mag += fabs(bias[o]);
            }
            double tol = 1e-6 * mag + 1e-6;
            if (!(fabs(got - want) <= tol))
                fail_msg("%s %s dtype %d n=%d rows=%d cols=%d y[%d,%d] = %.9g, want %.9g "
                         "(tol %.2g)", what, kn_isa_name(kn_isa()), dtype, c->n, c->rows, c->cols,
                         b, o, got, want, tol);
        }
}

/* Runs check(dtype, n, rows, cols) on every instruction set this CPU has, for the dtypes
 * ATTN_F32..last_dtype and every shape of ns x rowss x colss, printing one line an ISA that
 * names what. */
static inline void pc_sweep_isas(void (*check)(int, int, int, int), const char *what,
                                 int last_dtype, const int *ns, size_t n_ns, const int *rowss,
                                 size_t n_rows, const int *colss, size_t n_cols)
{
    int best = kn_set_isa(KN_AVX512);
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        assert_int_equal(kn_set_isa(isa), isa);
        for (int dt = ATTN_F32; dt <= last_dtype; dt++)
            for (size_t a = 0; a < n_ns; a++)
                for (size_t b = 0; b < n_rows; b++)
                    for (size_t c = 0; c < n_cols; c++)
                        check(dt, ns[a], rowss[b], colss[c]);
        printf("  %s on %s: ok\n", what, kn_isa_name(isa));
    }
    kn_set_isa(best);
}

#endif
