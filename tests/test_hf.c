/* test_hf.c — Hugging Face models through attn: converts the fixture models in tests/data/hf
 * (tiny random BART, Marian, T5 v1.0 and T5 v1.1 saved by transformers 4.30.0) with
 * scripts/convert/hf_model.py, runs them in the engine and compares with what transformers
 * computed: encoder states and teacher-forced logits within 1e-4 (every case: len1, len100, a
 * padded batch of two, len300 for T5), then generate()'s greedy ids, the four beam hypotheses
 * with their scores and the repetition-penalty / no-repeat-n-gram run, exactly, using the
 * generation defaults the converter wrote into each file plus the keyword arguments transformers
 * was given, applied by the engine's one settings function (eng_params, src/engine.h) as the
 * command line applies them.
 * test_attention_* checks the cross-attention probabilities of every decoder layer and head, step
 * by step, and the encoder self-attention, of a padded batch of two against
 * tests/data/hf/<model>/attention.txt (scripts/goldens/hf_attention.py: a PyTorch forward pass
 * that reproduces these fixtures' transformers outputs), within 1e-5, on every instruction set;
 * also for tests/data/hf/mbart, a small mBART checkpoint that script makes (pre-norm blocks, final
 * norms), for which no transformers outputs exist to check the reference against.
 * test_dtypes converts with --dtype bf16 and q8 and reports how far logits move and how many
 * greedy sequences stay equal.
 *
 * The references (tests/data/hf/<model>/reference.txt and *.npy) come from transformers via
 * scripts/goldens/hf_fixtures.py.  Conversion needs /usr/bin/python3 with numpy; without it every
 * test here is reported as skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "kernels.h"

#include "golden_text.h"

#define TOL 1e-4
#define MAX_CASES 4
#define MAX_ROWS 2
#define MAX_SRC 300
#define MAX_DEC 8
#define MAX_MODES 3
#define MAX_SEQS 8
#define MAX_SEQ_LEN 32

static const char *const MODELS[] = {"bart", "marian", "t5_v1_0", "t5_v1_1"};

/* ---- the reference (reference.txt, written by scripts/goldens/hf_fixtures.py) ------------ */

typedef struct ref_gen {
    char mode[32];
    int num_beams, max_new_tokens, early_stopping, num_return, no_repeat_ngram;
    double length_penalty, repetition_penalty;
    int n_seq, n_score;
    int seq_len[MAX_SEQS];
    int32_t seq[MAX_SEQS][MAX_SEQ_LEN];     /* (n_seq, seq_len) generate().sequences */
    double score[MAX_SEQS];                 /* (n_score) sequences_scores */
} ref_gen;

typedef struct ref_case {
    char name[32];
    int rows;
    int src_len[MAX_ROWS], dec_len[MAX_ROWS];
    int32_t src[MAX_ROWS][MAX_SRC];         /* (rows, src_len) unpadded input ids */
    int32_t dec[MAX_ROWS][MAX_DEC];         /* (rows, dec_len) teacher-forced decoder input */
    char enc_file[64], logits_file[64];
    int n_gen;
    ref_gen gen[MAX_MODES];
} ref_case;

typedef struct ref_model {
    int n_case;
    ref_case cases[MAX_CASES];
} ref_model;

/* Reads "LEN id..." from s into ids (at most cap); returns LEN or -1 when malformed. */
static int parse_ids(int32_t *ids, int cap, char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s || n < 0 || n > cap)
        return -1;
    for (long i = 0; i < n; i++) {
        s = end;
        ids[i] = (int32_t)strtol(s, &end, 10);
        if (end == s)
            return -1;
    }
    return (int)n;
}

/* Returns the reference generate() run called mode in c, or NULL. */
static ref_gen *find_gen(ref_case *c, const char *mode)
{
    for (int i = 0; i < c->n_gen; i++)
        if (strcmp(c->gen[i].mode, mode) == 0)
            return &c->gen[i];
    return NULL;
}

