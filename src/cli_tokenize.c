/* cli_tokenize.c — `attn tokenize`, `attn detokenize` and `attn train-tokenizer`. */
#include "bpe.h"
#include "tok.h"
#include "cli.h"
#include "modelfile.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared ------------------------------------------------------------------------------- */

/* Opens the tokenizer named on the command line (or the default model's): an attn tokenizer
 * file, an attn model file (its "tokenizer" blob) or a tiktoken rank file; prints the error and
 * returns NULL on failure. */
static tokenizer *open_tokenizer(const char *cmd, const char *path)
{
    char why[256], head[16] = "";
    tokenizer *t = NULL;
    if (!path)
        path = cli_default_model(NULL);
    if (!path) {
        cli_error("%s: no tokenizer given (-t) and no default model found", cmd);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got < 15 || memcmp(head, "attn-tokenizer ", 15) != 0) {
        mf_options opt;
        mf_options_default(&opt);
        opt.verify = MF_VERIFY_NONE;
        mf_file *mf;
        int rc = mf_open(&mf, path, &opt, why, sizeof why);
        if (rc == ATTN_OK) {
            const void *blob;
            size_t len;
            if (mf_get_blob(mf, "tokenizer", &blob, &len) != ATTN_OK)
                cli_error("%s: the model has no tokenizer (no \"tokenizer\" blob)", path);
            else if (tok_open_mem(&t, blob, len, why, sizeof why) < 0)
                cli_error("%s: embedded tokenizer: %s", path, why);
            mf_free(mf);
            return t;
        }
        if (rc != ATTN_ERR_FORMAT) {
            cli_error("%s: %s", path, why);
            return NULL;
        }
    }
    if (tok_open(&t, path, why, sizeof why) < 0) {
        cli_error("%s: %s", path, why);
        return NULL;
    }
    return t;
}

/* Reads one line of f into *line (without its '\n'); returns its length or -1 at the end. */
static long read_line(FILE *f, char **line, size_t *cap)
{
    ssize_t n = getline(line, cap, f);
    if (n < 0)
        return -1;
    if (n > 0 && (*line)[n - 1] == '\n')
        n--;
    return (long)n;
}

/* ---- tokenize ----------------------------------------------------------------------------- */

static void tokenize_usage(void)
{
    cli_puts("Usage: attn tokenize [-t TOKENIZER] [--pattern NAME|REGEX] [--special] [--whole]\n"
             "                     [FILE...]\n"
             "Print the token ids of each input line, space-separated, one line per line\n"
             "(the newline itself is not encoded). FILE '-' or none reads stdin.\n\n"
             "  -t, --tokenizer FILE  an attn tokenizer file, a .tiktoken rank file or an attn\n"
             "                        model file (its embedded tokenizer); default: the default model\n"
             "  -p, --pattern P       split with another pre-tokenizer pattern: gpt2, cl100k, o200k\n"
             "                        or a PCRE2 regex (default: the tokenizer's own)\n"
             "      --special         recognise special tokens' text (e.g. <|endoftext|>); without\n"
             "                        it their text is encoded as plain text\n"
             "      --whole           encode each input as one text (newlines included)\n"
             "  -h, --help            show this help\n");
}

/* Encodes text and prints its ids on one line through a 64 kB buffer; returns 0 or -1 after
 * printing the error. */
