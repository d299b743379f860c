/* cli_run.c — `attn [run]`: one source per input record in, one generated output per record out.
 *
 * Data flow: records (lines, NUL-separated records or the whole input) -> tokenizer (or --ids) ->
 * windows of sources sorted by length -> batches through generate.c on the engine -> outputs
 * written in input order, the record at the head of the order streamed as its tokens settle
 * (whole UTF-8 characters only, flushed), the others held until their turn.
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
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_NBEST 64   /* most hypotheses written per source */

/* ---- options ---------------------------------------------------------------------------------- */

void cli_run_usage(void)
{
    cli_puts(
        "Usage: attn [run] [OPTIONS] [FILE...]\n"
        "Generate an output (e.g. a translation) for every input line of the FILEs, in order\n"
        "('-' or no FILE: standard input), one output line per input line, flushed as written.\n\n"
        "  -m, --model FILE          model file (default: $ATTN_MODEL, the installed model, or\n"
        "                            models/ beside the binary)\n"
        "  -n, --max-tokens N        at most N generated tokens per source (default: the model's)\n"
        "      --min-tokens N        no end of sequence before N tokens\n"
        "      --greedy              greedy decoding (the default unless the model asks for beams)\n"
        "  -s, --sample              sample from the distribution (see -t, -k, -p, --min-p)\n"
        "  -t, --temperature T       sampling temperature (default 1)\n"
        "  -k, --top-k K             sample among the K most likely tokens (0: all)\n"
        "  -p, --top-p P             sample among the most likely tokens holding mass P (default 1)\n"
        "      --min-p P             drop tokens less likely than P times the most likely one\n"
        "      --seed N              random seed (default: drawn, shown with -v)\n"
        "  -b, --beam N              beam search with N beams\n"
        "      --n-best N            write the N best beam hypotheses (N lines per source; N <= 64)\n"
        "      --length-penalty X    beam score = log-probability / length^X (default: model's)\n"
        "      --early-stopping WHEN beam search stops: true, false (heuristic) or never\n"
        "      --repetition-penalty X  penalise tokens already generated (1: off)\n"
        "      --no-repeat-ngram N   never repeat an N-gram of the output\n"
        "      --prefix TEXT         force the output to start with TEXT (ids with --ids)\n"
        "  -0, --null                records are NUL-separated, in and out\n"
        "      --whole               the whole input is one source\n"
        "      --ids                 read and write space-separated token ids, not text\n"
        "      --special             recognise special tokens in the input, write them in the output\n"
        "      --truncate            cut sources longer than the model accepts (default: error)\n"
        "      --batch N             decode N sources together (sorted by length; default 1)\n"
        "      --threads N           compute threads (default: all CPUs, at most 8)\n"
        "      --json                one JSON object per source: ids, log-probabilities, score\n"
        "      --progress            progress on standard error\n"
        "  -v, --verbose             timings (and the drawn seed) on standard error\n"
        "  -h, --help                show this help\n");
}

enum {
    OPT_MIN_TOKENS = 256, OPT_GREEDY, OPT_MIN_P, OPT_SEED, OPT_NBEST, OPT_LENPEN, OPT_EARLY,
    OPT_REPPEN, OPT_NGRAM, OPT_PREFIX, OPT_WHOLE, OPT_IDS, OPT_SPECIAL, OPT_TRUNCATE, OPT_BATCH,
    OPT_THREADS, OPT_JSON, OPT_PROGRESS,
};

typedef struct options {
    const char *model;
    long max_tokens, min_tokens;     /* -1: the model's */
    int mode;                        /* -1: the model's */
    double temperature, top_p, min_p;
    long top_k, beams, n_best, ngram, batch, threads;
    double length_penalty, rep_penalty;
    int has_lenpen, has_reppen, has_ngram, early;   /* early: -1 = the model's */
    int has_seed, has_sample, has_beam;
    uint64_t seed;
    const char *prefix;
    int delim;                       /* '\n', '\0', or -1 for --whole */
    int ids, special, truncate, json, progress, verbose;
} options;

/* Parses the command line into o; returns 0, or CLI_USAGE after printing the error, or -1 after
 * printing the help. */
