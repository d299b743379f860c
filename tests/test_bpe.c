/* test_bpe.c — the byte-level BPE tokenizer against tiktoken's goldens, round trips, malformed
 * files, special tokens and user patterns (the streaming decoder: test_tok.c; the trainer:
 * test_bpe_train.c).
 *
 * Goldens come from scripts/goldens/tok-fixtures.sh (tiktoken's Rust core through npm); the test
 * prints the first differing line with both id lists when a comparison fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "tok_test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Parses a line of space-separated ids into ids; returns the count. */
static size_t parse_ids(int32_t *ids, const char *s, const char *end)
{
    size_t n = 0;
    while (s < end) {
        char *q;
        long v = strtol(s, &q, 10);
        if (q == s)
            break;
        ids[n++] = (int32_t)v;
        s = q;
        while (s < end && *s == ' ')
            s++;
    }
    return n;
}

/* Prints up to 20 ids of a list. */
static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 20; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 20 ? " ...\n" : "\n");
}

/* Compares the encoding of text (per line, or whole) with a golden file of id lines; fails with the
 * first differing line. */
static void check_golden(const tokenizer *t, const char *text_path, const char *ids_path, int whole)
{
    size_t tlen, glen;
    char *text = load(text_path, &tlen);
    char *gold = load(ids_path, &glen);
    tok_encoder *e;
    assert_int_equal(tok_encoder_open(&e, t), TOK_OK);
    int32_t *got = malloc((tlen + 1) * sizeof *got), *want = malloc((glen / 2 + 2) * sizeof *want);
    const char *tp = text, *tend = text + tlen, *gp = gold, *gend = gold + glen;
    size_t line = 0, tokens = 0;
    while (whole ? line == 0 : tp < tend) {
        const char *nl = whole ? NULL : memchr(tp, '\n', (size_t)(tend - tp));
        const char *le = nl ? nl : tend;
        const char *gnl = memchr(gp, '\n', (size_t)(gend - gp));
        if (!gnl)
            fail_msg("%s: golden file ends at line %zu", ids_path, line + 1);
        size_t n, m = parse_ids(want, gp, gnl);
        assert_int_equal(tok_encoder_encode(e, got, tlen + 1, &n, tp, (size_t)(le - tp), 0),
                         TOK_OK);
        line++;
        if (n != m || memcmp(got, want, n * sizeof *got) != 0) {
            size_t i = 0;
            while (i < n && i < m && got[i] == want[i])
                i++;
            fprintf(stderr, "%s line %zu differs from %s at token %zu:\n", text_path, line,
                    ids_path, i);
            print_ids("attn", got + i, n - i);
            print_ids("tiktoken", want + i, m - i);
            fail();
        }
        tokens += n;
        tp = nl ? nl + 1 : tend;
        gp = gnl + 1;
    }
    assert_true(gp == gend);
    printf("  %-28s %-38s %7zu lines %8zu tokens: all equal\n", text_path + strlen(DATA),
           ids_path + strlen(DATA), line, tokens);
    tok_encoder_free(e);
    free(got);
    free(want);
    free(text);
    free(gold);
}


/* ---- tiktoken equality -------------------------------------------------------------------- */

static void test_r50k_goldens(void **state)
{
    (void)state;
    tokenizer *t = r50k();
    check_golden(t, DATA "en.txt.gz", DATA "r50k_base.en.ids.gz", 0);
    check_golden(t, DATA "de.txt.gz", DATA "r50k_base.de.ids.gz", 0);
    check_golden(t, DATA "fr.txt.gz", DATA "r50k_base.fr.ids.gz", 0);
    check_golden(t, DATA "edge.txt", DATA "r50k_base.edge.lines.ids", 0);
    check_golden(t, DATA "edge.txt", DATA "r50k_base.edge.whole.ids", 1);
    tok_free(t);
}