static int print_ids(tok_encoder *e, int32_t **ids, size_t *cap, const char *text, size_t len,
                     int flags)
{
    static char out[1 << 16];
    size_t n, used = 0;
    if (*cap < len + 1) {
        int32_t *p = realloc(*ids, (len + 1) * sizeof *p);
        if (!p) {
            cli_error("tokenize: out of memory");
            return -1;
        }
        *ids = p;
        *cap = len + 1;
    }
    int rc = tok_encoder_encode(e, *ids, *cap, &n, text, len, flags);
    if (rc < 0) {
        cli_error("tokenize: %s", tok_strerror(rc));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (used > sizeof out - 16) {
            cli_write(out, used);
            used = 0;
        }
        char tmp[12];
        int k = 0;
        uint32_t v = (uint32_t)(*ids)[i];
        do {
            tmp[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (k)
            out[used++] = tmp[--k];
        out[used++] = i + 1 < n ? ' ' : '\n';
    }
    if (n == 0)
        out[used++] = '\n';
    cli_write(out, used);
    return 0;
}

int cli_tokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tokenizer", required_argument, NULL, 't'}, {"special", no_argument, NULL, 'S'},
        {"whole", no_argument, NULL, 'W'},           {"pattern", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *tok_path = NULL, *pattern = NULL;
    int flags = 0, whole = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "t:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': tok_path = optarg; break;
        case 'p': pattern = optarg; break;
        case 'S': flags |= TOK_SPECIAL; break;
        case 'W': whole = 1; break;
        case 'h': tokenize_usage(); return CLI_OK;
        default:
            return cli_usage_error("tokenize", "unknown option or missing value: %s",
                                   argv[optind - 1]);
        }
    }
    tokenizer *t = open_tokenizer("tokenize", tok_path);
    if (!t)
        return CLI_FAIL;
    char why[256];
    if (pattern && tok_set_pattern(t, pattern, why, sizeof why) < 0) {
        tok_free(t);
        return cli_usage_error("tokenize", "--pattern: %s", why);
    }
    tok_encoder *e;
    if (tok_encoder_open(&e, t) < 0) {
        tok_free(t);
        cli_error("tokenize: out of memory");
        return CLI_FAIL;
    }
    int status = CLI_OK;
    int32_t *ids = NULL;
    char *line = NULL;
    size_t cap = 0, line_cap = 0;
    char *dash[] = {"-"};
    char **files = optind < argc ? argv + optind : dash;
    int n_files = optind < argc ? argc - optind : 1;
    for (int i = 0; i < n_files && status == CLI_OK; i++) {
        FILE *f = cli_open_input(files[i]);
        if (!f) {
            status = CLI_FAIL;
            break;
        }
        if (whole) {
            char *buf;
            size_t len;
            if (cli_slurp(f, &buf, &len) < 0) {
                cli_error("%s: %s", files[i], strerror(errno));
                status = CLI_FAIL;
            } else {
                if (print_ids(e, &ids, &cap, buf, len, flags) < 0)
                    status = CLI_FAIL;
                free(buf);
            }
        } else {
            long len;
            while ((len = read_line(f, &line, &line_cap)) >= 0)
                if (print_ids(e, &ids, &cap, line, (size_t)len, flags) < 0) {
                    status = CLI_FAIL;
                    break;
                }
            if (status == CLI_OK && ferror(f)) {
                cli_error("%s: %s", files[i], strerror(errno));
                status = CLI_FAIL;
            }
        }
        cli_close_input(f);
    }
    free(ids);
    free(line);
    tok_encoder_free(e);
    tok_free(t);
    return status;
}

/* ---- detokenize --------------------------------------------------------------------------- */

static void detokenize_usage(void)
{
    cli_puts("Usage: attn detokenize [-t TOKENIZER] [FILE...]\n"
             "Turn each input line of space-separated token ids back into text, one line each.\n\n"
             "  -t, --tokenizer FILE  an attn tokenizer file, a .tiktoken rank file or an attn\n"
             "                        model file; default: the default model\n"
             "  -h, --help            show this help\n");
}

int cli_detokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tokenizer", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *tok_path = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': tok_path = optarg; break;
        case 'h': detokenize_usage(); return CLI_OK;
        default:
            return cli_usage_error("detokenize", "unknown option or missing value: %s",
                                   argv[optind - 1]);
        }
    }
    tokenizer *t = open_tokenizer("detokenize", tok_path);
    if (!t)
        return CLI_FAIL;
    int status = CLI_OK;
    char *line = NULL, *out = NULL;
    int32_t *ids = NULL;
    size_t line_cap = 0, ids_cap = 0, out_cap = 0;
    char *dash[] = {"-"};
    char **files = optind < argc ? argv + optind : dash;
    int n_files = optind < argc ? argc - optind : 1;
    for (int i = 0; i < n_files && status == CLI_OK; i++) {
        FILE *f = cli_open_input(files[i]);
        if (!f) {
            status = CLI_FAIL;
            break;
        }
        long len;
        size_t lineno = 0;
        while (status == CLI_OK && (len = read_line(f, &line, &line_cap)) >= 0) {
            lineno++;
            size_t n = 0;
            if (ids_cap < (size_t)len / 2 + 1) {
                ids_cap = (size_t)len / 2 + 1;
                int32_t *p = realloc(ids, ids_cap * sizeof *p);
                if (!p) {
                    cli_error("detokenize: out of memory");
                    status = CLI_FAIL;
                    break;
                }
                ids = p;
            }
            for (char *p = line, *end = line + len; p < end;) {
                while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
                    p++;
                if (p == end)
                    break;
                long v = 0;
                char *q = p;
                while (q < end && *q >= '0' && *q <= '9' && v <= 0x7fffffff)
                    v = v * 10 + (*q++ - '0');
                if (q == p || v > 0x7fffffff || (q < end && *q != ' ' && *q != '\t' && *q != '\r')) {
                    cli_error("%s:%zu: not a list of token ids", files[i], lineno);
                    status = CLI_FAIL;
                    break;
                }
                ids[n++] = (int32_t)v;
                p = q;
            }
            if (status != CLI_OK)
                break;
            size_t m;
            int rc = tok_decode(t, out, out_cap, &m, ids, n);
            if (rc == TOK_ERR_SPACE) {
                char *o = realloc(out, m + 1);
                if (!o) {
                    cli_error("detokenize: out of memory");
                    status = CLI_FAIL;
                    break;
                }
                out = o;
                out_cap = m + 1;
                rc = tok_decode(t, out, out_cap, &m, ids, n);
            }
            if (rc < 0) {
                cli_error("%s:%zu: %s", files[i], lineno, tok_strerror(rc));
                status = CLI_FAIL;
                break;
            }
            cli_write(out, m);
            cli_write("\n", 1);
        }
        cli_close_input(f);
    }
    free(line);
    free(out);
    free(ids);
    tok_free(t);
    return status;
}

