/* cli.c — the helpers every attn subcommand shares (see cli.h). */
#include "cli.h"

#include "modelfile.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MODEL_NAME "en-fr.attn"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("attn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "attn: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'attn %s --help')\n", cmd);
    return CLI_USAGE;
}

void cli_init(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/* Ends the process after a failed write to stdout: quietly with 0 for a closed pipe, else 1. */
static void stdout_failed(void)
{
    if (errno == EPIPE)
        _exit(CLI_OK);
    cli_error("stdout: %s", strerror(errno ? errno : EIO));
    _exit(CLI_FAIL);
}

void cli_write(const void *buf, size_t len)
{
    if (len && fwrite(buf, 1, len, stdout) != len)
        stdout_failed();
}

void cli_puts(const char *s)
{
    cli_write(s, strlen(s));
}

void cli_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    if (r < 0)
        stdout_failed();
}

void cli_flush(void)
{
    if (fflush(stdout) != 0)
        stdout_failed();
}

int cli_finish(int status)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE)
            return status;
        cli_error("stdout: %s", strerror(errno ? errno : EIO));
        return CLI_FAIL;
    }
    if (fclose(stdout) != 0 && errno != EPIPE) {
        cli_error("stdout: %s", strerror(errno));
        return CLI_FAIL;
    }
    return status;
}

FILE *cli_open_input(const char *path)
{
    if (strcmp(path, "-") == 0)
        return stdin;
    FILE *f = fopen(path, "rb");
    if (!f)
        cli_error("%s: %s", path, strerror(errno));
    return f;
}

void cli_close_input(FILE *f)
{
    if (f && f != stdin)
        fclose(f);
}

int cli_slurp(FILE *f, char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return -1;
    for (;;) {
        if (cap - n < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                errno = ENOMEM;
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(b);
                errno = e;
                return -1;
            }
            break;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

const char *cli_default_model(const char *given)
{
    static char path[PATH_MAX + 64];
    if (given)
        return given;
    const char *env = getenv("ATTN_MODEL");
    if (env && *env)
        return env;
    snprintf(path, sizeof path, "%s/%s", ATTN_DATADIR, DEFAULT_MODEL_NAME);
    if (access(path, R_OK) == 0)
        return path;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    snprintf(path, sizeof path, "%s/models/%s", exe, DEFAULT_MODEL_NAME);
    if (access(path, R_OK) == 0)
        return path;
    snprintf(path, sizeof path, "%s/../models/%s", exe, DEFAULT_MODEL_NAME);
    if (access(path, R_OK) == 0)
        return path;
    return NULL;
}

int cli_open_model(tf_model **model, tokenizer **tok, tok_encoder **enc, int *src_bos, int *src_eos,
                   const char *given, int ids)
{
    const char *path = cli_default_model(given);
    if (!path) {
        cli_error("no model given (-m) and no default model found (set ATTN_MODEL)");
        return CLI_FAIL;
    }
    char why[256];
    if (tf_model_open(model, path, why, sizeof why) < 0) {
        cli_error("%s: %s", path, why);
        return CLI_FAIL;
    }
    const tf_config *cfg = tf_model_config(*model);
    const void *blob;
    size_t blob_len;
    if (mf_get_blob(tf_model_file(*model), "tokenizer", &blob, &blob_len) == 0) {
        if (tok_open_mem(tok, blob, blob_len, why, sizeof why) < 0) {
            cli_error("%s: tokenizer: %s", path, why);
            return CLI_FAIL;
        }
        if (tok_encoder_open(enc, *tok) < 0) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        int64_t add_bos = 0, add_eos = 1;
        if (mf_get_i64_or(tf_model_file(*model), "src.add_bos", 0, &add_bos) < 0 ||
            mf_get_i64_or(tf_model_file(*model), "src.add_eos", 1, &add_eos) < 0) {
            cli_error("%s: src.add_bos / src.add_eos: not an integer", path);
            return CLI_FAIL;
        }
        *src_bos = add_bos != 0 && cfg->bos_id >= 0;
        *src_eos = add_eos != 0 && cfg->eos_id >= 0;
    } else if (!ids) {
        cli_error("%s: the model has no tokenizer: give token ids with --ids", path);
        return CLI_FAIL;
    }
    return 0;
}