static int parse_options(options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"max-tokens", required_argument, NULL, 'n'},
        {"min-tokens", required_argument, NULL, OPT_MIN_TOKENS},
        {"greedy", no_argument, NULL, OPT_GREEDY}, {"sample", no_argument, NULL, 's'},
        {"temperature", required_argument, NULL, 't'}, {"top-k", required_argument, NULL, 'k'},
        {"top-p", required_argument, NULL, 'p'}, {"min-p", required_argument, NULL, OPT_MIN_P},
        {"seed", required_argument, NULL, OPT_SEED}, {"beam", required_argument, NULL, 'b'},
        {"n-best", required_argument, NULL, OPT_NBEST},
        {"length-penalty", required_argument, NULL, OPT_LENPEN},
        {"early-stopping", required_argument, NULL, OPT_EARLY},
        {"repetition-penalty", required_argument, NULL, OPT_REPPEN},
        {"no-repeat-ngram", required_argument, NULL, OPT_NGRAM},
        {"prefix", required_argument, NULL, OPT_PREFIX}, {"null", no_argument, NULL, '0'},
        {"whole", no_argument, NULL, OPT_WHOLE}, {"ids", no_argument, NULL, OPT_IDS},
        {"special", no_argument, NULL, OPT_SPECIAL}, {"truncate", no_argument, NULL, OPT_TRUNCATE},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"threads", required_argument, NULL, OPT_THREADS}, {"json", no_argument, NULL, OPT_JSON},
        {"progress", no_argument, NULL, OPT_PROGRESS}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->max_tokens = o->min_tokens = -1;
    o->mode = -1;
    o->early = -1;
    o->temperature = 1.0;
    o->top_p = 1.0;
    o->n_best = 1;
    o->batch = 1;
    o->delim = '\n';
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cpus < 1 ? 1 : cpus > 8 ? 8 : cpus;
    const char *cmd = argv[0];
    int c;
    optind = 1;
    opterr = 0;
    int li = -1;
    while ((c = getopt_long(argc, argv, "m:n:st:k:p:b:0vh", opts, &li)) != -1) {
        const char *a = optarg;
        char shortname[3] = {'-', (char)c, 0};
        const char *name = li >= 0 ? opts[li].name : shortname;
        li = -1;
        int bad = 0;
        long seed_l;
        switch (c) {
        case 'm': o->model = a; break;
        case 'n': bad = cli_parse_long(a, 1, 1 << 20, &o->max_tokens); break;
        case OPT_MIN_TOKENS: bad = cli_parse_long(a, 0, 1 << 20, &o->min_tokens); break;
        case OPT_GREEDY: o->mode = GEN_GREEDY; break;
        case 's': o->mode = GEN_SAMPLE; o->has_sample = 1; break;
        case 't': bad = cli_parse_double(a, 1e-6, 1e6, &o->temperature); break;
        case 'k': bad = cli_parse_long(a, 0, 1 << 24, &o->top_k); break;
        case 'p': bad = cli_parse_double(a, 1e-9, 1, &o->top_p); break;
        case OPT_MIN_P: bad = cli_parse_double(a, 0, 1, &o->min_p); break;
        case OPT_SEED:
            bad = cli_parse_long(a, 0, __LONG_MAX__, &seed_l);
            o->seed = (uint64_t)seed_l;
            o->has_seed = 1;
            break;
        case 'b':
            bad = cli_parse_long(a, 1, 1024, &o->beams);
            o->mode = GEN_BEAM;
            o->has_beam = 1;
            break;
        case OPT_NBEST: bad = cli_parse_long(a, 1, MAX_NBEST, &o->n_best); break;
        case OPT_LENPEN: bad = cli_parse_double(a, -100, 100, &o->length_penalty); o->has_lenpen = 1; break;
        case OPT_EARLY:
            o->early = strcmp(a, "true") == 0 ? GEN_STOP_EARLY : strcmp(a, "false") == 0 ?
                       GEN_STOP_HEURISTIC : strcmp(a, "never") == 0 ? GEN_STOP_NEVER : -1;
            bad = o->early < 0;
            break;
        case OPT_REPPEN: bad = cli_parse_double(a, 1e-3, 1e3, &o->rep_penalty); o->has_reppen = 1; break;
        case OPT_NGRAM: bad = cli_parse_long(a, 0, 1024, &o->ngram); o->has_ngram = 1; break;
        case OPT_PREFIX: o->prefix = a; break;
        case '0': o->delim = '\0'; break;
        case OPT_WHOLE: o->delim = -1; break;
        case OPT_IDS: o->ids = 1; break;
        case OPT_SPECIAL: o->special = 1; break;
        case OPT_TRUNCATE: o->truncate = 1; break;
        case OPT_BATCH: bad = cli_parse_long(a, 1, 4096, &o->batch); break;
        case OPT_THREADS: bad = cli_parse_long(a, 1, 256, &o->threads); break;
        case OPT_JSON: o->json = 1; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case 'v': o->verbose = 1; break;
        case 'h': cli_run_usage(); return -1;
        default:
            return cli_usage_error(cmd, "unknown option or missing value: %s", argv[optind - 1]);
        }
        if (bad)
            return cli_usage_error(cmd, "bad value for %s%s: '%s'", name[0] == '-' ? "" : "--", name, a);
    }
    if (o->has_sample && o->has_beam)
        return cli_usage_error(cmd, "--sample and --beam cannot be combined");
    if (o->n_best > 1 && o->mode != GEN_BEAM)
        return cli_usage_error(cmd, "--n-best needs beam search (-b N)");
    if (o->mode == GEN_BEAM && o->n_best > o->beams)
        return cli_usage_error(cmd, "--n-best %ld is more than the %ld beams", o->n_best, o->beams);
    if (o->min_tokens >= 0 && o->max_tokens >= 0 && o->min_tokens > o->max_tokens)
        return cli_usage_error(cmd, "--min-tokens is larger than --max-tokens");
    return 0;
}