/* Parses one reference.txt line into r; returns 0, or -1 when the line is malformed. */
static int parse_line(ref_model *r, char *line)
{
    char word[32], mode[32];
    int n, row, idx;
    if (sscanf(line, "%31s%n", word, &n) != 1 || word[0] == '#' || strcmp(word, "model") == 0 ||
        strcmp(word, "end") == 0)
        return 0;
    char *rest = line + n;
    if (strcmp(word, "case") == 0) {
        if (r->n_case == MAX_CASES)
            return -1;
        ref_case *c = &r->cases[r->n_case++];
        memset(c, 0, sizeof *c);
        int ok = sscanf(rest, "%31s %d", c->name, &c->rows) == 2;
        return ok && c->rows >= 1 && c->rows <= MAX_ROWS ? 0 : -1;
    }
    if (r->n_case == 0)
        return -1;
    ref_case *c = &r->cases[r->n_case - 1];
    if (strcmp(word, "src") == 0 || strcmp(word, "dec") == 0) {
        int is_src = word[0] == 's';
        if (sscanf(rest, "%d%n", &row, &n) != 1 || row < 0 || row >= c->rows)
            return -1;
        int len = is_src ? parse_ids(c->src[row], MAX_SRC, rest + n)
                         : parse_ids(c->dec[row], MAX_DEC, rest + n);
        if (len < 1)
            return -1;
        *(is_src ? &c->src_len[row] : &c->dec_len[row]) = len;
        return 0;
    }
    if (strcmp(word, "enc") == 0)
        return sscanf(rest, "%63s", c->enc_file) == 1 ? 0 : -1;
    if (strcmp(word, "logits") == 0)
        return sscanf(rest, "%63s", c->logits_file) == 1 ? 0 : -1;
    if (strcmp(word, "gen") == 0) {
        if (c->n_gen == MAX_MODES)
            return -1;
        ref_gen *g = &c->gen[c->n_gen++];
        memset(g, 0, sizeof *g);
        return sscanf(rest, "%31s num_beams %d max_new_tokens %d length_penalty %lf "
                      "early_stopping %d num_return %d repetition_penalty %lf no_repeat_ngram %d",
                      g->mode, &g->num_beams, &g->max_new_tokens, &g->length_penalty,
                      &g->early_stopping, &g->num_return, &g->repetition_penalty,
                      &g->no_repeat_ngram) == 8 ? 0 : -1;
    }
    if (strcmp(word, "seq") == 0 || strcmp(word, "score") == 0) {
        if (sscanf(rest, "%31s %d%n", mode, &idx, &n) != 2 || idx < 0 || idx >= MAX_SEQS)
            return -1;
        ref_gen *g = find_gen(c, mode);
        if (g == NULL)
            return -1;
        if (word[1] == 'e') {
            if ((g->seq_len[idx] = parse_ids(g->seq[idx], MAX_SEQ_LEN, rest + n)) < 1)
                return -1;
            g->n_seq = idx + 1 > g->n_seq ? idx + 1 : g->n_seq;
            return 0;
        }
        g->n_score = idx + 1 > g->n_score ? idx + 1 : g->n_score;
        return sscanf(rest + n, "%lf", &g->score[idx]) == 1 ? 0 : -1;
    }
    return -1;
}

/* Loads tests/data/hf/<name>/reference.txt into *r; fails the test when it cannot. */
static void load_reference(ref_model *r, const char *name)
{
    char path[256], line[8192];
    snprintf(path, sizeof path, "tests/data/hf/%s/reference.txt", name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("%s: cannot open (run the tests from the repository root)", path);
    memset(r, 0, sizeof *r);
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (parse_line(r, line) != 0) {
            fclose(f);
            fail_msg("%s:%d: malformed line", path, lineno);
        }
    }
    fclose(f);
    assert_true(r->n_case >= 3);
}

/* ---- .npy files (format 1.0, little-endian float32, C order) ------------------------------- */

typedef struct npy {
    int ndim;
    long shape[4];
    float *data;        /* (shape) */
} npy;

