/* run.h — what the files of `attn run` share: its options, the window of sources and the run.
 *
 * run_options.c parses the command line; run.c reads records into windows, splits each record
 * into sentences (src/sentences.h) when the model translates, one source per sentence, decodes
 * the sources in length-sorted batches on the engine and calls run_output.c, which writes each
 * record's output in input order (the head of the order streamed as its tokens settle): the
 * record's own text between and around the sentences, and their translations.
 */
#ifndef ATTN_CLI_RUN_H
#define ATTN_CLI_RUN_H

#include "alignment.h"
#include "cli.h"
#include "pieces.h"
#include "markup.h"
#include "sentences.h"
#include "spans.h"

#define MAX_NBEST 64   /* most hypotheses written per source */

typedef struct options {
    const char *model;
    eng_overrides ov;        /* generation settings given on the command line */
    int has_sample, has_beam, has_greedy;
    long batch, threads;
    const char *prefix;
    const char *src_lang, *tgt_lang;   /* --src-lang, --tgt-lang (NULL: the model's) */
    int delim;               /* '\n', '\0', or -1 for --whole */
    int ids, special, truncate, json, progress, verbose;
    int split;               /* 1 --split, 0 --no-split, -1 the model's (its task key) */
    int protect;             /* repair protected spans (src/spans.h) */
    int markup;              /* 0, MARKUP_HTML or MARKUP_XML (--markup) */
    int align;               /* 0, ALIGN_HARD or ALIGN_SOFT (run_align.c) */
    const char *align_layer, *align_heads;
} options;

enum { ALIGN_HARD = 1, ALIGN_SOFT = 2 };

/* The words of a text: how many, and whether its first and last bytes are inside a word. */
typedef struct text_words {
    int n, first_in, last_in;
} text_words;

/* One record of the current window: its text and its items (items[first .. first + n - 1]). */
typedef struct record {
    char *text;             /* (text_len) the record without its delimiter, NUL-terminated, owned */
    size_t text_len, text_cap;
    int first, n;
    int cut;                /* a sentence of it was cut: into pieces, or by --truncate */
    int failed;             /* it cannot be translated (warning printed): its output is empty */
    markup *mk;             /* --markup: the record's tags (text holds its plain text) */
} record;

/* One source of the current window (a sentence of a record, or the record) and, once decoded,
 * its outputs.  Written before its output: the record's text from lead to off (its separator). */
typedef struct item {
    int rec;                /* its record in the window */
    size_t lead, off, size; /* its text: rec's text[off .. off + size - 1]; size 0: none */
    int last;               /* the record's last item: the record's trailing text follows it */
    int started;            /* its leading text is written */
    int32_t *src;           /* (src_len) source ids, owned */
    int src_len, src_cap;
    int empty;              /* empty record: empty output, no decoding */
    int repair;             /* outputs held until done and repaired (run_text.c) */
    int running, gen_index; /* reported by the running batch, as generate.c's source gen_index */
    int done;
    size_t written;         /* ids of hyps[0] (or of the settled prefix) already written */
    int n_hyps;
    int32_t *ids;           /* (n_best, max_new) */
    float *lps;             /* (n_best, max_new + 1) */
    int len[MAX_NBEST], ended[MAX_NBEST];
    double score[MAX_NBEST];
    al_link *links;         /* (n_best, max_new) word alignment of each hypothesis (--align or */
    int n_links[MAX_NBEST]; /* --markup): its source text's words - its decoded output's */
    al_link *wlinks;        /* (n_best, 2 * max_new) the same in the words of the output as */
    int n_wlinks[MAX_NBEST];/* written (protected spans repaired; before tags are put back) */
    text_words ow[MAX_NBEST];   /* the words of each output as written */
    float *att;             /* (n_best, max_new, max_src) attention rows (--align soft) */
} item;

