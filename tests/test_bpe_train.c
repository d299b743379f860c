/* test_bpe_train.c — the byte-level BPE trainer against a naive reference trainer, and its
 * errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tok_test.h"

/* The naive reference trainer: words as symbol lists with counts, every merge recounts every
 * pair from scratch and takes the highest count, ties to the lowest (left, right).  Writes the
 * bytes of each learned token (after the specials and 256 bytes) into tok/tok_len. */
typedef struct {
    int sym[64];
    int n;
    long count;
} nword;

static int naive_train(char tok[][64], int *tok_len, int first, int n_merges, nword *w, int nw)
{
    int n_tok = 0;
    static long cnt[1024][1024];
    int vocab = first + 256 + n_merges;
    assert_true(vocab <= 1024);
    for (int m = 0; m < n_merges; m++) {
        memset(cnt, 0, sizeof cnt);
        for (int i = 0; i < nw; i++)
            for (int k = 0; k + 1 < w[i].n; k++)
                cnt[w[i].sym[k]][w[i].sym[k + 1]] += w[i].count;
        long best = 0;
        int ba = -1, bb = -1;
        for (int a = 0; a < vocab; a++)
            for (int b = 0; b < vocab; b++)
                if (cnt[a][b] > best) {
                    best = cnt[a][b];
                    ba = a;
                    bb = b;
                }
        if (best == 0)
            break;
        int c = first + 256 + m;
        int la = ba < first + 256 ? 1 : tok_len[ba - first - 256];
        int lb = bb < first + 256 ? 1 : tok_len[bb - first - 256];
        char bytes_a[64], bytes_b[64];
        if (ba < first + 256)
            bytes_a[0] = (char)(ba - first);
        else
            memcpy(bytes_a, tok[ba - first - 256], (size_t)la);
        if (bb < first + 256)
            bytes_b[0] = (char)(bb - first);
        else
            memcpy(bytes_b, tok[bb - first - 256], (size_t)lb);
        memcpy(tok[m], bytes_a, (size_t)la);
        memcpy(tok[m] + la, bytes_b, (size_t)lb);
        tok_len[m] = la + lb;
        n_tok++;
        for (int i = 0; i < nw; i++) {
            int o = 0;
            for (int k = 0; k < w[i].n; k++) {
                if (k + 1 < w[i].n && w[i].sym[k] == ba && w[i].sym[k + 1] == bb) {
                    w[i].sym[o++] = c;
                    k++;
                } else {
                    w[i].sym[o++] = w[i].sym[k];
                }
            }
            w[i].n = o;
        }
    }
    return n_tok;
}

static void test_trainer_matches_naive(void **state)
{
    (void)state;
    /* a small corpus with many count ties; pieces by the gpt2 pattern, split here by hand */
    const char *pieces[] = {"the", " cat", " sat", " on", " the", " mat", ".", " the", " cat",
                            " ate", " the", " rat", " aaaa", " aaa", " abab", " baba", "!!",
                            " 1234", " the", " hat", " that", " chat"};
    size_t np = sizeof pieces / sizeof pieces[0];
    char text[512] = "";
    for (size_t i = 0; i < np; i++)
        strcat(text, pieces[i]);
    const char *specials[] = {"<pad>", "<s>", "</s>"};
    int first = 3, n_merges = 40;
    bpe_trainer *tr;
    char why[256];
    assert_int_equal(bpe_trainer_open(&tr, "gpt2", why, sizeof why), TOK_OK);
    assert_int_equal(bpe_trainer_feed(tr, text, strlen(text)), TOK_OK);
    tokenizer *t;
    assert_int_equal(bpe_trainer_finish(tr, &t, (size_t)(first + 256 + n_merges), specials, 3,
                                        why, sizeof why),
                     TOK_OK);
    /* the reference: distinct pieces with counts */
    static nword w[64];
    int nw = 0;
    for (size_t i = 0; i < np; i++) {
        int j;
        for (j = 0; j < nw; j++) {
            char tmp[64];
            for (int k = 0; k < w[j].n; k++)
                tmp[k] = (char)(w[j].sym[k] - first);
            if ((size_t)w[j].n == strlen(pieces[i]) && memcmp(tmp, pieces[i], (size_t)w[j].n) == 0)
                break;
        }
        if (j == nw) {
            w[nw].n = (int)strlen(pieces[i]);
            for (int k = 0; k < w[nw].n; k++)
                w[nw].sym[k] = first + (unsigned char)pieces[i][k];
            w[nw].count = 0;
            nw++;
        }
        w[j].count++;
    }
    static char tok[64][64];
    int tok_len[64];
    int n_tok = naive_train(tok, tok_len, first, n_merges, w, nw);
    assert_int_equal(tok_vocab_size(t), (size_t)(first + 256 + n_tok));
    for (int i = 0; i < 3; i++) {
        size_t l;
        const char *b = tok_token_bytes(t, i, &l);
        assert_true(tok_is_special(t, i));
        assert_int_equal(l, strlen(specials[i]));
        assert_memory_equal(b, specials[i], l);
    }
    for (int i = 0; i < 256; i++) {
        size_t l;
        const char *b = tok_token_bytes(t, first + i, &l);
        assert_int_equal(l, 1);
        assert_int_equal((unsigned char)b[0], i);
    }
    for (int m = 0; m < n_tok; m++) {
        size_t l;
        const char *b = tok_token_bytes(t, first + 256 + m, &l);
        if (l != (size_t)tok_len[m] || memcmp(b, tok[m], l) != 0)
            fail_msg("merge %d: attn '%.*s', reference '%.*s'", m, (int)l, b, tok_len[m], tok[m]);
    }
    printf("  trainer: %d merges equal to the naive reference\n", n_tok);
    /* special tokens of the trained tokenizer, with and without TOK_SPECIAL */
    int32_t ids[64];
    size_t n;
    assert_int_equal(tok_encode(t, ids, 64, &n, "<s>the cat</s>", 14, TOK_SPECIAL), TOK_OK);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[n - 1], 2);
    assert_int_equal(tok_encode(t, ids, 64, &n, "<s>", 3, 0), TOK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], first + '<');
    round_trip(t, text, strlen(text), 0);
    tok_free(t);
    bpe_trainer_free(tr);
}

