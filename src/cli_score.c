/* cli_score.c — `attn score`: the log-probability of each target given its source.
 *
 * Pairs come as "SOURCE<TAB>TARGET" lines (FILEs or stdin) or as two parallel files
 * (--source, --target).  Each target is teacher-forced through the decoder (generate.c's
 * gen_score), and its log-probability (the target's tokens and the end of sequence) is printed,
 * one line per pair, in input order.
 */
#include "tok.h"
#include "cli.h"
#include "generate.h"
#include "modelfile.h"
#include "transformer.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Prints the help of attn score. */
static void score_usage(void)
{
    cli_puts(
        "Usage: attn score [OPTIONS] [FILE...]\n"
        "       attn score [OPTIONS] --source FILE --target FILE\n"
        "Print the log-probability (natural log) of each target given its source, one number per\n"
        "pair: the sum over the target's tokens and the end of sequence. Pairs are lines\n"
        "'SOURCE<TAB>TARGET' of the FILEs ('-' or none: stdin), or lines of two parallel files.\n\n"
        "  -m, --model FILE    model file (default as for attn run)\n"
        "      --source FILE   the sources, one per line (with --target)\n"
        "      --target FILE   the targets, one per line (with --source)\n"
        "      --mean          print the mean log-probability per token instead of the sum\n"
        "      --ids           sources and targets are space-separated token ids\n"
        "      --special       recognise special tokens' text in the input\n"
        "      --truncate      cut sources and targets longer than the model accepts\n"
        "      --batch N       score N pairs together (default 16)\n"
        "      --threads N     compute threads (default: all CPUs, at most 8)\n"
        "      --json          one JSON object per pair: ids and per-token log-probabilities\n"
        "  -v, --verbose       timings on standard error\n"
        "  -h, --help          show this help\n");
}

/* ---- the engine behind generate.c ------------------------------------------------------------ */

static int eng_encode(void *ctx, const int32_t *const *src, const int *len, int n)
{
    return tf_encode(ctx, src, len, n);
}

/* Starts decoder rows on the engine; returns its status. */
static int eng_begin(void *ctx, const int *src_of_row, int n)
{
    return tf_decode_begin(ctx, src_of_row, n);
}

/* Runs one decoder step on the engine; returns its status. */
static int eng_step(void *ctx, float *logits, const int32_t *tok, int n)
{
    return tf_decode_step(ctx, logits, tok, n);
}

/* Drops finished decoder rows on the engine; returns its status. */
static int eng_reorder(void *ctx, const int *parent, int n)
{
    return tf_decode_reorder(ctx, parent, n);
}

/* ---- pairs ---------------------------------------------------------------------------------- */

/* One pair of the current batch. */
typedef struct pair {
    char *line;              /* the source line (tab mode: the whole line), owned */
    size_t line_cap;
    char *tline;             /* the target line in two-file mode, owned */
    size_t tline_cap;
    const char *src_text, *tgt_text;
    size_t src_len_b, tgt_len_b;
    int32_t *src, *tgt;      /* (src_len), (tgt_len) ids, owned */
    size_t src_cap, tgt_cap;
    int src_len, tgt_len;
    float *lp;               /* (max_tgt + 1) log-probabilities */
} pair;

typedef struct scorer {
    const char *cmd;
    tf_model *model;
    const tf_config *cfg;
    tokenizer *tok;
    tok_encoder *enc;
    tf_state *st;
    gen *g;
    gen_model gm;
    int batch, threads, ids, special, truncate, json, mean, verbose;
    int max_src, max_tgt;    /* longest source; longest target (without eos) */
    int src_bos, src_eos;    /* text sources get bos_id before / eos_id after (src.add_bos/eos) */
    pair *pairs;             /* (batch) */
    gen_source *gsrc;        /* (batch) */
    const int32_t **tgts;    /* (batch) */
    int *tlens;              /* (batch) */
    float **lps;             /* (batch) */
    /* input */
    char **files;
    int n_files, next_file;
    FILE *f, *tf;            /* current file; target file in two-file mode */
    const char *name, *tname;
    long line;
    long n_pairs, n_tokens;
} scorer;

/* Reads one line of f into *buf (without '\n'); returns its length, or -1 at the end. */
static long read_line(FILE *f, char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, f);
    if (n < 0)
        return -1;
    if (n > 0 && (*buf)[n - 1] == '\n')
        (*buf)[--n] = '\0';
    return (long)n;
}

