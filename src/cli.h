/* cli.h — what attn's subcommands share: messages, exit statuses, a checked stdout, input files.
 *
 * Only the command line prints or exits; the libraries below it (tokenizer/, modelfile,
 * transformer, generate) return status codes.  Every subcommand is `int cli_NAME(argc, argv)`,
 * called by main() with argv[0] set to the subcommand's name, and returns an exit status.
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
#include "transformer.h"

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

/* Writes a NUL-terminated string to stdout with the same error handling as cli_write. */
void cli_puts(const char *s);

/* Writes formatted text to stdout with the same error handling as cli_write. */
void cli_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s (n bytes) to stdout as a JSON string; invalid UTF-8 bytes become U+FFFD (in
 * cli_run.c). */
void cli_json_string(const char *s, size_t n);

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

/* Parses a whole decimal integer in [lo, hi]; returns 0, or -1 when s is not one. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

/* Parses a whole finite decimal number in [lo, hi]; returns 0, or -1 when s is not one. */
int cli_parse_double(const char *s, double lo, double hi, double *out);

/* Finds the model to use: the given path, else $ATTN_MODEL, else the installed default model,
 * else models/ beside the binary; returns a static or given string, or NULL when none exists. */
const char *cli_default_model(const char *given);

/* Opens the model given (or the default one, see cli_default_model) and its tokenizer blob:
 * *tok and *enc stay NULL when the file has none, which is an error unless ids (sources are
 * token ids); *src_bos and *src_eos say whether text sources get bos / eos (src.add_bos,
 * src.add_eos).  Returns 0, or CLI_FAIL after printing the error; what was opened before an
 * error is left in the outputs for the caller to free. */
int cli_open_model(tf_model **model, tokenizer **tok, tok_encoder **enc, int *src_bos, int *src_eos,
                   const char *given, int ids);

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
int cli_bench(int argc, char **argv);

#endif
