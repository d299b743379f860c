/* train_tokenizer.c — `attn train-tokenizer`: a byte-level BPE vocabulary learnt from text. */
#include "bpe.h"
#include "tok.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void train_usage(void)
{
    cli_puts(
        "Usage: attn train-tokenizer --vocab-size N [--pattern NAME|REGEX] [--special LIST]\n"
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
