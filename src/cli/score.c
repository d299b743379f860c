/* score.c — `attn score`: the log-probability of each target given its source.
 *
 * Pairs come as "SOURCE<TAB>TARGET" lines (FILEs or stdin) or as two parallel files
 * (--source, --target).  Each target is teacher-forced through the decoder (eng_score: generate.c's
 * gen_score on the engine), and its log-probability (the target's tokens and the end of
 * sequence) is printed, one line per pair, in input order.
 */
#include "alignment.h"
#include "cli.h"
#include "sentences.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
        "      --src-lang CODE the source language token (mBART: en_XX...; as for attn run)\n"
        "      --tgt-lang CODE the target language token that starts the target (mBART; as\n"
        "                      for attn run)\n"
        "      --batch N       score N pairs together (default 16)\n"
        "      --threads N     compute threads (default: all CPUs, at most 8)\n"
        "      --json          one JSON object per pair: ids and per-token log-probabilities\n"
        "      --align         the word alignment of each pair from the decoder's attention:\n"
        "                      ' ||| 0-0 1-2 ...' after the number, \"alignment\" with --json\n"
        "      --align-layer LIST  decoder layers that align (as for attn run)\n"
        "      --align-heads LIST  heads averaged (as for attn run)\n"
        "  -v, --verbose       timings on standard error\n"
        "  -h, --help          show this help\n");
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
    int failed;              /* cannot be scored (warning printed): its score is nan */
    al_link *links;          /* (max_tgt) --align */
    int n_links;
} pair;

typedef struct scorer {
    const char *cmd;
    engine *e;
    const tf_config *cfg;
    eng_run *er;
    int batch, threads, ids, special, truncate, json, mean, verbose;
    int max_src, max_tgt;    /* longest source; longest target (without eos) */
    pair *pairs;             /* (batch) */
    gen_source *gsrc;        /* (batch) */
    const int32_t **tgts;    /* (batch) */
    int *tlens;              /* (batch) */
    float **lps;             /* (batch) */
    /* input: the lines of the FILEs, or of the source and the target file */
    cli_reader rd, trd;
    int two_files;
    const char *name;        /* where the current pair comes from */
    long line;
    long n_pairs, n_tokens, n_failed;
    int align;               /* --align: word alignments (alignment.h) */
    const char *align_layer, *align_heads;
    const char *src_lang, *tgt_lang;    /* --src-lang, --tgt-lang (NULL: the model's) */
    cli_align al;
} scorer;

/* Makes the text of one side of a pair what the model is given (not with --ids): without the
 * white space around it (a CR before the newline included), control characters as spaces. */
static void clean_side(const scorer *S, const char **text, size_t *len)
{
    sentence_span sp;
    size_t n;
    if (S->ids)
        return;
    sentences_whole(&sp, &n, *text, *len);
    char *t = (char *)*text + sp.off; /* points into the pair's own line buffer */
    *len = n ? cli_model_text(t, t, sp.len, 0) : 0;
    t[*len] = '\0';
    *text = t;
}

/* Reads the next pair into p (p->failed set, with a warning, when it cannot be scored); returns
 * 1, 0 at the end, or -1 after printing the error. */
static int next_pair(scorer *S, pair *p)
{
    size_t n, m;
    p->failed = 0;
    if (S->two_files) {
        int rn = cli_reader_next(&S->rd, &p->line, &p->line_cap, &n);
        int rm = cli_reader_next(&S->trd, &p->tline, &p->tline_cap, &m);
        if (rn == 0 && rm == 0)
            return 0;
        S->line++;
        if (rn == 0 || rm == 0) {
            const char *src = S->rd.files[0], *tgt = S->trd.files[0];
            cli_error("%s: %s ends at line %ld, before %s", rn == 0 ? src : tgt,
                      rn == 0 ? "the source file" : "the target file", S->line,
                      rn == 0 ? tgt : src);
            return -1;
        }
        S->name = S->rd.files[0];
        if (cli_reader_overlong(&S->rd) || cli_reader_overlong(&S->trd)) {
            cli_error("%s:%ld: line longer than the %d bytes read of a line", S->name, S->line,
                      CLI_MAX_RECORD);
            p->failed = 1;
        }
        p->src_text = p->line;
        p->src_len_b = n;
        p->tgt_text = p->tline;
        p->tgt_len_b = m;
        clean_side(S, &p->src_text, &p->src_len_b);
        clean_side(S, &p->tgt_text, &p->tgt_len_b);
        return 1;
    }
    int rc = cli_reader_next(&S->rd, &p->line, &p->line_cap, &n);
    if (rc <= 0)
        return rc;
    S->name = S->rd.name;
    S->line = S->rd.record;
    char *tab = memchr(p->line, '\t', n);
    if (cli_reader_overlong(&S->rd)) {
        cli_error("%s:%ld: line of %zu bytes is longer than the %d bytes read of a line",
                  S->name, S->line, S->rd.bytes, CLI_MAX_RECORD);
        p->failed = 1;
    } else if (!tab) {
        cli_error("%s:%ld: no tab between source and target", S->name, S->line);
        p->failed = 1;
    }
    if (p->failed) {
        p->src_text = p->tgt_text = "";
        p->src_len_b = p->tgt_len_b = 0;
        return 1;
    }
    *tab = '\0';
    p->src_text = p->line;
    p->src_len_b = (size_t)(tab - p->line);
    p->tgt_text = tab + 1;
    p->tgt_len_b = n - p->src_len_b - 1;
    clean_side(S, &p->src_text, &p->src_len_b);
    clean_side(S, &p->tgt_text, &p->tgt_len_b);
    return 1;
}

