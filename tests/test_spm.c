/* test_spm.c — SentencePiece models against the library's goldens, malformed and corrupted model
 * files, and the API's contracts.
 *
 * Goldens come from scripts/goldens/spm-goldens.sh (Debian's spm_train, spm_encode and spm_decode,
 * 0.1.97); for each model the test encodes every line and decodes every golden id line, and prints
 * the first differing line of each kind with both sides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "spm.h"
#include "tok.h"
#include "tok_test.h"

#define SPM "tests/data/spm/"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Opens the gzipped test model NAME.model.gz; fails the test with the reason if it does not
 * open. */
static tokenizer *open_model(const char *name)
{
    char path[256], why[256] = "";
    snprintf(path, sizeof path, SPM "%s.model.gz", name);
    size_t len;
    char *buf = load(path, &len);
    tokenizer *m = NULL;
    int rc = spm_open_mem(&m, buf, len, why, sizeof why);
    free(buf);
    if (rc < 0)
        fail_msg("%s: %s (%s)", path, why, tok_strerror(rc));
    return m;
}

/* Splits the next line off *p (before end); returns its start and sets *n (no '\n'). */
static const char *next_line(const char **p, const char *end, size_t *n)
{
    const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    *n = (size_t)((nl ? nl : end) - s);
    *p = nl ? nl + 1 : end;
    return s;
}

/* Parses space-separated ids from s[0..n-1]; returns the count. */
static size_t parse_ids(int32_t *ids, const char *s, size_t n)
{
    size_t k = 0;
    const char *end = s + n;
    while (s < end) {
        char *q;
        long v = strtol(s, &q, 10);
        if (q == s)
            break;
        ids[k++] = (int32_t)v;
        s = q;
        while (s < end && *s == ' ')
            s++;
    }
    return k;
}

/* Prints up to 24 ids of a list. */
static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 24; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 24 ? " ...\n" : "\n");
}

/* Prints a byte string, escaping what is not printable ASCII, at most 200 bytes. */
static void print_text(const char *label, const char *s, size_t n)
{
    fprintf(stderr, "  %s (%zu bytes): \"", label, n);
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, n > 200 ? "\"...\n" : "\"\n");
}

/* ---- goldens ------------------------------------------------------------------------------ */

/* Every model of scripts/goldens/spm-goldens.sh. */
static const char *const models[] = {
    "uni-en-1k",        "uni-fr-8k",          "bpe-de-1k",        "bpe-en-8k-bytefb",
    "uni-mix-4k-bytefb-digits", "uni-fr-2k-nfkc", "bpe-en-2k-cf",  "uni-de-1k-identity",
    "uni-en-1k-noprefix", "uni-en-1k-keepws", "uni-en-1k-suffix", "uni-en-2k-user",
    "bpe-fr-1k-user",   "uni-en-100",         "bpe-en-100",       "char-en",
    "word-de-2k",       "uni-en-1k-ids",      "bpe-en-320-bytefb", "bpe-en-1k-suffix",
    "uni-en-2k-unused",
    "bpe-en-2k-unused", "uni-en-1k-rules",    "uni-en-1k-denorm", "uni-mix-32k",
};

/* Decodes ids[0..n-1] through a stream into text (cap bytes), pushing with the smallest buffer
 * first where it is too small (the push must then leave the state as it was); returns the length,
 * or (size_t)-1 when the model's decoding cannot be streamed. */
