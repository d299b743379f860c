/* fuzz_spm.c — libFuzzer target for the SentencePiece reader and encoder (make fuzz).
 *
 * Each input is used two ways: opened as a .model file (whatever opens must encode a fixed text,
 * invalid UTF-8 included, and decode the result and every id of its vocabulary); and its first
 * kilobyte encoded as text by one of three test models loaded at start-up (unigram with the
 * nmt_nfkc map and user-defined pieces, BPE with byte fallback, char; chosen by the input's
 * length), whose ids must be in range and decode.  Encoding only a bounded prefix keeps the
 * target fast on the large model-shaped inputs, whose text is binary noise anyway.
 * Seeds: tests/data/fuzz-spm (small spm_train models and edge-case lines). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "spm.h"
#include "tok.h"

static tokenizer *fixed[3];

/* Loads a gzipped model from the repository (the target runs from its root). */
static tokenizer *load(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        abort();
    size_t cap = 1 << 22, n = 0;
    char *b = malloc(cap);
    int r;
    while ((r = gzread(f, b + n, (unsigned)(cap - n))) > 0)
        n += (size_t)r;
    gzclose(f);
    tokenizer *m;
    char why[256];
    if (r < 0 || n == cap || spm_open_mem(&m, b, n, why, sizeof why) != TOK_OK)
        abort();
    free(b);
    return m;
}

/* Encodes s[0..len-1] with m (flags: TOK_SPECIAL or 0) and decodes the ids, whole and streamed;
 * aborts on any failure, id out of range or stream that differs. */
static void encode_decode(const tokenizer *m, const char *s, size_t len, int flags)
{
    size_t cap = 4 * len + 16, n, k;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (tok_encode(m, ids, cap, &n, s, len, flags) == TOK_ERR_SPACE) {
        cap = n;
        ids = realloc(ids, cap * sizeof *ids);
        if (tok_encode(m, ids, cap, &n, s, len, flags) != TOK_OK)
            abort();
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= tok_vocab_size(m))
            abort();
    if (tok_decode(m, NULL, 0, &k, ids, n) == TOK_ERR_SPACE) {
        char *out = malloc(k), *chunk = malloc(tok_max_token_bytes(m) + 4);
        size_t k2, got = 0;
        if (tok_decode(m, out, k, &k2, ids, n) != TOK_OK || k2 != k)
            abort();
        tok_stream st;
        tok_stream_init(&st, m);
        for (size_t i = 0; i <= n; i++) {
            int rc = i < n ? tok_stream_push(&st, chunk, tok_max_token_bytes(m) + 4, &k2, ids[i])
                           : tok_stream_flush(&st, chunk, tok_max_token_bytes(m) + 4, &k2);
            if (rc == TOK_ERR_UNSUPPORTED)
                break;
            if (rc != TOK_OK || got + k2 > k || memcmp(chunk, out + got, k2))
                abort();
            got += k2;
        }
        free(chunk);
        free(out);
    }
    free(ids);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fixed[0] = load("tests/data/spm/uni-en-2k-user.model.gz");
    fixed[1] = load("tests/data/spm/bpe-fr-1k-user.model.gz");
    fixed[2] = load("tests/data/spm/char-en.model.gz");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sample[] = "  Hello <sep> w\xc3\xb6rld\xef\xbc\xa1 \xff\xfe 12\xe2\x82 <s>"
                                 "\xe6\x97\xa5\xe2\x96\x81 \xf0\x9f\x98\x80  ";
    char why[256];
    tokenizer *m = NULL;
    if (spm_open_mem(&m, data, size, why, sizeof why) == TOK_OK) {
        encode_decode(m, sample, sizeof sample - 1, 0);
        encode_decode(m, sample, sizeof sample - 1, TOK_SPECIAL);
        size_t n = tok_vocab_size(m), k;
        int32_t *all = malloc(n * sizeof *all);
        for (size_t i = 0; i < n; i++)
            all[i] = (int32_t)i;
        if (tok_decode(m, NULL, 0, &k, all, n) == TOK_ERR_SPACE) {
            char *out = malloc(k);
            if (tok_decode(m, out, k, &k, all, n) != TOK_OK)
                abort();
            free(out);
        }
        free(all);
        tok_free(m);
    }
    encode_decode(fixed[size % 3], (const char *)data, size < 1024 ? size : 1024,
                  size % 2 ? TOK_SPECIAL : 0);
    return 0;
}