/* Turns text (or an id list) into ids in *ids (grown as needed) with encoder enc; returns the
 * count, or -1 after printing the error. */
static long to_ids(scorer *S, tok_encoder *enc, int32_t **ids, size_t *cap, const char *text,
                   size_t len)
{
    if (*cap < len + 1 + ENG_FRAME_MAX) {
        int32_t *p = realloc(*ids, (len + 1 + ENG_FRAME_MAX) * sizeof *p);
        if (!p) {
            cli_error("out of memory");
            return -1;
        }
        *ids = p;
        *cap = len + 1 + ENG_FRAME_MAX;
    }
    size_t n = 0;
    if (S->ids) {
        const char *bad;
        long m = cli_parse_ids(*ids, *cap, text, len, S->cfg->vocab_size, &bad);
        if (m < 0)
            cli_error("%s:%ld: not a token id of this model: '%.20s'", S->name, S->line, bad);
        return m;
    }
    int rc = tok_encoder_encode(enc, *ids, *cap - ENG_FRAME_MAX, &n, text, len,
                                S->special ? TOK_SPECIAL : 0);
    if (rc < 0) {
        cli_error("%s:%ld: %s", S->name, S->line, tok_strerror(rc));
        return -1;
    }
    return (long)n;
}

/* Encodes pair p's source and target, checking their lengths; returns 0 or -1 (printed). */
static int encode_pair(scorer *S, pair *p)
{
    long n = to_ids(S, eng_encoder(S->e), &p->src, &p->src_cap, p->src_text, p->src_len_b);
    if (n < 0)
        return -1;
    if (!S->ids)
        n = (long)eng_frame_source(S->e, p->src, (size_t)n);
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
        if (!S->ids)
            eng_truncate_source(S->e, p->src, (size_t)n);
    }
    p->src_len = (int)n;
    long m = to_ids(S, eng_target_encoder(S->e), &p->tgt, &p->tgt_cap, p->tgt_text,
                    p->tgt_len_b);
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
    double mean = n > 0 ? sum / n : 0;
    if (p->failed) {
        sum = mean = NAN;
        n = 0;
    }
    if (!S->json) {
        if (p->failed)
            cli_puts("nan");
        else
            cli_printf("%.6f", S->mean ? mean : sum);
        if (S->align) {
            cli_puts(" ||| ");
            cli_align_write(p->links, p->failed ? 0 : p->n_links, 0);
        }
        cli_write("\n", 1);
        return;
    }
    cli_printf("{\"index\":%ld,\"source\":", index);
    cli_quote(p->src_text, p->src_len_b, 1);
    cli_puts(",\"target\":");
    cli_quote(p->tgt_text, p->tgt_len_b, 1);
    cli_puts(",\"logprob\":");
    cli_json_number(sum);
    cli_puts(",\"mean\":");
    cli_json_number(mean);
    cli_printf(",\"tokens\":%d,\"ids\":[", n);
    for (int j = 0; !p->failed && j < p->tgt_len; j++)
        cli_printf(j ? ",%d" : "%d", p->tgt[j]);
    cli_puts("],\"logprobs\":[");
    for (int j = 0; j < n; j++)
        cli_printf(j ? ",%.6g" : "%.6g", p->lp[j]);
    cli_write("]", 1);
    if (p->failed)
        cli_puts(",\"failed\":true");
    if (S->align) {
        cli_puts(",\"alignment\":");
        cli_align_write(p->links, p->failed ? 0 : p->n_links, 1);
    }
    cli_puts("}\n");
}