static size_t stream_decode(const tokenizer *m, char *text, size_t cap, const int32_t *ids,
                            size_t n)
{
    tok_stream st;
    tok_stream_init(&st, m);
    size_t len = 0, k, k0, max = tok_max_token_bytes(m) + 4;
    if (tok_stream_push(&st, text, cap, &k, 0) == TOK_ERR_UNSUPPORTED)
        return (size_t)-1;
    tok_stream_init(&st, m);
    for (size_t i = 0; i < n; i++) {
        assert_true(len + max <= cap);
        int rc = tok_stream_push(&st, text + len, 0, &k0, ids[i]);
        if (rc == TOK_ERR_SPACE) { /* nothing changed: push again with room */
            assert_int_equal(tok_stream_push(&st, text + len, max, &k, ids[i]), TOK_OK);
            assert_int_equal(k, k0);
        } else {
            assert_int_equal(rc, TOK_OK);
            assert_int_equal(k0, 0);
            k = 0;
        }
        len += k;
    }
    assert_int_equal(tok_stream_flush(&st, text + len, max, &k), TOK_OK);
    return len + k;
}

/* Compares model name's encoding of every line and decoding of every golden id line (whole and
 * streamed) with the goldens, printing the first difference of each kind; returns the number of
 * differing lines. */
static size_t check_model(const char *name, const char *lines, size_t lines_len)
{
    char path[256];
    size_t ids_len, dec_len;
    snprintf(path, sizeof path, SPM "%s.ids.gz", name);
    char *gold_ids = load(path, &ids_len);
    snprintf(path, sizeof path, SPM "%s.dec.gz", name);
    char *gold_dec = load(path, &dec_len);
    tokenizer *m = open_model(name);
    tok_encoder *e;
    assert_int_equal(tok_encoder_open(&e, m), TOK_OK);
    size_t cap = 4 * lines_len + 64;
    int32_t *got = malloc(cap * sizeof *got), *want = malloc(ids_len * sizeof *want + 4);
    char *text = malloc(8 * lines_len + 64);
    const char *lp = lines, *lend = lines + lines_len, *ip = gold_ids, *iend = gold_ids + ids_len,
               *dp = gold_dec, *dend = gold_dec + dec_len;
    size_t n_lines = 0, ids_same = 0, text_same = 0, stream_same = 0, streamed = 0;
    while (lp < lend) {
        size_t ln, in, dn, n_got, n_text;
        const char *line = next_line(&lp, lend, &ln);
        assert_true(ip < iend && dp < dend);
        const char *iline = next_line(&ip, iend, &in), *dline = next_line(&dp, dend, &dn);
        size_t n_want = parse_ids(want, iline, in);
        assert_int_equal(tok_encoder_encode(e, got, cap, &n_got, line, ln, 0), TOK_OK);
        if (n_got == n_want && !memcmp(got, want, n_got * sizeof *got)) {
            ids_same++;
        } else if (ids_same == n_lines) {
            fprintf(stderr, "%s: line %zu: ids differ\n", name, n_lines + 1);
            print_text("text", line, ln);
            print_ids("spm_encode", want, n_want);
            print_ids("attn", got, n_got);
        }
        assert_int_equal(tok_decode(m, text, 8 * lines_len + 64, &n_text, want, n_want), TOK_OK);
        if (n_text == dn && !memcmp(text, dline, dn)) {
            text_same++;
        } else if (text_same == n_lines) {
            fprintf(stderr, "%s: line %zu: decoded text differs\n", name, n_lines + 1);
            print_ids("ids", want, n_want);
            print_text("spm_decode", dline, dn);
            print_text("attn", text, n_text);
        }
        n_text = stream_decode(m, text, 8 * lines_len + 64, want, n_want);
        if (n_text != (size_t)-1) {
            streamed++;
            if (n_text == dn && !memcmp(text, dline, dn))
                stream_same++;
            else if (stream_same + 1 == streamed) {
                fprintf(stderr, "%s: line %zu: streamed text differs\n", name, n_lines + 1);
                print_text("spm_decode", dline, dn);
                print_text("attn stream", text, n_text);
            }
        }
        n_lines++;
    }
    assert_true(ip == iend && dp == dend);
    printf("%-26s %4zu lines: ids identical on %zu, decoded text on %zu, streamed on %zu%s\n",
           name, n_lines, ids_same, text_same, stream_same,
           streamed ? "" : " (a denormalizer: not streamable)");
    tok_encoder_free(e);
    tok_free(m);
    free(got);
    free(want);
    free(text);
    free(gold_ids);
    free(gold_dec);
    return (n_lines - ids_same) + (n_lines - text_same) + (streamed - stream_same);
}

