/* cli_bench.c — `attn bench`: the engine's speed on this machine for one model.
 *
 * Measures, with random source ids and a fixed output length (end-of-sequence is ignored):
 * model load time; encoder tokens/s (one source); time to first token (encode + first decoder
 * step); decoder tokens/s at batch 1 (greedy); the bulk case, batch B sources x K beams with a
 * top-K beam step driven through tf_decode_reorder; the machine's memory read bandwidth on the
 * same threads and the bound it puts on batch-1 decoding; peak RSS.  Every timing is the median
 * of --reps runs.  Output: one "key<TAB>value" line per figure on stdout.
 */
#include "cli.h"
#include "kernels.h"
#include "threadpool.h"
#include "transformer.h"

#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct bench_opts {
    const char *model;
    int threads, src_len, out_len, batch, beams, reps, bw_mb;
    int isa;                    /* -1: best */
} bench_opts;

static void bench_usage(void)
{
    cli_puts("Usage: attn bench [OPTIONS] [MODEL]\n"
             "Measure the engine's speed on this machine with random inputs and a fixed output\n"
             "length; print one \"key<TAB>value\" line per figure (timings are medians).\n\n"
             "  -j, --threads N     threads (default: the number of online CPUs)\n"
             "      --src-len N     source length in tokens (default 32)\n"
             "      --out-len N     generated tokens per sequence, end-of-sequence ignored\n"
             "                      (default 32)\n"
             "      --batch N       sources in the bulk case; 0 skips it (default 32)\n"
             "      --beams N       beams per source in the bulk case (default 4)\n"
             "      --reps N        repetitions of each measurement (default 5)\n"
             "      --bandwidth-mb N  buffer for the memory read bandwidth test; 0 skips it\n"
             "                      (default 256)\n"
             "      --isa NAME      kernels to use: portable, avx2 or avx512 (default: the best\n"
             "                      this CPU supports)\n"
             "  -h, --help          show this help\n");
}

/* Returns a monotonic time in seconds. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Returns the CPU time (user + system) of the whole process in seconds. */
static double cpu_time(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* Returns the CPU time of the calling thread in seconds (time it ran, not time it waited for a
 * core). */
static double thread_cpu_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sorts doubles ascending (for medians). */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Returns the median of n values (sorts them). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- memory bandwidth ------------------------------------------------------------------- */

typedef struct bw_job {
    const float *buf;
    size_t n;                   /* floats */
    int n_tasks;
    float sink[256];
} bw_job;

/* Reads one slice of the buffer. */
static void bw_task(void *ctx, int task, int thread)
{
    bw_job *j = ctx;
    size_t per = j->n / (size_t)j->n_tasks;
    const float *p = j->buf + per * (size_t)task;
    float s = 0.0f;
    for (size_t off = 0; off < per; off += 4096)
        s += kn_dot(p + off, p + off, (int)(per - off < 4096 ? per - off : 4096));
    j->sink[thread & 255] += s;
}

/* Returns the best read bandwidth in bytes/s over reps passes of an mb-MiB buffer on the pool,
 * or 0 when memory is short. */
static double read_bandwidth(tp_pool *pool, int mb, int reps)
{
    size_t n = (size_t)mb << 18;
    float *buf = aligned_alloc(64, n * sizeof *buf);
    if (!buf)
        return 0.0;
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)(i & 1023) * 1e-3f;
    bw_job j = {buf, n, 64 * tp_threads(pool), {0}};
    double best = 0.0;
    for (int r = 0; r < reps + 1; r++) {
        double t0 = now();
        tp_run(pool, bw_task, &j, j.n_tasks);
        double bw = (double)n * sizeof(float) / (now() - t0);
        if (r > 0 && bw > best)
            best = bw;
    }
    free(buf);
    return best;
}

/* ---- beam step for the bulk case -------------------------------------------------------- */

typedef struct beam_buf {
    int rows, beams, V;
    float *score;               /* (rows) running log-probability of each beam */
    float *cand_score;          /* (rows * beams) best continuations per row */
    int *cand_tok;              /* (rows * beams) */
    int *parent, *tok;          /* (rows) chosen parent row and token */
    float *new_score;           /* (rows) */
} beam_buf;

/* Picks, for each source, the best `beams` continuations over its beams' log-softmaxed logits:
 * fills parent[], tok[] and the scores. */