/* Reads the next pair into p; returns 1, 0 at the end, or -1 after printing the error. */
static int next_pair(scorer *S, pair *p)
{
    if (S->tf) {
        long n = read_line(S->f, &p->line, &p->line_cap);
        long m = read_line(S->tf, &p->tline, &p->tline_cap);
        if (n < 0 && m < 0)
            return 0;
        S->line++;
        if (n < 0 || m < 0) {
            cli_error("%s: %s ends at line %ld, before %s", n < 0 ? S->name : S->tname,
                      n < 0 ? "the source file" : "the target file", S->line,
                      n < 0 ? S->tname : S->name);
            return -1;
        }
        p->src_text = p->line;
        p->src_len_b = (size_t)n;
        p->tgt_text = p->tline;
        p->tgt_len_b = (size_t)m;
        return 1;
    }
    for (;;) {
        if (!S->f) {
            if (S->next_file >= S->n_files)
                return 0;
            S->name = S->files[S->next_file++];
            S->f = cli_open_input(S->name);
            S->line = 0;
            if (!S->f)
                return -1;
        }
        long n = read_line(S->f, &p->line, &p->line_cap);
        if (n >= 0) {
            S->line++;
            char *tab = memchr(p->line, '\t', (size_t)n);
            if (!tab) {
                cli_error("%s:%ld: no tab between source and target", S->name, S->line);
                return -1;
            }
            *tab = '\0';
            p->src_text = p->line;
            p->src_len_b = (size_t)(tab - p->line);
            p->tgt_text = tab + 1;
            p->tgt_len_b = (size_t)n - p->src_len_b - 1;
            return 1;
        }
        if (ferror(S->f)) {
            cli_error("%s: %s", S->name, strerror(errno ? errno : EIO));
            return -1;
        }
        cli_close_input(S->f);
        S->f = NULL;
    }
}

/* Turns text (or an id list) into ids in *ids (grown as needed); returns the count, or -1 after
 * printing the error. */
static long to_ids(scorer *S, int32_t **ids, size_t *cap, const char *text, size_t len)
{
    if (*cap < len + 3) {
        int32_t *p = realloc(*ids, (len + 3) * sizeof *p);
        if (!p) {
            cli_error("out of memory");
            return -1;
        }
        *ids = p;
        *cap = len + 3;
    }
    size_t n = 0;
    if (S->ids) {
        const char *s = text;
        while (*s) {
            char *end;
            errno = 0;
            long v = strtol(s, &end, 10);
            if (end == s || errno || v < 0 || v >= S->cfg->vocab_size) {
                cli_error("%s:%ld: not a token id of this model: '%.20s'", S->name, S->line, s);
                return -1;
            }
            (*ids)[n++] = (int32_t)v;
            s = end;
            while (*s == ' ' || *s == '\t' || *s == '\r')
                s++;
        }
        return (long)n;
    }
    int rc = tok_encoder_encode(S->enc, *ids, *cap, &n, text, len, S->special ? TOK_SPECIAL : 0);
    if (rc < 0) {
        cli_error("%s:%ld: %s", S->name, S->line, tok_strerror(rc));
        return -1;
    }
    return (long)n;
}

/* Encodes pair p's source and target, checking their lengths; returns 0 or -1 (printed). */
static int encode_pair(scorer *S, pair *p)
{
    long n = to_ids(S, &p->src, &p->src_cap, p->src_text, p->src_len_b);
    if (n < 0)
        return -1;
    if (!S->ids && S->src_bos) {
        memmove(p->src + 1, p->src, (size_t)n * sizeof *p->src);
        p->src[0] = S->cfg->bos_id;
        n++;
    }
    if (!S->ids && S->src_eos)
        p->src[n++] = S->cfg->eos_id;
    if (n == 0) {
        cli_error("%s:%ld: empty source", S->name, S->line);
        return -1;
    }
    if (n > S->max_src) {
        if (!S->truncate) {
            cli_error("%s:%ld: source has %ld tokens, the model accepts at most %d (--truncate "
                      "cuts it)", S->name, S->line, n, S->max_src);
            return -1;
        }
        n = S->max_src;
        if (!S->ids && S->src_eos)
            p->src[n - 1] = S->cfg->eos_id;
    }
    p->src_len = (int)n;
    long m = to_ids(S, &p->tgt, &p->tgt_cap, p->tgt_text, p->tgt_len_b);
    if (m < 0)
        return -1;
    if (m > S->max_tgt) {
        if (!S->truncate) {
            cli_error("%s:%ld: target has %ld tokens, the model scores at most %d (--truncate "
                      "cuts it)", S->name, S->line, m, S->max_tgt);
            return -1;
        }
        m = S->max_tgt;
    }
    p->tgt_len = (int)m;
    return 0;
}

