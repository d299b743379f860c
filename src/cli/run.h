/* run.h — what the files of `attn run` share: its options, the window of sources and the run.
 *
 * run_options.c parses the command line; run.c reads records into windows of sources, decodes
 * them in length-sorted batches on the engine and calls run_output.c, which writes each source's
 * outputs in input order (the head of the order streamed as its tokens settle).
 */
#ifndef ATTN_CLI_RUN_H
#define ATTN_CLI_RUN_H

#include "cli.h"
#include "pieces.h"

#define MAX_NBEST 64   /* most hypotheses written per source */

typedef struct options {
    const char *model;
    eng_overrides ov;        /* generation settings given on the command line */
    int has_sample, has_beam, has_greedy;
    long batch, threads;
    const char *prefix;
    int delim;               /* '\n', '\0', or -1 for --whole */
    int ids, special, truncate, json, progress, verbose;
} options;

/* A growing byte buffer. */
typedef struct bytes {
    char *p;
    size_t n, cap;
} bytes;

/* One source of the current window (a record, or one piece of a record too long for the model)
 * and, once decoded, its outputs. */
typedef struct item {
    char *text;             /* the piece with the separators around it (NUL-terminated), owned */
    size_t text_len, text_cap;
    size_t src_off, src_bytes;  /* text[src_off, src_off + src_bytes) goes to the model; the
                                   bytes before it are written before its output, after it after */
    long index;             /* the record's position in the input */
    int first, last;        /* the record's first / last piece */
    int n_pieces;           /* the record's pieces */
    int cut;                /* the record's source was cut (--truncate, or into pieces) */
    int failed;             /* the record cannot be translated: its output is empty */
    int pre_done;           /* the bytes before the piece are written */
    int32_t *src;           /* (src_len) source ids, owned */
    int src_len;
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
    /* the record being cut into items */
    char *rec;              /* (rec_len) the record, owned */
    size_t rec_len, rec_cap;
    piece *pieces;          /* (n_pieces) its pieces, the next to add: next_piece */
    size_t n_pieces, pieces_cap, next_piece;
    int rec_cut, rec_failed;
    long rec_index;         /* records read */
    int32_t *scratch;       /* (CLI_MAX_RECORD + 3) ids of a span being counted */
    long n_failed;          /* records left untranslated (exit status 1) */
    bytes acc_src, acc_out, acc_ids, acc_lps;   /* a cut record's pieces joined (--json) */
    int acc_ended;
    double acc_score;
    /* statistics for -v and --progress */
    cli_progress pg;
    double t_first;
} run;

/* Parses the command line into o; returns 0, or CLI_USAGE after printing the error, or -1 after
 * printing the help. */
int run_parse_options(options *o, int argc, char **argv);

/* Makes room for n bytes in R->out; returns 0 or -1 (out of memory, printed). */
int run_out_reserve(run *R, size_t n);

/* Appends n bytes to b; returns 0, or -1 when out of memory (printed). */
int bytes_add(bytes *b, const void *p, size_t n);

/* Writes the head item and every following item that is done, then streams the next one. */
void run_advance(run *R);

#endif