/* Loads a float32 .npy file into *a; fails the test when it cannot. */
static void load_npy(npy *a, const char *model, const char *file)
{
    char path[256], header[1024];
    unsigned char pre[10];
    snprintf(path, sizeof path, "tests/data/hf/%s/%s", model, file);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s: cannot open", path);
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY\x01\x00", 8) != 0) {
        fclose(f);
        fail_msg("%s: not a .npy file of format 1.0", path);
    }
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (hlen >= sizeof header || fread(header, 1, hlen, f) != hlen) {
        fclose(f);
        fail_msg("%s: bad header", path);
    }
    header[hlen] = '\0';
    const char *shape = strstr(header, "'shape': (");
    if (strstr(header, "'descr': '<f4'") == NULL ||
        strstr(header, "'fortran_order': False") == NULL || shape == NULL) {
        fclose(f);
        fail_msg("%s: not a C-order little-endian float32 array", path);
    }
    memset(a, 0, sizeof *a);
    long n = 1;
    char *p = (char *)shape + strlen("'shape': (");
    while (a->ndim < 4 && *p != ')') {
        char *end;
        long d = strtol(p, &end, 10);
        if (end == p)
            break;
        a->shape[a->ndim++] = d;
        n *= d;
        p = end + strspn(end, ", ");
    }
    a->data = malloc((size_t)n * sizeof(float));
    size_t got = a->data ? fread(a->data, sizeof(float), (size_t)n, f) : 0;
    fclose(f);
    if (got != (size_t)n)
        fail_msg("%s: short data", path);
}

/* ---- converting the fixtures ------------------------------------------------------------- */

static char tmpdir[256];
static int have_numpy;

/* Creates the scratch folder and notes whether the converter can run here. */
static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/attn-test-hf-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    have_numpy = system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
    return 0;
}

/* Removes the converted files and the scratch folder. */
static int group_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Converts fixture model name with --dtype dtype into the scratch folder and writes the output
 * path into path; skips the test without numpy, fails it when the conversion fails. */
static void convert(char *path, size_t len, const char *name, const char *dtype)
{
    if (!have_numpy) {
        print_message("test_hf: SKIPPED: converting needs /usr/bin/python3 with numpy "
                      "(scripts/setup/install-deps.sh installs python3-numpy)\n");
        skip();
    }
    char cmd[1024];
    snprintf(path, len, "%s/%s.%s.attn", tmpdir, name, dtype);
    if (access(path, R_OK) == 0)
        return;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -m scripts.convert.hf_model tests/data/hf/%s "
             "-o '%s' --dtype %s 2>'%s/err' || cat '%s/err' >&2",
             name, path, dtype, tmpdir, tmpdir);
    if (system(cmd) != 0 || access(path, R_OK) != 0)
        fail_msg("scripts/convert/hf_model.py tests/data/hf/%s --dtype %s failed", name, dtype);
}

/* Opens model file path in the engine; fails the test with the engine's reason when it cannot. */
static engine *open_engine(const char *path)
{
    engine *e = NULL;
    char why[256] = "";
    int rc = eng_open(&e, path, why, sizeof why);
    if (rc != ATTN_OK)
        fail_msg("eng_open %s: %s: %s", path, attn_strerror(rc), why);
    return e;
}

/* ---- encoder states and logits ------------------------------------------------------------ */

typedef struct forward_stats {
    double enc, logits;         /* max abs difference against transformers */
    int argmax_diff;            /* teacher-forced positions whose argmax differs */
} forward_stats;