/* Writes the result of pair p (input position index). */
static void write_pair(scorer *S, const pair *p, long index)
{
    int n = p->tgt_len + (S->cfg->eos_id >= 0);
    double sum = 0;
    for (int j = 0; j < n; j++)
        sum += p->lp[j];
    double value = S->mean && n > 0 ? sum / n : sum;
    if (!S->json) {
        cli_printf("%.6f\n", value);
        return;
    }
    cli_printf("{\"index\":%ld,\"source\":", index);
    cli_json_string(p->src_text, p->src_len_b);
    cli_puts(",\"target\":");
    cli_json_string(p->tgt_text, p->tgt_len_b);
    cli_printf(",\"logprob\":%.6f,\"tokens\":%d,\"ids\":[", sum, n);
    for (int j = 0; j < p->tgt_len; j++)
        cli_printf(j ? ",%d" : "%d", p->tgt[j]);
    cli_puts("],\"logprobs\":[");
    for (int j = 0; j < n; j++)
        cli_printf(j ? ",%.6g" : "%.6g", p->lp[j]);
    cli_puts("]}\n");
}

/* Scores the input batch by batch; returns the exit status. */
static int score_all(scorer *S)
{
    int status = CLI_OK, end = 0;
    while (!end) {
        int k = 0;
        while (k < S->batch) {
            pair *p = &S->pairs[k];
            int rc = next_pair(S, p);
            if (rc == 1 && encode_pair(S, p) < 0)
                rc = -1;
            if (rc <= 0) {
                end = 1;
                if (rc < 0)
                    status = CLI_FAIL;
                break;
            }
            S->gsrc[k] = (gen_source){p->src, p->src_len, 0};
            S->tgts[k] = p->tgt;
            S->tlens[k] = p->tgt_len;
            S->lps[k] = p->lp;
            k++;
        }
        if (k == 0)
            break;
        int rc = gen_score(S->g, &S->gm, S->lps, S->gsrc, S->tgts, S->tlens, k);
        if (rc < 0) {
            if (rc == ATTN_ERR_DECODER)
                cli_error("model: %s", attn_strerror(gen_model_status(S->g)));
            else
                cli_error("score: %s", attn_strerror(rc));
            return CLI_FAIL;
        }
        for (int i = 0; i < k; i++) {
            write_pair(S, &S->pairs[i], S->n_pairs + i);
            S->n_tokens += S->pairs[i].tgt_len + 1;
        }
        S->n_pairs += k;
        cli_flush();
    }
    return status;
}