/* ---- the engine behind generate.c ------------------------------------------------------------ */

typedef struct engine {
    tf_state *st;
    double t_encode;   /* seconds spent encoding */
} engine;

/* Returns seconds on a monotonic clock. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Encodes sources on the engine, timing it; returns the engine's status. */
static int eng_encode(void *ctx, const int32_t *const *src, const int *len, int n)
{
    engine *e = ctx;
    double t = now();
    int rc = tf_encode(e->st, src, len, n);
    e->t_encode += now() - t;
    return rc;
}

/* Starts decoder rows on the engine; returns its status. */
static int eng_begin(void *ctx, const int *src_of_row, int n)
{
    return tf_decode_begin(((engine *)ctx)->st, src_of_row, n);
}

/* Runs one decoder step on the engine; returns its status. */
static int eng_step(void *ctx, float *logits, const int32_t *tok, int n)
{
    return tf_decode_step(((engine *)ctx)->st, logits, tok, n);
}

/* Reorders (or drops) decoder rows on the engine; returns its status. */
static int eng_reorder(void *ctx, const int *parent, int n)
{
    return tf_decode_reorder(((engine *)ctx)->st, parent, n);
}

/* ---- input records ---------------------------------------------------------------------------- */

typedef struct reader {
    char **files;
    int n_files, next_file;
    FILE *f;
    const char *name;
    long record;             /* number of the last record read in the current file */
    int delim;               /* '\n', '\0' or -1 (whole input) */
    int finished;
    off_t total;             /* bytes of the input when every file is a regular file, else -1 */
    off_t consumed;
} reader;

/* Sums the sizes of the input files when all are regular files; returns -1 otherwise. */
static off_t input_size(char **files, int n)
{
    off_t total = 0;
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (strcmp(files[i], "-") == 0 ? fstat(0, &sb) : stat(files[i], &sb))
            return -1;
        if (!S_ISREG(sb.st_mode))
            return -1;
        total += sb.st_size;
    }
    return total;
}

/* Reads the next record into *buf (cap *cap, NUL-terminated); returns 1 with *len set, 0 at the
 * end of the input, or -1 after printing a read error. */
static int reader_next(reader *r, char **buf, size_t *cap, size_t *len)
{
    if (r->finished)
        return 0;
    if (r->delim < 0) {
        /* the whole input: every file, concatenated */
        size_t n = 0;
        for (int i = 0; i < r->n_files; i++) {
            FILE *f = cli_open_input(r->files[i]);
            if (!f)
                return -1;
            char *part;
            size_t plen;
            if (cli_slurp(f, &part, &plen) < 0) {
                cli_error("%s: %s", r->files[i], strerror(errno));
                cli_close_input(f);
                return -1;
            }
            cli_close_input(f);
            if (n + plen + 1 > *cap) {
                char *nb = realloc(*buf, n + plen + 1);
                if (!nb) {
                    free(part);
                    cli_error("out of memory");
                    return -1;
                }
                *buf = nb;
                *cap = n + plen + 1;
            }
            memcpy(*buf + n, part, plen);
            n += plen;
            free(part);
        }
        if (n > 0 && (*buf)[n - 1] == '\n')
            n--;
        if (!*buf && !(*buf = calloc(1, 1)))
            return -1;
        (*buf)[n] = '\0';
        *len = n;
        r->finished = 1;
        r->name = r->n_files == 1 ? r->files[0] : "input";
        r->record = 1;
        return 1;
    }
    for (;;) {
        if (!r->f) {
            if (r->next_file >= r->n_files) {
                r->finished = 1;
                return 0;
            }
            r->name = r->files[r->next_file++];
            r->f = cli_open_input(r->name);
            r->record = 0;
            if (!r->f)
                return -1;
        }
        errno = 0;
        ssize_t n = getdelim(buf, cap, r->delim, r->f);
        if (n >= 0) {
            r->consumed += n;
            if (n > 0 && (*buf)[n - 1] == (char)r->delim)
                (*buf)[--n] = '\0';
            *len = (size_t)n;
            r->record++;
            return 1;
        }
        if (ferror(r->f)) {
            cli_error("%s: %s", r->name, strerror(errno ? errno : EIO));
            return -1;
        }
        cli_close_input(r->f);
        r->f = NULL;
    }
}

/* ---- the run ----------------------------------------------------------------------------------- */