/* Aligns pair p, the i-th of the batch just scored; returns 0 or CLI_FAIL (printed). */
static int align_pair(scorer *S, pair *p, int i)
{
    if (cli_align_output(&S->al, p->src_text, p->src_len_b, p->src, p->src_len, p->tgt,
                         p->tgt_len, p->tgt_text, p->tgt_len_b, eng_score_attn(S->er, i),
                         (size_t)eng_attn_width(S->er)))
        return CLI_FAIL;
    memcpy(p->links, S->al.links, (size_t)S->al.n_links * sizeof *p->links);
    p->n_links = S->al.n_links;
    return 0;
}

/* Asks the run for the attention --align needs; returns 0, CLI_USAGE or CLI_FAIL (printed). */
static int align_setup(scorer *S)
{
    int rc = cli_align_attach(S->cmd, S->er, S->cfg, S->align_layer, S->align_heads);
    if (rc)
        return rc;
    if (cli_align_open(&S->al, S->ids ? NULL : eng_tokenizer(S->e), S->special, S->max_src,
                       S->max_tgt + 1))
        return CLI_FAIL;
    for (int i = 0; i < S->batch; i++)
        if (!(S->pairs[i].links = malloc((size_t)(S->max_tgt + 1) * sizeof(al_link)))) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
    return 0;
}

/* Scores the input batch by batch, a batch ending when it is full or when no more input is
 * ready; returns the exit status (1 when a file could not be read or a pair not scored). */
static int score_all(scorer *S)
{
    int status = CLI_OK, end = 0;
    while (!end) {
        int k = 0, m = 0;   /* pairs read, pairs to score */
        while (k < S->batch) {
            if (k > 0 && !cli_reader_ready(&S->rd))
                break;
            pair *p = &S->pairs[k];
            int rc = next_pair(S, p);
            if (rc <= 0) {
                end = 1;
                if (rc < 0)
                    status = CLI_FAIL;
                break;
            }
            if (!p->failed && encode_pair(S, p) < 0)
                p->failed = 1;
            S->n_failed += p->failed;
            k++;
            if (p->failed)
                continue;
            S->gsrc[m] = (gen_source){p->src, p->src_len, 0};
            S->tgts[m] = p->tgt;
            S->tlens[m] = p->tgt_len;
            S->lps[m] = p->lp;
            m++;
        }
        if (k == 0)
            break;
        int rc = m > 0 ? eng_score(S->er, S->lps, S->gsrc, S->tgts, S->tlens, m) : 0;
        if (rc < 0)
            return cli_gen_error(S->er, "score", rc);
        for (int i = 0, j = 0; i < k; i++) {
            /* the j-th scored pair: failed pairs were not given to eng_score */
            if (S->align && !S->pairs[i].failed && align_pair(S, &S->pairs[i], j++) != 0)
                return CLI_FAIL;
            write_pair(S, &S->pairs[i], S->n_pairs + i);
            S->n_tokens += S->pairs[i].failed ? 0 : S->pairs[i].tgt_len + 1;
        }
        S->n_pairs += k;
        cli_flush();
    }
    if (S->rd.failed || S->trd.failed || S->n_failed)
        status = CLI_FAIL;
    return status;
}

/* Opens the engine and a scoring run on it (greedy settings whose length is the model's
 * positions); returns 0 or CLI_FAIL (printed). */