static void test_cl100k_goldens(void **state)
{
    (void)state;
    tokenizer *t = cl100k();
    check_golden(t, DATA "en.txt.gz", DATA "cl100k_base.en.ids.gz", 0);
    check_golden(t, DATA "de.txt.gz", DATA "cl100k_base.de.ids.gz", 0);
    check_golden(t, DATA "fr.txt.gz", DATA "cl100k_base.fr.ids.gz", 0);
    check_golden(t, DATA "edge.txt", DATA "cl100k_base.edge.lines.ids", 0);
    check_golden(t, DATA "edge.txt", DATA "cl100k_base.edge.whole.ids", 1);
    tok_free(t);
}

/* o200k: the pattern with the ranks of every token occurring in edge.txt (exact on that text). */
static void test_o200k_edge(void **state)
{
    (void)state;
    tokenizer *t = open_tiktoken(DATA "o200k_base.edge.tiktoken.gz", "o200k", o200k_sp, 2);
    check_golden(t, DATA "edge.txt", DATA "o200k_base.edge.lines.ids", 0);
    check_golden(t, DATA "edge.txt", DATA "o200k_base.edge.whole.ids", 1);
    tok_free(t);
}

/* The attn file format carries the same tokenizer: serialize, reopen, compare table and output. */
static void test_serialize_round_trip(void **state)
{
    (void)state;
    tokenizer *t = cl100k(), *u = NULL;
    char *buf, why[256];
    size_t len;
    assert_int_equal(tok_serialize(t, &buf, &len), TOK_OK);
    assert_int_equal(tok_open_mem(&u, buf, len, why, sizeof why), TOK_OK);
    assert_int_equal(tok_vocab_size(u), tok_vocab_size(t));
    assert_string_equal(tok_pattern(u), "cl100k");
    for (int32_t id = 0; id < (int32_t)tok_vocab_size(t); id++) {
        size_t la = 0, lb = 0;
        const char *a = tok_token_bytes(t, id, &la), *b = tok_token_bytes(u, id, &lb);
        assert_true((a == NULL) == (b == NULL));
        assert_int_equal(la, lb);
        if (a)
            assert_memory_equal(a, b, la);
        assert_int_equal(tok_is_special(t, id), tok_is_special(u, id));
    }
    assert_null(tok_token_bytes(u, 100256, &len)); /* cl100k's unused id */
    check_golden(u, DATA "fr.txt.gz", DATA "cl100k_base.fr.ids.gz", 0);
    char *again;
    size_t len2;
    assert_int_equal(tok_serialize(u, &again, &len2), TOK_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len);
    free(again);
    free(buf);
    tok_free(u);
    tok_free(t);
}

/* ---- round trips and invalid UTF-8 -------------------------------------------------------- */

static void test_round_trip_texts(void **state)
{
    (void)state;
    tokenizer *t = r50k(), *c = cl100k();
    const char *files[] = {DATA "en.txt.gz", DATA "de.txt.gz", DATA "fr.txt.gz", DATA "edge.txt"};
    for (size_t i = 0; i < 4; i++) {
        size_t len;
        char *text = load(files[i], &len);
        round_trip(t, text, len, 0);
        round_trip(c, text, len, 0);
        round_trip(t, text, len, TOK_SPECIAL);
        free(text);
    }
    tok_free(t);
    tok_free(c);
}

static void test_round_trip_random_bytes(void **state)
{
    (void)state;
    tokenizer *t[2] = {r50k(), cl100k()};
    char buf[4096];
    for (int k = 0; k < 2; k++)
        for (int iter = 0; iter < 400; iter++) {
            size_t len = (size_t)(rnd() % sizeof buf);
            int mode = iter % 4;
            for (size_t i = 0; i < len; i++) {
                uint64_t r = rnd();
                if (mode == 0) /* any byte */
                    buf[i] = (char)r;
                else if (mode == 1) /* UTF-8-ish: lead and continuation bytes, spaces, letters */
                    buf[i] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 a'\n\r\t1\x80\xff"[r % 18];
                else if (mode == 2) /* few distinct bytes: long runs */
                    buf[i] = " a\xe2"[r % 3];
                else /* high bytes only */
                    buf[i] = (char)(0x80 | (r & 0x7f));
            }
            round_trip(t[k], buf, len, 0);
            round_trip(t[k], buf, len, TOK_SPECIAL);
        }
    tok_free(t[0]);
    tok_free(t[1]);
}

