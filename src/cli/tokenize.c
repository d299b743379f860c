/* tokenize.c — `attn tokenize`: the token ids of each input line (or each whole input). */
#include "tok.h"
#include "cli.h"
#include "engine.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void tokenize_usage(void)
{
    cli_puts(
        "Usage: attn tokenize [-t TOKENIZER] [--pattern NAME|REGEX] [--special] [--whole]\n"
        "                     [--source [--src-lang CODE]] [FILE...]\n"
        "Print the token ids of each input line, space-separated, one line per line\n"
        "(the newline itself is not encoded). FILE '-' or none reads stdin.\n\n"
        "  -t, --tokenizer FILE  an attn tokenizer file, a .tiktoken rank file, a SentencePiece\n"
        "                        .model file or an attn model file (its embedded tokenizer);\n"
        "                        default: the default model\n"
        "  -p, --pattern P       split with another pre-tokenizer pattern: gpt2, cl100k, o200k\n"
        "                        or a PCRE2 regex (default: the tokenizer's own)\n"
        "      --special         recognise special tokens' text (e.g. <|endoftext|>); without\n"
        "                        it their text is encoded as plain text\n"
        "      --whole           encode each input as one text (newlines included)\n"
        "      --source          with a model file: the ids its encoder gets from the text\n"
        "                        (framed as the model frames a source: e.g. </s> and a\n"
        "                        language code after the tokens)\n"
        "      --src-lang CODE   with --source: the source language token (mBART: en_XX...)\n"
        "  -h, --help            show this help\n");
}

/* Writes v in decimal at p, which must have room for 16 bytes; returns the number of characters
 * (1 to 10). */