/* One source of the current window and, once decoded, its outputs. */
typedef struct item {
    char *text;             /* the record (NUL-terminated), owned */
    size_t text_len, text_cap;
    int32_t *src;           /* (src_len) source ids, owned */
    int src_len, src_cap;
    int empty;              /* empty record: empty output, no decoding */
    int running, gen_index; /* reported by the running batch, as generate.c's source gen_index */
    int done;
    size_t written;         /* ids of hyps[0] (or of the settled prefix) already written */
    int n_hyps;
    int32_t *ids;           /* (n_best, max_new) */
    float *lps;             /* (n_best, max_new + 1) */
    int len[MAX_NBEST], ended[MAX_NBEST];
    double score[MAX_NBEST];
} item;

typedef struct run {
    options o;
    const char *cmd;
    tf_model *model;
    const tf_config *cfg;
    tokenizer *tok;
    tok_encoder *enc;
    engine eng;
    gen_model gm;
    gen_params gp;
    gen *g;
    int32_t bad_ids[TF_MAX_BAD_IDS];
    int32_t *prefix;        /* (n_prefix) */
    int n_prefix;
    int max_new, max_src;   /* generated tokens; longest source */
    int src_bos, src_eos;   /* text sources get bos_id before / eos_id after (src.add_bos/eos) */
    int window;             /* sources read before decoding */
    item *items;            /* (window) */
    int n_items, head;
    long first_index;       /* input position of the window's first item */
    gen_source *batch_src;  /* (batch) */
    int *batch_item;        /* (batch) item of each source of the running batch */
    int *order;             /* (window) items sorted by source length */
    char *out;              /* (out_cap) output bytes of one token or one JSON record */
    size_t out_cap;
    tok_stream stream;
    /* statistics for -v and --progress */
    double t_start, t_first, t_last_progress;
    long n_done, n_tokens;
    reader rd;
} run;

/* Prints a runtime error naming the input record; returns CLI_FAIL. */
static int record_error(run *R, long record, const char *what)
{
    cli_error("%s:%ld: %s", R->rd.name, record, what);
    return CLI_FAIL;
}

/* Makes room for n bytes in R->out; returns 0 or -1 (out of memory, printed). */
static int out_reserve(run *R, size_t n)
{
    if (n <= R->out_cap)
        return 0;
    char *p = realloc(R->out, n);
    if (!p) {
        cli_error("out of memory");
        return -1;
    }
    R->out = p;
    R->out_cap = n;
    return 0;
}

/* Returns 1 when id is written as text: not special, or --special given. */
static int id_shown(const run *R, int32_t id)
{
    return R->o.special || !tok_is_special(R->tok, id);
}

/* Writes ids[from..to) of an output: through the stream decoder (text) or as numbers (--ids). */
static void write_ids(run *R, const int32_t *ids, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (R->o.ids) {
            cli_printf(i ? " %d" : "%d", ids[i]);
            continue;
        }
        if (!id_shown(R, ids[i]))
            continue;
        size_t n;
        if (tok_stream_push(&R->stream, R->out, R->out_cap, &n, ids[i]) == TOK_OK)
            cli_write(R->out, n);
    }
}

/* Ends an output record: the held bytes of an incomplete character, then the separator. */
static void end_record(run *R)
{
    size_t n;
    if (!R->o.ids && tok_stream_flush(&R->stream, R->out, R->out_cap, &n) == TOK_OK)
        cli_write(R->out, n);
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
    if (!R->o.ids)
        tok_stream_init(&R->stream, R->tok);
}

/* Returns the length (1-4) of the valid UTF-8 character at s (n bytes left), or 0. */
static int utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    int need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if ((size_t)need >= n || s[1] < lo || s[1] > hi)
        return 0;
    for (int k = 2; k <= need; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    return need + 1;
}

void cli_json_string(const char *s, size_t n)
{
    cli_write("\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        int k = utf8_char((const unsigned char *)s + i, n - i);
        if (c == '"' || c == '\\')
            cli_printf("\\%c", c);
        else if (c == '\n')
            cli_puts("\\n");
        else if (c == '\t')
            cli_puts("\\t");
        else if (c < 0x20 || c == 0x7f)
            cli_printf("\\u%04x", c);
        else if (k > 0)
            cli_write(s + i, (size_t)k);
        else
            cli_puts("\\ufffd");
        i += k > 0 ? (size_t)k : 1;
    }
    cli_write("\"", 1);
}

/* Writes a float for JSON (non-finite values as null). */
static void json_number(double x)
{
    if (isfinite(x))
        cli_printf("%.6g", x);
    else
        cli_puts("null");
}