typedef struct run {
    options o;
    int split;              /* records are split into sentences */
    const char *lang;       /* the splitter's language (the model's lang.source) or NULL */
    const char *cmd;
    engine *e;
    const tf_config *cfg;
    const tokenizer *tok;         /* NULL for a model without a tokenizer (--ids) */
    eng_run *er;
    gen_params gp;
    int32_t *prefix;        /* (n_prefix) */
    int n_prefix;
    int max_new, max_src;   /* generated tokens; longest source */
    int window;             /* sources read before decoding (whole records: more may be read) */
    int batch;              /* sources decoded together */
    record *recs;           /* (rec_cap) the window's records */
    int n_recs, rec_cap;
    item *items;            /* (item_cap) */
    int n_items, item_cap, head;
    long first_index;       /* input position of the window's first record */
    long first_source;      /* input position of the window's first source (sampling streams) */
    sentence_span *spans;   /* (span_cap) the sentences of the record being read */
    size_t span_cap;
    char *clean;            /* (clean_cap) a source without its control characters */
    size_t clean_cap;
    int32_t *scratch;       /* (CLI_MAX_RECORD + 3) ids of a span being counted */
    piece *pieces;          /* (pieces_cap) the sources of the record being read */
    size_t pieces_cap;
    long n_failed;          /* records left untranslated (exit status 1) */
    gen_source *batch_src;  /* (batch) */
    int *batch_item;        /* (batch) item of each source of the running batch */
    int *order;             /* (item_cap) items sorted by source length */
    char *out;              /* (out_cap) output bytes of one token or one JSON record */
    size_t out_cap;
    tok_stream stream;
    spans *finder;          /* protected spans (NULL with --no-protect or --ids) */
    spans_stats span_stats;
    cli_reader rd;
    /* statistics for -v and --progress */
    cli_progress pg;
    double t_first;
    int aligning;           /* word alignments are made: --align, or --markup to place tags */
    cli_align al;           /* their scratch */
    char *al_text;          /* (al_cap) --align: an item's source text as the model read it */
    size_t al_cap;
} run;

/* Parses the command line into o; returns 0, or CLI_USAGE after printing the error, or -1 after
 * printing the help. */
int run_parse_options(options *o, int argc, char **argv);

/* Makes room for n bytes in R->out; returns 0 or -1 (out of memory, printed). */
int run_out_reserve(run *R, size_t n);

/* Appends n bytes of p to R->out at *at; exits after the error when out of memory. */
void run_append(run *R, size_t *at, const char *p, size_t n);

/* Appends the text of output ids (n) to R->out at *at. */
void run_append_ids(run *R, size_t *at, const int32_t *ids, int n);

/* With --markup, takes record r's tags out of its text (a broken record stays as it is, with a
 * warning naming input record no); returns 0, or CLI_FAIL after the error. */
int run_text_record(run *R, record *r, long no);

/* Decides whether item it's outputs are repaired before they are written (it->repair); returns
 * 0, or CLI_FAIL after the error. */
int run_text_item(run *R, item *it);

/* Appends the repaired text of output ids (n, its hypothesis k) of item it to R->out at *at: its
 * protected spans as in its source, its record's tags put back where its word alignment says
 * (a record joined by run_text_joined: all of it after its last item, nothing after the
 * others); exits after the error when out of memory. */
void run_text_output(run *R, const item *it, int k, const int32_t *ids, int n, size_t *at);

/* Returns 1 when record r's outputs are repaired as one (its markup, the record cut into
 * pieces): its last item writes them all, leads and trailing text included. */
int run_text_joined(const record *r);

/* Returns the words of p (n bytes). */
text_words run_text_words(const char *p, size_t n);

/* Appends the text of output ids (n, hypothesis k) of item it to R->out at *at with its
 * protected spans repaired (no tags put back); exits after the error when out of memory. */
void run_text_fixed(run *R, const item *it, int k, const int32_t *ids, int n, size_t *at);

/* Puts the word alignment of hypothesis k of item it (it->links, of its decoded text text, len
 * bytes) into the words of its output as written: it->wlinks, it->n_wlinks[k] and it->ow[k];
 * returns 0 or -1 (out of memory). */
int run_text_links(run *R, item *it, int k, const char *text, size_t len);

/* Writes the head item and every following item that is done, then streams the next one. */
void run_advance(run *R);

/* --align (run_align.c): run_align_setup asks the engine for attention (returns 0, or CLI_FAIL /
 * CLI_USAGE after the error) and run_align_item allocates an item's buffers (0 or -1: out of
 * memory); run_align_keep keeps hypothesis k's alignment in it; run_align_text writes a
 * record's links (" ||| " and the links of its items, in the record's words) after its output
 * line; run_align_json writes an item's into its JSON object (a sentence's, or an unsplit
 * record's) and run_align_record_json a split record's, in the record's words. */
int run_align_setup(run *R);
/* The words of item it's source before it in its record (*s0) and of its output's before it
 * in the record's output line (*t0, hypothesis k), tw counting the line's words so far (zero
 * before the record's first item; it counts the item's lead and output into it). */
void run_align_offsets(const run *R, const item *it, int k, text_words *tw, int *s0, int *t0);
int run_align_item(run *R, item *it);
void run_align_keep(run *R, item *it, int k, const gen_hyp *h);
void run_align_text(run *R, const item *last, int k);
void run_align_json(run *R, const item *it, int k);
void run_align_record_json(run *R, const item *last);

#endif
