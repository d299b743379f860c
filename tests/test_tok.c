/* test_tok.c — the generic tokenizer interface (tok.h) with byte-level BPE behind it: opening
 * files of each format by path or from memory, the status codes and their messages, writing and
 * reading back, the pattern, and the streaming decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>

#include "tok_test.h"

/* ---- opening ------------------------------------------------------------------------------ */

/* Writes len bytes to a new temporary file whose name ends in suffix; returns its malloc'd path. */
static char *temp_file(const char *suffix, const void *data, size_t len)
{
    char *path = malloc(256);
    snprintf(path, 256, "/tmp/attn-test-tok-%ld-XXXXXX%s", (long)getpid(), suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

/* A tiktoken file opened by path takes its pattern and specials from its name. */
static void test_open_tiktoken_by_name(void **state)
{
    (void)state;
    static const struct {
        const char *gz, *suffix, *pattern, *special;
        int32_t id;
    } cases[] = {
        {DATA "r50k_base.tiktoken.gz", "-r50k_base.tiktoken", "gpt2", "<|endoftext|>", 50256},
        {DATA "cl100k_base.tiktoken.gz", "-cl100k_base.tiktoken", "cl100k", "<|fim_prefix|>",
         100258},
        {DATA "o200k_base.edge.tiktoken.gz", "-o200k_base.tiktoken", "o200k", "<|endofprompt|>",
         200018},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *buf = load(cases[i].gz, &len), why[256] = "";
        char *path = temp_file(cases[i].suffix, buf, len);
        tokenizer *t = NULL;
        assert_int_equal(tok_open(&t, path, why, sizeof why), TOK_OK);
        assert_string_equal(tok_kind_name(t), "bpe");
        assert_string_equal(tok_pattern(t), cases[i].pattern);
        assert_int_equal(tok_special_id(t, cases[i].special, strlen(cases[i].special)),
                         cases[i].id);
        assert_true(tok_is_special(t, cases[i].id));
        /* from memory only the attn format is read: the same bytes are refused */
        tokenizer *u = NULL;
        assert_int_equal(tok_open_mem(&u, buf, len, why, sizeof why), TOK_ERR_FORMAT);
        assert_null(u);
        tok_free(t);
        unlink(path);
        free(path);
        free(buf);
    }
}

/* Bad paths and bad bytes give a status, a reason and no tokenizer. */
static void test_open_errors(void **state)
{
    (void)state;
    char why[256] = "";
    tokenizer *t = (tokenizer *)&t;
    assert_int_equal(tok_open(&t, DATA "does-not-exist", why, sizeof why), TOK_ERR_IO);
    assert_null(t);
    assert_string_equal(why, strerror(ENOENT));
    char *path = temp_file(".tok", "hello\n", 6);
    assert_int_equal(tok_open(&t, path, why, sizeof why), TOK_ERR_FORMAT);
    assert_null(t);
    assert_non_null(strstr(why, "neither an attn tokenizer file nor a tiktoken rank file"));
    unlink(path);
    free(path);
    assert_int_equal(tok_open_mem(&t, NULL, 5, why, sizeof why), TOK_ERR_ARG);
    assert_int_equal(tok_open_mem(&t, NULL, 0, why, sizeof why), TOK_ERR_FORMAT);
    assert_non_null(strstr(why, "not an attn tokenizer file"));
    assert_int_equal(tok_open_mem(&t, "attn-tokenizer 7\n", 17, NULL, 0), TOK_ERR_FORMAT);
    assert_null(t);
    tok_free(NULL);
    tok_encoder_free(NULL);
}

/* Every status has its own message; unknown ones say so. */
static void test_strerror(void **state)
{
    (void)state;
    const char *seen[16] = {0};
    for (int rc = TOK_OK; rc >= TOK_ERR_UNSUPPORTED; rc--) {
        const char *msg = tok_strerror(rc);
        assert_non_null(msg);
        assert_string_not_equal(msg, "unknown status");
        for (int k = 0; k < -rc; k++)
            assert_string_not_equal(msg, seen[k]);
        seen[-rc] = msg;
    }
    assert_string_equal(tok_strerror(TOK_ERR_UNSUPPORTED - 1), "unknown status");
    assert_string_equal(tok_strerror(1), "unknown status");
}

/* A tokenizer saved to a file and opened again by path is the same tokenizer. */
static void test_save_and_reopen(void **state)
{
    (void)state;
    tokenizer *t = r50k(), *u = NULL;
    char *path = temp_file(".tok", "", 0), why[256] = "";
    assert_int_equal(tok_save(t, path), TOK_OK);
    assert_int_equal(tok_open(&u, path, why, sizeof why), TOK_OK);
    assert_int_equal(tok_vocab_size(u), tok_vocab_size(t));
    assert_int_equal(tok_max_token_bytes(u), tok_max_token_bytes(t));
    assert_string_equal(tok_pattern(u), "gpt2");
    static const char text[] = "Hello world<|endoftext|> caf\xc3\xa9 \xff 12345";
    int32_t a[64], b[64];
    size_t na, nb;
    assert_int_equal(tok_encode(t, a, 64, &na, text, sizeof text - 1, TOK_SPECIAL), TOK_OK);
    assert_int_equal(tok_encode(u, b, 64, &nb, text, sizeof text - 1, TOK_SPECIAL), TOK_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    assert_int_equal(tok_save(t, "/nonexistent-dir/x.tok"), TOK_ERR_IO);
    unlink(path);
    free(path);
    tok_free(u);
    tok_free(t);
}

/* A pattern that does not compile is refused with a reason and the old one stays in use. */
static void test_set_pattern(void **state)
{
    (void)state;
    tokenizer *t = r50k();
    char why[256] = "";
    int32_t before[16], after[16];
    size_t nb, na;
    assert_int_equal(tok_encode(t, before, 16, &nb, "it's 2024", 9, 0), TOK_OK);
    assert_int_equal(tok_set_pattern(t, "(", why, sizeof why), TOK_ERR_PATTERN);
    assert_non_null(strstr(why, "does not compile"));
    assert_string_equal(tok_pattern(t), "gpt2");
    assert_int_equal(tok_encode(t, after, 16, &na, "it's 2024", 9, 0), TOK_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, na * sizeof *after);
    assert_int_equal(tok_set_pattern(t, "cl100k", why, sizeof why), TOK_OK);
    assert_string_equal(tok_pattern(t), "cl100k");
    tok_free(t);
}

/* Marks inside[i] = 1 where position i of s[0..n-1] falls inside a UTF-8 character (a lead byte
 * followed by all the continuation bytes it announces): a stream must never stop there. */
static void mark_inside(char *inside, const unsigned char *s, size_t n)
{
    memset(inside, 0, n + 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t need = c >= 0xF0 && c <= 0xF4   ? 4
                      : c >= 0xE0 && c <= 0xEF ? 3
                      : c >= 0xC2 && c <= 0xDF ? 2
                                               : 1;
        size_t k = 1;
        while (k < need && i + k < n && (s[i + k] & 0xC0) == 0x80)
            k++;
        if (k == need)
            for (size_t j = 1; j < need; j++)
                inside[i + j] = 1;
        i += k == need ? need : 1;
    }
}

/* Streams ids one at a time and checks: the same bytes as a one-shot decode, and no chunk ends
 * inside a character that the following bytes complete. */
static void check_stream(const tokenizer *t, const int32_t *ids, size_t n)
{
    size_t total;
    assert_int_equal(tok_decode(t, NULL, 0, &total, ids, n) == TOK_ERR_SPACE || total == 0, 1);
    char *one = malloc(total + 1), *acc = malloc(total + 1), *inside = malloc(total + 1);
    size_t m, got = 0, cap = tok_max_token_bytes(t) + 4;
    char *chunk = malloc(cap);
    assert_int_equal(tok_decode(t, one, total + 1, &m, ids, n), TOK_OK);
    mark_inside(inside, (unsigned char *)one, total);
    tok_stream s;
    tok_stream_init(&s, t);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tok_stream_push(&s, chunk, cap, &m, ids[i]), TOK_OK);
        memcpy(acc + got, chunk, m);
        got += m;
        if (inside[got])
            fail_msg("stream stops inside a character at byte %zu (after token %zu)", got, i);
    }
    assert_int_equal(tok_stream_flush(&s, chunk, cap, &m), TOK_OK);
    memcpy(acc + got, chunk, m);
    got += m;
    assert_int_equal(got, total);
    assert_memory_equal(acc, one, total);
    free(one);
    free(acc);
    free(inside);
    free(chunk);
}

static void test_stream_decoder(void **state)
{
    (void)state;
    tokenizer *t = cl100k();
    size_t len;
    char *text = load(DATA "edge.txt", &len);
    int32_t *ids = malloc((len + 1) * sizeof *ids);
    size_t n;
    assert_int_equal(tok_encode(t, ids, len + 1, &n, text, len, 0), TOK_OK);
    check_stream(t, ids, n);
    /* emoji split over byte tokens: nothing comes out until the character is complete */
    tok_stream s;
    char out[64];
    size_t m;
    int32_t smile[4];
    for (int i = 0; i < 4; i++)
        smile[i] = tok_token_id(t, &"\xf0\x9f\x98\x80"[i], 1);
    tok_stream_init(&s, t);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tok_stream_push(&s, out, sizeof out, &m, smile[i]), TOK_OK);
        assert_int_equal(m, 0);
    }
    assert_int_equal(tok_stream_push(&s, out, sizeof out, &m, smile[3]), TOK_OK);
    assert_int_equal(m, 4);
    assert_memory_equal(out, "\xf0\x9f\x98\x80", 4);
    /* an incomplete tail comes out at the flush; an invalid id leaves the state alone */
    assert_int_equal(tok_stream_push(&s, out, sizeof out, &m, smile[0]), TOK_OK);
    assert_int_equal(m, 0);
    assert_int_equal(tok_stream_push(&s, out, sizeof out, &m, -5), TOK_ERR_ID);
    assert_int_equal(tok_stream_flush(&s, out, sizeof out, &m), TOK_OK);
    assert_int_equal(m, 1);
    assert_int_equal((unsigned char)out[0], 0xf0);
    /* random ids, including lone byte tokens that make invalid UTF-8 */
    for (int iter = 0; iter < 300; iter++) {
        for (size_t i = 0; i < 64; i++)
            ids[i] = iter % 2 ? (int32_t)(rnd() % 100256)
                              : tok_token_id(t, (const char[]){(char)(0x80 + rnd() % 0x78)}, 1);
        if (iter % 3 == 0)
            for (size_t i = 0; i < 64; i += 2)
                ids[i] = (int32_t)(rnd() % 1000);
        check_stream(t, ids, 64);
    }
    free(ids);
    free(text);
    tok_free(t);
}