/* The same on a random corpus with many ties: 3000 words " xxxx" over a 5-letter alphabet (the
 * gpt2 pattern keeps each as one piece), 300 merges. */
static void test_trainer_random_corpus(void **state)
{
    (void)state;
    static char text[40000];
    static nword w[3000];
    int nw = 0;
    size_t len = 0;
    for (int i = 0; i < 3000; i++) {
        int l = 1 + (int)(rnd() % 8);
        char word[16] = " ";
        for (int k = 1; k <= l; k++)
            word[k] = "abcde"[rnd() % 5];
        memcpy(text + len, word, (size_t)l + 1);
        len += (size_t)l + 1;
        int j;
        for (j = 0; j < nw; j++) {
            int same = w[j].n == l + 1;
            for (int k = 0; same && k <= l; k++)
                same = w[j].sym[k] == (unsigned char)word[k];
            if (same)
                break;
        }
        if (j == nw) {
            w[nw].n = l + 1;
            for (int k = 0; k <= l; k++)
                w[nw].sym[k] = (unsigned char)word[k];
            w[nw].count = 0;
            nw++;
        }
        w[j].count++;
    }
    int n_merges = 300;
    static char tok[300][64];
    int tok_len[300];
    int n_tok = naive_train(tok, tok_len, 0, n_merges, w, nw);
    bpe_trainer *tr;
    tokenizer *t;
    char why[256];
    assert_int_equal(bpe_trainer_open(&tr, "gpt2", why, sizeof why), TOK_OK);
    assert_int_equal(bpe_trainer_feed(tr, text, len), TOK_OK);
    assert_int_equal(bpe_trainer_finish(tr, &t, (size_t)(256 + n_merges), NULL, 0, why,
                                        sizeof why),
                     TOK_OK);
    assert_int_equal(tok_vocab_size(t), (size_t)(256 + n_tok));
    for (int m = 0; m < n_tok; m++) {
        size_t l;
        const char *b = tok_token_bytes(t, 256 + m, &l);
        if (l != (size_t)tok_len[m] || memcmp(b, tok[m], l) != 0)
            fail_msg("merge %d: attn '%.*s', reference '%.*s'", m, (int)l, b, tok_len[m], tok[m]);
    }
    printf("  trainer: %d merges on a random corpus equal to the naive reference\n", n_tok);
    tok_free(t);
    bpe_trainer_free(tr);
}

static void test_trainer_errors(void **state)
{
    (void)state;
    bpe_trainer *tr;
    tokenizer *t = NULL;
    char why[256];
    assert_int_equal(bpe_trainer_open(&tr, NULL, why, sizeof why), TOK_OK);
    assert_int_equal(bpe_trainer_feed(tr, "abc abc", 7), TOK_OK);
    const char *dup[] = {"<s>", "<s>"}, *empty[] = {""};
    assert_int_equal(bpe_trainer_finish(tr, &t, 255, NULL, 0, why, sizeof why), TOK_ERR_ARG);
    assert_int_equal(bpe_trainer_finish(tr, &t, 300, dup, 2, why, sizeof why), TOK_ERR_ARG);
    assert_int_equal(bpe_trainer_finish(tr, &t, 300, empty, 1, why, sizeof why), TOK_ERR_ARG);
    assert_null(t);
    /* too few pairs: stops early */
    assert_int_equal(bpe_trainer_finish(tr, &t, 1000, NULL, 0, why, sizeof why), TOK_OK);
    assert_int_equal(tok_vocab_size(t), 256 + 3); /* "ab", "abc", " abc" */
    tok_free(t);
    bpe_trainer_free(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trainer_matches_naive),
        cmocka_unit_test(test_trainer_random_corpus),
        cmocka_unit_test(test_trainer_errors),
    };
    return cmocka_run_group_tests_name("tokenizer trainer", tests, NULL, NULL);
}