static void test_goldens(void **state)
{
    (void)state;
    size_t len;
    char *lines = load(SPM "lines.txt.gz", &len);
    size_t bad = 0;
    for (size_t i = 0; i < sizeof models / sizeof *models; i++)
        bad += check_model(models[i], lines, len);
    free(lines);
    if (bad)
        fail_msg("%zu lines differ from SentencePiece", bad);
}

/* ---- hand-built models -------------------------------------------------------------------- */

/* A protobuf being written. */
typedef struct {
    uint8_t b[1 << 16];
    size_t n;
} pbw;

/* Appends a varint. */
static void w_varint(pbw *w, uint64_t v)
{
    do {
        w->b[w->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

/* Appends a varint field. */
static void w_uint(pbw *w, unsigned field, uint64_t v)
{
    w_varint(w, field << 3);
    w_varint(w, v);
}

/* Appends a length-delimited field. */
static void w_bytes(pbw *w, unsigned field, const void *s, size_t n)
{
    w_varint(w, field << 3 | 2);
    w_varint(w, n);
    memcpy(w->b + w->n, s, n);
    w->n += n;
}

/* Appends a float field. */
static void w_float(pbw *w, unsigned field, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    w_varint(w, field << 3 | 5);
    for (int i = 0; i < 4; i++)
        w->b[w->n++] = (uint8_t)(u >> (8 * i));
}

/* Appends one SentencePiece message (piece, score, type) as field 1. */
static void w_piece(pbw *w, const char *text, float score, int type)
{
    pbw p = {.n = 0};
    w_bytes(&p, 1, text, strlen(text));
    w_float(&p, 2, score);
    w_uint(&p, 3, (uint64_t)type);
    w_bytes(w, 1, p.b, p.n);
}

/* What a hand-built model holds. */
typedef struct {
    int model_type, byte_fallback, all_bytes;
    const uint8_t *charsmap; /* NULL: identity */
    size_t charsmap_len;
    const char *extra_piece; /* one more piece (NULL: none) */
    int extra_type;
    float extra_score;
} spec;

/* Writes a small model: <unk>, <s>, </s>, a few normal pieces, the 256 byte pieces if all_bytes,
 * an extra piece, then the trainer and normalizer specs. */
static void build(pbw *w, const spec *s)
{
    static const char *const normal[] = {"\xe2\x96\x81", "a", "b", "c", "ab", "\xe2\x96\x81" "ab",
                                         "bc", "abc", "\xc3\xa9"};
    w->n = 0;
    w_piece(w, "<unk>", 0, SPM_UNKNOWN);
    w_piece(w, "<s>", 0, SPM_CONTROL);
    w_piece(w, "</s>", 0, SPM_CONTROL);
    for (size_t i = 0; i < sizeof normal / sizeof *normal; i++)
        w_piece(w, normal[i], -1.0f - (float)i, SPM_NORMAL);
    for (int b = 0; s->all_bytes && b < 256; b++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", b);
        w_piece(w, t, 0, SPM_BYTE);
    }
    if (s->extra_piece)
        w_piece(w, s->extra_piece, s->extra_score, s->extra_type);
    pbw t = {.n = 0};
    w_uint(&t, 3, (uint64_t)(s->model_type ? s->model_type : SPM_UNIGRAM));
    if (s->byte_fallback)
        w_uint(&t, 35, 1);
    w_bytes(w, 2, t.b, t.n);
    pbw nm = {.n = 0};
    w_bytes(&nm, 1, "test", 4);
    if (s->charsmap)
        w_bytes(&nm, 2, s->charsmap, s->charsmap_len);
    w_bytes(w, 3, nm.b, nm.n);
}

/* Opens w's bytes; returns the status, and the model in *m when m is not NULL. */
static int open_w(const pbw *w, tokenizer **m, char *why, size_t why_len)
{
    tokenizer *t = NULL;
    int rc = spm_open_mem(&t, w->b, w->n, why, why_len);
    if (m)
        *m = t;
    else
        tok_free(t);
    return rc;
}

/* Fails unless the model w describes is refused with TOK_ERR_FORMAT and a reason containing
 * what. */
static void refused(const pbw *w, const char *what)
{
    char why[256] = "";
    tokenizer *m = (tokenizer *)1;
    int rc = spm_open_mem(&m, w->b, w->n, why, sizeof why);
    if (rc != TOK_ERR_FORMAT || m != NULL || !strstr(why, what))
        fail_msg("expected a refusal with \"%s\", got status %d: \"%s\"", what, rc, why);
}

/* A double array of 512 units mapping "A" to "b" (root at 256, 'A' at 321, its leaf at 384; the
 * other units carry bit 31, so that no byte leads through them), the blob's size field first and
 * the strings "b\0" after; extra bytes may follow. */
static size_t charsmap(uint8_t *blob, uint32_t root_unit, uint32_t a_unit, uint32_t leaf_unit)
{
    uint32_t units[512];
    for (int i = 0; i < 512; i++)
        units[i] = 0x80000000u;
    units[0] = root_unit;
    units[321] = a_unit;
    units[384] = leaf_unit;
    uint32_t size = sizeof units;
    memcpy(blob, &size, 4);
    memcpy(blob + 4, units, sizeof units);
    memcpy(blob + 4 + sizeof units, "b", 2);
    return 4 + sizeof units + 2;
}

#define ROOT (256u << 10)                        /* offset 256 */
#define A_UNIT (0x41u | 1u << 8 | (193u << 10)) /* label 'A', has a leaf, offset 321 ^ 384 */
#define LEAF (0x80000000u | 0)                   /* value 0: the string "b" */

static void test_hand_built(void **state)
{
    (void)state;
    pbw w;
    tokenizer *m;
    char why[256], out[64];
    size_t n;
    int32_t ids[64];
    uint8_t blob[4096];

    build(&w, &(spec){0});
    assert_int_equal(open_w(&w, &m, why, sizeof why), TOK_OK);
    assert_int_equal(tok_vocab_size(m), 12);
    assert_int_equal(spm_unk_id(m), 0);
    assert_int_equal(spm_bos_id(m), 1);
    assert_int_equal(spm_eos_id(m), 2);
    assert_int_equal(spm_pad_id(m), -1);
    /* "▁" + "abc" (-9) beats "▁ab" + "c" (-10); "xx" is one unknown id; "ab" and
     * "a" + "b" tie at -5 and the path found first stays. */
    assert_int_equal(tok_encode(m, ids, 64, &n, "abc xxab", 8, 0), TOK_OK);
    int32_t want[] = {3, 10, 3, 0, 7};
    assert_int_equal(n, 5);
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(tok_decode(m, out, sizeof out, &n, ids, 5), TOK_OK);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "abc  \xe2\x81\x87 ab", 11);
    tok_free(m);

    /* The same pieces as BPE: "ab" (-5) merges first, then "▁ab" (-6) before "abc" (-8),
     * which then no longer has its left symbol. */
    build(&w, &(spec){.model_type = SPM_BPE});
    assert_int_equal(open_w(&w, &m, why, sizeof why), TOK_OK);
    assert_int_equal(tok_encode(m, ids, 64, &n, "abc", 3, 0), TOK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 8);
    assert_int_equal(ids[1], 6);
    tok_free(m);

    /* A character map "A" -> "b": normalization goes through it. */
    size_t bl = charsmap(blob, ROOT, A_UNIT, LEAF);
    build(&w, &(spec){.charsmap = blob, .charsmap_len = bl});
    assert_int_equal(open_w(&w, &m, why, sizeof why), TOK_OK);
    assert_int_equal(spm_normalize(m, out, sizeof out, &n, "xAy  A", 6), TOK_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "\xe2\x96\x81xby\xe2\x96\x81" "b", 10);
    assert_int_equal(spm_normalize(m, out, 3, &n, "xAy  A", 6), TOK_ERR_SPACE);
    assert_int_equal(n, 10);
    tok_free(m);

    /* Byte fallback: 'x' becomes <0x78>, 'é' is a piece. */
    build(&w, &(spec){.byte_fallback = 1, .all_bytes = 1});
    assert_int_equal(open_w(&w, &m, why, sizeof why), TOK_OK);
    assert_int_equal(tok_encode(m, ids, 64, &n, "x\xc3\xa9", 3, 0), TOK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 12 + 0x78);
    assert_int_equal(ids[2], 11);
    tok_free(m);
}

static void test_malformed_models(void **state)
{
    (void)state;
    pbw w;
    uint8_t blob[4096];
    size_t bl;

    build(&w, &(spec){.extra_piece = "ab", .extra_type = SPM_NORMAL});
    refused(&w, "same text");
    build(&w, &(spec){.extra_piece = "ab", .extra_type = SPM_CONTROL});
    refused(&w, "same text");
    build(&w, &(spec){.extra_piece = "<u2>", .extra_type = SPM_UNKNOWN});
    refused(&w, "both unknown");
    build(&w, &(spec){.extra_piece = "\xc3", .extra_type = SPM_NORMAL});
    refused(&w, "not valid UTF-8");
    build(&w, &(spec){.extra_piece = "\xed\xa0\x80", .extra_type = SPM_NORMAL});
    refused(&w, "not valid UTF-8");
    build(&w, &(spec){.extra_piece = "", .extra_type = SPM_NORMAL});
    refused(&w, "empty");
    build(&w, &(spec){.extra_piece = "z", .extra_type = 7});
    refused(&w, "unknown type");
    build(&w, &(spec){.extra_piece = "z", .extra_type = SPM_NORMAL, .extra_score = NAN});
    refused(&w, "not finite");
    build(&w, &(spec){.extra_piece = "z", .extra_type = SPM_NORMAL, .extra_score = INFINITY});
    refused(&w, "not finite");
    build(&w, &(spec){.extra_piece = "<0x41>", .extra_type = SPM_BYTE});
    refused(&w, "without byte_fallback");
    build(&w, &(spec){.byte_fallback = 1});
    refused(&w, "without the byte piece <0x00>");
    build(&w, &(spec){.byte_fallback = 1, .all_bytes = 1, .extra_piece = "<0x4g>",
                      .extra_type = SPM_BYTE});
    refused(&w, "not <0xXX>");
    build(&w, &(spec){.model_type = 5});
    refused(&w, "unknown model type");

    /* No unknown piece; no pieces at all; no specs. */
    w.n = 0;
    w_piece(&w, "a", -1, SPM_NORMAL);
    pbw t = {.n = 0};
    w_uint(&t, 3, 1);
    w_bytes(&w, 2, t.b, t.n);
    w_bytes(&w, 3, "", 0);
    refused(&w, "no unknown piece");
    w.n = 0;
    w_bytes(&w, 2, t.b, t.n);
    refused(&w, "no pieces");
    w.n = 0;
    w_piece(&w, "<unk>", 0, SPM_UNKNOWN);
    w_bytes(&w, 3, "", 0);
    refused(&w, "no trainer_spec");
    w.n = 0;
    w_piece(&w, "<unk>", 0, SPM_UNKNOWN);
    w_bytes(&w, 2, t.b, t.n);
    refused(&w, "no normalizer_spec");
    /* A unigram model whose only pieces are unknown and control. */
    w.n = 0;
    w_piece(&w, "<unk>", 0, SPM_UNKNOWN);
    w_piece(&w, "<s>", 0, SPM_CONTROL);
    w_bytes(&w, 2, t.b, t.n);
    w_bytes(&w, 3, "", 0);
    refused(&w, "without normal pieces");

    /* Wire-format faults. */
    build(&w, &(spec){0});
    w_uint(&w, 2, 1); /* trainer_spec as a varint */
    refused(&w, "wire type");
    build(&w, &(spec){0});
    w_bytes(&w, 3, "", 0); /* normalizer_spec twice */
    refused(&w, "appears twice");
    build(&w, &(spec){0});
    w_varint(&w, 9 << 3 | 3); /* a group */
    refused(&w, "malformed protobuf");
    build(&w, &(spec){0});
    w_varint(&w, 9 << 3 | 2);
    w_varint(&w, 1000); /* a length past the end */
    refused(&w, "malformed protobuf");
    build(&w, &(spec){0});
    for (int i = 0; i < 11; i++)
        w.b[w.n++] = 0xff; /* an endless varint key */
    refused(&w, "malformed protobuf");
    build(&w, &(spec){0});
    w_uint(&w, 77, 5); /* an unknown field is skipped */
    assert_int_equal(open_w(&w, NULL, NULL, 0), TOK_OK);

    /* Character maps out of range. */
    bl = charsmap(blob, ROOT, A_UNIT, 0x80000000u | 2); /* leaf past the strings */
    build(&w, &(spec){.charsmap = blob, .charsmap_len = bl});
    refused(&w, "outside the strings");
    bl = charsmap(blob, ROOT, 0x41u | 1u << 8 | ((321u ^ 4096u) << 10), LEAF);
    build(&w, &(spec){.charsmap = blob, .charsmap_len = bl});
    refused(&w, "leaves the trie");
    bl = charsmap(blob, 8192u << 10, A_UNIT, LEAF);
    build(&w, &(spec){.charsmap = blob, .charsmap_len = bl});
    refused(&w, "root lies outside");
    bl = charsmap(blob, ROOT, 0x41u | ((321u ^ 256u) << 10), LEAF); /* 'A' leads back to the root */
    build(&w, &(spec){.charsmap = blob, .charsmap_len = bl});
    refused(&w, "cycle");
    bl = charsmap(blob, ROOT, A_UNIT, LEAF);
    uint32_t size = 2048 + 2; /* past the strings */
    memcpy(blob, &size, 4);
    build(&w, &(spec){.charsmap = blob, .charsmap_len = bl});
    refused(&w, "no room for strings");
    size = 2046; /* not whole units */
    memcpy(blob, &size, 4);
    build(&w, &(spec){.charsmap = blob, .charsmap_len = bl});
    refused(&w, "whole number of units");
    build(&w, &(spec){.charsmap = blob, .charsmap_len = 3});
    refused(&w, "shorter than its size field");
}

/* Opens data[0..len-1]; if it opens, it must encode and decode a sample without fault. Returns 1
 * if it was refused (with a reason), 0 if it opened. */
static int refused_or_works(const uint8_t *data, size_t len)
{
    static const char sample[] = "Hello w\xc3\xb6rld \xff 12 <s> \xe6\x97\xa5";
    char why[256] = "", out[4096];
    int32_t ids[256];
    size_t n, k;
    tokenizer *m = NULL;
    int rc = spm_open_mem(&m, data, len, why, sizeof why);
    if (rc < 0) {
        assert_int_equal(rc, TOK_ERR_FORMAT);
        assert_null(m);
        assert_true(why[0] != 0);
        return 1;
    }
    assert_int_equal(tok_encode(m, ids, 256, &n, sample, sizeof sample - 1, 0), TOK_OK);
    assert_int_equal(tok_decode(m, out, sizeof out, &k, ids, n), TOK_OK);
    tok_free(m);
    return 0;
}

static void test_truncations_and_bit_flips(void **state)
{
    (void)state;
    size_t len;
    char *path = SPM "uni-en-100.model.gz";
    uint8_t *data = (uint8_t *)load(path, &len);
    for (size_t cut = 0; cut < len; cut++)
        if (!refused_or_works(data, cut))
            fail_msg("%s cut to %zu bytes opens", path, cut);
    size_t flips = 0, refusals = 0;
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            data[i] ^= (uint8_t)(1u << bit);
            refusals += (size_t)refused_or_works(data, len);
            data[i] ^= (uint8_t)(1u << bit);
            flips++;
        }
    printf("%s: %zu truncations refused; %zu single-bit flips: %zu refused, %zu open and "
           "work (a changed score or piece text)\n",
           path, len, flips, refusals, flips - refusals);
    free(data);
}

static void test_api(void **state)
{
    (void)state;
    tok_free(NULL);
    tok_encoder_free(NULL);
    for (int rc = 0; rc >= -7; rc--)
        assert_non_null(tok_strerror(rc));
    char why[256] = "";
    tokenizer *m = (tokenizer *)1;
    assert_int_equal(tok_open(&m, "tests/data/spm/no-such.model", why, sizeof why), TOK_ERR_IO);
    assert_null(m);
    assert_true(why[0] != 0);

    /* tok_open_mem recognises a .model file; tok_serialize gives its bytes back. */
    size_t flen, slen;
    char *file = load(SPM "uni-en-1k.model.gz", &flen), *back;
    assert_int_equal(tok_open_mem(&m, file, flen, why, sizeof why), TOK_OK);
    assert_string_equal(tok_kind_name(m), "spm");
    assert_int_equal(tok_serialize(m, &back, &slen), TOK_OK);
    assert_int_equal(slen, flen);
    assert_memory_equal(back, file, flen);
    assert_null(tok_pattern(m));
    assert_int_equal(tok_set_pattern(m, "gpt2", why, sizeof why), TOK_ERR_UNSUPPORTED);
    free(back);
    free(file);
    tok_free(m);

    m = open_model("uni-en-1k-ids");
    assert_int_equal(spm_unk_id(m), 3);
    assert_int_equal(spm_bos_id(m), -1);
    assert_int_equal(spm_eos_id(m), 0);
    assert_int_equal(spm_pad_id(m), 1);
    size_t len;
    const char *p = tok_token_bytes(m, 3, &len);
    assert_memory_equal(p, "[UNK]", 5);
    assert_int_equal(len, 5);
    assert_int_equal(spm_piece_type(m, 3), SPM_UNKNOWN);
    assert_int_equal(spm_piece_type(m, 0), SPM_CONTROL);
    assert_null(tok_token_bytes(m, -1, &len));
    assert_null(tok_token_bytes(m, (int32_t)tok_vocab_size(m), &len));
    assert_true(tok_is_special(m, 0) && tok_is_special(m, 3) && !tok_is_special(m, 10));
    assert_int_equal(spm_piece_type(m, (int32_t)tok_vocab_size(m)), 0);
    assert_int_equal(tok_special_id(m, "[EOS]", 5), 0);
    assert_int_equal(tok_token_id(m, "[EOS]", 5), -1);
    assert_int_equal(tok_special_id(m, "no such piece", 13), -1);
    assert_string_equal(tok_kind_name(m), "spm");
    assert_int_equal(spm_model_type(m), SPM_UNIGRAM);

    /* Buffers too small report the size needed. */
    int32_t ids[64];
    size_t n, k;
    static const char text[] = "the quick brown fox";
    assert_int_equal(tok_encode(m, ids, 64, &n, text, sizeof text - 1, 0), TOK_OK);
    assert_int_equal(tok_encode(m, ids, 2, &k, text, sizeof text - 1, 0), TOK_ERR_SPACE);
    assert_int_equal(k, n);
    char out[64];
    assert_int_equal(tok_decode(m, out, sizeof out, &k, ids, n), TOK_OK);
    assert_int_equal(k, sizeof text - 1);
    assert_memory_equal(out, text, k);
    assert_int_equal(tok_decode(m, out, 3, &k, ids, n), TOK_ERR_SPACE);
    assert_int_equal(k, sizeof text - 1);
    ids[1] = (int32_t)tok_vocab_size(m);
    assert_int_equal(tok_decode(m, out, sizeof out, &k, ids, n), TOK_ERR_ID);
    ids[1] = -1;
    assert_int_equal(tok_decode(m, out, sizeof out, &k, ids, n), TOK_ERR_ID);
    assert_int_equal(tok_encode(m, ids, 0, &n, "", 0, 0), TOK_OK);
    assert_int_equal(n, 0);
    tok_free(m);

    m = open_model("bpe-de-1k");
    assert_int_equal(spm_model_type(m), SPM_BPE);
    tok_free(m);

    /* Streams: a byte piece run held until it completes a character or cannot; ids checked. */
    m = open_model("bpe-en-8k-bytefb");
    tok_stream st;
    tok_stream_init(&st, m);
    int32_t e9[3] = {tok_token_id(m, "<0xE6>", 6), tok_token_id(m, "<0x97>", 6),
                     tok_token_id(m, "<0xA5>", 6)};
    assert_int_equal(tok_stream_push(&st, out, sizeof out, &k, e9[0]), TOK_OK);
    assert_int_equal(k, 0);
    assert_int_equal(tok_stream_push(&st, out, sizeof out, &k, e9[1]), TOK_OK);
    assert_int_equal(k, 0);
    assert_int_equal(tok_stream_push(&st, out, sizeof out, &k, e9[2]), TOK_OK);
    assert_int_equal(k, 3);
    assert_memory_equal(out, "\xe6\x97\xa5", 3);
    assert_int_equal(tok_stream_push(&st, out, sizeof out, &k, e9[0]), TOK_OK);
    assert_int_equal(tok_stream_push(&st, out, sizeof out, &k, -1), TOK_ERR_ID);
    assert_int_equal(tok_stream_flush(&st, out, 2, &k), TOK_ERR_SPACE);
    assert_int_equal(k, 3);
    assert_int_equal(tok_stream_flush(&st, out, sizeof out, &k), TOK_OK);
    assert_int_equal(k, 3);
    assert_memory_equal(out, "\xef\xbf\xbd", 3);
    tok_free(m);
    m = open_model("uni-en-1k-denorm");
    tok_stream_init(&st, m);
    assert_int_equal(tok_stream_push(&st, out, sizeof out, &k, 5), TOK_ERR_UNSUPPORTED);
    assert_int_equal(tok_decode(m, out, sizeof out, &k, ids, 0), TOK_OK);
    tok_free(m);
}

/* Encodes a 1 MB line of each kind with each algorithm; all must finish in linear time. */
static void test_long_input(void **state)
{
    (void)state;
    static const char *const names[] = {"uni-en-1k", "bpe-en-8k-bytefb",
                                        "uni-mix-4k-bytefb-digits"};
    size_t len = 1 << 20;
    char *text = malloc(len);
    int32_t *ids = malloc(4 * len * sizeof *ids); /* 3 byte ids per invalid byte */
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tokenizer *m = open_model(names[i]);
        for (int kind = 0; kind < 3; kind++) {
            for (size_t j = 0; j < len; j++)
                text[j] = kind == 0 ? 'a' : kind == 1 ? "ab cd"[j % 5] : (char)(0x80 + j % 64);
            size_t n;
            clock_t t0 = clock();
            assert_int_equal(tok_encode(m, ids, 4 * len, &n, text, len, 0), TOK_OK);
            double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
            assert_true(n > 0);
            if (s > 10)
                fail_msg("%s: 1 MB of kind %d took %.1f s", names[i], kind, s);
        }
        tok_free(m);
    }
    free(text);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_hand_built),
        cmocka_unit_test(test_malformed_models),
        cmocka_unit_test(test_truncations_and_bit_flips),
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_long_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
