/* run.h — what the files of `attn run` share: its options, the window of sources and the run.
 *
 * run_options.c parses the command line; run.c reads records into windows of sources, decodes
 * them in length-sorted batches on the engine and calls run_output.c, which writes each source's
 * outputs in input order (the head of the order streamed as its tokens settle).
 */
#ifndef ATTN_CLI_RUN_H
#define ATTN_CLI_RUN_H

#include "cli.h"
#include "markup.h"
#include "spans.h"

#define MAX_NBEST 64   /* most hypotheses written per source */

typedef struct options {
    const char *model;
    eng_overrides ov;        /* generation settings given on the command line */
    int has_sample, has_beam;
    long batch, threads;
    const char *prefix;
    int delim;               /* '\n', '\0', or -1 for --whole */
    int ids, special, truncate, json, progress, verbose;
    int protect;             /* repair protected spans (src/spans.h) */
    int markup;              /* 0, MARKUP_HTML or MARKUP_XML (--markup) */
} options;

/* One source of the current window and, once decoded, its outputs. */
typedef struct item {
    char *text;             /* the record (NUL-terminated), owned */
    size_t text_len, text_cap;
    int32_t *src;           /* (src_len) source ids, owned */
    int src_len, src_cap;
    int empty;              /* empty record: empty output, no decoding */
    int repair;             /* outputs held until done and repaired (run_text.c) */
    markup *mk;             /* --markup: the record's tags (text holds its plain text) */
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
    engine *e;
    const tf_config *cfg;
    const tokenizer *tok;         /* NULL for a model without a tokenizer (--ids) */
    eng_run *er;
    gen_params gp;
    int32_t *prefix;        /* (n_prefix) */
    int n_prefix;
    int max_new, max_src;   /* generated tokens; longest source */
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
    spans *spans;           /* protected spans (NULL with --no-protect or --ids) */
    spans_stats span_stats;
    cli_reader rd;
    /* statistics for -v and --progress */
    cli_progress pg;
    double t_first;
} run;

/* Parses the command line into o; returns 0, or CLI_USAGE after printing the error, or -1 after
 * printing the help. */
int run_parse_options(options *o, int argc, char **argv);

/* Makes room for n bytes in R->out; returns 0 or -1 (out of memory, printed). */
int run_out_reserve(run *R, size_t n);

/* Puts the text of output ids (n) into R->out (*len bytes, special tokens as --special says);
 * returns 0 or -1 (out of memory, printed). */
int run_out_text(run *R, const int32_t *ids, int n, size_t *len);

/* Takes a --markup record's tags out of it->text (a broken one stays as it is, with a warning
 * naming record) and decides whether its outputs are repaired before they are written
 * (it->repair); returns 0, or CLI_FAIL after the error. */
int run_text_prepare(run *R, item *it, long record);

/* Puts the repaired text of output ids (n) of item it into R->out (*len bytes); returns 0 or
 * -1 (out of memory, printed). */
int run_text_output(run *R, const item *it, const int32_t *ids, int n, size_t *len);

/* Writes the head item and every following item that is done, then streams the next one. */
void run_advance(run *R);

#endif