/* Writes the text (or the id list with --ids) of ids (n) as a JSON string. */
static void json_output_text(run *R, const int32_t *ids, int n)
{
    if (R->o.ids) {
        cli_write("\"", 1);
        for (int i = 0; i < n; i++)
            cli_printf(i ? " %d" : "%d", ids[i]);
        cli_write("\"", 1);
        return;
    }
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t tl = 0;
        if (id_shown(R, ids[i]) && tok_token_bytes(R->tok, ids[i], &tl))
            len += tl;
    }
    if (out_reserve(R, len + 1) < 0)
        exit(CLI_FAIL);
    len = 0;
    for (int i = 0; i < n; i++) {
        size_t tl = 0;
        const char *b = id_shown(R, ids[i]) ? tok_token_bytes(R->tok, ids[i], &tl) : NULL;
        if (b) {
            memcpy(R->out + len, b, tl);
            len += tl;
        }
    }
    cli_json_string(R->out, len);
}

/* Writes one hypothesis' fields (output, ids, logprobs, ended, score) into a JSON object. */
static void json_hyp(run *R, const item *it, int k)
{
    const int32_t *ids = it->ids + (size_t)k * R->max_new;
    const float *lps = it->lps + (size_t)k * (R->max_new + 1);
    cli_puts("\"output\":");
    json_output_text(R, ids, it->len[k]);
    cli_puts(",\"ids\":[");
    for (int i = 0; i < it->len[k]; i++)
        cli_printf(i ? ",%d" : "%d", ids[i]);
    cli_puts("],\"logprobs\":[");
    for (int i = 0; i < it->len[k] + it->ended[k]; i++) {
        if (i)
            cli_write(",", 1);
        json_number(lps[i]);
    }
    cli_printf("],\"ended\":%s,\"score\":", it->ended[k] ? "true" : "false");
    json_number(it->score[k]);
}

/* Writes a finished item as one JSON object per line (or NUL-terminated with -0). */
static void write_json(run *R, const item *it, long index)
{
    cli_printf("{\"index\":%ld,\"source\":", index);
    cli_json_string(it->text, it->text_len);
    cli_write(",", 1);
    json_hyp(R, it, 0);
    if (R->o.n_best > 1) {
        cli_puts(",\"n_best\":[");
        for (int k = 0; k < it->n_hyps; k++) {
            cli_puts(k ? ",{" : "{");
            json_hyp(R, it, k);
            cli_write("}", 1);
        }
        cli_write("]", 1);
    }
    cli_write("}", 1);
    cli_write(R->o.delim == '\0' ? "\0" : "\n", 1);
}

/* Returns 1 when outputs are written token by token. */
static int streams(const run *R)
{
    return !R->o.json && R->o.n_best == 1;
}

/* Writes whatever the head item has that is not written yet; ends it when it is done. */
static void write_head(run *R)
{
    item *it = &R->items[R->head];
    if (it->empty) {
        if (R->o.json)
            write_json(R, it, R->first_index + R->head);
        else
            for (long k = 0; k < R->o.n_best; k++)
                end_record(R);
        return;
    }
    if (!it->done) {
        if (!streams(R) || !it->running)
            return;
        const gen_result *res = gen_result_get(R->g, it->gen_index);
        if ((size_t)res->n_settled > it->written) {
            write_ids(R, res->settled, it->written, (size_t)res->n_settled);
            it->written = (size_t)res->n_settled;
            cli_flush();
        }
        return;
    }
    if (R->o.json) {
        write_json(R, it, R->first_index + R->head);
        return;
    }
    for (int k = 0; k < it->n_hyps; k++) {
        const int32_t *ids = it->ids + (size_t)k * R->max_new;
        write_ids(R, ids, k == 0 ? it->written : 0, (size_t)it->len[k]);
        end_record(R);
    }
}

/* Writes the head item and every following item that is done, then streams the next one. */
static void advance(run *R)
{
    while (R->head < R->n_items) {
        item *it = &R->items[R->head];
        write_head(R);
        if (!it->empty && !it->done)
            break;
        R->head++;
    }
    cli_flush();
}

/* Redraws the progress line on stderr (at most twice a second unless force). */
static void show_progress(run *R, int force)
{
    double t = now();
    if (!force && t - R->t_last_progress < 0.5)
        return;
    R->t_last_progress = t;
    double el = t - R->t_start;
    int tty = isatty(2);
    fprintf(stderr, "%sattn: %ld sources, %.1f tokens/s", tty ? "\r" : "", R->n_done,
            el > 0 ? R->n_tokens / el : 0.0);
    if (R->rd.total > 0 && R->rd.consumed > 0 && R->rd.consumed < R->rd.total)
        fprintf(stderr, ", %.0f s left", el * (double)(R->rd.total - R->rd.consumed) / (double)R->rd.consumed);
    fputs(tty ? "\033[K" : "\n", stderr);
    fflush(stderr);
}

