/* test_engine.c — the engine seam (src/engine.h): a model file's gen.* and src.* keys read into
 * its generation defaults (values, defaults, Marian's pad rule, refusals with their messages),
 * eng_params applying overrides over them, and a run on the echo model
 * (tests/data/gen/echo.attn, scripts/goldens/echo_model.py), which copies its source: its output
 * is known without a reference.  Variants of the echo model with other keys are written into a
 * scratch folder with the model file writer. */
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
#include "modelfile.h"

#define ECHO "tests/data/gen/echo.attn"

static char tmpdir[256];

/* Creates the scratch folder. */
static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/attn-test-engine-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes the scratch folder and what is in it. */
static int group_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* One metadata change of a variant: an i64, an i64 array, or a string. */
typedef struct edit {
    const char *key;
    int64_t v;
    const int64_t *arr;     /* (n) when not NULL */
    size_t n;
    const char *str;        /* when not NULL */
} edit;

/* Writes the echo model with edits applied to name in the scratch folder; returns its path. */
static const char *variant(const char *name, const edit *edits, int n_edits)
{
    static char path[512];
    char why[256];
    snprintf(path, sizeof path, "%s/%s.attn", tmpdir, name);
    mf_file *f;
    assert_int_equal(mf_open(&f, ECHO, NULL, why, sizeof why), ATTN_OK);
    mf_writer *w;
    assert_int_equal(mf_writer_open(&w), ATTN_OK);
    assert_int_equal(mf_writer_copy_meta(w, f), ATTN_OK);
    for (int i = 0; i < n_edits; i++) {
        const edit *e = &edits[i];
        int rc = e->str ? mf_writer_set_str(w, e->key, e->str)
                 : e->arr ? mf_writer_set_i64_array(w, e->key, e->arr, e->n)
                 : mf_writer_set_i64(w, e->key, e->v);
        assert_int_equal(rc, ATTN_OK);
    }
    for (int i = 0; i < mf_tensor_count(f); i++) {
        mf_tensor t;
        assert_int_equal(mf_tensor_at(f, i, &t), ATTN_OK);
        assert_int_equal(mf_writer_add_tensor(w, &t), ATTN_OK);
    }
    assert_int_equal(mf_writer_write(w, path, NULL, why, sizeof why), ATTN_OK);
    mf_writer_free(w);
    mf_free(f);
    return path;
}

/* Opens path in the engine, which must succeed. */
static engine *open_ok(const char *path)
{
    engine *e = NULL;
    char why[256] = "";
    int rc = eng_open(&e, path, why, sizeof why);
    if (rc != ATTN_OK)
        fail_msg("eng_open %s: %s", path, why);
    return e;
}

/* Checks that opening path fails with ATTN_ERR_MODEL and exactly the reason want. */
static void open_fails(const char *path, const char *want)
{
    engine *e = (engine *)1;
    char why[256] = "";
    assert_int_equal(eng_open(&e, path, why, sizeof why), ATTN_ERR_MODEL);
    assert_null(e);
    assert_string_equal(why, want);
}

/* The echo model's keys, and the defaults of every key it lacks. */
static void test_defaults(void **state)
{
    (void)state;
    engine *e = open_ok(ECHO);
    const eng_defaults *d = eng_file_defaults(e);
    assert_int_equal(d->max_length, 65);            /* gen.max_length */
    assert_int_equal(d->n_bad_ids, 2);              /* gen.bad_ids [0, 1] */
    assert_int_equal(d->bad_ids[0], 0);
    assert_int_equal(d->bad_ids[1], 1);
    assert_int_equal(d->min_length, 0);             /* absent keys: their documented defaults */
    assert_int_equal(d->num_beams, 1);
    assert_int_equal(d->no_repeat_ngram, 0);
    assert_int_equal(d->early_stopping, GEN_STOP_HEURISTIC);
    assert_true(d->length_penalty == 1.0f && d->repetition_penalty == 1.0f);
    assert_int_equal(d->forced_bos_id, -1);
    assert_int_equal(d->forced_eos_id, -1);
    assert_int_equal(d->beam_mask_pad, 1);          /* pad (0) is banned: Marian's rule */
    assert_int_equal(d->src_bos_id, -1);            /* src.add_bos absent: 0 */
    assert_int_equal(d->src_eos_id, 2);             /* src.add_eos absent: 1, eos_id 2 */
    assert_non_null(eng_tokenizer(e));
    assert_non_null(eng_encoder(e));
    eng_free(e);
    eng_free(NULL);
}

