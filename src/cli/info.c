/* info.c — `attn info`: a model file's format version, metadata and tensor table, or its loading
 * figures. */
#include "cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Prints attn info --help. */
static void info_usage(void)
{
    cli_puts(
        "Usage: attn info [--verify WHAT] [--threads N] [--stats] [MODEL]\n"
        "Print a model file's format version, metadata (key, type, value) and tensor table\n"
        "(name, dtype, shape, stored and decoded bytes, stored/decoded ratio). The whole file is\n"
        "read and every CRC checked, so that a damaged file is reported. Without MODEL, the\n"
        "default model ($ATTN_MODEL, else the installed one).\n\n"
        "      --verify WHAT  which tensor CRCs to check: all (the default), read (those of\n"
        "                     the tensors loading reads; uncompressed ones are mapped, not\n"
        "                     read: what the other commands do) or none\n"
        "      --no-verify    the same as --verify none\n"
        "      --threads N    threads that inflate and check the tensors (1 to 16; default:\n"
        "                     all CPUs)\n"
        "      --stats        print one line of loading figures instead of the report:\n"
        "                     load_ms, cpu_ms, decoded_bytes, file_bytes, peak_rss_bytes\n"
        "  -h, --help         show this help\n");
}

/* Prints a double with the fewest digits that read back as the same value. */
static void print_double(double v)
{
    char buf[40];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    cli_puts(buf);
}

/* Prints the value of metadata entry key (of the given type) on the current line. */
static void print_value(const mf_file *f, const char *key, mf_type type)
{
    enum { MAX_SHOWN = 16 };
    int64_t i;
    double d;
    const char *s;
    const void *blob;
    const int64_t *ia;
    const double *da;
    size_t n;
    switch (type) {
    case MF_T_I64:
        mf_get_i64(f, key, &i);
        cli_printf("%lld", (long long)i);
        break;
    case MF_T_F64:
        mf_get_f64(f, key, &d);
        print_double(d);
        break;
    case MF_T_STR:
        mf_get_str(f, key, &s, &n);
        cli_quote(s, n, 0);
        break;
    case MF_T_BLOB:
        mf_get_blob(f, key, &blob, &n);
        cli_printf("%zu bytes", n);
        break;
    case MF_T_I64_ARRAY:
    case MF_T_F64_ARRAY:
        if (type == MF_T_I64_ARRAY)
            mf_get_i64_array(f, key, &ia, &n);
        else
            mf_get_f64_array(f, key, &da, &n);
        cli_puts("[");
        for (size_t k = 0; k < n && k < MAX_SHOWN; k++) {
            if (k)
                cli_puts(", ");
            if (type == MF_T_I64_ARRAY)
                cli_printf("%lld", (long long)ia[k]);
            else
                print_double(da[k]);
        }
        if (n > MAX_SHOWN)
            cli_printf(", ... (%zu values)", n);
        cli_puts("]");
        break;
    }
}

/* Returns the short name of a metadata type ("i64", ..., "f64[]"). */
static const char *type_name(mf_type t)
{
    static const char *names[] = {"?", "i64", "f64", "str", "blob", "i64[]", "f64[]"};
    return t >= MF_T_I64 && t <= MF_T_F64_ARRAY ? names[t] : "?";
}