/* Invalid bytes (documented): every run of bytes no pattern item matches is a piece of its own. */
static void test_invalid_utf8_pieces(void **state)
{
    (void)state;
    tokenizer *t = r50k();
    int32_t a[64], b[64];
    size_t na, nb, n;
    const char in[] = "hello\xff\xfe world\xc3";
    assert_int_equal(tok_encode(t, a, 64, &na, in, sizeof in - 1, 0), TOK_OK);
    nb = 0;
    assert_int_equal(tok_encode(t, b, 64, &n, "hello", 5, 0), TOK_OK);
    nb += n;
    assert_int_equal(tok_encode(t, b + nb, 64, &n, "\xff\xfe", 2, 0), TOK_OK);
    nb += n;
    assert_int_equal(tok_encode(t, b + nb, 64, &n, " world", 6, 0), TOK_OK);
    nb += n;
    assert_int_equal(tok_encode(t, b + nb, 64, &n, "\xc3", 1, 0), TOK_OK);
    nb += n;
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    /* deterministic: the same input gives the same ids */
    assert_int_equal(tok_encode(t, b, 64, &nb, in, sizeof in - 1, 0), TOK_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    tok_free(t);
}

/* Buffers too small report the size they need; nothing is written past cap. */
static void test_buffer_sizes(void **state)
{
    (void)state;
    tokenizer *t = r50k();
    const char *s = "Hello world, this is a test of the buffer sizes.";
    int32_t ids[64];
    size_t n, need;
    assert_int_equal(tok_encode(t, ids, 64, &need, s, strlen(s), 0), TOK_OK);
    ids[3] = -7;
    assert_int_equal(tok_encode(t, ids, 3, &n, s, strlen(s), 0), TOK_ERR_SPACE);
    assert_int_equal(n, need);
    assert_int_equal(ids[3], -7);
    char out[8];
    out[5] = 'X';
    assert_int_equal(tok_decode(t, out, 5, &n, ids, 3), TOK_ERR_SPACE);
    assert_true(n > 5);
    assert_int_equal(out[5], 'X');
    int32_t bad[] = {15496, 50257};
    char big[64];
    assert_int_equal(tok_decode(t, big, sizeof big, &n, bad, 2), TOK_ERR_ID);
    bad[1] = -1;
    assert_int_equal(tok_decode(t, big, sizeof big, &n, bad, 2), TOK_ERR_ID);
    assert_int_equal(tok_encode(t, ids, 0, &n, "", 0, 0), TOK_OK);
    assert_int_equal(n, 0);
    tok_free(t);
}

/* One shared tokenizer, several threads encoding at once, the same results. */
struct thread_arg {
    const tokenizer *t;
    const char *text;
    size_t len, n;
    int32_t *ids;
};

static void *encode_thread(void *p)
{
    struct thread_arg *a = p;
    a->ids = malloc((a->len + 1) * sizeof *a->ids);
    if (tok_encode(a->t, a->ids, a->len + 1, &a->n, a->text, a->len, 0) < 0)
        a->n = (size_t)-1;
    return NULL;
}

static void test_threads_share_tokenizer(void **state)
{
    (void)state;
    tokenizer *t = r50k();
    size_t len;
    char *text = load(DATA "fr.txt.gz", &len);
    struct thread_arg a[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct thread_arg){t, text, len, 0, NULL};
        assert_int_equal(pthread_create(&th[i], NULL, encode_thread, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(a[i].n, a[0].n);
        assert_memory_equal(a[i].ids, a[0].ids, a[0].n * sizeof *a[0].ids);
    }
    for (int i = 0; i < 4; i++)
        free(a[i].ids);
    free(text);
    tok_free(t);
}

/* Compares the built-in pattern (ASCII fast path) with the same regex given as a user pattern
 * (always PCRE2) on random text over the patterns' corner characters. */
static void check_fast_path(tokenizer *fast, tokenizer *slow)
{
    static const char *const atoms[] = {
        "a", "Z", "x", "0", "9", "'", "s", "t", "re", "ll", "ve", "d", "m", " ", " ", "  ", "\t",
        "\n", "\r", "\v", "\f", ".", ",", "-", "!", "_", "\x01", "\x7f", "\xc3\xa9",
        "\xc2\xa0", "\xc2\x85", "\xe2\x80\x83", "\xe2\x80\x94", "\xf0\x9f\x98\x80",
        "\xd9\xa3", "\x80", "\xff", "\xe1\xa0\x8e", "S", "'S", "RE", "L", "\xc5\xbf", "1234",
        "\r\n", "/", "He", "LLO", "wOr", "D", "\xcc\x81", "\xc3\x89", "Ab'",
    };
    size_t n_atoms = sizeof atoms / sizeof atoms[0];
    char buf[512];
    int32_t a[512], b[512];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0, k = 1 + rnd() % 24;
        for (size_t i = 0; i < k; i++) {
            const char *x = atoms[rnd() % n_atoms];
            memcpy(buf + len, x, strlen(x));
            len += strlen(x);
        }
        size_t na, nb;
        assert_int_equal(tok_encode(fast, a, 512, &na, buf, len, 0), TOK_OK);
        assert_int_equal(tok_encode(slow, b, 512, &nb, buf, len, 0), TOK_OK);
        if (na != nb || memcmp(a, b, na * sizeof *a) != 0) {
            fprintf(stderr, "fast path differs on:");
            for (size_t i = 0; i < len; i++)
                fprintf(stderr, " %02x", (unsigned char)buf[i]);
            fprintf(stderr, "\n");
            print_ids("fast", a, na);
            print_ids("pcre2", b, nb);
            fail();
        }
    }
}

/* The ASCII fast paths of gpt2, cl100k and o200k split exactly as their regexes do. */
static void test_fast_paths(void **state)
{
    (void)state;
    char why[256];
    tokenizer *fast = r50k(), *slow = r50k();
    assert_int_equal(tok_set_pattern(slow,
                                     "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+"
                                     "| ?[^\\t-\\r\\x{85}\\p{Z}\\p{L}\\p{N}]+"
                                     "|[\\t-\\r\\x{85}\\p{Z}]+(?![^\\t-\\r\\x{85}\\p{Z}])"
                                     "|[\\t-\\r\\x{85}\\p{Z}]+", why, sizeof why), TOK_OK);
    check_fast_path(fast, slow);
    tok_free(fast);
    tok_free(slow);
    fast = cl100k();
    slow = cl100k();
    assert_int_equal(tok_set_pattern(slow,
                                     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
                                     "|\\p{N}{1,3}| ?[^\\t-\\r\\x{85}\\p{Z}\\p{L}\\p{N}]+[\\r\\n]*"
                                     "|[\\t-\\r\\x{85}\\p{Z}]*[\\r\\n]+"
                                     "|[\\t-\\r\\x{85}\\p{Z}]+(?![^\\t-\\r\\x{85}\\p{Z}])"
                                     "|[\\t-\\r\\x{85}\\p{Z}]+", why, sizeof why), TOK_OK);
    check_fast_path(fast, slow);
    tok_free(fast);
    tok_free(slow);
    /* o200k's pattern, with r50k's vocabulary (only the split is compared) */
    fast = r50k();
    slow = r50k();
    assert_int_equal(tok_set_pattern(fast, "o200k", why, sizeof why), TOK_OK);
    assert_int_equal(tok_set_pattern(slow,
                                     "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
                                     "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                                     "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
                                     "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                                     "|\\p{N}{1,3}| ?[^\\t-\\r\\x{85}\\p{Z}\\p{L}\\p{N}]+[\\r\\n/]*"
                                     "|[\\t-\\r\\x{85}\\p{Z}]*[\\r\\n]+"
                                     "|[\\t-\\r\\x{85}\\p{Z}]+(?![^\\t-\\r\\x{85}\\p{Z}])"
                                     "|[\\t-\\r\\x{85}\\p{Z}]+", why, sizeof why), TOK_OK);
    check_fast_path(fast, slow);
    tok_free(fast);
    tok_free(slow);
}

/* ---- long pieces -------------------------------------------------------------------------- */

/* A single 1 MB piece encodes in well under a second (no quadratic merge loop) and round-trips;
 * the bound here is loose (sanitizer builds), `make bench` prints the real times. */
static void test_long_pieces(void **state)
{
    (void)state;
    tokenizer *t = r50k();
    size_t len = 1 << 20;
    char *s = malloc(len);
    const char fill[] = {'a', ' ', '^', '7'};
    for (int k = 0; k < 4; k++) {
        memset(s, fill[k], len);
        clock_t c0 = clock();
        size_t n = round_trip(t, s, len, 0);
        double sec = (double)(clock() - c0) / CLOCKS_PER_SEC;
        printf("  1 MB of '%c': %zu tokens, encode + decode %.3f s\n", fill[k], n, sec);
        assert_true(sec < 5.0);
    }
    free(s);
    tok_free(t);
}

/* ---- special tokens ----------------------------------------------------------------------- */

static void test_special_tokens(void **state)
{
    (void)state;
    tokenizer *t = r50k();
    int32_t ids[64];
    size_t n;
    const char *s = "a<|endoftext|>b";
    assert_int_equal(tok_special_id(t, "<|endoftext|>", 13), 50256);
    assert_int_equal(tok_special_id(t, "<|endoftext", 11), -1);
    assert_true(tok_is_special(t, 50256));
    assert_false(tok_is_special(t, 64));
    assert_int_equal(tok_token_id(t, "hello", 5), 31373);
    assert_int_equal(tok_token_id(t, "<|endoftext|>", 13), -1);
    /* plain by default: user text cannot smuggle the control token in */
    assert_int_equal(tok_encode(t, ids, 64, &n, s, strlen(s), 0), TOK_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(ids[i], 50256);
    assert_true(n > 3);
    /* with TOK_SPECIAL it is one token (tiktoken: "a" 64, "b" 65) */
    assert_int_equal(tok_encode(t, ids, 64, &n, s, strlen(s), TOK_SPECIAL), TOK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 64);
    assert_int_equal(ids[1], 50256);
    assert_int_equal(ids[2], 65);
    char out[64];
    assert_int_equal(tok_decode(t, out, sizeof out, &n, ids, 3), TOK_OK);
    assert_int_equal(n, strlen(s));
    assert_memory_equal(out, s, n);
    tok_free(t);
}

/* ---- malformed files ---------------------------------------------------------------------- */

/* Opens an attn file from a string; returns the status and checks a reason came back. */
static int open_str(const char *s)
{
    tokenizer *t = NULL;
    char why[256] = "";
    int rc = tok_open_mem(&t, s, strlen(s), why, sizeof why);
    if (rc < 0) {
        assert_null(t);
        assert_true(why[0] != 0);
    }
    tok_free(t);
    return rc;
}

/* Builds a valid minimal attn file body: the 256 bytes, then extra lines, into buf. */
static void minimal_file(char *buf, const char *pattern_line, size_t n, const char *extra)
{
    char *p = buf + sprintf(buf, "attn-tokenizer 1\n%s\ntokens %zu\n", pattern_line, n);
    for (int b = 0; b < 256; b++)
        p += sprintf(p, "%02x\n", b);
    sprintf(p, "%send\n", extra);
}

static void test_malformed_files(void **state)
{
    (void)state;
    static char buf[1 << 14];
    minimal_file(buf, "pattern gpt2", 258, "6162\n!3c733e\n");
    assert_int_equal(open_str(buf), TOK_OK);
    minimal_file(buf, "regex 5c707b4c7d2b", 256, ""); /* the regex \p{L}+ */
    assert_int_equal(open_str(buf), TOK_OK);
    minimal_file(buf, "pattern gpt2", 257, "-\n");
    assert_int_equal(open_str(buf), TOK_OK);
    const char *bad[][2] = {
        {"pattern gpt2", "6162\n6162\n"},            /* duplicate token */
        {"pattern gpt2", "!3c733e\n!3c733e\n"},      /* duplicate special */
        {"pattern gpt3", "6162\n-\n"},               /* unknown pattern */
        {"regex 28", "6162\n-\n"},                   /* "(" does not compile */
        {"regex 2", "6162\n-\n"},                    /* odd hex */
        {"pattern gpt2", "61zz\n-\n"},               /* bad hex */
        {"pattern gpt2", "\n-\n"},                   /* empty token */
        {"pattern gpt2", "!\n-\n"},                  /* empty special */
        {"pattern gpt2", "6162 x\n-\n"},             /* bad rank */
        {"pattern gpt2", "6162\n"},                  /* one line short: 'end' read as a token */
        {"pattern gpt2", "6162\n-\n-\n"},            /* one line too many */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        minimal_file(buf, bad[i][0], 258, bad[i][1]);
        assert_true(open_str(buf) < 0);
    }
    assert_int_equal(open_str(""), TOK_ERR_FORMAT);
    assert_int_equal(open_str("attn-tokenizer 2\n"), TOK_ERR_FORMAT);
    assert_int_equal(open_str("attn-tokenizer 1\npattern gpt2\ntokens 12\n"), TOK_ERR_FORMAT);
    assert_int_equal(open_str("attn-tokenizer 1\npattern gpt2\ntokens 99999999999\n"),
                     TOK_ERR_FORMAT);
    assert_int_equal(open_str("attn-tokenizer 1\ntokens 256\n"), TOK_ERR_FORMAT);
    /* a missing single byte */
    minimal_file(buf, "pattern gpt2", 256, "");
    char *p = strstr(buf, "\n41\n");
    memcpy(p + 1, "-\n", 2);
    memmove(p + 3, p + 4, strlen(p + 4) + 1);
    assert_int_equal(open_str(buf), TOK_ERR_FORMAT);
    /* data after end; no end */
    minimal_file(buf, "pattern gpt2", 256, "");
    strcat(buf, "x\n");
    assert_int_equal(open_str(buf), TOK_ERR_FORMAT);
    minimal_file(buf, "pattern gpt2", 256, "");
    buf[strlen(buf) - 4] = 0;
    assert_int_equal(open_str(buf), TOK_ERR_FORMAT);
    /* every truncation and random byte flips of a valid file: an error or a tokenizer, no crash */
    minimal_file(buf, "pattern gpt2", 260, "6162\n616263 9\n!3c733e\n-\n");
    size_t len = strlen(buf);
    assert_int_equal(open_str(buf), TOK_OK);
    for (size_t cut = 0; cut < len; cut++) {
        tokenizer *t = NULL;
        char why[128];
        int rc = tok_open_mem(&t, buf, cut, why, sizeof why);
        assert_true(rc < 0 || cut == len - 1); /* only the final '\n' is optional */
        tok_free(t);
    }
    char *copy = malloc(len);
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(copy, buf, len);
        for (int k = 0; k < 3; k++)
            copy[rnd() % len] = (char)rnd();
        tokenizer *t = NULL;
        char why[128];
        if (tok_open_mem(&t, copy, len, why, sizeof why) == TOK_OK)
            round_trip(t, "some text \xff", 11, TOK_SPECIAL);
        tok_free(t);
    }
    free(copy);
    /* tiktoken rank files */
    tokenizer *t = NULL;
    char why[128];
    assert_true(bpe_open_tiktoken(&t, "YQ== 0\n", 7, "gpt2", NULL, 0, why, sizeof why) < 0);
    assert_true(bpe_open_tiktoken(&t, "YQ== x\n", 7, "gpt2", NULL, 0, why, sizeof why) < 0);
    assert_true(bpe_open_tiktoken(&t, "Y=Q= 0\n", 7, "gpt2", NULL, 0, why, sizeof why) < 0);
    assert_true(bpe_open_tiktoken(&t, "YQ== 0\nYQ== 0\n", 14, "gpt2", NULL, 0, why,
                                  sizeof why) < 0);
    /* the fuzzer's find: 15 bytes that made the reader allocate and fill tables for 15
     * million ids before it counted the ranks */
    assert_int_equal(bpe_open_tiktoken(&t, "5==== 15555550", 14, "gpt2", NULL, 0, why, sizeof why),
                     TOK_ERR_FORMAT);
    assert_string_equal(why, "fewer than 256 ranks");
    /* ranks may leave gaps: 256 bytes, the last one at rank 15555550, open (unused ids between) */
    char *ranks = malloc(256 * 16);
    size_t used = 0;
    for (int b = 0; b < 256; b++) {
        static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789+/";
        used += (size_t)sprintf(ranks + used, "%c%c== %d\n", digits[b >> 2],
                                digits[(b & 3) << 4], b == 255 ? 15555550 : b);
    }
    assert_int_equal(bpe_open_tiktoken(&t, ranks, used, "gpt2", NULL, 0, why, sizeof why), TOK_OK);
    assert_int_equal(tok_vocab_size(t), 15555551);
    round_trip(t, "some text \xff", 11, 0);
    tok_free(t);
    free(ranks);
    assert_true(tok_open(&t, "tests/data/tok/does-not-exist", why, sizeof why) == TOK_ERR_IO);
    assert_null(t);
}

/* A file with explicit ranks merges by rank, not by id. */
static void test_explicit_ranks(void **state)
{
    (void)state;
    static char buf[1 << 14];
    /* ids 256 "ab" rank 1000, 257 "bc" rank 5: "abc" merges b+c first -> a, bc */
    minimal_file(buf, "pattern gpt2", 258, "6162 1000\n6263 5\n");
    tokenizer *t = NULL;
    char why[128];
    assert_int_equal(tok_open_mem(&t, buf, strlen(buf), why, sizeof why), TOK_OK);
    int32_t ids[8];
    size_t n;
    assert_int_equal(tok_encode(t, ids, 8, &n, "abc", 3, 0), TOK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 'a');
    assert_int_equal(ids[1], 257);
    tok_free(t);
    /* same ids without ranks: "ab" (256) has the lower rank -> ab, c */
    minimal_file(buf, "pattern gpt2", 258, "6162\n6263\n");
    assert_int_equal(tok_open_mem(&t, buf, strlen(buf), why, sizeof why), TOK_OK);
    assert_int_equal(tok_encode(t, ids, 8, &n, "abc", 3, 0), TOK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 256);
    assert_int_equal(ids[1], 'c');
    tok_free(t);
}

/* User patterns that can match empty never loop; their gaps still round-trip. */
static void test_user_patterns(void **state)
{
    (void)state;
    bpe_trainer *tr;
    char why[256];
    assert_int_equal(bpe_trainer_open(&tr, "(", why, sizeof why), TOK_ERR_PATTERN);
    assert_int_equal(bpe_trainer_open(&tr, "a*|\\s", why, sizeof why), TOK_OK);
    const char *text = "aaa bbb aaa\xff aa";
    assert_int_equal(bpe_trainer_feed(tr, text, strlen(text)), TOK_OK);
    tokenizer *t;
    assert_int_equal(bpe_trainer_finish(tr, &t, 300, NULL, 0, why, sizeof why), TOK_OK);
    assert_string_equal(tok_pattern(t), "a*|\\s");
    round_trip(t, text, strlen(text), 0);
    round_trip(t, "", 0, 0);
    round_trip(t, "xyz\x80", 4, 0);
    char *buf;
    size_t len;
    tokenizer *u;
    assert_int_equal(tok_serialize(t, &buf, &len), TOK_OK);
    assert_int_equal(tok_open_mem(&u, buf, len, why, sizeof why), TOK_OK);
    assert_string_equal(tok_pattern(u), "a*|\\s");
    free(buf);
    tok_free(u);
    tok_free(t);
    bpe_trainer_free(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_r50k_goldens),
        cmocka_unit_test(test_cl100k_goldens),
        cmocka_unit_test(test_o200k_edge),
        cmocka_unit_test(test_serialize_round_trip),
        cmocka_unit_test(test_round_trip_texts),
        cmocka_unit_test(test_round_trip_random_bytes),
        cmocka_unit_test(test_invalid_utf8_pieces),
        cmocka_unit_test(test_buffer_sizes),
        cmocka_unit_test(test_threads_share_tokenizer),
        cmocka_unit_test(test_fast_paths),
        cmocka_unit_test(test_long_pieces),
        cmocka_unit_test(test_special_tokens),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_explicit_ranks),
        cmocka_unit_test(test_user_patterns),
    };
    return cmocka_run_group_tests_name("tokenizer", tests, NULL, NULL);
}
