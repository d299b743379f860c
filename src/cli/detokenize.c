/* detokenize.c — `attn detokenize`: lines of token ids back into text. */
#include "tok.h"
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void detokenize_usage(void)
{
    cli_puts(
        "Usage: attn detokenize [-t TOKENIZER] [FILE...]\n"
        "Turn each input line of space-separated token ids back into text, one line each.\n\n"
        "  -t, --tokenizer FILE  an attn tokenizer file, a .tiktoken rank file, a SentencePiece\n"
        "                        .model file or an attn model file (the tokenizer of its\n"
        "                        outputs, stripped and cleaned up as the model's\n"
        "                        detok.strip_spaces and detok.cleanup_spaces say);\n"
        "                        default: the default model\n"
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
    int clean;
    tokenizer *t = cli_open_tokenizer("detokenize", tok_path, 1, &clean);
    if (!t)
        return CLI_FAIL;
    int status = CLI_OK;
    char *line = NULL, *out = NULL;
    int32_t *ids = NULL;
    size_t line_cap = 0, ids_cap = 0, out_cap = 0, len;
    cli_reader rd;
    cli_reader_init(&rd, argv + optind, argc - optind, '\n');
    while (status == CLI_OK && cli_reader_next(&rd, &line, &line_cap, &len)) {
        if (ids_cap < len / 2 + 1) {
            ids_cap = len / 2 + 1;
            int32_t *p = realloc(ids, ids_cap * sizeof *p);
            if (!p) {
                cli_error("detokenize: out of memory");
                status = CLI_FAIL;
                break;
            }
            ids = p;
        }
        const char *bad;
        long n = cli_parse_ids(ids, ids_cap, line, len, (long)INT32_MAX + 1, &bad);
        if (n < 0) {
            cli_error("%s:%ld: not a token id: '%.20s'", rd.name, rd.record, bad);
            status = CLI_FAIL;
            break;
        }
        size_t m;
        int rc = tok_decode(t, out, out_cap, &m, ids, (size_t)n);
        if (rc == TOK_ERR_SPACE) {
            char *o = realloc(out, m + 1);
            if (!o) {
                cli_error("detokenize: out of memory");
                status = CLI_FAIL;
                break;
            }
            out = o;
            out_cap = m + 1;
            rc = tok_decode(t, out, out_cap, &m, ids, (size_t)n);
        }
        if (rc < 0) {
            cli_error("%s:%ld: %s", rd.name, rd.record, tok_strerror(rc));
            status = CLI_FAIL;
            break;
        }
        m = tok_clean_text(out, m, NULL, clean);
        cli_write(out, m);
        cli_write("\n", 1);
    }
    if (rd.failed)
        status = CLI_FAIL;
    cli_reader_close(&rd);
    free(line);
    free(out);
    free(ids);
    tok_free(t);
    return status;
}