/* Runs case c through model m (all rows as one batch) and measures it against the .npy outputs. */
static void run_case(forward_stats *fs, const tf_model *m, const char *name, const ref_case *c)
{
    const tf_config *cfg = tf_model_config(m);
    int V = cfg->vocab_size, d = cfg->d_model, max_len = 0;
    const int32_t *src[MAX_ROWS];
    int src_of_row[MAX_ROWS];
    for (int r = 0; r < c->rows; r++) {
        src[r] = c->src[r];
        src_of_row[r] = r;
        max_len = c->src_len[r] > max_len ? c->src_len[r] : max_len;
    }
    npy enc, logits;
    load_npy(&enc, name, c->enc_file);
    load_npy(&logits, name, c->logits_file);
    assert_int_equal(enc.ndim, 3);
    assert_int_equal(enc.shape[0], c->rows);
    assert_int_equal(enc.shape[2], d);
    assert_int_equal(logits.ndim, 3);
    assert_int_equal(logits.shape[2], V);
    tf_state *st = NULL;
    assert_int_equal(tf_state_open(&st, m, c->rows, c->rows, max_len, MAX_DEC, 1), ATTN_OK);
    assert_int_equal(tf_encode(st, src, c->src_len, c->rows), ATTN_OK);
    for (int r = 0; r < c->rows; r++) {
        int len = -1;
        const float *out = tf_encoder_output(st, r, &len);     /* (len, d) */
        assert_non_null(out);
        assert_int_equal(len, c->src_len[r]);
        const float *want = enc.data + (size_t)r * enc.shape[1] * d;
        for (long i = 0; i < (long)len * d; i++)
            fs->enc = fmax(fs->enc, fabs((double)out[i] - want[i]));
    }
    float *out = malloc(sizeof(float) * (size_t)c->rows * V);      /* (rows, V) */
    assert_non_null(out);
    assert_int_equal(tf_decode_begin(st, src_of_row, c->rows), ATTN_OK);
    for (int t = 0; t < c->dec_len[0]; t++) {
        int32_t tok[MAX_ROWS];
        for (int r = 0; r < c->rows; r++)
            tok[r] = c->dec[r][t];
        assert_int_equal(tf_decode_step(st, out, tok, c->rows), ATTN_OK);
        for (int r = 0; r < c->rows; r++) {
            const float *got = out + (size_t)r * V;
            const float *want = logits.data + ((size_t)r * logits.shape[1] + t) * V;
            int best_got = 0, best_want = 0;
            for (int v = 0; v < V; v++) {
                fs->logits = fmax(fs->logits, fabs((double)got[v] - want[v]));
                best_got = got[v] > got[best_got] ? v : best_got;
                best_want = want[v] > want[best_want] ? v : best_want;
            }
            fs->argmax_diff += best_got != best_want;
        }
    }
    free(out);
    tf_state_free(st);
    free(enc.data);
    free(logits.data);
}

/* Compares every case of model name, converted as f32, with transformers' states and logits. */
static void forward_test(const char *name)
{
    char path[512];
    ref_model *ref = malloc(sizeof *ref);
    assert_non_null(ref);
    load_reference(ref, name);
    convert(path, sizeof path, name, "f32");
    engine *e = open_engine(path);
    int bad = 0;
    for (int i = 0; i < ref->n_case; i++) {
        forward_stats fs = {0, 0, 0};
        run_case(&fs, eng_model(e), name, &ref->cases[i]);
        int ok = fs.enc <= TOL && fs.logits <= TOL && fs.argmax_diff == 0;
        print_message("%s %s/%s: encoder max abs %.2e, logits max abs %.2e (tolerance %.0e), "
                      "%d argmax differences\n", ok ? "ok  " : "FAIL", name, ref->cases[i].name,
                      fs.enc, fs.logits, TOL, fs.argmax_diff);
        bad += !ok;
    }
    eng_free(e);
    free(ref);
    assert_int_equal(bad, 0);
}

static void test_forward_bart(void **state) { (void)state; forward_test("bart"); }
static void test_forward_marian(void **state) { (void)state; forward_test("marian"); }
static void test_forward_t5_v1_0(void **state) { (void)state; forward_test("t5_v1_0"); }
static void test_forward_t5_v1_1(void **state) { (void)state; forward_test("t5_v1_1"); }

/* ---- generation -------------------------------------------------------------------------- */

/* Settings as generate() ran: the model file's generation defaults with the run's keyword
 * arguments as overrides, through the engine's one settings function. */
static void params_for(gen_params *p, const engine *e, const ref_gen *g)
{
    eng_overrides o;
    eng_overrides_default(&o);
    o.mode = g->num_beams > 1 ? GEN_BEAM : GEN_GREEDY;
    o.num_beams = g->num_beams;
    o.n_best = g->num_return;
    o.max_new_tokens = g->max_new_tokens;
    o.length_penalty = g->length_penalty;
    o.early_stopping = g->early_stopping ? GEN_STOP_EARLY : GEN_STOP_HEURISTIC;
    o.repetition_penalty = g->repetition_penalty;
    o.no_repeat_ngram = g->no_repeat_ngram;
    assert_int_equal(eng_params(e, &o, p), ATTN_OK);
}

