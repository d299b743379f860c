/* run.h — what the files of `attn run` share: its options, the window of sources and the run.
 *
 * run_options.c parses the command line; run.c reads records into windows of sources, decodes
 * them in length-sorted batches on the engine and calls run_output.c, which writes each source's
 * outputs in input order (the head of the order streamed as its tokens settle).
 */
#ifndef ATTN_CLI_RUN_H
#define ATTN_CLI_RUN_H

#include "alignment.h"
#include "cli.h"

#define MAX_NBEST 64   /* most hypotheses written per source */

typedef struct options {
    const char *model;
    eng_overrides ov;        /* generation settings given on the command line */
    int has_sample, has_beam;
    long batch, threads;
    const char *prefix;
    int delim;               /* '\n', '\0', or -1 for --whole */
    int ids, special, truncate, json, progress, verbose;
    int align;               /* 0, ALIGN_HARD or ALIGN_SOFT (run_align.c) */
    const char *align_layer, *align_heads;
} options;

enum { ALIGN_HARD = 1, ALIGN_SOFT = 2 };

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
    al_link *links;         /* (n_best, max_new) word alignment of each hypothesis (--align) */
    int n_links[MAX_NBEST];
    float *att;             /* (n_best, max_new, max_src) attention rows (--align soft) */
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
    cli_reader rd;
    /* statistics for -v and --progress */
    cli_progress pg;
    double t_first;
    cli_align al;           /* --align scratch */
} run;

/* Parses the command line into o; returns 0, or CLI_USAGE after printing the error, or -1 after
 * printing the help. */
int run_parse_options(options *o, int argc, char **argv);

/* Makes room for n bytes in R->out; returns 0 or -1 (out of memory, printed). */
int run_out_reserve(run *R, size_t n);

/* Writes the head item and every following item that is done, then streams the next one. */
void run_advance(run *R);

/* --align (run_align.c): asks the engine for attention and allocates what alignments need
 * (returns 0 or CLI_FAIL / CLI_USAGE after the error); keeps hypothesis k's alignment in it;
 * writes it after an output line (" ||| " and the links) or into its JSON object. */
int run_align_setup(run *R);
void run_align_keep(run *R, item *it, int k, const gen_hyp *h);
void run_align_text(run *R, const item *it, int k);
void run_align_json(run *R, const item *it, int k);

#endif
