/* bench.c — `attn bench`: the engine's speed on this machine for one model.
 *
 * Measures, with random source ids and a fixed output length (end-of-sequence is ignored), all
 * through the engine (src/engine.h): model load time (eng_open: weights, tokenizer, generation
 * defaults); encoder tokens/s (one source); time to first token (encode + first decoder step);
 * decoder tokens/s at batch 1 (greedy argmax on the Transformer's logits); the bulk case, batch B
 * sources x K beams through generate.c's beam search, as `attn run` decodes; the machine's memory
 * read bandwidth on the same threads and the bound it puts on batch-1 decoding; the arithmetic
 * peak on the same threads and the share of it the bulk case's products reach; peak RSS.  Every
 * timing is the median of --reps runs.  Output: one "key<TAB>value" line per figure on stdout.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct bench_opts {
    const char *model;
    int threads, src_len, out_len, batch, beams, reps, bw_mb;
    int isa;                    /* -1: best */
} bench_opts;

static void bench_usage(void)
{
    cli_puts(
        "Usage: attn bench [OPTIONS] [MODEL]\n"
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

/* ---- measurements ----------------------------------------------------------------------- */

/* Fills n random ids in [first, V) from a fixed seed. */
static void random_ids(int32_t *ids, int n, int V, unsigned *seed)
{
    int first = V > 8 ? 4 : 0;
    for (int i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        ids[i] = first + (int32_t)((*seed >> 8) % (unsigned)(V - first));
    }
}

/* Opens a beam search run that ignores end of sequence and generates out_len tokens for up to
 * n_src sources; returns ATTN_OK or an ATTN_ERR_* status. */
static int open_run(eng_run **r, const engine *e, const bench_opts *o, int n_src)
{
    eng_overrides ov;
    eng_overrides_default(&ov);
    ov.mode = GEN_BEAM;
    ov.num_beams = o->beams;
    ov.max_new_tokens = o->out_len;
    ov.min_new_tokens = 0;
    ov.ignore_eos = 1;
    gen_params p;
    int rc = eng_params(e, &ov, &p);
    return rc < 0 ? rc : eng_run_open(r, e, &p, n_src, o->src_len, o->threads);
}

/* Returns the index of the largest of n values. */
static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Batch 1 on the Transformer itself (no logits processing: the engine's own speed): encoder,
 * time to first token, greedy decoding; the CPU time the process got against the wall time its
 * threads spent says how busy the machine was.  Returns an exit status and the decoder's
 * tokens/s in *dec1. */
static int bench_b1(const engine *e, const bench_opts *o, const int32_t *src, double *dec1)
{
    const tf_config *c = eng_config(e);
    int S = o->src_len, T = o->out_len, V = c->vocab_size, row = 0, r;
    tf_state *st;
    if ((r = tf_state_open(&st, eng_model(e), 1, 1, S, T + 1, o->threads)) != ATTN_OK) {
        cli_error("bench: state: %s", attn_strerror(r));
        return CLI_FAIL;
    }
    double *enc_t = calloc((size_t)o->reps * 4, sizeof(double));
    float *logits = malloc((size_t)V * sizeof *logits);      /* (V) */
    if (!enc_t || !logits) {
        cli_error("bench: out of memory");
        r = ATTN_ERR_NOMEM;
        goto done;
    }
    double *ttft = enc_t + o->reps, *dec_t = ttft + o->reps, *dec_cpu = dec_t + o->reps;
    double wall0 = eng_now(), cpu0 = cli_cpu_seconds();
    for (int rep = 0; rep < o->reps + 1; rep++) {
        int i = rep > 0 ? rep - 1 : 0;      /* the first run warms up and is not counted */
        double a = eng_now();
        if ((r = tf_encode(st, &src, &S, 1)) != ATTN_OK)
            goto failed;
        double b = eng_now();
        int32_t tok = c->decoder_start_id;
        if ((r = tf_decode_begin(st, &row, 1)) != ATTN_OK ||
            (r = tf_decode_step(st, logits, &tok, 1)) != ATTN_OK)
            goto failed;
        double cc = eng_now(), cc_cpu = eng_thread_cpu();
        for (int t = 1; t < T; t++) {
            tok = argmax(logits, V);
            if ((r = tf_decode_step(st, logits, &tok, 1)) != ATTN_OK)
                goto failed;
        }
        double d = eng_now();
        dec_cpu[i] = (eng_thread_cpu() - cc_cpu) / (T > 1 ? T - 1 : 1);
        enc_t[i] = b - a;
        ttft[i] = cc - a;
        dec_t[i] = (d - cc) / (T > 1 ? T - 1 : 1);
    }
    cli_printf("encoder_tok_s\t%.1f\n", S / median(enc_t, o->reps));
    cli_printf("ttft_ms\t%.2f\n", 1e3 * median(ttft, o->reps));
    *dec1 = 1.0 / median(dec_t, o->reps);
    cli_printf("decode_b1_tok_s\t%.1f\n", *dec1);
    cli_printf("decode_b1_tok_cpu_s\t%.1f\n", 1.0 / median(dec_cpu, o->reps));
    cli_printf("cpu_share_b1\t%.2f\n",
               (cli_cpu_seconds() - cpu0) / ((eng_now() - wall0) * o->threads));
    cli_flush();
    goto done;
failed:
    cli_error("bench: run: %s", attn_strerror(r));
done:
    free(enc_t);
    free(logits);
    tf_state_free(st);
    return r == ATTN_OK ? CLI_OK : CLI_FAIL;
}

/* The bulk case: batch sources x beams, fixed length, generate.c's beam search (what `attn run
 * -b K --batch B` does per token); returns an exit status and the tokens/s in *tok_s. */
static int bench_bulk(const engine *e, const bench_opts *o, const gen_source *src, double *tok_s)
{
    eng_run *r;
    int rc = open_run(&r, e, o, o->batch);
    if (rc < 0) {
        cli_error("bench: state: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    int reps = o->reps < 3 ? o->reps : 3;
    double enc_b[3], dec_b[3], all_b[3];
    double wall0 = eng_now(), cpu0 = cli_cpu_seconds();
    for (int rep = 0; rep < reps; rep++) {
        double enc0 = eng_encode_seconds(r), a = eng_now();
        if ((rc = eng_generate(r, src, o->batch, NULL, NULL)) != ATTN_OK) {
            rc = cli_gen_error(r, "bench: run", rc);
            eng_run_free(r);
            return rc;
        }
        double enc = eng_encode_seconds(r) - enc0;
        all_b[rep] = eng_now() - a;
        enc_b[rep] = (double)o->batch * o->src_len / enc;
        dec_b[rep] = all_b[rep] - enc;
    }
    cli_printf("encoder_batch_tok_s\t%.1f\n", median(enc_b, reps));
    *tok_s = (double)o->batch * o->beams * o->out_len / median(dec_b, reps);
    cli_printf("decode_b%dx%d_tok_s\t%.1f\n", o->batch, o->beams, *tok_s);
    cli_printf("bulk_total_s\t%.3f\n", median(all_b, reps));
    cli_printf("cpu_share_bulk\t%.2f\n",
               (cli_cpu_seconds() - cpu0) / ((eng_now() - wall0) * o->threads));
    cli_flush();
    eng_run_free(r);
    return CLI_OK;
}

/* Prints this machine's arithmetic peak on the bench's threads and the share of it the bulk
 * case reached (its weight products' operations per second: 2 x multiply-adds per row and step
 * x tokens/s; float weights against the FMA peak, q8 and q4 against the int8 one). */
static void print_peak(const engine *e, const bench_opts *o, double bulk_tok_s)
{
    double fma, int8;
    if (eng_peak_rates(o->threads, 3, &fma, &int8) != ATTN_OK)
        return;
    int dt = eng_config(e)->weight_dtype;
    double peak = dt == ATTN_Q8 || dt == ATTN_Q4 ? int8 : fma;
    double ops = 2.0 * (double)tf_decoder_step_macs(eng_model(e)) * bulk_tok_s;
    cli_printf("peak_fma_gflop_s\t%.1f\n", fma * 1e-9);
    cli_printf("peak_int8_gop_s\t%.1f\n", int8 * 1e-9);
    cli_printf("bulk_products_gop_s\t%.2f\n", ops * 1e-9);
    if (peak > 0)
        cli_printf("bulk_of_peak\t%.2f\n", ops / peak);
    cli_flush();
}

/* Runs every measurement; returns an exit status. */
static int run_bench(const bench_opts *o)
{
    char why[256];
    engine *e;
    double t0 = eng_now();
    if (eng_open(&e, o->model, why, sizeof why) < 0) {
        cli_error("%s: %s", o->model, why);
        return CLI_FAIL;
    }
    double load_s = eng_now() - t0;
    const tf_config *c = eng_config(e);
    int V = c->vocab_size, S = o->src_len, T = o->out_len;
    if (S > c->max_positions || T + 1 > c->max_positions) {
        eng_free(e);
        cli_error("bench: --src-len / --out-len exceed the model's max_positions (%d)",
                  c->max_positions);
        return CLI_FAIL;
    }
    cli_printf("model\t%s\n", o->model);
    cli_printf("dtype\t%s\n", attn_dtype_name(c->weight_dtype));
    cli_printf("config\td_model %d, heads %d, ffn %d, layers %d+%d, vocab %d\n", c->d_model,
               c->n_heads, c->d_ff, c->n_enc_layers, c->n_dec_layers, V);
    cli_printf("isa\t%s\n", eng_isa_name(eng_isa()));
    cli_printf("threads\t%d\n", o->threads);
    cli_printf("src_len\t%d\nout_len\t%d\n", S, T);
    cli_printf("load_ms\t%.1f\n", load_s * 1e3);
    cli_flush();

    int n_src = o->batch > 1 ? o->batch : 1;
    int32_t *ids = malloc((size_t)n_src * S * sizeof *ids);
    gen_source *src = malloc((size_t)n_src * sizeof *src);
    int status = CLI_FAIL;
    if (!ids || !src) {
        cli_error("bench: out of memory");
        goto done;
    }
    unsigned seed = 12345;
    random_ids(ids, n_src * S, V, &seed);
    for (int s = 0; s < n_src; s++)
        src[s] = (gen_source){ids + (size_t)s * S, S, (uint64_t)s};
    double dec1 = 0, bulk = 0;
    if ((status = bench_b1(e, o, ids, &dec1)) != CLI_OK)
        goto done;
    if (o->batch > 0 && (status = bench_bulk(e, o, src, &bulk)) != CLI_OK)
        goto done;
    if (o->batch > 0)
        print_peak(e, o, bulk);

    /* before the bandwidth test, whose buffer is not the engine's */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cli_printf("peak_rss_mb\t%.1f\n", ru.ru_maxrss / 1024.0);
    size_t wbytes = tf_decoder_weight_bytes(eng_model(e));
    cli_printf("decoder_weight_mb\t%.1f\n", wbytes / 1e6);
    double bw = o->bw_mb > 0 ? eng_read_bandwidth(o->bw_mb, o->threads, 5) : 0.0;
    if (bw > 0) {
        double bound = bw / (double)wbytes;
        cli_printf("read_bandwidth_gb_s\t%.1f\n", bw / 1e9);
        cli_printf("bound_b1_tok_s\t%.1f\n", bound);
        cli_printf("b1_of_bound\t%.2f\n", dec1 / bound);
    }
done:
    free(ids);
    free(src);
    eng_free(e);
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
            static const long lo[] = {1, 1, 0, 1, 1, 0};
            static const long hi[] = {65536, 65536, 4096, 64, 1000, 65536};
            int k = ch - O_SRC;
            if (cli_parse_long(optarg, lo[k], hi[k], &v))
                return cli_usage_error("bench", "%s: expected %ld to %ld, got '%s'", names[k],
                                       lo[k], hi[k], optarg);
            int *dst[] = {&o.src_len, &o.out_len, &o.batch, &o.beams, &o.reps, &o.bw_mb};
            *dst[k] = (int)v;
            break;
        }
        case O_ISA:
            if ((o.isa = eng_isa_parse(optarg)) < 0)
                return cli_usage_error("bench",
                                       "--isa: expected portable, avx2 or avx512, got '%s'",
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
    if (o.isa >= 0 && eng_isa_set(o.isa) < 0) {
        cli_error("bench: --isa %s: not supported by this CPU", eng_isa_name(o.isa));
        return CLI_FAIL;
    }
    return run_bench(&o);
}