/* Runs generate() run g of case c on model m; returns the number of sequences that differ from
 * transformers' (printing each, as a failure when check_scores, else as a measured difference),
 * and adds the sequences compared to *total. */
static int run_generation(const engine *e, const char *label, const ref_case *c, const ref_gen *g,
                          int check_scores, int *total)
{
    gen_params p;
    params_for(&p, e, g);
    int max_len = 0;
    gen_source src[MAX_ROWS];
    for (int r = 0; r < c->rows; r++) {
        src[r] = (gen_source){c->src[r], c->src_len[r], (uint64_t)r};
        max_len = c->src_len[r] > max_len ? c->src_len[r] : max_len;
    }
    eng_run *run = NULL;
    assert_int_equal(eng_run_open(&run, e, &p, c->rows, max_len, 1), ATTN_OK);
    int rc = eng_generate(run, src, c->rows, NULL, NULL);
    if (rc != ATTN_OK)
        fail_msg("%s: eng_generate: %s (model status %d)", label, attn_strerror(rc),
                 eng_model_status(run));
    assert_int_equal(g->n_seq, c->rows * g->num_return);
    int bad_seqs = 0;
    for (int r = 0; r < c->rows; r++) {
        const gen_result *res = eng_result(run, r);
        assert_non_null(res);
        assert_int_equal(res->n_hyps, g->num_return);
        for (int h = 0; h < g->num_return; h++) {
            const gen_hyp *hyp = &res->hyps[h];
            const int32_t *want = g->seq[r * g->num_return + h];
            int want_len = g->seq_len[r * g->num_return + h];
            /* transformers' row: decoder start, the ids, eos if it ended, then pad to the
             * longest */
            int32_t got[MAX_SEQ_LEN];
            int n = 0, ok = 1;
            got[n++] = p.decoder_start_id;
            for (int i = 0; i < hyp->len && n < MAX_SEQ_LEN; i++)
                got[n++] = hyp->ids[i];
            if (hyp->ended && n < MAX_SEQ_LEN)
                got[n++] = p.eos_id;
            ok = n <= want_len && hyp->len + 1 + hyp->ended == n;
            for (int i = 0; ok && i < want_len; i++)
                ok = (i < n ? got[i] : p.pad_id) == want[i];
            double score_diff = 0;
            if (check_scores && g->n_score > 0) {
                score_diff = fabs(hyp->score - g->score[r * g->num_return + h]);
                ok = ok && score_diff <= TOL;
            }
            (*total)++;
            if (!ok) {
                bad_seqs++;
                print_message("%s %s row %d hyp %d: attn", check_scores ? "FAIL" : "differs:",
                              label, r, h);
                for (int i = 0; i < n; i++)
                    print_message(" %d", got[i]);
                print_message(" | transformers");
                for (int i = 0; i < want_len; i++)
                    print_message(" %d", want[i]);
                if (check_scores && g->n_score > 0)
                    print_message(" | score %.6f vs %.6f", hyp->score,
                                  g->score[r * g->num_return + h]);
                print_message("\n");
            }
        }
    }
    eng_run_free(run);
    return bad_seqs;
}

/* Runs every generate() mode of every case of model name (f32) and compares ids and scores. */
static void generate_test(const char *name)
{
    char path[512], label[128];
    ref_model *ref = malloc(sizeof *ref);
    assert_non_null(ref);
    load_reference(ref, name);
    convert(path, sizeof path, name, "f32");
    engine *e = open_engine(path);
    int bad = 0;
    for (int i = 0; i < ref->n_case; i++) {
        const ref_case *c = &ref->cases[i];
        for (int k = 0; k < c->n_gen; k++) {
            int total = 0;
            snprintf(label, sizeof label, "%s/%s/%s", name, c->name, c->gen[k].mode);
            int b = run_generation(e, label, c, &c->gen[k], 1, &total);
            print_message("%s %s: %d/%d sequences%s identical to generate()\n", b ? "FAIL" : "ok  ",
                          label, total - b, total, c->gen[k].n_score ? " and scores" : "");
            bad += b;
        }
    }
    eng_free(e);
    free(ref);
    assert_int_equal(bad, 0);
}