/* transformers' fix-ups of decoded text: the strip() of both ends (Python's white space), then
 * the clean-up, each of its rules a replace-all over the whole text, in order, non-overlapping
 * from the left; orig gives each kept byte's offset before (hand-worked cases). */
static void test_clean_text(void **state)
{
    (void)state;
    enum { S = TOK_CLEAN_STRIP, C = TOK_CLEAN_SPACES };
    static const struct {
        int flags;
        const char *in, *out;
    } cases[] = {
        {C, "I do n't know .", "I don't know."},
        {C, "It 's here , is n't it ?", "It's here, isn't it?"},
        {C, "We 're fine ! They 've gone . I 'm", "We're fine! They've gone. I'm"},
        {C, "a ' b ' c", "a'b'c"},
        {C, "x ' ' y", "x'' y"},            /* the second " ' " overlaps the first: kept */
        {C, "a  .", "a ."},                 /* one space per match */
        {C, "a . .", "a.."},
        {C, " .", "."},
        {C, "don 't", "don 't"},            /* " 't" is no rule */
        {C, "is n't", "isn't"},
        {C, "a ' s", "a's"},                /* " ' " first, then nothing for " 's" */
        {C, "", ""},
        {C, "no change", "no change"},
        {C, " a ", " a "},                  /* the clean-up alone keeps the ends */
        {S, " a ", "a"},
        {S, "\t\n\v\f\r a b \x1c\x1d\x1e\x1f", "a b"},
        {S, "\xc2\x85\xc2\xa0x\xe1\x9a\x80\xe2\x80\x80\xe2\x80\x8a", "x"},
        {S, "\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xafx \xe2\x81\x9f\xe3\x80\x80", "x"},
        {S, "\xe2\x80\x8bx\xe2\x80\x8b", "\xe2\x80\x8bx\xe2\x80\x8b"}, /* U+200B is no space */
        {S, "\xe1\xa0\x8ex", "\xe1\xa0\x8ex"},                         /* nor U+180E */
        {S, "x\xa0", "x\xa0"},              /* a lone continuation byte is no character */
        {S, "x\xe2\x80", "x\xe2\x80"},      /* nor a cut one */
        {S, "\xe3\x80", "\xe3\x80"},
        {S, " \t\xe3\x80\x80 ", ""},        /* all white space */
        {S, "", ""},
        {S, "a ' b ", "a ' b"},             /* the strip alone keeps the inside */
        {S | C, " I do n't know . ", "I don't know."},
        {S | C, " .", "."},
        {S | C, "x ' ", "x '"},             /* strip first: no " ' " is left */
        {S | C, "\xe3\x80\x80 n't", "n't"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char buf[64];
        int orig[64];
        size_t n = strlen(cases[c].in);
        memcpy(buf, cases[c].in, n);
        size_t m = tok_clean_text(buf, n, orig, cases[c].flags);
        assert_int_equal(m, strlen(cases[c].out));
        assert_memory_equal(buf, cases[c].out, m);
        for (size_t j = 0; j < m; j++) {
            assert_int_equal(cases[c].in[orig[j]], buf[j]);
            if (j > 0)
                assert_true(orig[j] > orig[j - 1]);
        }
        memcpy(buf, cases[c].in, n);
        assert_int_equal(tok_clean_text(buf, n, NULL, cases[c].flags), m);
        memcpy(buf, cases[c].in, n);
        assert_int_equal(tok_clean_text(buf, n, orig, 0), n);     /* no flags: no change */
        assert_memory_equal(buf, cases[c].in, n);
    }
    assert_int_equal(tok_clean_text(NULL, 0, NULL, S | C), 0);     /* an empty text, no buffer */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_tiktoken_by_name),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_save_and_reopen),
        cmocka_unit_test(test_set_pattern),
        cmocka_unit_test(test_stream_decoder),
        cmocka_unit_test(test_clean_text),
    };
    return cmocka_run_group_tests_name("tokenizer interface", tests, NULL, NULL);
}