static void beam_step(beam_buf *b, float *logits)
{
    int K = b->beams, V = b->V;
    for (int r = 0; r < b->rows; r++) {
        float *lg = logits + (size_t)r * V;
        kn_log_softmax(lg, V);
        float *cs = b->cand_score + (size_t)r * K;
        int *ct = b->cand_tok + (size_t)r * K;
        for (int k = 0; k < K; k++) {
            cs[k] = -FLT_MAX;
            ct[k] = 0;
        }
        for (int v = 0; v < V; v++) {
            if (lg[v] <= cs[K - 1])
                continue;
            int k = K - 1;
            while (k > 0 && cs[k - 1] < lg[v]) {
                cs[k] = cs[k - 1];
                ct[k] = ct[k - 1];
                k--;
            }
            cs[k] = lg[v];
            ct[k] = v;
        }
    }
    for (int s = 0; s < b->rows / K; s++) {
        /* merge K x K candidates of this source, keep the best K */
        for (int out = 0; out < K; out++) {
            float best = -FLT_MAX;
            int bi = -1;
            for (int i = 0; i < K * K; i++) {
                int r = s * K + i / K;
                float v = b->score[r] + b->cand_score[(size_t)r * K + i % K];
                if (v > best) {
                    best = v;
                    bi = i;
                }
            }
            if (bi < 0)
                bi = 0;
            int r = s * K + bi / K;
            b->parent[s * K + out] = r;
            b->tok[s * K + out] = b->cand_tok[(size_t)r * K + bi % K];
            b->new_score[s * K + out] = best;
            b->cand_score[(size_t)r * K + bi % K] = -INFINITY;
        }
    }
    memcpy(b->score, b->new_score, (size_t)b->rows * sizeof *b->score);
}

/* ---- measurements ----------------------------------------------------------------------- */

/* Returns the index of the largest of n values. */
static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Fills n random ids in [first, V) from a fixed seed. */
static void random_ids(int32_t *ids, int n, int V, unsigned *seed)
{
    int first = V > 8 ? 4 : 0;
    for (int i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        ids[i] = first + (int32_t)((*seed >> 8) % (unsigned)(V - first));
    }
}

/* Reports a library error and returns CLI_FAIL. */
static int engine_error(const char *what, int status)
{
    cli_error("bench: %s: %s", what, attn_strerror(status));
    return CLI_FAIL;
}