/* generate.c progress callback: copies a finished source's outputs and writes what is due. */
static void on_progress(void *user, int s)
{
    run *R = user;
    const gen_result *res = gen_result_get(R->g, s);
    int idx = R->batch_item[s];
    item *it = &R->items[idx];
    if (R->t_first == 0 && res->n_settled > 0)
        R->t_first = now();
    it->running = 1;
    if (res->done) {
        it->n_hyps = res->n_hyps;
        for (int k = 0; k < res->n_hyps; k++) {
            const gen_hyp *h = &res->hyps[k];
            memcpy(it->ids + (size_t)k * R->max_new, h->ids, (size_t)h->len * sizeof *h->ids);
            memcpy(it->lps + (size_t)k * (R->max_new + 1), h->logprobs,
                   (size_t)(h->len + h->ended) * sizeof *h->logprobs);
            it->len[k] = h->len;
            it->ended[k] = h->ended;
            it->score[k] = h->score;
        }
        it->done = 1;
        it->running = 0;
        R->n_done++;
        R->n_tokens += res->hyps[0].len + res->hyps[0].ended;
        if (R->o.progress)
            show_progress(R, 0);
    }
    if (idx == R->head)
        advance(R);
}

/* Turns record text into source ids for item it; returns 0, or CLI_FAIL after the error. */
static int make_source(run *R, item *it, long record)
{
    size_t need = it->text_len + 2;
    if ((size_t)it->src_cap < need) {
        int32_t *p = realloc(it->src, need * sizeof *p);
        if (!p) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        it->src = p;
        it->src_cap = (int)need;
    }
    size_t n = 0;
    if (R->o.ids) {
        const char *s = it->text;
        while (*s) {
            while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
            if (!*s)
                break;
            char *end;
            errno = 0;
            long v = strtol(s, &end, 10);
            if (end == s || errno || v < 0 || v >= R->cfg->vocab_size ||
                (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')) {
                char what[96];
                snprintf(what, sizeof what, "not a token id of this model: '%.20s'", s);
                return record_error(R, record, what);
            }
            it->src[n++] = (int32_t)v;
            s = end;
        }
    } else {
        size_t pre = (size_t)R->src_bos;
        int rc = tok_encoder_encode(R->enc, it->src + pre, (size_t)it->src_cap - pre, &n, it->text,
                                    it->text_len, R->o.special ? TOK_SPECIAL : 0);
        if (rc < 0)
            return record_error(R, record, tok_strerror(rc));
        if (n > 0 && pre) {
            it->src[0] = R->cfg->bos_id;
            n++;
        }
        if (n > 0 && R->src_eos)
            it->src[n++] = R->cfg->eos_id;
    }
    it->empty = n == 0;
    if (n > (size_t)R->max_src) {
        if (!R->o.truncate) {
            char what[160];
            snprintf(what, sizeof what, "source has %zu tokens, the model accepts at most %d "
                     "(--truncate cuts it)", n, R->max_src);
            return record_error(R, record, what);
        }
        int keep_eos = !R->o.ids && R->src_eos;
        n = (size_t)R->max_src;
        if (keep_eos)
            it->src[n - 1] = R->cfg->eos_id;
    }
    it->src_len = (int)n;
    return 0;
}

/* Orders item indices by source length, then input position (qsort_r comparison). */
static int by_length(const void *a, const void *b, void *items)
{
    const item *it = items;
    int x = *(const int *)a, y = *(const int *)b;
    int d = it[x].src_len - it[y].src_len;
    return d ? d : x - y;
}

/* Decodes the items of the window and writes them in order; returns 0 or CLI_FAIL. */
static int decode_window(run *R, long first_index)
{
    int n = 0;
    R->first_index = first_index;
    for (int i = 0; i < R->n_items; i++)
        if (!R->items[i].empty)
            R->order[n++] = i;
    qsort_r(R->order, (size_t)n, sizeof *R->order, by_length, R->items);
    R->head = 0;
    advance(R);
    for (int b = 0; b < n; b += (int)R->o.batch) {
        int k = n - b < R->o.batch ? n - b : (int)R->o.batch;
        for (int j = 0; j < k; j++) {
            item *it = &R->items[R->order[b + j]];
            R->batch_item[j] = R->order[b + j];
            R->batch_src[j] = (gen_source){it->src, it->src_len, (uint64_t)(first_index + R->order[b + j])};
            it->gen_index = j;
        }
        int rc = gen_run(R->g, &R->gm, R->batch_src, k, on_progress, R);
        if (rc < 0) {
            if (rc == ATTN_ERR_DECODER)
                cli_error("model: %s", attn_strerror(gen_model_status(R->g)));
            else
                cli_error("generate: %s", attn_strerror(rc));
            return CLI_FAIL;
        }
    }
    advance(R);
    return 0;
}

/* Reads the input window by window and decodes it; returns the exit status. */
static int run_all(run *R, char **files, int n_files)
{
    R->rd = (reader){.files = files, .n_files = n_files, .delim = R->o.delim};
    R->rd.total = input_size(files, n_files);
    long index = 0;
    int status = CLI_OK, end = 0;
    while (!end && status == CLI_OK) {
        R->n_items = 0;
        while (R->n_items < R->window) {
            item *it = &R->items[R->n_items];
            int rc = reader_next(&R->rd, &it->text, &it->text_cap, &it->text_len);
            if (rc <= 0) {
                end = 1;
                if (rc < 0)
                    status = CLI_FAIL;
                break;
            }
            if (make_source(R, it, R->rd.record) != 0) {
                end = 1;
                status = CLI_FAIL;
                break;
            }
            it->done = it->running = 0;
            it->written = 0;
            it->n_hyps = 0;
            if (it->empty) {
                it->n_hyps = 1;
                it->len[0] = it->ended[0] = 0;
                it->score[0] = 0;
            }
            R->n_items++;
        }
        if (R->n_items > 0 && decode_window(R, index) != 0)
            return CLI_FAIL;
        index += R->n_items;
    }
    return status;
}

/* Parses --prefix into R->prefix (text through the tokenizer, or ids); returns 0 or CLI_USAGE. */
static int make_prefix(run *R)
{
    const char *p = R->o.prefix;
    if (!p)
        return 0;
    size_t len = strlen(p);
    R->prefix = malloc((len + 1) * sizeof *R->prefix);
    if (!R->prefix)
        return CLI_FAIL;
    size_t n = 0;
    if (R->o.ids) {
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || v >= R->cfg->vocab_size)
                return cli_usage_error(R->cmd, "--prefix: not a token id list: '%s'", R->o.prefix);
            R->prefix[n++] = (int32_t)v;
            p = end;
            while (*p == ' ')
                p++;
        }
    } else if (tok_encode(R->tok, R->prefix, len + 1, &n, p, len, R->o.special ? TOK_SPECIAL : 0) < 0) {
        return cli_usage_error(R->cmd, "--prefix: cannot encode '%s'", p);
    }
    R->n_prefix = (int)n;
    return 0;
}

