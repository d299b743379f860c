/* cli.h — what attn's subcommands share: messages, exit statuses, a checked stdout, input files.
 *
 * Only the command line prints or exits; the libraries below it (tokenizer/, modelfile,
 * transformer, generate, and src/engine.h that joins them for generation) return status codes.
 * Every subcommand is `int cli_NAME(argc, argv)` in a file of its own (run: run*.c), called by
 * main() with argv[0] set to the subcommand's name, and returns an exit status.  The shared
 * parts: output.c (messages, checked stdout), input.c (files, the record reader), json.c,
 * progress.c, common.c (option values, the default model, opening the engine or a tokenizer).
 *
 * Exit statuses (never renumbered):
 *   0  success, also when the reader of stdout went away (a closed pipe)
 *   1  runtime error: unreadable or invalid model, input or output
 *   2  usage error: unknown option, bad option value, missing argument
 */
#ifndef ATTN_CLI_H
#define ATTN_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "tok.h"
#include "engine.h"
#include "modelfile.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#define ATTN_VERSION "0.1.0"

/* Prints "attn: MESSAGE" and a newline on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "attn: CMD: MESSAGE" and a hint to run --help on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets up the process: SIGPIPE ignored so that a closed stdout shows up as EPIPE. */
void cli_init(void);

/* Writes len bytes to stdout; on a closed pipe exits 0 quietly, on any other error prints
 * "attn: stdout: why" and exits 1. */
void cli_write(const void *buf, size_t len);

/* Returns the length (1-4) of the valid UTF-8 character at s (n >= 1 bytes left), or 0: a byte
 * that cannot start one, or a sequence that is cut, overlong or a surrogate. */
int cli_utf8_char(const char *s, size_t n);

/* Writes s (n bytes) like cli_write, with each byte that is not part of a valid UTF-8 character
 * written as U+FFFD, so that the output is valid UTF-8 whatever the bytes. */
void cli_write_utf8(const char *s, size_t n);

/* Writes a NUL-terminated string to stdout with the same error handling as cli_write. */
void cli_puts(const char *s);

/* Writes formatted text to stdout with the same error handling as cli_write. */
void cli_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Flushes stdout with the same error handling as cli_write. */
void cli_flush(void);

/* Flushes and closes stdout at the end of a run; returns the exit status to use (0, or 1 after
 * printing the write error). */
int cli_finish(int status);

/* Opens PATH for reading ("-" is stdin); on failure prints "attn: PATH: why" and returns NULL. */
FILE *cli_open_input(const char *path);

/* Closes a stream from cli_open_input (stdin stays open). */
void cli_close_input(FILE *f);

/* Reads all of f into a NUL-terminated malloc'd buffer (*len excludes the NUL); returns 0, or -1
 * with errno set on a read or memory error. */
int cli_slurp(FILE *f, char **buf, size_t *len);

/* The most bytes of a record that run and score read: a longer record is not translated or
 * scored (a warning, an empty output or nan, status 1), and memory stays bounded. */
#define CLI_MAX_RECORD (1 << 20)

/* The record reader: the records of a list of files in order, each named by file and number.
 * It reads the file descriptors itself (not stdio), so that it can tell whether a whole record
 * is ready without blocking (cli_reader_ready) and keep at most max bytes of a record. */
typedef struct cli_reader {
    char **files;
    int n_files, next_file;
    int fd;                  /* the open file, or -1 */
    char buf[1 << 16];       /* (end) bytes read from fd; pos: the next one to use */
    size_t pos, end;
    const char *name;        /* the file of the last record */
    long record;             /* number of the last record read in that file */
    int delim;               /* '\n', '\0' or -1 (the whole input, every file, is one record) */
    size_t max;              /* most bytes kept of a record (0: no limit; set after init) */
    size_t bytes;            /* the last record's length before it was cut to max */
    int finished;
    int failed;              /* a file could not be opened or read (reported, then skipped) */
    long long total;         /* bytes of the input when every file is a regular file, else -1 */
    long long consumed;      /* bytes read so far */
} cli_reader;

/* Starts reading the files (n of them; none: stdin) as records ending in delim. */
void cli_reader_init(cli_reader *r, char **files, int n, int delim);

/* Reads the next record into *buf (cap *cap, NUL-terminated, at most r->max bytes of it kept);
 * returns 1 with *len set, or 0 at the end of the input.  A file that cannot be opened or read
 * is reported ("attn: FILE: why") and skipped, with r->failed set, as cat does; the last record
 * of a file may lack its delimiter. */
int cli_reader_next(cli_reader *r, char **buf, size_t *cap, size_t *len);

/* Returns 1 when the last record was longer than r->max (only its first max bytes were kept). */
int cli_reader_overlong(const cli_reader *r);

/* Returns 1 when reading the next record will not wait for more input (a whole record is
 * buffered, the file has more to read now, or the input has ended), else 0. */