/* gen.beam_mask_pad: the key when present, else 1 exactly when gen.bad_ids holds pad_id. */
static void test_beam_mask_pad(void **state)
{
    (void)state;
    static const int64_t no_pad[] = {1}, pad[] = {0};
    const struct {
        const char *name;
        edit e[2];
        int n, want;
    } cases[] = {
        {"mask-implied", {{"gen.bad_ids", 0, pad, 1, NULL}}, 1, 1},
        {"mask-no-pad", {{"gen.bad_ids", 0, no_pad, 1, NULL}}, 1, 0},
        {"mask-off", {{"gen.bad_ids", 0, pad, 1, NULL}, {"gen.beam_mask_pad", 0, NULL, 0, NULL}},
         2, 0},
        {"mask-on", {{"gen.bad_ids", 0, no_pad, 1, NULL}, {"gen.beam_mask_pad", 1, NULL, 0, NULL}},
         2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        engine *e = open_ok(variant(cases[i].name, cases[i].e, cases[i].n));
        gen_params p;
        assert_int_equal(eng_params(e, NULL, &p), ATTN_OK);
        int got = eng_file_defaults(e)->beam_mask_pad;
        if (got != cases[i].want || p.beam_mask_pad != cases[i].want)
            fail_msg("%s: beam_mask_pad %d, want %d", cases[i].name, p.beam_mask_pad,
                     cases[i].want);
        eng_free(e);
    }
    edit two = {"gen.beam_mask_pad", 2, NULL, 0, NULL};
    open_fails(variant("mask-2", &two, 1), "metadata gen.beam_mask_pad = 2: out of range [0, 1]");
}

/* Keys out of range or of the wrong type are refused with a reason naming them. */
static void test_refusals(void **state)
{
    (void)state;
    static const int64_t far[] = {270};
    edit beams = {"gen.num_beams", 0, NULL, 0, NULL};
    open_fails(variant("beams-0", &beams, 1), "metadata gen.num_beams = 0: out of range [1, 1024]");
    edit early = {"gen.early_stopping", 3, NULL, 0, NULL};
    open_fails(variant("early-3", &early, 1),
               "metadata gen.early_stopping = 3: out of range [0, 2]");
    edit bad = {"gen.bad_ids", 0, far, 1, NULL};
    open_fails(variant("bad-far", &bad, 1), "metadata gen.bad_ids: id 270 out of range");
    edit lp = {"gen.length_penalty", 0, NULL, 0, "long"};
    open_fails(variant("lp-str", &lp, 1), "metadata gen.length_penalty: not a finite number");
    edit bos = {"src.add_bos", 0, NULL, 0, "yes"};
    open_fails(variant("bos-str", &bos, 1), "src.add_bos / src.add_eos: not an integer");
}

/* src.add_bos / src.add_eos pick the ids put around a text source. */
static void test_src_framing(void **state)
{
    (void)state;
    edit e[2] = {{"src.add_bos", 1, NULL, 0, NULL}, {"src.add_eos", 0, NULL, 0, NULL}};
    engine *en = open_ok(variant("framing", e, 2));
    assert_int_equal(eng_file_defaults(en)->src_bos_id, 1);
    assert_int_equal(eng_file_defaults(en)->src_eos_id, -1);
    eng_free(en);
}

/* eng_params: the file's defaults without overrides, each override when given. */
static void test_params(void **state)
{
    (void)state;
    edit e[4] = {
        {"gen.num_beams", 3, NULL, 0, NULL}, {"gen.min_length", 5, NULL, 0, NULL},
        {"gen.max_length", 1000, NULL, 0, NULL}, {"gen.no_repeat_ngram", 2, NULL, 0, NULL},
    };
    engine *en = open_ok(variant("params", e, 4));
    gen_params p;
    assert_int_equal(eng_params(en, NULL, &p), ATTN_OK);
    assert_int_equal(p.mode, GEN_BEAM);             /* gen.num_beams > 1 */
    assert_int_equal(p.num_beams, 3);
    assert_int_equal(p.min_new_tokens, 4);          /* gen.min_length - 1 */
    assert_int_equal(p.max_new_tokens, 64);         /* gen.max_length - 1, capped to positions */
    assert_int_equal(p.no_repeat_ngram, 2);
    assert_int_equal(p.eos_id, 2);
    assert_int_equal(p.decoder_start_id, 1);
    assert_int_equal(p.n_bad_ids, 2);
    eng_overrides o;
    eng_overrides_default(&o);
    o.mode = GEN_GREEDY;
    o.max_new_tokens = 3;
    o.no_repeat_ngram = 0;
    o.length_penalty = 0.5;
    o.ignore_eos = 1;
    assert_int_equal(eng_params(en, &o, &p), ATTN_OK);
    assert_int_equal(p.mode, GEN_GREEDY);
    assert_int_equal(p.num_beams, 1);
    assert_int_equal(p.max_new_tokens, 3);
    assert_int_equal(p.min_new_tokens, 3);          /* clamped to max_new_tokens */
    assert_int_equal(p.no_repeat_ngram, 0);
    assert_true(p.length_penalty == 0.5f);
    assert_int_equal(p.eos_id, -1);
    o.max_new_tokens = 65;                          /* the model has 64 positions */
    assert_int_equal(eng_params(en, &o, &p), ATTN_ERR_LENGTH);
    eng_overrides_default(&o);
    o.mode = GEN_SAMPLE;
    o.top_p = 2;                                    /* refused by gen_params_check */
    assert_int_equal(eng_params(en, &o, &p), ATTN_ERR_PARAM);
    eng_free(en);
}

/* A run on the echo model copies its source; the encoder's time is counted. */
static void test_run(void **state)
{
    (void)state;
    engine *e = open_ok(ECHO);
    int32_t ids[8];
    size_t n = 0;
    assert_int_equal(tok_encoder_encode(eng_encoder(e), ids, 7, &n, "hello", 5, 0), TOK_OK);
    ids[n++] = eng_file_defaults(e)->src_eos_id;
    for (int beams = 1; beams <= 2; beams++) {
        eng_overrides o;
        eng_overrides_default(&o);
        o.mode = beams > 1 ? GEN_BEAM : GEN_GREEDY;
        o.num_beams = beams;
        gen_params p;
        assert_int_equal(eng_params(e, &o, &p), ATTN_OK);
        eng_run *r;
        assert_int_equal(eng_run_open(&r, e, &p, 1, 64, 1), ATTN_OK);
        gen_source src = {ids, (int)n, 0};
        assert_int_equal(eng_generate(r, &src, 1, NULL, NULL), ATTN_OK);
        const gen_result *res = eng_result(r, 0);
        assert_non_null(res);
        assert_int_equal(res->hyps[0].len, (int)n - 1);
        assert_memory_equal(res->hyps[0].ids, ids, (n - 1) * sizeof *ids);
        assert_true(res->hyps[0].ended);
        assert_true(eng_encode_seconds(r) > 0);
        assert_null(eng_result(r, 1));
        eng_run_free(r);
    }
    eng_run_free(NULL);
    eng_free(e);
}

/* Instruction set names map to numbers and back; the portable kernels are always there. */
static void test_isa(void **state)
{
    (void)state;
    int was = eng_isa();
    int portable = eng_isa_parse("portable");
    assert_true(portable >= 0);
    assert_string_equal(eng_isa_name(portable), "portable");
    assert_true(eng_isa_parse("avx2") >= 0 && eng_isa_parse("avx512") >= 0);
    assert_int_equal(eng_isa_parse("mmx"), ATTN_ERR_ISA);
    assert_int_equal(eng_isa_set(portable), ATTN_OK);
    assert_int_equal(eng_isa(), portable);
    assert_int_equal(eng_isa_set(was), ATTN_OK);
    assert_true(eng_read_bandwidth(1, 2, 1) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_beam_mask_pad),
        cmocka_unit_test(test_refusals),     cmocka_unit_test(test_src_framing),
        cmocka_unit_test(test_params),       cmocka_unit_test(test_run),
        cmocka_unit_test(test_isa),
    };
    return cmocka_run_group_tests_name("engine", tests, group_setup, group_teardown);
}