/* Runs every measurement; returns an exit status. */
static int run_bench(const bench_opts *o)
{
    char why[256];
    tf_model *m;
    if (o->isa >= 0)
        kn_set_isa(o->isa);
    double t0 = now();
    int r = tf_model_open(&m, o->model, why, sizeof why);
    if (r != ATTN_OK) {
        cli_error("%s: %s", o->model, why);
        return CLI_FAIL;
    }
    double load_s = now() - t0;
    const tf_config *c = tf_model_config(m);
    static const char *const dtn[] = {"f32", "f16", "bf16", "q8"};
    int V = c->vocab_size, S = o->src_len, T = o->out_len;
    if (S > c->max_positions || T + 1 > c->max_positions) {
        tf_model_free(m);
        cli_error("bench: --src-len / --out-len exceed the model's max_positions (%d)", c->max_positions);
        return CLI_FAIL;
    }
    cli_printf("model\t%s\n", o->model);
    cli_printf("dtype\t%s\n", dtn[c->weight_dtype & 3]);
    cli_printf("config\td_model %d, heads %d, ffn %d, layers %d+%d, vocab %d\n", c->d_model,
               c->n_heads, c->d_ff, c->n_enc_layers, c->n_dec_layers, V);
    cli_printf("isa\t%s\n", kn_isa_name(kn_isa()));
    cli_printf("threads\t%d\n", o->threads);
    cli_printf("src_len\t%d\nout_len\t%d\n", S, T);
    cli_printf("load_ms\t%.1f\n", load_s * 1e3);
    cli_flush();

    int rows_bulk = o->batch * o->beams;
    int max_rows = rows_bulk > 1 ? rows_bulk : 1, max_src = o->batch > 1 ? o->batch : 1;
    tf_state *st;
    r = tf_state_open(&st, m, max_src, max_rows, S, T + 1, o->threads);
    if (r != ATTN_OK) {
        tf_model_free(m);
        return engine_error("state", r);
    }
    int32_t *src = malloc((size_t)max_src * S * sizeof *src);
    float *logits = malloc((size_t)max_rows * V * sizeof *logits);
    int32_t *tok = malloc((size_t)max_rows * sizeof *tok);
    int *rows = malloc((size_t)max_rows * sizeof *rows);
    const int32_t **srcp = malloc((size_t)max_src * sizeof *srcp);
    int *lens = malloc((size_t)max_src * sizeof *lens);
    double *enc_t = calloc((size_t)o->reps, sizeof(double));
    double *ttft = calloc((size_t)o->reps, sizeof(double));
    double *dec_t = calloc((size_t)o->reps, sizeof(double));
    double *dec_cpu = calloc((size_t)o->reps, sizeof(double));
    beam_buf bb = {rows_bulk, o->beams, V, NULL, NULL, NULL, NULL, NULL, NULL};
    bb.score = malloc((size_t)max_rows * sizeof(float));
    bb.new_score = malloc((size_t)max_rows * sizeof(float));
    bb.cand_score = malloc((size_t)max_rows * o->beams * sizeof(float));
    bb.cand_tok = malloc((size_t)max_rows * o->beams * sizeof(int));
    bb.parent = malloc((size_t)max_rows * sizeof(int));
    bb.tok = malloc((size_t)max_rows * sizeof(int));
    int status = CLI_OK;
    if (!src || !logits || !tok || !rows || !srcp || !lens || !enc_t || !ttft || !dec_t || !dec_cpu ||
        !bb.score || !bb.new_score || !bb.cand_score || !bb.cand_tok || !bb.parent || !bb.tok) {
        cli_error("bench: out of memory");
        status = CLI_FAIL;
        goto done;
    }
    unsigned seed = 12345;
    random_ids(src, max_src * S, V, &seed);
    for (int s = 0; s < max_src; s++) {
        srcp[s] = src + (size_t)s * S;
        lens[s] = S;
    }

    /* batch 1: encoder, time to first token, greedy decoding; the CPU time the process got
     * against the wall time its threads spent says how busy the machine was */
    double wall0 = now(), cpu0 = cpu_time();
    for (int rep = 0; rep < o->reps + 1; rep++) {
        int i = rep > 0 ? rep - 1 : 0;      /* the first run warms up and is not counted */
        double a = now();
        if ((r = tf_encode(st, srcp, lens, 1)) != ATTN_OK)
            goto engine_fail;
        double b = now();
        rows[0] = 0;
        tf_decode_begin(st, rows, 1);
        tok[0] = c->decoder_start_id;
        if ((r = tf_decode_step(st, logits, tok, 1)) != ATTN_OK)
            goto engine_fail;
        double cc = now(), cc_cpu = thread_cpu_time();
        for (int t = 1; t < T; t++) {
            tok[0] = argmax(logits, V);
            if ((r = tf_decode_step(st, logits, tok, 1)) != ATTN_OK)
                goto engine_fail;
        }
        double d = now();
        dec_cpu[i] = (thread_cpu_time() - cc_cpu) / (T > 1 ? T - 1 : 1);
        enc_t[i] = b - a;
        ttft[i] = cc - a;
        dec_t[i] = (d - cc) / (T > 1 ? T - 1 : 1);
    }
    cli_printf("encoder_tok_s\t%.1f\n", S / median(enc_t, o->reps));
    cli_printf("ttft_ms\t%.2f\n", 1e3 * median(ttft, o->reps));
    double dec1 = 1.0 / median(dec_t, o->reps);
    cli_printf("decode_b1_tok_s\t%.1f\n", dec1);
    cli_printf("decode_b1_tok_cpu_s\t%.1f\n", 1.0 / median(dec_cpu, o->reps));
    cli_printf("cpu_share_b1\t%.2f\n", (cpu_time() - cpu0) / ((now() - wall0) * o->threads));
    cli_flush();

    /* bulk: batch sources x beams, fixed length, top-k beam step with reordering */
    if (o->batch > 0) {
        int reps = o->reps < 3 ? o->reps : 3;
        wall0 = now();
        cpu0 = cpu_time();
        double *enc_b = enc_t, *all_b = ttft;
        for (int rep = 0; rep < reps; rep++) {
            double a = now();
            if ((r = tf_encode(st, srcp, lens, o->batch)) != ATTN_OK)
                goto engine_fail;
            double b = now();
            for (int i = 0; i < rows_bulk; i++) {
                rows[i] = i / o->beams;
                tok[i] = c->decoder_start_id;
                bb.score[i] = i % o->beams ? -1e9f : 0.0f;
            }
            tf_decode_begin(st, rows, rows_bulk);
            for (int t = 0; t < T; t++) {
                if ((r = tf_decode_step(st, logits, tok, rows_bulk)) != ATTN_OK)
                    goto engine_fail;
                beam_step(&bb, logits);
                if ((r = tf_decode_reorder(st, bb.parent, rows_bulk)) != ATTN_OK)
                    goto engine_fail;
                memcpy(tok, bb.tok, (size_t)rows_bulk * sizeof *tok);
            }
            double d = now();
            enc_b[rep] = (double)o->batch * S / (b - a);
            all_b[rep] = d - b;
            dec_t[rep] = d - a;
        }
        cli_printf("encoder_batch_tok_s\t%.1f\n", median(enc_b, reps));
        cli_printf("decode_b%dx%d_tok_s\t%.1f\n", o->batch, o->beams,
                   (double)rows_bulk * T / median(all_b, reps));
        cli_printf("bulk_total_s\t%.3f\n", median(dec_t, reps));
        cli_printf("cpu_share_bulk\t%.2f\n", (cpu_time() - cpu0) / ((now() - wall0) * o->threads));
        cli_flush();
    }

    /* before the bandwidth test, whose buffer is not the engine's */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cli_printf("peak_rss_mb\t%.1f\n", ru.ru_maxrss / 1024.0);
    size_t wbytes = tf_decoder_weight_bytes(m);
    cli_printf("decoder_weight_mb\t%.1f\n", wbytes / 1e6);
    if (o->bw_mb > 0) {
        tp_pool *pool;
        if (tp_open(&pool, o->threads) == 0) {
            double bw = read_bandwidth(pool, o->bw_mb, 5);
            tp_free(pool);
            if (bw > 0) {
                double bound = bw / (double)wbytes;
                cli_printf("read_bandwidth_gb_s\t%.1f\n", bw / 1e9);
                cli_printf("bound_b1_tok_s\t%.1f\n", bound);
                cli_printf("b1_of_bound\t%.2f\n", dec1 / bound);
            }
        }
    }
    goto done;
engine_fail:
    status = engine_error("run", r);
done:
    free(src);
    free(logits);
    free(tok);
    free(rows);
    free(srcp);
    free(lens);
    free(enc_t);
    free(ttft);
    free(dec_t);
    free(dec_cpu);
    free(bb.score);
    free(bb.new_score);
    free(bb.cand_score);
    free(bb.cand_tok);
    free(bb.parent);
    free(bb.tok);
    tf_state_free(st);
    tf_model_free(m);
    return status;
}