/* ---- train-tokenizer ---------------------------------------------------------------------- */

static void train_usage(void)
{
    cli_puts("Usage: attn train-tokenizer --vocab-size N [--pattern NAME|REGEX] [--special LIST]\n"
             "                            -o OUT FILE...\n"
             "Learn a byte-level BPE vocabulary of N ids from the text files and write an attn\n"
             "tokenizer file. Ids: the special tokens first (0..k-1, in the order given), then\n"
             "the 256 bytes in byte order, then one id per merge. Each merge joins the adjacent\n"
             "pair with the highest count; ties go to the lowest left id, then the lowest right id.\n\n"
             "  -n, --vocab-size N     vocabulary size (special tokens + 256 + merges)\n"
             "  -p, --pattern P        pre-tokenizer: gpt2 (default), cl100k, o200k or a PCRE2 regex\n"
             "  -s, --special LIST     comma-separated special tokens, e.g. '<pad>,<s>,</s>,<unk>'\n"
             "  -o, --output OUT       the tokenizer file to write\n"
             "  -h, --help             show this help\n");
}

int cli_train_tokenizer(int argc, char **argv)
{
    static const struct option opts[] = {
        {"vocab-size", required_argument, NULL, 'n'}, {"pattern", required_argument, NULL, 'p'},
        {"special", required_argument, NULL, 's'},    {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    long vocab = -1;
    const char *pattern = "gpt2", *special = NULL, *out_path = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "n:p:s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_long(optarg, 1, 1L << 24, &vocab) < 0)
                return cli_usage_error("train-tokenizer",
                                       "--vocab-size: not a number in 1..16777216: %s", optarg);
            break;
        case 'p': pattern = optarg; break;
        case 's': special = optarg; break;
        case 'o': out_path = optarg; break;
        case 'h': train_usage(); return CLI_OK;
        default:
            return cli_usage_error("train-tokenizer", "unknown option or missing value: %s",
                                   argv[optind - 1]);
        }
    }
    if (vocab < 0)
        return cli_usage_error("train-tokenizer", "--vocab-size is required");
    if (!out_path)
        return cli_usage_error("train-tokenizer", "-o OUT is required");
    if (optind >= argc)
        return cli_usage_error("train-tokenizer", "no input files");
    char *spec_buf = special ? strdup(special) : NULL;
    size_t n_spec = 0;
    const char **specs = NULL;
    if (special) {
        specs = malloc((strlen(special) + 1) * sizeof *specs);
        if (!spec_buf || !specs) {
            free(spec_buf);
            cli_error("train-tokenizer: out of memory");
            return CLI_FAIL;
        }
        for (char *p = spec_buf;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = 0;
            specs[n_spec++] = p;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    char why[256];
    bpe_trainer *tr = NULL;
    tokenizer *t = NULL;
    int status = CLI_FAIL;
    if ((size_t)vocab < n_spec + 256) {
        status = cli_usage_error("train-tokenizer",
                                 "--vocab-size must be at least %zu (specials + 256 bytes)",
                                 n_spec + 256);
        goto done;
    }
    if (bpe_trainer_open(&tr, pattern, why, sizeof why) < 0) {
        status = cli_usage_error("train-tokenizer", "--pattern: %s", why);
        goto done;
    }
    for (int i = optind; i < argc; i++) {
        FILE *f = cli_open_input(argv[i]);
        char *buf;
        size_t len;
        if (!f)
            goto done;
        if (cli_slurp(f, &buf, &len) < 0) {
            cli_error("%s: %s", argv[i], strerror(errno));
            cli_close_input(f);
            goto done;
        }
        cli_close_input(f);
        int rc = bpe_trainer_feed(tr, buf, len);
        free(buf);
        if (rc < 0) {
            cli_error("%s: %s", argv[i], tok_strerror(rc));
            goto done;
        }
    }
    if (bpe_trainer_finish(tr, &t, (size_t)vocab, specs, n_spec, why, sizeof why) < 0) {
        cli_error("train-tokenizer: %s", why);
        goto done;
    }
    if (tok_vocab_size(t) < (size_t)vocab)
        cli_error("train-tokenizer: warning: only %zu ids learned (the text has no more pairs)",
                  tok_vocab_size(t));
    if (tok_save(t, out_path) < 0) {
        cli_error("%s: %s", out_path, strerror(errno));
        goto done;
    }
    status = CLI_OK;
done:
    tok_free(t);
    bpe_trainer_free(tr);
    free(specs);
    free(spec_buf);
    return status;
}
