/* fuzz_modelfile.c — libFuzzer target for the model-file reader (make fuzz).
 *
 * Each input is opened twice from memory: as it is, with every CRC checked, and with the
 * header, metadata and directory CRCs recomputed and the data CRCs not checked, so that mutations
 * reach the field validation and the inflate paths behind the checksums.  Whatever opens is then
 * queried completely.  Seeds: tests/data/fuzz-modelfile
 * (python3 -m scripts.goldens.modelfile_fixtures --seeds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "modelfile.h"

/* Reads every key and every tensor of an open file. */
static void query_all(const mf_file *f)
{
    volatile double sink = 0;
    for (int i = 0; i < mf_meta_count(f); i++) {
        const char *key;
        mf_type type;
        int64_t iv;
        double dv;
        const char *s;
        const void *b;
        const int64_t *ia;
        const double *da;
        size_t n;
        mf_meta_at(f, i, &key, &type);
        if (mf_get_i64(f, key, &iv) == ATTN_OK)
            sink += (double)iv;
        if (mf_get_f64(f, key, &dv) == ATTN_OK)
            sink += dv;
        if (mf_get_str(f, key, &s, &n) == ATTN_OK)
            sink += (double)strlen(s) + (double)n;
        if (mf_get_blob(f, key, &b, &n) == ATTN_OK && n)
            sink += ((const uint8_t *)b)[n - 1];
        if (mf_get_i64_array(f, key, &ia, &n) == ATTN_OK && n)
            sink += (double)ia[n - 1];
        if (mf_get_f64_array(f, key, &da, &n) == ATTN_OK && n)
            sink += da[n - 1];
    }
    for (int i = 0; i < mf_tensor_count(f); i++) {
        mf_tensor t;
        mf_tensor_at(f, i, &t);
        mf_tensor_get(f, t.name, &t);
        float *v = malloc((size_t)t.n_elements * sizeof *v);
        if (!v)
            continue;
        mf_tensor_to_f32(v, &t);
        sink += v[t.n_elements - 1];
        free(v);
    }
    (void)sink;
}

/* Opens data with the given verification and queries it when it opens. */
static void try_open(const uint8_t *data, size_t size, int verify)
{
    mf_options o;
    mf_options_default(&o);
    o.verify = verify;
    o.n_threads = 1 + (int)(size % 2);
    mf_file *f;
    char why[256];
    if (mf_open_mem(&f, data, size, &o, why, sizeof why) == ATTN_OK)
        query_all(f);
    mf_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_open(data, size, MF_VERIFY_ALL);
    if (size < 64)
        return 0;
    uint64_t meta_size, dir_size;
    memcpy(&meta_size, data + 24, 8);
    memcpy(&dir_size, data + 32, 8);
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (meta_size <= size - 64 && dir_size <= size - 64 - meta_size) {
        uint32_t c = (uint32_t)crc32(0, copy + 64, (uInt)meta_size);
        memcpy(copy + 48, &c, 4);
        c = (uint32_t)crc32(0, copy + 64 + meta_size, (uInt)dir_size);
        memcpy(copy + 52, &c, 4);
    }
    uint32_t c = (uint32_t)crc32(0, copy, 60);
    memcpy(copy + 60, &c, 4);
    try_open(copy, size, MF_VERIFY_NONE);
    free(copy);
    return 0;
}