int cli_bench(int argc, char **argv)
{
    enum { O_SRC = 256, O_OUT, O_BATCH, O_BEAMS, O_REPS, O_BW, O_ISA };
    static const struct option longopts[] = {
        {"threads", required_argument, NULL, 'j'}, {"src-len", required_argument, NULL, O_SRC},
        {"out-len", required_argument, NULL, O_OUT}, {"batch", required_argument, NULL, O_BATCH},
        {"beams", required_argument, NULL, O_BEAMS}, {"reps", required_argument, NULL, O_REPS},
        {"bandwidth-mb", required_argument, NULL, O_BW}, {"isa", required_argument, NULL, O_ISA},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    bench_opts o = {NULL, cpus > 0 ? (int)cpus : 1, 32, 32, 32, 4, 5, 256, -1};
    int ch;
    long v;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+:j:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            bench_usage();
            return CLI_OK;
        case 'j':
            if (cli_parse_long(optarg, 1, 256, &v))
                return cli_usage_error("bench", "--threads: expected 1 to 256, got '%s'", optarg);
            o.threads = (int)v;
            break;
        case O_SRC: case O_OUT: case O_BATCH: case O_BEAMS: case O_REPS: case O_BW: {
            static const char *const names[] = {"--src-len", "--out-len", "--batch", "--beams",
                                                "--reps", "--bandwidth-mb"};
            static const long lo[] = {1, 1, 0, 1, 1, 0}, hi[] = {65536, 65536, 4096, 64, 1000, 65536};
            int k = ch - O_SRC;
            if (cli_parse_long(optarg, lo[k], hi[k], &v))
                return cli_usage_error("bench", "%s: expected %ld to %ld, got '%s'", names[k],
                                       lo[k], hi[k], optarg);
            int *dst[] = {&o.src_len, &o.out_len, &o.batch, &o.beams, &o.reps, &o.bw_mb};
            *dst[k] = (int)v;
            break;
        }
        case O_ISA:
            if (strcmp(optarg, "portable") == 0)
                o.isa = KN_PORTABLE;
            else if (strcmp(optarg, "avx2") == 0)
                o.isa = KN_AVX2;
            else if (strcmp(optarg, "avx512") == 0)
                o.isa = KN_AVX512;
            else
                return cli_usage_error("bench", "--isa: expected portable, avx2 or avx512, got '%s'",
                                       optarg);
            break;
        case ':':
            return cli_usage_error("bench", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("bench", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return cli_usage_error("bench", "one model at most");
    o.model = cli_default_model(optind < argc ? argv[optind] : NULL);
    if (!o.model) {
        cli_error("bench: no model given and no default model found");
        return CLI_FAIL;
    }
    if (o.isa >= 0 && kn_set_isa(o.isa) != o.isa) {
        cli_error("bench: --isa %s: not supported by this CPU", kn_isa_name(o.isa));
        return CLI_FAIL;
    }
    return run_bench(&o);
}