/* Opens the model, tokenizer, decoder and engine state; returns 0 or CLI_FAIL (printed). */
static int score_setup(scorer *S, const char *model)
{
    if (cli_open_model(&S->model, &S->tok, &S->enc, &S->src_bos, &S->src_eos, model, S->ids) != 0)
        return CLI_FAIL;
    S->cfg = tf_model_config(S->model);
    gen_params gp;
    gen_params_default(&gp);
    int P = S->cfg->max_positions, f = S->cfg->forced_bos_id >= 0, has_eos = S->cfg->eos_id >= 0;
    gp.max_new_tokens = P;
    gp.decoder_start_id = S->cfg->decoder_start_id;
    gp.eos_id = S->cfg->eos_id;
    gp.forced_bos_id = S->cfg->forced_bos_id;
    S->max_src = P;
    S->max_tgt = P - 1 - f - (has_eos ? 0 : -1);
    if (S->max_tgt < 0)
        S->max_tgt = 0;
    int rc = gen_open(&S->g, &gp, S->cfg->vocab_size, S->batch);
    if (rc < 0) {
        cli_error("score: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    rc = tf_state_open(&S->st, S->model, S->batch, S->batch, P, P, S->threads);
    if (rc < 0) {
        cli_error("engine: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    S->gm = (gen_model){S->st, S->cfg->vocab_size, eng_encode, eng_begin, eng_step, eng_reorder};
    S->pairs = calloc((size_t)S->batch, sizeof *S->pairs);
    S->gsrc = calloc((size_t)S->batch, sizeof *S->gsrc);
    S->tgts = calloc((size_t)S->batch, sizeof *S->tgts);
    S->tlens = calloc((size_t)S->batch, sizeof *S->tlens);
    S->lps = calloc((size_t)S->batch, sizeof *S->lps);
    if (!S->pairs || !S->gsrc || !S->tgts || !S->tlens || !S->lps) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    for (int i = 0; i < S->batch; i++)
        if (!(S->pairs[i].lp = malloc((size_t)(S->max_tgt + 1) * sizeof(float)))) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
    return 0;
}

/* Frees everything S holds. */
static void score_teardown(scorer *S)
{
    for (int i = 0; S->pairs && i < S->batch; i++) {
        pair *p = &S->pairs[i];
        free(p->line);
        free(p->tline);
        free(p->src);
        free(p->tgt);
        free(p->lp);
    }
    free(S->pairs);
    free(S->gsrc);
    free(S->tgts);
    free(S->tlens);
    free(S->lps);
    if (S->f)
        cli_close_input(S->f);
    if (S->tf)
        cli_close_input(S->tf);
    gen_free(S->g);
    tf_state_free(S->st);
    tok_encoder_free(S->enc);
    tok_free(S->tok);
    tf_model_free(S->model);
}

int cli_score(int argc, char **argv)
{
    enum { O_SOURCE = 256, O_TARGET, O_MEAN, O_IDS, O_SPECIAL, O_TRUNCATE, O_BATCH, O_THREADS, O_JSON };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"source", required_argument, NULL, O_SOURCE},
        {"target", required_argument, NULL, O_TARGET}, {"mean", no_argument, NULL, O_MEAN},
        {"ids", no_argument, NULL, O_IDS}, {"special", no_argument, NULL, O_SPECIAL},
        {"truncate", no_argument, NULL, O_TRUNCATE}, {"batch", required_argument, NULL, O_BATCH},
        {"threads", required_argument, NULL, O_THREADS}, {"json", no_argument, NULL, O_JSON},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    scorer S;
    memset(&S, 0, sizeof S);
    S.cmd = argv[0];
    S.batch = 16;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    S.threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    const char *model = NULL, *src_file = NULL, *tgt_file = NULL;
    long v;
    int c, li = -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:vh", opts, &li)) != -1) {
        const char *name = li >= 0 ? opts[li].name : "";
        li = -1;
        switch (c) {
        case 'm': model = optarg; break;
        case O_SOURCE: src_file = optarg; break;
        case O_TARGET: tgt_file = optarg; break;
        case O_MEAN: S.mean = 1; break;
        case O_IDS: S.ids = 1; break;
        case O_SPECIAL: S.special = 1; break;
        case O_TRUNCATE: S.truncate = 1; break;
        case O_JSON: S.json = 1; break;
        case 'v': S.verbose = 1; break;
        case 'h': score_usage(); return CLI_OK;
        case O_BATCH:
        case O_THREADS:
            if (cli_parse_long(optarg, 1, c == O_BATCH ? 4096 : 256, &v) < 0)
                return cli_usage_error(S.cmd, "bad value for --%s: '%s'", name, optarg);
            *(c == O_BATCH ? &S.batch : &S.threads) = (int)v;
            break;
        default:
            return cli_usage_error(S.cmd, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (!src_file != !tgt_file)
        return cli_usage_error(S.cmd, "--source and --target go together");
    if (src_file && optind < argc)
        return cli_usage_error(S.cmd, "FILE arguments cannot be used with --source/--target");
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    int status = score_setup(&S, model);
    if (status == 0) {
        char *dash[] = {"-"};
        if (src_file) {
            S.name = src_file;
            S.tname = tgt_file;
            S.f = cli_open_input(src_file);
            S.tf = S.f ? cli_open_input(tgt_file) : NULL;
            if (!S.f || !S.tf)
                status = CLI_FAIL;
        } else {
            S.files = optind < argc ? argv + optind : dash;
            S.n_files = optind < argc ? argc - optind : 1;
        }
        if (status == 0)
            status = score_all(&S);
        if (S.verbose) {
            double t = (double)clock() / CLOCKS_PER_SEC - t0;
            cli_error("%ld pairs, %ld target tokens, %.3f s CPU", S.n_pairs, S.n_tokens, t);
        }
    }
    score_teardown(&S);
    return status;
}