/* Prints the whole report for an open file. */
static void print_info(const mf_file *f, const char *path)
{
    int n_meta = mf_meta_count(f), n_tensors = mf_tensor_count(f);
    int kw = 4, nw = 6;
    for (int i = 0; i < n_meta; i++) {
        const char *key;
        mf_type type;
        mf_meta_at(f, i, &key, &type);
        int l = (int)strlen(key);
        kw = l > kw ? (l > 40 ? 40 : l) : kw;
    }
    for (int i = 0; i < n_tensors; i++) {
        mf_tensor t;
        mf_tensor_at(f, i, &t);
        int l = (int)strlen(t.name);
        nw = l > nw ? (l > 48 ? 48 : l) : nw;
    }
    cli_printf("file     %s\nformat   %d.%d\nsize     %llu bytes\ndecoded  %llu bytes\n", path,
               mf_version(f) / 1000, mf_version(f) % 1000,
               (unsigned long long)mf_file_size(f), (unsigned long long)mf_decoded_size(f));
    cli_printf("\nmetadata (%d keys)\n", n_meta);
    for (int i = 0; i < n_meta; i++) {
        const char *key;
        mf_type type;
        mf_meta_at(f, i, &key, &type);
        cli_printf("  %-*s  %-5s  ", kw, key, type_name(type));
        print_value(f, key, type);
        cli_puts("\n");
    }
    cli_printf("\ntensors (%d)\n  %-*s  %-5s  %-16s %12s %12s  %s\n", n_tensors, nw, "name",
               "dtype", "shape", "stored", "decoded", "ratio");
    uint64_t stored = 0, decoded = 0;
    for (int i = 0; i < n_tensors; i++) {
        mf_tensor t;
        mf_tensor_at(f, i, &t);
        char shape[96];
        int p = 0;
        for (int d = 0; d < t.ndim; d++)
            p += snprintf(shape + p, sizeof shape - (size_t)p, "%s%lld", d ? "x" : "",
                          (long long)t.shape[d]);
        cli_printf("  %-*s  %-5s  %-16s %12llu %12llu  %.3f\n", nw, t.name,
                   attn_dtype_name(t.dtype), shape, (unsigned long long)t.stored_size,
                   (unsigned long long)t.decoded_size,
                   (double)t.stored_size / (double)t.decoded_size);
        stored += t.stored_size;
        decoded += t.decoded_size;
    }
    cli_printf("  %-*s  %-5s  %-16s %12llu %12llu  %.3f\n", nw, "total", "", "",
               (unsigned long long)stored, (unsigned long long)decoded,
               decoded ? (double)stored / (double)decoded : 0.0);
}

int cli_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"verify", required_argument, NULL, 'v'},
        {"no-verify", no_argument, NULL, 'V'},
        {"threads", required_argument, NULL, 'T'},
        {"stats", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int verify = MF_VERIFY_ALL, threads = 0, stats = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            info_usage();
            return CLI_OK;
        case 'v':
            if (strcmp(optarg, "all") == 0)
                verify = MF_VERIFY_ALL;
            else if (strcmp(optarg, "read") == 0)
                verify = MF_VERIFY_READ;
            else if (strcmp(optarg, "none") == 0)
                verify = MF_VERIFY_NONE;
            else
                return cli_usage_error("info", "--verify: '%s' is not all, read or none", optarg);
            break;
        case 'V':
            verify = MF_VERIFY_NONE;
            break;
        case 'T':
            if (cli_parse_threads("info", optarg, &threads))
                return CLI_USAGE;
            break;
        case 's':
            stats = 1;
            break;
        default:
            return cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return cli_usage_error("info", "one model file at most");
    const char *path = cli_default_model(optind < argc ? argv[optind] : NULL);
    if (!path) {
        cli_error("info: no model given and no default model found");
        return CLI_FAIL;
    }
    double t0 = eng_now();
    mf_file *f = cli_open_file(path, verify, threads);
    double load_s = eng_now() - t0;
    if (!f)
        return CLI_FAIL;
    if (stats) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
        cli_printf("load_ms=%.3f cpu_ms=%.3f decoded_bytes=%llu file_bytes=%llu "
                   "peak_rss_bytes=%lld\n",
                   load_s * 1e3,
                   cpu, (unsigned long long)mf_decoded_size(f), (unsigned long long)mf_file_size(f),
                   (long long)ru.ru_maxrss * 1024);
    } else {
        print_info(f, path);
    }
    mf_free(f);
    return CLI_OK;
}