static void test_generate_bart(void **state) { (void)state; generate_test("bart"); }
static void test_generate_marian(void **state) { (void)state; generate_test("marian"); }
static void test_generate_t5_v1_0(void **state) { (void)state; generate_test("t5_v1_0"); }
static void test_generate_t5_v1_1(void **state) { (void)state; generate_test("t5_v1_1"); }

/* ---- attention ------------------------------------------------------------------------------ */

#define ATT_ROWS 2

typedef struct att_gold {
    double tol;
    int L, H, T, S, Le;
    int src_len[ATT_ROWS], dec_len[ATT_ROWS];
    int32_t *src[ATT_ROWS], *dec[ATT_ROWS];     /* (src_len), (dec_len) */
    float *cross[ATT_ROWS];                     /* (L, H, T, S) per row, zeros past src_len */
    float *enc;                                 /* (Le, H, S, S) row 0's encoder self-attention */
} att_gold;

/* Loads tests/data/hf/<name>/attention.txt (written by scripts/goldens/hf_attention.py). */
static void load_attention(att_gold *g, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/data/hf/%s/attention.txt", name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("%s: cannot open (regenerate: python3 -m scripts.goldens.hf_attention)", path);
    double checked_logits = -1, checked_enc = -1;
    char model[64], word[16];
    int rows, idx;
    expect_word(f, "hf-attention");
    expect_word(f, "1");
    expect_word(f, "model");
    assert_int_equal(fscanf(f, "%63s", model), 1);
    assert_string_equal(model, name);
    expect_word(f, "checked");
    assert_int_equal(fscanf(f, "%15s", word), 1);
    if (strcmp(word, "none") != 0) {
        assert_string_equal(word, "logits");
        assert_int_equal(fscanf(f, "%lf", &checked_logits), 1);
        expect_word(f, "encoder");
        assert_int_equal(fscanf(f, "%lf", &checked_enc), 1);
    }
    expect_word(f, "tol");
    assert_int_equal(fscanf(f, "%lf", &g->tol), 1);
    expect_word(f, "rows");
    assert_int_equal(fscanf(f, "%d", &rows), 1);
    assert_int_equal(rows, ATT_ROWS);
    for (int k = 0; k < 2 * ATT_ROWS; k++) {
        int is_src = k < ATT_ROWS, r = k % ATT_ROWS, *len = is_src ? g->src_len : g->dec_len;
        expect_word(f, is_src ? "src" : "dec");
        assert_int_equal(fscanf(f, "%d %d", &idx, &len[r]), 2);
        assert_true(idx == r && len[r] >= 1 && len[r] <= 64);
        *(is_src ? &g->src[r] : &g->dec[r]) = read_ints(f, (size_t)len[r]);
    }
    expect_word(f, "cross");
    assert_int_equal(fscanf(f, "%d %d %d %d", &g->L, &g->H, &g->T, &g->S), 4);
    assert_true(g->T == g->dec_len[0] && g->T == g->dec_len[1] && g->S == g->src_len[0]);
    for (int r = 0; r < ATT_ROWS; r++)
        g->cross[r] = read_floats(f, (size_t)g->L * g->H * g->T * g->S);
    int h, a, b;
    expect_word(f, "enc");
    assert_int_equal(fscanf(f, "%d %d %d %d", &g->Le, &h, &a, &b), 4);
    assert_true(h == g->H && a == g->S && b == g->S);
    g->enc = read_floats(f, (size_t)g->Le * g->H * g->S * g->S);
    fclose(f);
    if (checked_logits < 0)
        print_message("     %s: a made checkpoint with no transformers outputs: the reference "
                      "follows the family's definition, unchecked against transformers\n", path);
    else
        print_message("     %s: the reference's logits and encoder states are %.1e and %.1e "
                      "from transformers'\n", path, checked_logits, checked_enc);
}

