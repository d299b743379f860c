/* convert.c — `attn convert`: rewrite a model file in another dtype or compression. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Prints attn convert --help. */
static void convert_usage(void)
{
    cli_puts(
        "Usage: attn convert [--dtype TYPE] [--compress METHOD] [--level N] [--set KEY=TEXT]\n"
        "                    IN OUT\n"
        "Rewrite the model file IN as OUT (which may be IN: OUT is written to OUT.tmp and\n"
        "renamed). Metadata is copied unchanged but for --set. f32->f16/bf16 rounds to\n"
        "nearest even; q8 quantizes each output row symmetrically (scale = max |w| / 127);\n"
        "q4 each group of 32 values of a row (scale = the largest by magnitude / -8, as a\n"
        "half).\n\n"
        "      --dtype TYPE        f32, f16, bf16, q8 or q4: the type of every 2-D tensor whose\n"
        "                          name ends in .weight (default: keep each tensor's type)\n"
        "      --compress METHOD   zlib (deflate in chunks, byte-shuffled floats; the\n"
        "                          default) or none (uncompressed, memory-mappable)\n"
        "      --level N           zlib level, 0 (fastest) to 9 (smallest); default 6\n"
        "      --threads N         threads that read and compress (1 to 16; default: all CPUs)\n"
        "      --set KEY=TEXT      set (or replace) the text metadata key KEY, e.g.\n"
        "                          task=translation (repeatable, up to 16 times)\n"
        "  -h, --help              show this help\n");
}

/* Returns 1 when the tensor gets the --dtype type: 2-D with a name ending in ".weight". */
static int takes_dtype(const mf_tensor *t)
{
    size_t n = strlen(t->name);
    return t->ndim == 2 && n >= 7 && strcmp(t->name + n - 7, ".weight") == 0;
}

/* Adds every tensor of f to w, converted to dtype where it applies (dtype < 0: unchanged);
 * returns 0, or 1 after printing the error. */
static int add_tensors(mf_writer *w, const mf_file *f, int dtype, const char *in)
{
    for (int i = 0; i < mf_tensor_count(f); i++) {
        mf_tensor t;
        mf_tensor_at(f, i, &t);
        int st;
        if (dtype < 0 || !takes_dtype(&t) || (int)t.dtype == dtype) {
            st = mf_writer_add_tensor(w, &t);
        } else {
            float *v = malloc((size_t)t.n_elements * sizeof *v);
            if (!v) {
                cli_error("%s: tensor %s: out of memory", in, t.name);
                return 1;
            }
            mf_tensor_to_f32(v, &t);
            st = mf_writer_add_f32(w, t.name, (attn_dtype)dtype, t.shape, t.ndim, v);
            free(v);
        }
        if (st == ATTN_ERR_ARG) {
            cli_error("%s: tensor %s: cannot be stored as %s (values not finite%s)", in, t.name,
                      attn_dtype_name((attn_dtype)dtype),
                      dtype == ATTN_Q4 ? ", or of magnitude 524160 or more" : "");
            return 1;
        }
        if (st < 0) {
            cli_error("%s: tensor %s: %s", in, t.name, attn_strerror(st));
            return 1;
        }
    }
    return 0;
}

/* Sets each KEY=TEXT of set (n) as a text key of w; returns 0, or 1 after printing the error. */
static int set_keys(mf_writer *w, const char *const *set, int n)
{
    for (int i = 0; i < n; i++) {
        char key[4096];
        size_t k = (size_t)(strchr(set[i], '=') - set[i]);
        int st = k < sizeof key ? ATTN_OK : ATTN_ERR_ARG;
        if (st == ATTN_OK) {
            memcpy(key, set[i], k);
            key[k] = '\0';
            st = mf_writer_set_str(w, key, set[i] + k + 1);
        }
        if (st < 0) {
            cli_error("convert: --set %s: %s", set[i], attn_strerror(st));
            return 1;
        }
    }
    return 0;
}

int cli_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dtype", required_argument, NULL, 'd'},
        {"compress", required_argument, NULL, 'c'},
        {"level", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'T'},
        {"set", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    mf_write_options wo;
    mf_write_options_default(&wo);
    int dtype = -1, c, n_set = 0;
    const char *set[16];
    long level;
    attn_dtype d;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            convert_usage();
            return CLI_OK;
        case 'd':
            if (attn_dtype_parse(&d, optarg) < 0)
                return cli_usage_error("convert", "--dtype: '%s' is not f32, f16, bf16, q8 or q4",
                                       optarg);
            dtype = (int)d;
            break;
        case 'c':
            if (strcmp(optarg, "zlib") == 0)
                wo.method = MF_METHOD_DEFLATE;
            else if (strcmp(optarg, "none") == 0)
                wo.method = MF_METHOD_NONE;
            else
                return cli_usage_error("convert", "--compress: '%s' is not zlib or none", optarg);
            break;
        case 'l':
            if (cli_parse_long(optarg, 0, 9, &level) < 0)
                return cli_usage_error("convert", "--level: '%s' is not a number from 0 to 9",
                                       optarg);
            wo.level = (int)level;
            break;
        case 'T':
            if (cli_parse_threads("convert", optarg, &wo.n_threads))
                return CLI_USAGE;
            break;
        case 's':
            if (optarg[0] == '=' || !strchr(optarg, '=') || n_set == 16)
                return cli_usage_error("convert", "--set: '%s' is not KEY=TEXT, or more than 16",
                                       optarg);
            set[n_set++] = optarg;
            break;
        default:
            return cli_usage_error("convert", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convert", "needs an input and an output file");
    const char *in = argv[optind], *out = argv[optind + 1];
    mf_file *f = cli_open_file(in, MF_VERIFY_ALL, wo.n_threads);
    if (!f)
        return CLI_FAIL;
    mf_writer *w = NULL;
    int status = CLI_FAIL, st;
    char why[320];
    if (mf_writer_open(&w) < 0 || mf_writer_copy_meta(w, f) < 0) {
        cli_error("%s: out of memory", in);
        goto done;
    }
    if (set_keys(w, set, n_set))
        goto done;
    if (add_tensors(w, f, dtype, in))
        goto done;
    st = mf_writer_write(w, out, &wo, why, sizeof why);
    if (st < 0) {
        cli_error("%s: %s", out, why);
        goto done;
    }
    status = CLI_OK;
done:
    mf_writer_free(w);
    mf_free(f);
    return status;
}