/* Fills R->gp from the model's defaults and the options; returns 0 or CLI_USAGE. */
static int make_params(run *R)
{
    const tf_config *c = R->cfg;
    const options *o = &R->o;
    gen_params *p = &R->gp;
    gen_params_default(p);
    int model_max = c->max_length > 1 ? c->max_length - 1 : 1;
    R->max_new = o->max_tokens > 0 ? (int)o->max_tokens : model_max;
    if (R->max_new > c->max_positions) {
        if (o->max_tokens > 0)
            return cli_usage_error(R->cmd, "-n %ld: the model generates at most %d tokens",
                                   o->max_tokens, c->max_positions);
        R->max_new = c->max_positions;
    }
    p->max_new_tokens = R->max_new;
    p->min_new_tokens = o->min_tokens >= 0 ? (int)o->min_tokens : c->min_length > 1 ? c->min_length - 1 : 0;
    if (p->min_new_tokens > p->max_new_tokens)
        p->min_new_tokens = p->max_new_tokens;
    p->mode = o->mode >= 0 ? o->mode : c->num_beams > 1 ? GEN_BEAM : GEN_GREEDY;
    p->num_beams = p->mode != GEN_BEAM ? 1 : o->mode == GEN_BEAM ? (int)o->beams : c->num_beams;
    p->n_best = (int)o->n_best;
    p->decoder_start_id = c->decoder_start_id;
    p->eos_id = c->eos_id;
    p->pad_id = c->pad_id;
    p->forced_bos_id = c->forced_bos_id;
    p->forced_eos_id = c->forced_eos_id;
    for (int i = 0; i < c->n_bad_ids; i++) {
        R->bad_ids[i] = c->bad_ids[i];
        /* banning pad in a model file means Marian's rule: also before log_softmax in beams */
        if (c->bad_ids[i] == c->pad_id)
            p->beam_mask_pad = 1;
    }
    p->bad_ids = R->bad_ids;
    p->n_bad_ids = c->n_bad_ids;
    p->prefix = R->prefix;
    p->prefix_len = R->n_prefix;
    p->repetition_penalty = (float)(o->has_reppen ? o->rep_penalty : c->repetition_penalty);
    p->no_repeat_ngram = o->has_ngram ? (int)o->ngram : c->no_repeat_ngram;
    p->temperature = (float)o->temperature;
    p->top_k = (int)o->top_k;
    p->top_p = (float)o->top_p;
    p->min_p = (float)o->min_p;
    p->length_penalty = (float)(o->has_lenpen ? o->length_penalty : c->length_penalty);
    p->early_stopping = o->early >= 0 ? (gen_stopping)o->early :
                        (gen_stopping)c->early_stopping;   /* 0 false, 1 true, 2 never */
    p->seed = o->seed;
    if (p->mode == GEN_SAMPLE && !o->has_seed) {
        if (getrandom(&p->seed, sizeof p->seed, 0) != sizeof p->seed)
            p->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        p->seed &= 0x7fffffffffffffffull;
    }
    if (gen_params_check(p, c->vocab_size) < 0)
        return cli_usage_error(R->cmd, "these generation settings do not fit the model");
    return 0;
}