/* Frees what load_attention read. */
static void free_attention(att_gold *g)
{
    for (int r = 0; r < ATT_ROWS; r++) {
        free(g->src[r]);
        free(g->dec[r]);
        free(g->cross[r]);
    }
    free(g->enc);
}

/* Runs the golden's batch through m with every decoder head captured as its own channel; returns
 * the max |diff| of the cross-attention (pad positions included) and, in *enc, of the encoder
 * self-attention of row 0. */
static double attention_diff(const tf_model *m, const att_gold *g, double *enc)
{
    const tf_config *cfg = tf_model_config(m);
    assert_int_equal(cfg->n_dec_layers, g->L);
    assert_int_equal(cfg->n_enc_layers, g->Le);
    assert_int_equal(cfg->n_heads, g->H);
    int LH = g->L * g->H, S = g->S, src_of_row[ATT_ROWS] = {0, 1};
    float *mix = calloc((size_t)LH * LH, sizeof *mix);             /* (LH, LH) identity */
    float *lg = malloc((size_t)ATT_ROWS * cfg->vocab_size * sizeof *lg);    /* (rows, V) */
    assert_true(mix != NULL && lg != NULL);
    for (int i = 0; i < LH; i++)
        mix[(size_t)i * LH + i] = 1.0f;
    tf_state *st = NULL;
    assert_int_equal(tf_state_open(&st, m, ATT_ROWS, ATT_ROWS, S, g->T, 1), ATTN_OK);
    assert_int_equal(tf_attn_capture(st, mix, LH, 1), ATTN_OK);
    const int32_t *src[ATT_ROWS] = {g->src[0], g->src[1]};
    assert_int_equal(tf_encode(st, src, g->src_len, ATT_ROWS), ATTN_OK);
    *enc = 0;
    for (int l = 0; l < g->Le; l++)
        for (int h = 0; h < g->H; h++) {
            int n = 0;
            const float *got = tf_attn_encoder(st, l, h, &n);     /* (S, S) */
            assert_non_null(got);
            assert_int_equal(n, S);
            const float *want = g->enc + ((size_t)l * g->H + h) * S * S;
            for (int i = 0; i < S * S; i++)
                *enc = fmax(*enc, fabs((double)got[i] - want[i]));
        }
    double worst = 0;
    assert_int_equal(tf_decode_begin(st, src_of_row, ATT_ROWS), ATTN_OK);
    for (int t = 0; t < g->T; t++) {
        int32_t tok[ATT_ROWS] = {g->dec[0][t], g->dec[1][t]};
        assert_int_equal(tf_decode_step(st, lg, tok, ATT_ROWS), ATTN_OK);
        int W = 0;
        const float *a = tf_attn_last(st, &W);         /* (rows, LH, S) */
        assert_non_null(a);
        assert_int_equal(W, LH * S);
        for (int r = 0; r < ATT_ROWS; r++)
            for (int c = 0; c < LH; c++) {
                const float *got = a + (size_t)r * W + (size_t)c * S;
                const float *want = g->cross[r] + ((size_t)c * g->T + t) * S;
                double d = 0;
                for (int j = 0; j < S; j++)
                    d = fmax(d, fabs((double)got[j] - want[j]));
                if (!(d <= g->tol))
                    print_message("     row %d step %d layer %d head %d: max|diff| %.3g (attn "
                                  "%.7g, reference %.7g)\n", r, t, c / g->H, c % g->H, d,
                                  got[0], want[0]);
                worst = fmax(worst, d);
            }
    }
    tf_state_free(st);
    free(lg);
    free(mix);
    return worst;
}

/* Compares model name's cross- and encoder self-attention with the golden on every instruction
 * set. */
