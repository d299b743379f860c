/* test_modelfile.c — the model-file reader and writer against files written by the Python writer
 * (tests/data/modelfile, from scripts/goldens/modelfile_fixtures.py), the C writer against the
 * Python reader, the f16/bf16/q8 conversions, and damaged or hostile files: every truncation and
 * every single-bit flip of small files must give an error, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "modelfile.h"
#include "modelfile_int.h"

#define DIR "tests/data/modelfile/"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Reads a whole file into a malloc'd buffer; fails the test when it cannot. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s: %s (run from the repository root)", path, strerror(errno));
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Opens path with the given threads, mapping and verification; fails the test on error. */
static mf_file *open_ok(const char *path, int threads, int use_mmap, int verify)
{
    mf_options o;
    mf_options_default(&o);
    o.n_threads = threads;
    o.use_mmap = use_mmap;
    o.verify = verify;
    mf_file *f = NULL;
    char why[256] = "";
    int st = mf_open(&f, path, &o, why, sizeof why);
    if (st != ATTN_OK)
        fail_msg("%s: %s (%s)", path, why, attn_strerror(st));
    assert_non_null(f);
    return f;
}

/* Returns the float values of tensor name (malloc'd); fails the test when it is absent. */
static float *values(const mf_file *f, const char *name, mf_tensor *t)
{
    assert_int_equal(mf_tensor_get(f, name, t), ATTN_OK);
    float *v = malloc((size_t)t->n_elements * sizeof *v);
    assert_non_null(v);
    assert_int_equal(mf_tensor_to_f32(v, t), ATTN_OK);
    return v;
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/attn-test-modelfile-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- the Python writer's files, read by C ------------------------------------------------- */

/* The metadata scripts/goldens/modelfile_fixtures.py writes (META there). */
static void check_meta(const mf_file *f)
{
    int64_t i;
    double d;
    const char *s;
    size_t n;
    const void *blob;
    const int64_t *ia;
    const double *da;
    mf_type type;

    assert_int_equal(mf_meta_count(f), 13);
    const char *key;
    assert_int_equal(mf_meta_at(f, 0, &key, &type), ATTN_OK);
    assert_string_equal(key, "arch");
    assert_int_equal(type, MF_T_STR);
    assert_int_equal(mf_meta_at(f, 13, &key, &type), ATTN_ERR_ARG);

    assert_int_equal(mf_get_str(f, "arch", &s, &n), ATTN_OK);
    assert_string_equal(s, "transformer");
    assert_int_equal(n, 11);
    assert_int_equal(mf_get_str(f, "name", &s, &n), ATTN_OK);
    assert_string_equal(s, "fixture \xc3\xa9\xc3\xa8 \xe2\x9c\x93");
    assert_int_equal(mf_get_str(f, "empty_str", &s, &n), ATTN_OK);
    assert_string_equal(s, "");
    assert_int_equal(n, 0);
    assert_int_equal(mf_get_i64(f, "d_model", &i), ATTN_OK);
    assert_int_equal(i, 48);
    assert_int_equal(mf_get_i64(f, "neg", &i), ATTN_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(mf_get_i64(f, "big", &i), ATTN_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(mf_get_f64(f, "norm_eps", &d), ATTN_OK);
    assert_true(d == 1e-5);
    assert_int_equal(mf_get_f64(f, "embed_scale", &d), ATTN_OK);
    assert_true(d == 0.0 && signbit(d));
    assert_int_equal(mf_get_f64(f, "d_model", &d), ATTN_OK);     /* i64 read as f64 */
    assert_true(d == 48.0);
    assert_int_equal(mf_get_blob(f, "tokenizer", &blob, &n), ATTN_OK);
    assert_int_equal(n, 768);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(((const uint8_t *)blob)[k], k % 256);
    assert_int_equal(mf_get_blob(f, "empty_blob", &blob, &n), ATTN_OK);
    assert_int_equal(n, 0);
    assert_int_equal(mf_get_i64_array(f, "gen.bad_ids", &ia, &n), ATTN_OK);
    assert_int_equal(n, 3);
    assert_true(ia[0] == 1 && ia[1] == -2 && ia[2] == 3);
    assert_int_equal((uintptr_t)ia % 8, 0);
    assert_int_equal(mf_get_i64_array(f, "empty_ids", &ia, &n), ATTN_OK);
    assert_int_equal(n, 0);
    assert_int_equal(mf_get_f64_array(f, "floats", &da, &n), ATTN_OK);
    assert_int_equal(n, 3);
    assert_true(da[0] == 0.5 && da[1] == -1.25 && da[2] == 1e300);

    /* absent keys and wrong types */
    assert_int_equal(mf_get_i64(f, "n_heads", &i), ATTN_ABSENT);
    assert_int_equal(mf_meta_type(f, "n_heads", &type), ATTN_ABSENT);
    assert_int_equal(mf_get_i64(f, "arch", &i), ATTN_ERR_TYPE);
    assert_int_equal(mf_get_f64(f, "arch", &d), ATTN_ERR_TYPE);
    assert_int_equal(mf_get_str(f, "d_model", &s, &n), ATTN_ERR_TYPE);
    assert_int_equal(mf_get_blob(f, "arch", &blob, &n), ATTN_ERR_TYPE);
    assert_int_equal(mf_get_i64_array(f, "floats", &ia, &n), ATTN_ERR_TYPE);
    assert_int_equal(mf_get_f64_array(f, "gen.bad_ids", &da, &n), ATTN_ERR_TYPE);
    assert_int_equal(mf_get_i64_or(f, "n_heads", 8, &i), ATTN_OK);
    assert_int_equal(i, 8);
    assert_int_equal(mf_get_i64_or(f, "arch", 8, &i), ATTN_ERR_TYPE);
    assert_int_equal(mf_get_f64_or(f, "attn_scale", 0.25, &d), ATTN_OK);
    assert_true(d == 0.25);
    assert_int_equal(mf_get_str_or(f, "norm", "layer", &s), ATTN_OK);
    assert_string_equal(s, "layer");
}

/* Checks the tensors of a fixture written with dtype: names, shapes, alignment, and the stored
 * bits of conv.weight against this library's conversion of ref.values. */
static void check_tensors(const mf_file *f, attn_dtype dtype)
{
    static const char *names[] = {"ref.values", "conv.weight", "embed.weight",
                                  "enc.0.attn_norm.bias", "cube"};
    assert_int_equal(mf_tensor_count(f), 5);
    for (int i = 0; i < 5; i++) {
        mf_tensor t;
        assert_int_equal(mf_tensor_at(f, i, &t), ATTN_OK);
        assert_string_equal(t.name, names[i]);
        assert_int_equal((uintptr_t)t.data % MF_ALIGN, 0);
        assert_int_equal(t.dtype, t.ndim == 2 ? dtype : ATTN_F32);
    }
    mf_tensor t;
    assert_int_equal(mf_tensor_at(f, 5, &t), ATTN_ERR_ARG);
    assert_int_equal(mf_tensor_get(f, "out.weight", &t), ATTN_ABSENT);

    float *ref = values(f, "ref.values", &t);
    assert_int_equal(t.ndim, 1);
    assert_int_equal(t.shape[0], 256);
    assert_int_equal(t.dtype, ATTN_F32);
    assert_true(ref[0] == 0.0f && ref[2] == 1.0f && ref[4] == 65504.0f);

    mf_tensor c;
    assert_int_equal(mf_tensor_get(f, "conv.weight", &c), ATTN_OK);
    assert_int_equal(c.ndim, 2);
    assert_true(c.shape[0] == 16 && c.shape[1] == 16 && c.shape[2] == 0);
    int bad = 0;
    if (dtype == ATTN_F32) {
        bad = memcmp(c.data, ref, 256 * 4) != 0;
    } else if (dtype == ATTN_F16 || dtype == ATTN_BF16) {
        const uint16_t *h = c.data;
        for (int k = 0; k < 256; k++) {
            uint16_t mine = dtype == ATTN_F16 ? attn_f32_to_f16(ref[k]) : attn_f32_to_bf16(ref[k]);
            if (mine != h[k]) {
                print_error("value %d (%.9g): file %04x, mf_f32_to_%s %04x\n", k, ref[k], h[k],
                            attn_dtype_name(dtype), mine);
                bad = 1;
            }
        }
    } else {
        int8_t q[256];
        float s[16];
        assert_int_equal(attn_quantize_q8(q, s, ref, 16, 16), ATTN_OK);
        assert_non_null(c.scales);
        assert_ptr_equal(c.scales, (const float *)((const uint8_t *)c.data + 256));
        bad = memcmp(q, c.data, 256) != 0 || memcmp(s, c.scales, sizeof s) != 0;
        assert_true(c.scales[15] == 0.0f);      /* the all-zero row */
    }
    assert_false(bad);
    free(ref);

    float *e = values(f, "embed.weight", &t);
    assert_true(t.shape[0] == 32 && t.shape[1] == 48);
    assert_int_equal(t.n_chunks, dtype == ATTN_F32 ? 6 : dtype == ATTN_Q8 ? 2 : 3);
    free(e);
    assert_int_equal(mf_tensor_get(f, "cube", &t), ATTN_OK);
    assert_true(t.ndim == 3 && t.shape[0] == 2 && t.shape[1] == 3 && t.shape[2] == 5);
}

static void test_read_python_files(void **state)
{
    (void)state;
    static const struct { const char *file; attn_dtype dtype; } files[] = {
        {DIR "py-f32.attn", ATTN_F32}, {DIR "py-f16.attn", ATTN_F16},
        {DIR "py-bf16.attn", ATTN_BF16}, {DIR "py-q8.attn", ATTN_Q8},
        {DIR "py-none.attn", ATTN_F32}};
    mf_file *f32 = open_ok(DIR "py-f32.attn", 1, 0, MF_VERIFY_ALL);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        for (int threads = 1; threads <= 3; threads += 2)
            for (int map = 0; map <= 1; map++) {
                mf_file *f = open_ok(files[i].file, threads, map, MF_VERIFY_ALL);
                assert_int_equal(mf_version(f), 1000);
                check_meta(f);
                check_tensors(f, files[i].dtype);
                /* every tensor decodes to the f32 file's values within the dtype's precision */
                for (int k = 0; k < mf_tensor_count(f); k++) {
                    mf_tensor a, b;
                    mf_tensor_at(f, k, &a);
                    float *va = values(f, a.name, &a), *vb = values(f32, a.name, &b);
                    double tol = a.dtype == ATTN_F32 ? 0 : a.dtype == ATTN_F16 ? 1.0 / 1024
                               : a.dtype == ATTN_BF16 ? 1.0 / 128 : 0;
                    float rowmax = 0;
                    for (int64_t j = 0; j < a.n_elements; j++) {
                        if (a.dtype == ATTN_Q8 && j % a.shape[1] == 0) {
                            rowmax = 0;
                            for (int64_t c = j; c < j + a.shape[1]; c++)
                                rowmax = fmaxf(rowmax, fabsf(vb[c]));
                        }
                        /* q8: half a step; f16, bf16: half an ulp, or of the smallest
                                         * subnormal step */
                        double bound =
                            a.dtype == ATTN_Q8
                                ? 0.5 * rowmax / 127 * 1.001
                                : tol * fabs(vb[j]) + (a.dtype == ATTN_F16 ? 0x1p-25 : 0x1p-134);
                        if (!(fabs(va[j] - vb[j]) <= bound) &&
                            !(isinf(va[j]) && fabsf(vb[j]) >= 65520))
                            fail_msg("%s %s[%lld]: %.9g vs %.9g", files[i].file, a.name,
                                     (long long)j, va[j], vb[j]);
                    }
                    free(va);
                    free(vb);
                }
                mf_free(f);
            }
    mf_free(f32);
}

static void test_mmap(void **state)
{
    (void)state;
    mf_file *m = open_ok(DIR "py-none.attn", 2, 1, MF_VERIFY_READ);
    mf_file *r = open_ok(DIR "py-none.attn", 2, 0, MF_VERIFY_READ);
    for (int k = 0; k < mf_tensor_count(m); k++) {
        mf_tensor a, b;
        mf_tensor_at(m, k, &a);
        mf_tensor_at(r, k, &b);
        assert_int_equal(a.mapped, 1);
        assert_int_equal(b.mapped, 0);
        assert_int_equal((uintptr_t)a.data % MF_ALIGN, 0);
        assert_memory_equal(a.data, b.data, a.decoded_size);
    }
    char why[256];
    assert_int_equal(mf_verify(m, why, sizeof why), ATTN_OK);
    assert_int_equal(mf_decoded_size(m), mf_decoded_size(r));
    assert_int_equal(mf_file_size(m), 10488);
    /* dropping the pages under every tensor keeps the data of a mapped and of a read file (a
     * mapped one reads them back from the file; a read one is left alone) */
    mf_file *both[2] = {m, r};
    for (int i = 0; i < 2; i++) {
        const uint8_t *lo = NULL, *hi = NULL;
        for (int k = 0; k < mf_tensor_count(both[i]); k++) {
            mf_tensor a;
            mf_tensor_at(both[i], k, &a);
            const uint8_t *d = a.data;
            lo = !lo || d < lo ? d : lo;
            hi = !hi || d + a.decoded_size > hi ? d + a.decoded_size : hi;
        }
        assert_true(hi - lo > 2 * 4096);    /* at least one whole page inside */
        mf_drop_pages(both[i], lo, (size_t)(hi - lo));
    }
    for (int k = 0; k < mf_tensor_count(m); k++) {
        mf_tensor a, b;
        mf_tensor_at(m, k, &a);
        mf_tensor_at(r, k, &b);
        assert_memory_equal(a.data, b.data, a.decoded_size);
    }
    assert_int_equal(mf_verify(m, why, sizeof why), ATTN_OK);
    mf_free(m);
    mf_free(r);
    /* compressed tensors are never mapped */
    m = open_ok(DIR "py-f32.attn", 2, 1, MF_VERIFY_NONE);
    mf_tensor t;
    mf_tensor_at(m, 0, &t);
    assert_int_equal(t.mapped, 0);
    mf_free(m);
    mf_free(NULL);
}

/* ---- conversions -------------------------------------------------------------------------- */

static void test_conversions(void **state)
{
    (void)state;
    /* every half survives a trip through float (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float x = attn_f16_to_f32((uint16_t)h);
        uint16_t back = attn_f32_to_f16(x);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
            assert_true(isnan(x) && (back & 0x7c00) == 0x7c00 && (back & 0x3ff));
        else if (back != h)
            fail_msg("half %04x -> %.9g -> %04x", h, x, back);
    }
    assert_int_equal(attn_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(attn_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(attn_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(attn_f32_to_f16(65520.0f), 0x7c00);          /* halfway to 2^16: even = inf */
    assert_int_equal(attn_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);   /* tie to even */
    assert_int_equal(attn_f32_to_f16(1.0f + 0x3p-11f), 0x3c02);
    assert_int_equal(attn_f32_to_f16(0x1p-24f), 0x0001);
    assert_int_equal(attn_f32_to_f16(0x1p-25f), 0x0000);          /* tie to even: 0 */
    assert_int_equal(attn_f32_to_f16(0x3p-25f), 0x0002);
    assert_int_equal(attn_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(attn_f32_to_f16(INFINITY), 0x7c00);
    assert_true((attn_f32_to_f16(NAN) & 0x7fff) > 0x7c00);
    assert_int_equal(attn_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(attn_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
    assert_int_equal(attn_f32_to_bf16(1.0f + 0x3p-8f), 0x3f82);
    assert_int_equal(attn_f32_to_bf16(-INFINITY), 0xff80);
    assert_true((attn_f32_to_bf16(NAN) & 0x7fff) > 0x7f80);
    assert_true(attn_bf16_to_f32(0x4049) == 3.140625f);
    float x[4] = {1.0f, -2.0f, 0.5f, NAN};
    int8_t q[4];
    float s[2];
    assert_int_equal(attn_quantize_q8(q, s, x, 1, 3), ATTN_OK);
    assert_true(s[0] == 2.0f / 127.0f);
    assert_true(q[0] == 64 && q[1] == -127 && q[2] == 32);      /* 63.5 -> 64, 31.75 -> 32 */
    assert_int_equal(attn_quantize_q8(q, s, x, 2, 2), ATTN_ERR_ARG);
    attn_dtype d;
    assert_int_equal(attn_dtype_parse(&d, "bf16"), ATTN_OK);
    assert_int_equal(d, ATTN_BF16);
    assert_int_equal(attn_dtype_parse(&d, "f64"), ATTN_ERR_ARG);
    assert_string_equal(attn_dtype_name(ATTN_Q8), "q8");
    assert_string_equal(attn_strerror(ATTN_ERR_CRC), "CRC mismatch: model file damaged");
}

static void test_crc(void **state)
{
    (void)state;
    /* mf_crc32 (carry-less multiplication where the CPU has it) against zlib's crc32, for every
     * length up to 1100 at three alignments, chained from a nonzero CRC, and on 1 MiB */
    size_t n = (size_t)1 << 20;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 23);
    }
    for (size_t len = 0; len <= 1100; len++)
        for (size_t off = 0; off < 3; off++) {
            uint32_t init = (uint32_t)(len * 2654435761u);
            uint32_t mine = mf_crc32(init, b + off, len);
            uint32_t zlib = (uint32_t)crc32(init, b + off, (uInt)len);
            if (mine != zlib)
                fail_msg("length %zu at offset %zu: %08x, zlib %08x", len, off, mine, zlib);
        }
    assert_int_equal(mf_crc32(0, b, n), (uint32_t)crc32(0, b, (uInt)n));
    assert_int_equal(mf_crc32(0, "123456789", 9), 0xcbf43926u);
    free(b);
}

/* ---- the C writer, read by C and by the Python reader ------------------------------------- */

/* Returns 1 when /usr/bin/python3 with numpy can run the cross-check. */
static int have_python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

static void test_c_writer(void **state)
{
    (void)state;
    static const char *dtypes[] = {"f32", "f16", "bf16", "q8"};
    mf_file *src = open_ok(DIR "py-f32.attn", 2, 0, MF_VERIFY_ALL);
    int python = have_python();
    for (int di = 0; di < 4; di++)
        for (int method = 0; method <= 1; method++) {
            attn_dtype dtype;
            assert_int_equal(attn_dtype_parse(&dtype, dtypes[di]), ATTN_OK);
            mf_writer *w;
            assert_int_equal(mf_writer_open(&w), ATTN_OK);
            assert_int_equal(mf_writer_copy_meta(w, src), ATTN_OK);
            for (int k = 0; k < mf_tensor_count(src); k++) {
                mf_tensor t;
                mf_tensor_at(src, k, &t);
                size_t n = strlen(t.name);
                int convert = t.ndim == 2 && n > 7 && strcmp(t.name + n - 7, ".weight") == 0;
                assert_int_equal(mf_writer_add_f32(w, t.name, convert ? dtype : ATTN_F32, t.shape,
                                                   t.ndim, t.data), ATTN_OK);
            }
            mf_write_options o;
            mf_write_options_default(&o);
            o.method = method ? MF_METHOD_DEFLATE : MF_METHOD_NONE;
            o.chunk_size = 1024;
            o.n_threads = 2;
            char path[128], why[256] = "";
            snprintf(path, sizeof path, "%s/c-%s-%d.attn", tmpdir, dtypes[di], method);
            if (mf_writer_write(w, path, &o, why, sizeof why) != ATTN_OK)
                fail_msg("%s: %s", path, why);
            mf_writer_free(w);
            mf_file *f = open_ok(path, 2, 1, MF_VERIFY_ALL);
            check_meta(f);
            check_tensors(f, dtype);
            mf_free(f);
            if (dtype == ATTN_F32 && method == 1) {
                /* same content, options and zlib as the Python writer: the same bytes */
                size_t la, lb;
                uint8_t *a = slurp(path, &la), *b = slurp(DIR "py-f32.attn", &lb);
                assert_int_equal(la, lb);
                assert_memory_equal(a, b, la);
                free(a);
                free(b);
            }
            if (python) {
                char cmd[512];
                snprintf(cmd, sizeof cmd,
                         "/usr/bin/python3 -m scripts.goldens.modelfile_fixtures "
                         "--check '%s' %s %s",
                         path, dtypes[di], method ? "zlib" : "none");
                if (system(cmd) != 0)
                    fail_msg("the Python reader disagrees with the C writer: %s", cmd);
            }
        }
    mf_free(src);
    if (!python) {
        print_message("SKIPPED: /usr/bin/python3 with numpy not found: the C-writer -> "
                      "Python-reader cross-check did not run\n");
        skip();
    }
}

/* q4 tensors: written (quantized) and read back through the reference dequantization in both
 * compressions, each value within half a group scale of the original (a whole one where
 * +8 scales clamp to 7), padding nibbles 8, the minor version 1, non-finite values and scales
 * beyond a half refused. */
static void test_q4_round_trip(void **state)
{
    (void)state;
    enum { ROWS = 5, COLS = 70 };   /* 3 groups per row, the last one 6 values long */
    int64_t shape[2] = {ROWS, COLS};
    float v[ROWS * COLS], back[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++)
        v[i] = (float)((i * 37) % 101 - 50) * (i % 7 == 0 ? 0.25f : 0.01f);
    for (int k = 0; k < COLS; k++)
        v[COLS + k] = 0.0f;                             /* an all-zero row */
    for (int m = 0; m < 2; m++) {
        mf_writer *w;
        assert_int_equal(mf_writer_open(&w), ATTN_OK);
        assert_int_equal(mf_writer_add_f32(w, "q.weight", ATTN_Q4, shape, 2, v), ATTN_OK);
        mf_write_options o;
        mf_write_options_default(&o);
        o.method = m ? MF_METHOD_NONE : MF_METHOD_DEFLATE;
        char why[256], path[128];
        snprintf(path, sizeof path, "%s/q4-%d.attn", tmpdir, m);
        assert_int_equal(mf_writer_write(w, path, &o, why, sizeof why), ATTN_OK);
        mf_writer_free(w);
        mf_file *f = open_ok(path, 1, 1, MF_VERIFY_ALL);
        assert_int_equal(mf_version(f), 1001);
        mf_tensor t;
        assert_int_equal(mf_tensor_get(f, "q.weight", &t), ATTN_OK);
        assert_int_equal(t.dtype, ATTN_Q4);
        assert_int_equal(t.decoded_size, 256 + 2 * ROWS * 3);   /* 240 nibble bytes, padded */
        assert_int_equal(mf_tensor_to_f32(back, &t), ATTN_OK);
        for (int r = 0; r < ROWS; r++)
            for (int k = 0; k < COLS; k++) {
                float d = attn_f16_to_f32(t.half_scales[r * 3 + k / 32]);
                float x = v[r * COLS + k], y = back[r * COLS + k];
                /* x / d = +8 (the sign opposite to the largest) clamps to nibble 15 */
                float lim = d != 0.0f && x / d > 7.5f ? fabsf(d) : 0.5f * fabsf(d);
                if (!(fabsf(x - y) <= lim * 1.001f + 1e-6f))
                    fail_msg("q4 (%d, %d): %g read back as %g (scale %g)", r, k, x, y, d);
            }
        const uint8_t *nib = t.data;
        for (int r = 0; r < ROWS; r++)
            for (int k = COLS; k < 96; k++)
                assert_int_equal((nib[r * 48 + k / 2] >> (4 * (k & 1))) & 15, 8);
        mf_free(f);
    }
    mf_writer *w;
    assert_int_equal(mf_writer_open(&w), ATTN_OK);
    v[3] = NAN;
    assert_int_equal(mf_writer_add_f32(w, "n.weight", ATTN_Q4, shape, 2, v), ATTN_ERR_ARG);
    v[3] = 6e5f;                                        /* its scale would overflow a half */
    assert_int_equal(mf_writer_add_f32(w, "n.weight", ATTN_Q4, shape, 2, v), ATTN_ERR_ARG);
    mf_writer_free(w);
}

static void test_writer_errors(void **state)
{
    (void)state;
    mf_writer *w;
    assert_int_equal(mf_writer_open(&w), ATTN_OK);
    int64_t shape[2] = {2, 2}, zero[2] = {2, 0};
    float v[4] = {1, 2, 3, INFINITY};
    assert_int_equal(mf_writer_add_f32(w, "a", ATTN_F32, shape, 2, v), ATTN_OK);
    assert_int_equal(mf_writer_add_f32(w, "a", ATTN_F32, shape, 2, v), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_add_f32(w, "", ATTN_F32, shape, 2, v), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_add_f32(w, "b", ATTN_F32, zero, 2, v), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_add_f32(w, "b", ATTN_F32, shape, 5, v), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_add_f32(w, "b", ATTN_Q8, shape, 2, v), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_add_f32(w, "b", (attn_dtype)7, shape, 2, v), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_set_i64(w, "", 1), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_set_i64(w, "k", 1), ATTN_OK);
    assert_int_equal(mf_writer_set_str(w, "k", "replaced"), ATTN_OK);
    mf_write_options o;
    mf_write_options_default(&o);
    o.chunk_size = 100;
    char why[256], path[128];
    snprintf(path, sizeof path, "%s/err.attn", tmpdir);
    assert_int_equal(mf_writer_write(w, path, &o, why, sizeof why), ATTN_ERR_ARG);
    assert_int_equal(mf_writer_write(w, "/nonexistent-dir/x.attn", NULL, why, sizeof why),
                     ATTN_ERR_IO);
    assert_int_equal(mf_writer_write(w, path, NULL, why, sizeof why), ATTN_OK);
    mf_writer_free(w);
    mf_writer_free(NULL);
    mf_file *f = open_ok(path, 1, 1, MF_VERIFY_ALL);
    const char *s;
    assert_int_equal(mf_meta_count(f), 1);
    assert_int_equal(mf_get_str(f, "k", &s, NULL), ATTN_OK);
    assert_string_equal(s, "replaced");
    mf_free(f);
}

/* ---- damaged and hostile files ------------------------------------------------------------ */

/* Opens the len bytes at data from memory with one or two threads; returns the status. */
static int open_mem(const uint8_t *data, size_t len, int threads, char *why, size_t why_len)
{
    mf_options o;
    mf_options_default(&o);
    o.n_threads = threads;
    mf_file *f = NULL;
    int st = mf_open_mem(&f, data, len, &o, why, why_len);
    if (st == ATTN_OK) {
        assert_non_null(f);
        /* the file opened: every query must work */
        for (int k = 0; k < mf_tensor_count(f); k++) {
            mf_tensor t;
            assert_int_equal(mf_tensor_at(f, k, &t), ATTN_OK);
            assert_int_equal(mf_tensor_get(f, t.name, &t), ATTN_OK);
        }
    } else {
        assert_null(f);
        assert_true(st < 0);
        assert_true(why[0] != 0);
    }
    mf_free(f);
    return st;
}

static const char *damage_files[] = {DIR "py-q8.attn", DIR "py-none.attn", DIR "py-bf16.attn",
                                     DIR "py-f32.attn"};
#define N_DAMAGE (sizeof damage_files / sizeof *damage_files)

static void test_truncation(void **state)
{
    (void)state;
    for (size_t fi = 0; fi < N_DAMAGE; fi++) {
        size_t len;
        uint8_t *data = slurp(damage_files[fi], &len);
        char why[256];
        assert_int_equal(open_mem(data, len, 2, why, sizeof why), ATTN_OK);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);     /* exact size: ASan sees any overread */
            memcpy(copy, data, cut);
            why[0] = 0;
            int st = open_mem(copy, cut, 1 + (int)(cut % 2), why, sizeof why);
            if (st >= 0)
                fail_msg("%s cut to %zu bytes opened", damage_files[fi], cut);
            if (cut >= 8)
                assert_int_equal(st, ATTN_ERR_TRUNCATED);
            free(copy);
        }
        free(data);
    }
    /* through a file as well */
    char path[128], why[256];
    snprintf(path, sizeof path, "%s/cut.attn", tmpdir);
    size_t len;
    uint8_t *data = slurp(DIR "py-q8.attn", &len);
    FILE *fp = fopen(path, "wb");
    fwrite(data, 1, len - 1, fp);
    fclose(fp);
    mf_file *f;
    assert_int_equal(mf_open(&f, path, NULL, why, sizeof why), ATTN_ERR_TRUNCATED);
    assert_null(f);
    assert_non_null(strstr(why, "truncated"));
    free(data);
}

static void test_bit_flips(void **state)
{
    (void)state;
    for (size_t fi = 0; fi < N_DAMAGE; fi++) {
        size_t len;
        uint8_t *data = slurp(damage_files[fi], &len);
        int tensor_named = 0;
        for (size_t bit = 0; bit < 8 * len; bit++) {
            char why[256] = "";
            data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int st = open_mem(data, len, 1 + (int)(bit % 2), why, sizeof why);
            data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (st >= 0)
                fail_msg("%s with bit %zu flipped opened", damage_files[fi], bit);
            tensor_named += strncmp(why, "tensor ", 7) == 0;
        }
        /* flips in the data (most of the file) are reported with the tensor's name */
        assert_true(tensor_named > (int)(4 * len));
        free(data);
    }
}

/* Recomputes the header, metadata and directory CRCs of a file image. */
static void fix_crcs(uint8_t *d)
{
    uint64_t meta_size, dir_size;
    memcpy(&meta_size, d + 24, 8);
    memcpy(&dir_size, d + 32, 8);
    uint32_t c = (uint32_t)crc32(0, d + 64, (uInt)meta_size);
    memcpy(d + 48, &c, 4);
    c = (uint32_t)crc32(0, d + 64 + meta_size, (uInt)dir_size);
    memcpy(d + 52, &c, 4);
    c = (uint32_t)crc32(0, d, 60);
    memcpy(d + 60, &c, 4);
}

static void test_flips_behind_crcs(void **state)
{
    (void)state;
    /* every bit of the header, metadata and directory flipped with their CRCs recomputed, so
     * that the field checks themselves are exercised: an error or a consistent file, no crash */
    size_t len;
    uint8_t *data = slurp(DIR "py-q8.attn", &len);
    uint64_t meta_size, dir_size;
    memcpy(&meta_size, data + 24, 8);
    memcpy(&dir_size, data + 32, 8);
    size_t end = 64 + (size_t)(meta_size + dir_size);
    int errors = 0;
    for (size_t bit = 0; bit < 8 * end; bit++) {
        if (bit / 8 >= 48 && bit / 8 < 64)
            continue;                              /* the CRC fields themselves */
        uint8_t *copy = malloc(len);
        memcpy(copy, data, len);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (bit / 8 >= 24 && bit / 8 < 40) {
            /* a changed section size: only fix CRCs when the sections still fit */
            uint64_t ms, ds;
            memcpy(&ms, copy + 24, 8);
            memcpy(&ds, copy + 32, 8);
            if (ms < len && ds < len && 64 + ms + ds <= len)
                fix_crcs(copy);
        } else {
            fix_crcs(copy);
        }
        char why[256] = "";
        errors += open_mem(copy, len, 1, why, sizeof why) < 0;
        free(copy);
    }
    assert_true(errors > 0);
    free(data);
}

/* Writes a small one-tensor file, lets edit() change its directory entry, fixes the CRCs and
 * returns the status of opening it (why filled). */
static int hostile(void (*edit)(uint8_t *entry), char *why, size_t why_len)
{
    mf_writer *w;
    assert_int_equal(mf_writer_open(&w), ATTN_OK);
    int64_t shape[2] = {4, 4};
    float v[16] = {0};
    assert_int_equal(mf_writer_add_f32(w, "big.weight", ATTN_F32, shape, 2, v), ATTN_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/hostile.attn", tmpdir);
    assert_int_equal(mf_writer_write(w, path, NULL, why, why_len), ATTN_OK);
    mf_writer_free(w);
    size_t len;
    uint8_t *d = slurp(path, &len);
    edit(d + 64);                           /* no metadata: the directory starts at 64 */
    fix_crcs(d);
    FILE *fp = fopen(path, "wb");
    fwrite(d, 1, len, fp);
    fclose(fp);
    free(d);
    mf_file *f;
    int st = mf_open(&f, path, NULL, why, why_len);
    assert_null(f);
    return st;
}

static void claim_1tb(uint8_t *e)
{
    uint64_t rows = 1ull << 18, cols = 1ull << 20, dec = rows * cols * 4;
    memcpy(e + 8, &rows, 8);
    memcpy(e + 16, &cols, 8);
    memcpy(e + 56, &dec, 8);
    uint32_t chunks = (uint32_t)(dec / (1u << 18));
    memcpy(e + 72, &chunks, 4);
}

static void claim_huge_chunk(uint8_t *e)
{
    uint64_t rows = 1ull << 20, cols = 1ull << 20, dec = rows * cols * 4;
    memcpy(e + 8, &rows, 8);
    memcpy(e + 16, &cols, 8);
    memcpy(e + 56, &dec, 8);
    memcpy(e + 64, &dec, 8);                /* one chunk of 4 TiB */
    uint32_t one = 1;
    memcpy(e + 72, &one, 4);
}

static void claim_ratio(uint8_t *e)
{
    /* a consistent shape and chunking, but 64 MiB decoded from a few stored bytes */
    uint64_t rows = 1ull << 12, cols = 1ull << 12, dec = rows * cols * 4;
    memcpy(e + 8, &rows, 8);
    memcpy(e + 16, &cols, 8);
    memcpy(e + 56, &dec, 8);
    memcpy(e + 64, &dec, 8);
}

static void bad_offset(uint8_t *e)
{
    uint64_t off;
    memcpy(&off, e + 40, 8);
    off += 64;
    memcpy(e + 40, &off, 8);
}

static void overflow_shape(uint8_t *e)
{
    /* 2^40 x 2^40 wraps to 0 in 64 bits, 2^33 x 2^33 x 4 to 0 too: both must be refused */
    uint64_t big = 1ull << 40;
    memcpy(e + 8, &big, 8);
    memcpy(e + 16, &big, 8);
}

static void bad_dtype(uint8_t *e) { e[4] = 9; }
static void bad_tensor_crc(uint8_t *e) { e[76] ^= 1; }
static void bad_ndim(uint8_t *e) { e[7] = 5; }
static void bad_shape(uint8_t *e) { memset(e + 8, 0, 8); }

static void test_hostile(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(hostile(claim_1tb, why, sizeof why), ATTN_ERR_CORRUPT);
    assert_non_null(strstr(why, "tensor big.weight"));
    assert_int_equal(hostile(claim_huge_chunk, why, sizeof why), ATTN_ERR_CORRUPT);
    assert_non_null(strstr(why, "tensor big.weight"));
    assert_int_equal(hostile(claim_ratio, why, sizeof why), ATTN_ERR_CORRUPT);
    assert_non_null(strstr(why, "cannot hold"));
    assert_int_equal(hostile(bad_offset, why, sizeof why), ATTN_ERR_CORRUPT);
    assert_non_null(strstr(why, "offset"));
    assert_int_equal(hostile(overflow_shape, why, sizeof why), ATTN_ERR_CORRUPT);
    assert_non_null(strstr(why, "shape dimension 1"));
    assert_int_equal(hostile(bad_dtype, why, sizeof why), ATTN_ERR_CORRUPT);
    /* chunks intact but the tensor's own CRC wrong: caught after decoding */
    assert_int_equal(hostile(bad_tensor_crc, why, sizeof why), ATTN_ERR_CRC);
    assert_non_null(strstr(why, "tensor big.weight: CRC mismatch of the decoded data"));
    assert_int_equal(hostile(bad_ndim, why, sizeof why), ATTN_ERR_CORRUPT);
    assert_int_equal(hostile(bad_shape, why, sizeof why), ATTN_ERR_CORRUPT);
}

static void test_open_errors(void **state)
{
    (void)state;
    mf_file *f;
    char why[256], path[128];
    assert_int_equal(mf_open(&f, "tests/data/modelfile/no-such-file", NULL, why, sizeof why),
                     ATTN_ERR_IO);
    assert_null(f);
    assert_string_equal(why, "No such file or directory");
    assert_int_equal(mf_open(&f, "tests/data", NULL, why, sizeof why), ATTN_ERR_IO);
    assert_string_equal(why, "is a directory");
    assert_int_equal(mf_open(&f, "Makefile", NULL, why, sizeof why), ATTN_ERR_FORMAT);
    assert_int_equal(mf_open_mem(&f, "", 0, NULL, why, sizeof why), ATTN_ERR_TRUNCATED);
    /* a future major version */
    size_t len;
    uint8_t *d = slurp(DIR "py-q8.attn", &len);
    d[8] = 2;
    assert_int_equal(mf_open_mem(&f, d, len, NULL, why, sizeof why), ATTN_ERR_VERSION);
    assert_non_null(strstr(why, "version 2.0"));
    /* a newer minor version is read */
    d[8] = 1;
    d[10] = 7;
    fix_crcs(d);
    assert_int_equal(mf_open_mem(&f, d, len, NULL, why, sizeof why), ATTN_OK);
    assert_int_equal(mf_version(f), 1007);
    mf_free(f);
    /* trailing bytes */
    snprintf(path, sizeof path, "%s/long.attn", tmpdir);
    FILE *fp = fopen(path, "wb");
    fwrite(d, 1, len, fp);
    fputc(0, fp);
    fclose(fp);
    assert_int_equal(mf_open(&f, path, NULL, why, sizeof why), ATTN_ERR_CORRUPT);
    assert_non_null(strstr(why, "trailing"));
    /* a damaged chunk is named */
    d[len - 10] ^= 0x40;
    assert_int_equal(mf_open_mem(&f, d, len, NULL, why, sizeof why), ATTN_ERR_CRC);
    assert_non_null(strstr(why, "tensor cube: chunk 0 of 1: CRC mismatch"));
    mf_options o;
    mf_options_default(&o);
    o.verify = MF_VERIFY_NONE;   /* unchecked, the same flip is caught by inflate or not at all */
    int st = mf_open_mem(&f, d, len, &o, why, sizeof why);
    assert_true(st == ATTN_OK || st == ATTN_ERR_INFLATE);
    mf_free(f);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_python_files),
        cmocka_unit_test(test_mmap),
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_c_writer),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_flips_behind_crcs),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_q4_round_trip),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