/* Loads the model and its tokenizer into R; returns 0 or CLI_FAIL after the error. */
static int load_model(run *R)
{
    if (cli_open_model(&R->model, &R->tok, &R->enc, &R->src_bos, &R->src_eos, R->o.model,
                       R->o.ids) != 0)
        return CLI_FAIL;
    R->cfg = tf_model_config(R->model);
    return 0;
}

/* Allocates the decoder, the engine state and the window; returns 0 or CLI_FAIL. */
static int setup(run *R)
{
    int batch = (int)R->o.batch, rows;
    R->max_src = R->cfg->max_positions;
    R->window = batch == 1 ? 1 : batch * 8;
    int rc = gen_open(&R->g, &R->gp, R->cfg->vocab_size, batch);
    if (rc < 0) {
        cli_error("generate: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    rows = gen_rows(R->g, batch);
    rc = tf_state_open(&R->eng.st, R->model, batch, rows, R->max_src, R->max_new, (int)R->o.threads);
    if (rc < 0) {
        cli_error("engine: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    R->gm = (gen_model){&R->eng, R->cfg->vocab_size, eng_encode, eng_begin, eng_step, eng_reorder};
    R->items = calloc((size_t)R->window, sizeof *R->items);
    R->order = calloc((size_t)R->window, sizeof *R->order);
    R->batch_src = calloc((size_t)batch, sizeof *R->batch_src);
    R->batch_item = calloc((size_t)batch, sizeof *R->batch_item);
    if (!R->items || !R->order || !R->batch_src || !R->batch_item)
        goto nomem;
    for (int i = 0; i < R->window; i++) {
        R->items[i].ids = malloc((size_t)R->o.n_best * R->max_new * sizeof(int32_t));
        R->items[i].lps = malloc((size_t)R->o.n_best * (R->max_new + 1) * sizeof(float));
        if (!R->items[i].ids || !R->items[i].lps)
            goto nomem;
    }
    if (out_reserve(R, (R->tok ? tok_max_token_bytes(R->tok) : 0) + 64) < 0)
        return CLI_FAIL;
    if (R->tok)
        tok_stream_init(&R->stream, R->tok);
    return 0;
nomem:
    cli_error("out of memory");
    return CLI_FAIL;
}

/* Frees everything R holds. */
static void teardown(run *R)
{
    for (int i = 0; R->items && i < R->window; i++) {
        free(R->items[i].text);
        free(R->items[i].src);
        free(R->items[i].ids);
        free(R->items[i].lps);
    }
    free(R->items);
    free(R->order);
    free(R->batch_src);
    free(R->batch_item);
    free(R->out);
    free(R->prefix);
    gen_free(R->g);
    tf_state_free(R->eng.st);
    tok_encoder_free(R->enc);
    tok_free(R->tok);
    tf_model_free(R->model);
}

int cli_run(int argc, char **argv)
{
    run R;
    memset(&R, 0, sizeof R);
    R.cmd = argv[0];
    int rc = parse_options(&R.o, argc, argv);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    double t0 = now();
    int status = load_model(&R);
    if (status == 0)
        status = make_prefix(&R);
    if (status == 0)
        status = make_params(&R);
    if (status == 0)
        status = setup(&R);
    if (status == 0) {
        double t_load = now() - t0;
        if (R.o.verbose) {
            cli_error("model loaded in %.0f ms (%d layers + %d, d_model %d, vocab %d, %d threads)",
                      t_load * 1e3, R.cfg->n_enc_layers, R.cfg->n_dec_layers, R.cfg->d_model,
                      R.cfg->vocab_size, (int)R.o.threads);
            if (R.gp.mode == GEN_SAMPLE)
                cli_error("seed %llu", (unsigned long long)R.gp.seed);
        }
        char *dash[] = {"-"};
        R.t_start = now();
        status = run_all(&R, optind < argc ? argv + optind : dash, optind < argc ? argc - optind : 1);
        double el = now() - R.t_start;
        if (R.o.progress)
            show_progress(&R, 1);
        if (R.o.progress && isatty(2))
            fputc('\n', stderr);
        if (R.o.verbose)
            cli_error("%ld sources, %ld tokens in %.3f s: encode %.0f ms, first token %.0f ms, "
                      "%.1f tokens/s", R.n_done, R.n_tokens, el, R.eng.t_encode * 1e3,
                      R.t_first > 0 ? (R.t_first - R.t_start) * 1e3 : 0.0,
                      el > 0 ? R.n_tokens / el : 0.0);
    }
    teardown(&R);
    return status;
}
