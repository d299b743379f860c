/* common.c — what several subcommands share: option values, the default model, opening the
 * engine, a model file or a tokenizer, and the message of a failed generation. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DEFAULT_MODEL_NAME "en-fr.attn"

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

int cli_parse_threads(const char *cmd, const char *arg, int *out)
{
    long v;
    if (cli_parse_long(arg, 1, 16, &v) < 0)
        return cli_usage_error(cmd, "--threads: '%s' is not a number from 1 to 16", arg);
    *out = (int)v;
    return 0;
}

size_t cli_model_text(char *out, const char *s, size_t n, int keep_newlines)
{
    const unsigned char *t = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n; o++) {
        int c1 = t[i] == 0xc2 && i + 1 < n && t[i + 1] >= 0x80 && t[i + 1] < 0xa0;
        int c0 = (t[i] < 0x20 && !(t[i] == '\n' && keep_newlines)) || t[i] == 0x7f;
        out[o] = c0 || c1 ? ' ' : s[i];
        i += c1 ? 2 : 1;
    }
    return o;
}

int cli_default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
}

engine *cli_open_engine(const char *given, int ids)
{
    const char *path = cli_default_model(given);
    if (!path) {
        cli_error("no model given (-m) and no default model found (set ATTN_MODEL)");
        return NULL;
    }
    char why[256];
    engine *e;
    if (eng_open(&e, path, why, sizeof why) < 0) {
        cli_error("%s: %s", path, why);
        return NULL;
    }
    if (!eng_tokenizer(e) && !ids) {
        cli_error("%s: the model has no tokenizer: give token ids with --ids", path);
        eng_free(e);
        return NULL;
    }
    return e;
}

int cli_gen_error(const eng_run *r, const char *what, int status)
{
    if (status == ATTN_ERR_DECODER)
        cli_error("model: %s", attn_strerror(eng_model_status(r)));
    else
        cli_error("%s: %s", what, attn_strerror(status));
    return CLI_FAIL;
}

mf_file *cli_open_file(const char *path, int verify, int threads)
{
    mf_options o;
    mf_options_default(&o);
    o.verify = verify;
    o.n_threads = threads;
    mf_file *f;
    char why[320];
    if (mf_open(&f, path, &o, why, sizeof why) < 0) {
        cli_error("%s: %s", path, why);
        return NULL;
    }
    return f;
}

tokenizer *cli_open_tokenizer(const char *cmd, const char *path)
{
    char why[256], head[16] = "";
    tokenizer *t = NULL;
    if (!path)
        path = cli_default_model(NULL);
    if (!path) {
        cli_error("%s: no tokenizer given (-t) and no default model found", cmd);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got < 15 || memcmp(head, "attn-tokenizer ", 15) != 0) {
        mf_options opt;
        mf_options_default(&opt);
        opt.verify = MF_VERIFY_NONE;
        mf_file *mf;
        int rc = mf_open(&mf, path, &opt, why, sizeof why);
        if (rc == ATTN_OK) {
            const void *blob;
            size_t len;
            if (mf_get_blob(mf, "tokenizer", &blob, &len) != ATTN_OK)
                cli_error("%s: the model has no tokenizer (no \"tokenizer\" blob)", path);
            else if (tok_open_mem(&t, blob, len, why, sizeof why) < 0)
                cli_error("%s: embedded tokenizer: %s", path, why);
            mf_free(mf);
            return t;
        }
        if (rc != ATTN_ERR_FORMAT) {
            cli_error("%s: %s", path, why);
            return NULL;
        }
    }
    if (tok_open(&t, path, why, sizeof why) < 0) {
        cli_error("%s: %s", path, why);
        return NULL;
    }
    return t;
}

double cli_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}
