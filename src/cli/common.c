/* common.c — what several subcommands share: option values, the default model, opening the
 * engine, a model file or a tokenizer, and the message of a failed generation. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

long cli_parse_ids(int32_t *ids, size_t cap, const char *s, size_t n, long limit,
                   const char **bad)
{
    const char *end = s + n;
    size_t k = 0;
    for (;;) {
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
            s++;
        if (s == end)
            return (long)k;
        long v = 0;
        const char *q = s;
        while (q < end && *q >= '0' && *q <= '9' && v < limit)
            v = v * 10 + (*q++ - '0');
        if (q == s || v >= limit || k == cap ||
            (q < end && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')) {
            *bad = s;
            return -1;
        }
        ids[k++] = (int32_t)v;
        s = q;
    }
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

int cli_opt_long(const char *cmd, const char *opt, const char *arg, long lo, long hi, long *out)
{
    if (cli_parse_long(arg, lo, hi, out) == 0)
        return 0;
    return cli_usage_error(cmd, "%s: '%s' is not a whole number from %ld to %ld", opt, arg, lo,
                           hi);
}

int cli_opt_double(const char *cmd, const char *opt, const char *arg, double lo, double hi,
                   double *out)
{
    if (cli_parse_double(arg, lo, hi, out) == 0)
        return 0;
    return cli_usage_error(cmd, "%s: '%s' is not a number from %g to %g", opt, arg, lo, hi);
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

/* Writes how messages name a model path into label: "ATTN_MODEL=PATH" when it came from the
 * variable, else the path. */
static void model_label(char *label, size_t n, const char *given, const char *path)
{
    const char *env = getenv("ATTN_MODEL");
    snprintf(label, n, "%s%s", !given && env && path == env ? "ATTN_MODEL=" : "", path);
}

/* Refuses a path that is not a regular file (a FIFO would block, a directory or device is no
 * model); returns 0, or -1 after "attn: LABEL: why". */
static int check_regular(const char *path, const char *label)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        cli_error("%s: %s", label, strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        cli_error("%s: not a regular file", label);
        return -1;
    }
    return 0;
}

engine *cli_open_engine(const char *given, int ids)
{
    const char *path = cli_default_model(given);
    if (!path) {
        cli_error("no model given (-m) and no default model found (set ATTN_MODEL)");
        return NULL;
    }
    char why[256], label[PATH_MAX + 16];
    model_label(label, sizeof label, given, path);
    engine *e;
    if (check_regular(path, label) < 0)
        return NULL;
    if (eng_open(&e, path, why, sizeof why) < 0) {
        cli_error("%s: %s", label, why);
        return NULL;
    }
    if (!eng_tokenizer(e) && !ids) {
        cli_error("%s: the model has no tokenizer: give token ids with --ids", label);
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
    if (check_regular(path, path) < 0)
        return NULL;
    if (mf_open(&f, path, &o, why, sizeof why) < 0) {
        cli_error("%s: %s", path, why);
        return NULL;
    }
    return f;
}

tokenizer *cli_open_tokenizer(const char *cmd, const char *path, int target, int *flags)
{
    char why[256], head[16] = "", label[PATH_MAX + 16];
    tokenizer *t = NULL;
    const char *given = path;
    if (!path)
        path = cli_default_model(NULL);
    if (!path) {
        cli_error("%s: no tokenizer given (-t) and no default model found", cmd);
        return NULL;
    }
    model_label(label, sizeof label, given, path);
    if (check_regular(path, label) < 0)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: %s", label, strerror(errno));
        return NULL;
    }
    if (flags)
        *flags = 0;
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
            int on;
            if (!target || mf_get_blob(mf, "tokenizer.target", &blob, &len) != ATTN_OK)
                rc = mf_get_blob(mf, "tokenizer", &blob, &len);
            if (eng_detok_flags(mf, &on, why, sizeof why) != ATTN_OK)
                cli_error("%s: metadata %s", label, why);
            else if (rc != ATTN_OK)
                cli_error("%s: the model has no tokenizer (no \"tokenizer\" blob)", label);
            else if (tok_open_mem(&t, blob, len, why, sizeof why) < 0)
                cli_error("%s: embedded tokenizer: %s", label, why);
            if (flags)
                *flags = on;
            mf_free(mf);
            return t;
        }
        if (rc != ATTN_ERR_FORMAT) {
            cli_error("%s: %s", label, why);
            return NULL;
        }
    }
    if (tok_open(&t, path, why, sizeof why) < 0) {
        cli_error("%s: %s", label, why);
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