int cli_reader_ready(const cli_reader *r);

/* Closes the reader's current file. */
void cli_reader_close(cli_reader *r);

/* Counts for the progress line (--progress). */
typedef struct cli_progress {
    double t_start, t_last;  /* eng_now() at the start and at the last redraw */
    long n_done, n_tokens;   /* records finished, tokens generated */
} cli_progress;

/* Redraws the progress line on stderr (at most twice a second unless force), with the time left
 * estimated from the reader's position. */
void cli_progress_show(cli_progress *p, const cli_reader *rd, int force);

/* Draws the final progress line and ends it. */
void cli_progress_end(cli_progress *p, const cli_reader *rd);

/* Seconds of CPU time (user + system) the process has used. */
double cli_cpu_seconds(void);

/* Parses a whole decimal integer in [lo, hi]; returns 0, or -1 when s is not one. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

/* Parses a whole finite decimal number in [lo, hi]; returns 0, or -1 when s is not one. */
/* Parses the token ids of s (n bytes, separated by spaces, tabs, CRs or LFs) into ids (room for
 * cap), each below limit; returns their count, or -1 with *bad at the first token that is not
 * such an id (or that does not fit). */
long cli_parse_ids(int32_t *ids, size_t cap, const char *s, size_t n, long limit,
                   const char **bad);
int cli_parse_double(const char *s, double lo, double hi, double *out);

/* Parses option opt's value arg as a whole number in [lo, hi] into *out; returns 0, or CLI_USAGE
 * after "attn: CMD: OPT: 'ARG' is not a whole number from LO to HI". */
int cli_opt_long(const char *cmd, const char *opt, const char *arg, long lo, long hi, long *out);

/* Parses option opt's value arg as a finite number in [lo, hi] into *out; returns 0, or
 * CLI_USAGE after "attn: CMD: OPT: 'ARG' is not a number from LO to HI". */
int cli_opt_double(const char *cmd, const char *opt, const char *arg, double lo, double hi,
                   double *out);

/* Parses a --threads value of info and convert (1 to 16) into *out; returns 0, or CLI_USAGE
 * after printing the error. */
int cli_parse_threads(const char *cmd, const char *arg, int *out);

/* Copies the n bytes of s into out (room for n; out may be s) with each control character (C0,
 * DEL, C1; a newline too unless keep_newlines) as one space: the text run and score give the
 * model.  Returns the length written. */
size_t cli_model_text(char *out, const char *s, size_t n, int keep_newlines);

/* The default compute threads of run and score: the online CPUs, at most 8. */
int cli_default_threads(void);

/* Finds the model to use: the given path, else $ATTN_MODEL, else the installed default model,
 * else models/ beside the binary; returns a static or given string, or NULL when none exists. */
const char *cli_default_model(const char *given);

/* Opens the engine (src/engine.h) on the model given, or the default one (cli_default_model);
 * a model without a tokenizer is an error unless ids (sources are token ids).  Returns the
 * engine, or NULL after printing the error. */
engine *cli_open_engine(const char *given, int ids);

/* Prints the error of a failed eng_generate / eng_score: "model: why" when the model failed,
 * else "what: why"; returns CLI_FAIL. */
int cli_gen_error(const eng_run *r, const char *what, int status);

/* Opens a model file's container (modelfile.h) with the given CRC checks and threads; returns
 * it, or NULL after printing the error. */
mf_file *cli_open_file(const char *path, int verify, int threads);

/* Opens the tokenizer of a path: an attn tokenizer file, an attn model file (its "tokenizer"
 * blob; with target set its "tokenizer.target" blob when it has one: the outputs' tokenizer) or
 * a tiktoken rank file (NULL path: the default model's); *flags (flags may be NULL) receives the
 * tok_clean_text fix-ups a model file asks for its decoded text (detok.strip_spaces,
 * detok.cleanup_spaces; else 0); returns it, or NULL after printing the error. */
tokenizer *cli_open_tokenizer(const char *cmd, const char *path, int target, int *flags);

/* Writes s (n bytes) to stdout in double quotes, escaping quotes, backslashes, \n and \t; other
 * control bytes as \u00XX when json (a JSON string, where bytes that are not valid UTF-8 become
 * \ufffd), else as \xXX with every other byte as it is. */
void cli_quote(const char *s, size_t n, int json);

/* Returns 1 when s (n bytes) is valid UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF), else 0. */
int cli_utf8_valid(const char *s, size_t n);

/* Writes a number for JSON with 6 significant digits (non-finite values as null). */
void cli_json_number(double x);

/* Prints the default command's --help text (attn --help and attn run --help) to stdout. */
void cli_run_usage(void);

/* The subcommands. */
int cli_run(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_detokenize(int argc, char **argv);
int cli_train_tokenizer(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_score(int argc, char **argv);
int cli_attention(int argc, char **argv);
int cli_bench(int argc, char **argv);

#endif