static int put_uint(char *p, uint32_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";
    char tmp[32];        /* digits end at tmp + 16, written right to left */
    char *q = tmp + 16;
    while (v >= 100) {
        q -= 2;
        memcpy(q, pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, pairs + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    memcpy(p, q, 16); /* a fixed-size copy (q >= tmp + 6): the bytes past the digits are junk */
    return (int)(tmp + 16 - q);
}

#define TEXT_IDS (1u << 17) /* ids below this keep their decimal text once written */

/* Writes id in decimal and then a space at p, which must have room for 17 bytes; returns the
 * number of characters.  The text of ids below TEXT_IDS is kept in a table (1 MB of bss, its
 * pages touched as ids come) as up to 6 digits and their count in the 8th byte. */
static size_t put_id(char *p, uint32_t id)
{
    static unsigned char text[TEXT_IDS][8];
    if (id >= TEXT_IDS) {
        size_t n = (size_t)put_uint(p, id);
        p[n] = ' ';
        return n + 1;
    }
    unsigned char *t = text[id];
    if (t[7] == 0) {
        char tmp[16];
        int n = put_uint(tmp, id);
        tmp[n] = ' ';
        memcpy(t, tmp, 7);
        t[7] = (unsigned char)(n + 1);
    }
    memcpy(p, t, 8); /* the count lands past the text, where later bytes go */
    return t[7];
}

/* Encodes text (framed as model frame frames a source, when not NULL) and prints its ids on one
 * line through a 64 kB buffer; returns 0 or -1 after printing the error. */
static int print_ids(tok_encoder *e, const engine *frame, int32_t **ids, size_t *cap,
                     const char *text, size_t len, int flags)
{
    static char out[1 << 16];
    size_t n = len + 1, used = 0;
    int rc = TOK_ERR_SPACE;
    while (rc == TOK_ERR_SPACE) {  /* text may take more ids than bytes (byte fallback) */
        if (*cap < n + ENG_FRAME_MAX) {
            int32_t *p = realloc(*ids, (n + ENG_FRAME_MAX) * sizeof *p);
            if (!p) {
                cli_error("tokenize: out of memory");
                return -1;
            }
            *ids = p;
            *cap = n + ENG_FRAME_MAX;
        }
        rc = tok_encoder_encode(e, *ids, *cap - ENG_FRAME_MAX, &n, text, len, flags);
    }
    if (rc < 0) {
        cli_error("tokenize: %s", tok_strerror(rc));
        return -1;
    }
    if (frame)
        n = eng_frame_source(frame, *ids, n);
    for (size_t i = 0; i < n; i++) {
        if (used > sizeof out - 17) { /* room for put_id */
            cli_write(out, used);
            used = 0;
        }
        used += put_id(out + used, (uint32_t)(*ids)[i]);
    }
    if (n > 0)
        used--; /* the last separator becomes the newline */
    out[used++] = '\n';
    cli_write(out, used);
    return 0;
}

/* Prints the ids of each input line (or each whole input) of the files args[0..n_args-1]
 * (none: stdin) with encoder e, framed as model frame frames a source when not NULL; returns a
 * CLI status. */
static int encode_inputs(tok_encoder *e, const engine *frame, int whole, int flags, char **args,
                         int n_args)
{
    int status = CLI_OK;
    int32_t *ids = NULL;
    char *line = NULL;
    size_t cap = 0, line_cap = 0, len;
    if (whole) {
        /* each file is one text */
        char *dash[] = {"-"};
        char **files = n_args > 0 ? args : dash;
        int n_files = n_args > 0 ? n_args : 1;
        for (int i = 0; i < n_files && status == CLI_OK; i++) {
            FILE *f = cli_open_input(files[i]);
            if (!f) {
                status = CLI_FAIL;
                break;
            }
            if (cli_slurp(f, &line, &len) < 0) {
                cli_error("%s: %s", files[i], strerror(errno));
                status = CLI_FAIL;
            } else {
                if (print_ids(e, frame, &ids, &cap, line, len, flags) < 0)
                    status = CLI_FAIL;
                free(line);
                line = NULL;
            }
            cli_close_input(f);
        }
    } else {
        cli_reader rd;
        cli_reader_init(&rd, args, n_args, '\n');
        while (status == CLI_OK && cli_reader_next(&rd, &line, &line_cap, &len))
            if (print_ids(e, frame, &ids, &cap, line, len, flags) < 0)
                status = CLI_FAIL;
        if (rd.failed)
            status = CLI_FAIL;
        cli_reader_close(&rd);
    }
    free(ids);
    free(line);
    return status;
}


/* attn tokenize --source: the ids model path's encoder gets (its source language src_lang, NULL:
 * its own); returns a CLI status. */
static int tokenize_source(const char *path, const char *src_lang, int whole, int flags,
                           char **args, int n_args)
{
    engine *e = cli_open_engine(path, 0);
    if (!e)
        return CLI_FAIL;
    char why[256];
    int status = CLI_OK;
    if (src_lang && eng_set_langs(e, src_lang, NULL, why, sizeof why) < 0) {
        cli_error("tokenize: %s", why);
        status = CLI_FAIL;
    }
    if (status == CLI_OK)
        status = encode_inputs(eng_encoder(e), e, whole, flags, args, n_args);
    eng_free(e);
    return status;
}

int cli_tokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tokenizer", required_argument, NULL, 't'}, {"special", no_argument, NULL, 'S'},
        {"whole", no_argument, NULL, 'W'},           {"pattern", required_argument, NULL, 'p'},
        {"source", no_argument, NULL, 'o'},          {"src-lang", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *tok_path = NULL, *pattern = NULL, *src_lang = NULL;
    int flags = 0, whole = 0, source = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "t:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': tok_path = optarg; break;
        case 'p': pattern = optarg; break;
        case 'S': flags |= TOK_SPECIAL; break;
        case 'W': whole = 1; break;
        case 'o': source = 1; break;
        case 'L': src_lang = optarg; break;
        case 'h': tokenize_usage(); return CLI_OK;
        default:
            return cli_usage_error("tokenize", "unknown option or missing value: %s",
                                   argv[optind - 1]);
        }
    }
    if (src_lang && !source)
        return cli_usage_error("tokenize", "--src-lang needs --source");
    if (source && pattern)
        return cli_usage_error("tokenize", "--source cannot be combined with --pattern");
    if (source)
        return tokenize_source(tok_path, src_lang, whole, flags, argv + optind, argc - optind);
    tokenizer *t = cli_open_tokenizer("tokenize", tok_path, 0, NULL);
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
    int status = encode_inputs(e, NULL, whole, flags, argv + optind, argc - optind);
    tok_encoder_free(e);
    tok_free(t);
    return status;
}