static void attention_test(const char *name)
{
    char path[512];
    att_gold g;
    memset(&g, 0, sizeof g);
    load_attention(&g, name);
    convert(path, sizeof path, name, "f32");
    engine *e = open_engine(path);
    int best = kn_set_isa(KN_AVX512), bad = 0;
    for (int isa = KN_PORTABLE; isa <= best; isa++) {
        assert_int_equal(kn_set_isa(isa), isa);
        double enc = 0, cross = attention_diff(eng_model(e), &g, &enc);
        int ok = cross <= g.tol && enc <= g.tol;
        print_message("%s %s %-8s: cross-attention (%d layers x %d heads x %d steps, 2 rows) max "
                      "abs %.2e, encoder self-attention max abs %.2e (tolerance %.0e)\n",
                      ok ? "ok  " : "FAIL", name, kn_isa_name(isa), g.L, g.H, g.T, cross, enc,
                      g.tol);
        bad += !ok;
    }
    kn_set_isa(best);
    eng_free(e);
    free_attention(&g);
    assert_int_equal(bad, 0);
}

static void test_attention_bart(void **state) { (void)state; attention_test("bart"); }
static void test_attention_marian(void **state) { (void)state; attention_test("marian"); }
static void test_attention_t5_v1_0(void **state) { (void)state; attention_test("t5_v1_0"); }
static void test_attention_t5_v1_1(void **state) { (void)state; attention_test("t5_v1_1"); }
static void test_attention_mbart(void **state) { (void)state; attention_test("mbart"); }

/* ---- reduced dtypes ---------------------------------------------------------------------- */

/* Converts every model with --dtype bf16 and q8 and reports the logits' drift and the greedy
 * sequences that stay equal to transformers'; fails only when a run breaks or logits move by
 * more than DRIFT_MAX, which no working kernel comes near on these models. */
#define DRIFT_MAX 2.0
static void test_dtypes(void **state)
{
    (void)state;
    static const char *const dtypes[] = {"bf16", "q8"};
    char path[512], label[128];
    ref_model *ref = malloc(sizeof *ref);
    assert_non_null(ref);
    int broken = 0;
    for (size_t di = 0; di < 2; di++) {
        for (size_t mi = 0; mi < sizeof MODELS / sizeof MODELS[0]; mi++) {
            load_reference(ref, MODELS[mi]);
            convert(path, sizeof path, MODELS[mi], dtypes[di]);
            engine *e = open_engine(path);
            forward_stats fs = {0, 0, 0};
            int total = 0, differ = 0;
            for (int i = 0; i < ref->n_case; i++) {
                const ref_case *c = &ref->cases[i];
                run_case(&fs, eng_model(e), MODELS[mi], c);
                const ref_gen *g = find_gen((ref_case *)c, "greedy");
                if (g != NULL) {
                    snprintf(label, sizeof label, "%s --dtype %s/%s/greedy", MODELS[mi],
                             dtypes[di], c->name);
                    differ += run_generation(e, label, c, g, 0, &total);
                }
            }
            print_message("%-7s --dtype %-4s: encoder max abs %.2e, logits max abs %.2e, %d "
                          "teacher-forced argmax differences, greedy %d/%d sequences equal to "
                          "generate()\n", MODELS[mi], dtypes[di], fs.enc, fs.logits,
                          fs.argmax_diff, total - differ, total);
            broken += !(fs.logits <= DRIFT_MAX);
            eng_free(e);
        }
    }
    free(ref);
    assert_int_equal(broken, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_bart),
        cmocka_unit_test(test_forward_marian),
        cmocka_unit_test(test_forward_t5_v1_0),
        cmocka_unit_test(test_forward_t5_v1_1),
        cmocka_unit_test(test_generate_bart),
        cmocka_unit_test(test_generate_marian),
        cmocka_unit_test(test_generate_t5_v1_0),
        cmocka_unit_test(test_generate_t5_v1_1),
        cmocka_unit_test(test_attention_bart),
        cmocka_unit_test(test_attention_marian),
        cmocka_unit_test(test_attention_t5_v1_0),
        cmocka_unit_test(test_attention_t5_v1_1),
        cmocka_unit_test(test_attention_mbart),
        cmocka_unit_test(test_dtypes),
    };
    return cmocka_run_group_tests_name("hf", tests, group_setup, group_teardown);
}