static int score_setup(scorer *S, const char *model)
{
    if (!(S->e = cli_open_engine(model, S->ids)))
        return CLI_FAIL;
    char why[256];
    if ((S->src_lang || S->tgt_lang) &&
        eng_set_langs(S->e, S->src_lang, S->tgt_lang, why, sizeof why) < 0) {
        cli_error("%s", why);
        return CLI_FAIL;
    }
    S->cfg = eng_config(S->e);
    int P = S->cfg->max_positions;
    eng_overrides o;
    eng_overrides_default(&o);
    o.mode = GEN_GREEDY;
    o.max_new_tokens = P;
    gen_params gp;
    int rc = eng_params(S->e, &o, &gp);
    if (rc == ATTN_OK)
        rc = eng_run_open(&S->er, S->e, &gp, S->batch, P, S->threads);
    if (rc < 0) {
        cli_error("score: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    int f = gp.forced_bos_id >= 0, has_eos = gp.eos_id >= 0;
    S->max_src = P;
    S->max_tgt = P - 1 - f - (has_eos ? 0 : -1);
    if (S->max_tgt < 0)
        S->max_tgt = 0;
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
    return S->align ? align_setup(S) : 0;
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
        free(p->links);
    }
    cli_align_close(&S->al);
    free(S->pairs);
    free(S->gsrc);
    free(S->tgts);
    free(S->tlens);
    free(S->lps);
    cli_reader_close(&S->rd);
    cli_reader_close(&S->trd);
    eng_run_free(S->er);
    eng_free(S->e);
}

int cli_score(int argc, char **argv)
{
    enum {
        O_SOURCE = 256, O_TARGET, O_MEAN, O_IDS, O_SPECIAL, O_TRUNCATE, O_BATCH, O_THREADS, O_JSON,
        O_ALIGN, O_ALIGN_LAYER, O_ALIGN_HEADS, O_SRC_LANG, O_TGT_LANG
    };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"source", required_argument, NULL, O_SOURCE},
        {"target", required_argument, NULL, O_TARGET}, {"mean", no_argument, NULL, O_MEAN},
        {"ids", no_argument, NULL, O_IDS}, {"special", no_argument, NULL, O_SPECIAL},
        {"truncate", no_argument, NULL, O_TRUNCATE}, {"batch", required_argument, NULL, O_BATCH},
        {"threads", required_argument, NULL, O_THREADS}, {"json", no_argument, NULL, O_JSON},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"align", no_argument, NULL, O_ALIGN},
        {"align-layer", required_argument, NULL, O_ALIGN_LAYER},
        {"align-heads", required_argument, NULL, O_ALIGN_HEADS},
        {"src-lang", required_argument, NULL, O_SRC_LANG},
        {"tgt-lang", required_argument, NULL, O_TGT_LANG}, {NULL, 0, NULL, 0},
    };
    scorer S;
    memset(&S, 0, sizeof S);
    S.cmd = argv[0];
    S.batch = 16;
    S.threads = cli_default_threads();
    const char *model = NULL, *src_file = NULL, *tgt_file = NULL;
    long v;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case O_SOURCE: src_file = optarg; break;
        case O_TARGET: tgt_file = optarg; break;
        case O_MEAN: S.mean = 1; break;
        case O_IDS: S.ids = 1; break;
        case O_SPECIAL: S.special = 1; break;
        case O_TRUNCATE: S.truncate = 1; break;
        case O_JSON: S.json = 1; break;
        case O_ALIGN: S.align = 1; break;
        case O_ALIGN_LAYER: S.align_layer = optarg; break;
        case O_ALIGN_HEADS: S.align_heads = optarg; break;
        case O_SRC_LANG: S.src_lang = optarg; break;
        case O_TGT_LANG: S.tgt_lang = optarg; break;
        case 'v': S.verbose = 1; break;
        case 'h': score_usage(); return CLI_OK;
        case O_BATCH:
        case O_THREADS:
            if (cli_opt_long(S.cmd, c == O_BATCH ? "--batch" : "--threads", optarg, 1,
                             c == O_BATCH ? 4096 : 256, &v))
                return CLI_USAGE;
            *(c == O_BATCH ? &S.batch : &S.threads) = (int)v;
            break;
        default:
            return cli_usage_error(S.cmd, "unknown option or missing value: %s",
                                   argv[optind - 1]);
        }
    }
    if ((S.align_layer || S.align_heads) && !S.align)
        return cli_usage_error(S.cmd, "--align-layer and --align-heads need --align");
    if (!src_file != !tgt_file)
        return cli_usage_error(S.cmd, "--source and --target go together");
    if (src_file && optind < argc)
        return cli_usage_error(S.cmd, "FILE arguments cannot be used with --source/--target");
    double t0 = cli_cpu_seconds();
    int status = score_setup(&S, model);
    if (status == 0) {
        if (src_file) {
            S.two_files = 1;
            cli_reader_init(&S.rd, (char **)&src_file, 1, '\n');
            cli_reader_init(&S.trd, (char **)&tgt_file, 1, '\n');
        } else {
            cli_reader_init(&S.rd, argv + optind, argc - optind, '\n');
        }
        S.rd.max = S.trd.max = CLI_MAX_RECORD;
        status = score_all(&S);
        if (S.verbose) {
            double t = cli_cpu_seconds() - t0;
            cli_error("%ld pairs, %ld target tokens, %.3f s CPU", S.n_pairs, S.n_tokens, t);
        }
    }
    score_teardown(&S);
    return status;
}
