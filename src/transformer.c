/* transformer.c — the encoder-decoder forward pass: run state, parallel linear layers, norms,
 * attention with key/value caches, encoder, decoder step (see transformer.h; weights are loaded
 * by loader.c; attention kept for the caller: capture.c).  Over 800 lines: the forward pass and
 * the state it runs on are one job. */
#include "transformer_int.h"

#include "arena.h"
#include "capture.h"
#include "threadpool.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Run state
 * ------------------------------------------------------------------------------------------- */

enum {
    ROW_BLOCK = 96,             /* input rows per task for large batches: a multiple of
                                 * GM_INPUT_ROWS, so that a block of a laid-out input is a view
                                 * of it */
    MAX_OBLOCK = 256,           /* output columns per task at most (several input rows) */
    /* input rows from which q8 products go through gm_linear (q4: always): on the base-size q8
     * model, one thread, decoder tokens per CPU-second with gm_linear / kn_linear were 1.16 at
     * 2 rows (1 source x 2 beams), 1.02 at 4, 1.11 at 8 (attn bench --batch B --beams K) */
    GM_MIN_ROWS = 2,
    /* multiply-adds of one task at most when several threads share a product through packed
     * weights, gm_linear's or kn_linear's f32 panels (about 0.2 ms at this machine's rates): a
     * thread that the OS deschedules in the middle of a task holds the others up for no longer
     * (the vocabulary projection of 32 x 4 rows was 8 tasks of 4 ms each) */
    GM_TASK_MACS = 1 << 24,
    /* attention runs on the pool from this many floats of keys x queries (smaller: one thread;
     * waking the others costs about a microsecond) */
    ATTN_PAR_WORK = 8192,
};

/* Floats of one thread's encoder-attention scratch: Q, K, V^T (L, dh) each and scores (L, L). */
#define ENC_SCRATCH(L, dh) ((size_t)(L) * (size_t)(dh) * 3 + (size_t)(L) * (size_t)(L))

struct tf_state {
    const tf_model *m;
    tp_pool *pool;
    int n_threads;
    int max_src, max_rows, max_src_len, max_tgt_len;
    int chunk_cap;              /* encoder tokens per pass (whole sources, at most 512 unless one
                                 * source is longer) */
    int max_in;                 /* longest linear input (for the q8 buffer) */

    /* encoder results: sources packed one after the other */
    int n_src;
    int *src_len, *src_off;     /* (max_src) */
    float *enc_out;             /* (max_src * max_src_len, d) */
    float *cross_k, *cross_v;   /* (n_dec, max_src * max_src_len, inner) */

    /* scratch shared by encoder and decoder: rows = max(chunk_cap, max_rows) */
    float *h;                   /* (rows, d) normed input */
    float *t;                   /* (rows, d) sub-layer output */
    float *q, *k, *v;           /* (rows, inner) */
    float *a;                   /* (rows, inner) attention output */
    float *f, *g;               /* (rows, d_ff) feed-forward hidden (g: gated up part) */
    float *x;                   /* (max_rows, d) decoder residual stream */
    int8_t *qx;                 /* (rows, kn_qcols(max_in)) quantized activations */
    float *qs;                  /* (rows) their scales */
    gm_input gin;               /* qx laid out once for gm_linear's tasks (input_for) */
    void *gin_mem;              /* (gin_size) its memory; NULL when the kernels lay out inputs
                                 * themselves */
    size_t gin_size;
    float *scores;              /* (n_threads, n_heads, max(max_src_len, max_tgt_len)) */
    float *enc_scratch;         /* (n_threads, ENC_SCRATCH(max_src_len, d_head)) encoder
                                 * attention */

    /* decoder */
    int began, pos, n_rows;
    int *src_of_row;            /* (max_rows) */
    int *tmp_rows;              /* (max_rows) */
    int *row_group;             /* (max_rows + 1) first row of each run of rows with one source
                                 * (a decoder attention task's rows), then n_rows */
    int n_runs;                 /* runs in row_group, set with src_of_row */
    int32_t *tok_buf;           /* (rows) tokens of an encoder chunk */
    int *pos_buf;               /* (rows) positions of the tokens being embedded */
    int32_t *slot;              /* (max_rows, max_tgt_len) physical row holding position j */
    int32_t *slot_tmp;          /* (max_rows, max_tgt_len) */
    float *self_k, *self_v;     /* (n_dec, max_rows, max_tgt_len, inner) */

    float *sin_table;           /* (max(max_src_len, max_tgt_len), d) sinusoidal positions */

    /* relative position bias tables: bias[h][rel + L - 1] */
    float *enc_rel;             /* (n_heads, 2 * max_src_len - 1) */
    float *dec_rel;             /* (n_heads, max_tgt_len) for rel = -(L-1)..0 */

    void *mem;                  /* the one allocation everything above points into */
    tf_capture *cap;            /* attention kept for the caller (tf_attn_capture), or NULL */
};

/* Fills the sinusoidal position table (n_pos, d), computed in double precision. */
static void fill_sinusoids(float *table, int n_pos, int d, int concat)
{
    int half = d / 2;
    for (int p = 0; p < n_pos; p++)
        for (int i = 0; i < half; i++) {
            double angle = (double)p / pow(10000.0, 2.0 * i / d);
            if (concat) {
                table[(size_t)p * d + i] = (float)sin(angle);
                table[(size_t)p * d + half + i] = (float)cos(angle);
            } else {
                table[(size_t)p * d + 2 * i] = (float)sin(angle);
                table[(size_t)p * d + 2 * i + 1] = (float)cos(angle);
            }
        }
}

/* Returns T5's relative position bucket for rel = key - query. */
static int rel_bucket(int rel, int n_buckets, int max_distance, int bidirectional)
{
    int ret = 0, n;
    if (bidirectional) {
        n_buckets /= 2;
        if (rel > 0)
            ret += n_buckets;
        n = rel < 0 ? -rel : rel;
    } else {
        n = rel < 0 ? -rel : 0;
    }
    int max_exact = n_buckets / 2;
    if (n < max_exact)
        return ret + n;
    float l = logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact);
    int b = max_exact + (int)(l * (float)(n_buckets - max_exact));
    if (b > n_buckets - 1)
        b = n_buckets - 1;
    return ret + b;
}

int tf_state_open(tf_state **out, const tf_model *m, int max_src, int max_rows, int max_src_len,
                  int max_tgt_len, int n_threads)
{
    *out = NULL;
    const tf_config *c = &m->cfg;
    if (max_src < 1 || max_rows < 1 || max_src_len < 1 || max_tgt_len < 1 || n_threads < 1 ||
        max_src > 65536 || max_rows > 65536 || n_threads > 1024 ||
        max_src_len > c->max_positions || max_tgt_len > c->max_positions)
        return ATTN_ERR_ARG;
    if (c->pos_kind == ATTN_POS_LEARNED && (max_src_len + c->pos_offset > m->enc.pos.rows ||
                                            max_tgt_len + c->pos_offset > m->dec.pos.rows))
        return ATTN_ERR_ARG;
    tf_state *st = calloc(1, sizeof *st);
    if (!st)
        return ATTN_ERR_NOMEM;
    st->m = m;
    st->n_threads = n_threads;
    st->max_src = max_src;
    st->max_rows = max_rows;
    st->max_src_len = max_src_len;
    st->max_tgt_len = max_tgt_len;
    size_t total_src = (size_t)max_src * (size_t)max_src_len;
    st->chunk_cap = max_src_len > 512 ? max_src_len : (int)(total_src < 512 ? total_src : 512);
    int d = c->d_model, inner = m->inner, ff = c->d_ff;
    st->max_in = d > inner ? d : inner;
    if (ff > st->max_in)
        st->max_in = ff;
    size_t rows = (size_t)(st->chunk_cap > max_rows ? st->chunk_cap : max_rows);
    size_t L = (size_t)(max_src_len > max_tgt_len ? max_src_len : max_tgt_len);
    size_t nd = (size_t)c->n_dec_layers, T = (size_t)max_tgt_len, R = (size_t)max_rows;
    size_t fsz = sizeof(float);
    size_t gin_q8 = gm_input_size(ATTN_Q8, (int)rows, st->max_in);
    size_t gin_q4 = gm_input_size(ATTN_Q4, (int)rows, st->max_in);
    st->gin_size = gin_q8 > gin_q4 ? gin_q8 : gin_q4;
    /* two passes: count, then carve */
    char *base = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t p = 0;
        st->src_len = attn_carve(base, &p, (size_t)max_src * sizeof(int));
        st->src_off = attn_carve(base, &p, (size_t)max_src * sizeof(int));
        st->enc_out = attn_carve(base, &p, total_src * d * fsz);
        st->cross_k = attn_carve(base, &p, nd * total_src * inner * fsz);
        st->cross_v = attn_carve(base, &p, nd * total_src * inner * fsz);
        st->h = attn_carve(base, &p, rows * d * fsz);
        st->t = attn_carve(base, &p, rows * d * fsz);
        st->q = attn_carve(base, &p, rows * inner * fsz);
        st->k = attn_carve(base, &p, rows * inner * fsz);
        st->v = attn_carve(base, &p, rows * inner * fsz);
        st->a = attn_carve(base, &p, rows * inner * fsz);
        st->f = attn_carve(base, &p, rows * ff * fsz);
        st->g = attn_carve(base, &p, (c->ffn_gated ? rows * ff : 1) * fsz);
        st->x = attn_carve(base, &p, R * d * fsz);
        st->qx = attn_carve(base, &p, rows * (size_t)kn_qcols(st->max_in));
        st->qs = attn_carve(base, &p, rows * fsz);
        st->gin_mem = attn_carve(base, &p, st->gin_size);
        st->scores = attn_carve(base, &p, (size_t)n_threads * c->n_heads * L * fsz);
        st->enc_scratch =
            attn_carve(base, &p, (size_t)n_threads * ENC_SCRATCH(max_src_len, c->d_head) * fsz);
        st->src_of_row = attn_carve(base, &p, R * sizeof(int));
        st->tmp_rows = attn_carve(base, &p, R * sizeof(int));
        st->row_group = attn_carve(base, &p, (R + 1) * sizeof(int));
        st->tok_buf = attn_carve(base, &p, rows * sizeof(int32_t));
        st->pos_buf = attn_carve(base, &p, rows * sizeof(int));
        st->slot = attn_carve(base, &p, R * T * sizeof(int32_t));
        st->slot_tmp = attn_carve(base, &p, R * T * sizeof(int32_t));
        st->self_k = attn_carve(base, &p, nd * R * T * inner * fsz);
        st->self_v = attn_carve(base, &p, nd * R * T * inner * fsz);
        st->enc_rel =
            attn_carve(base, &p, (size_t)c->n_heads * (2 * (size_t)max_src_len - 1) * fsz);
        st->dec_rel = attn_carve(base, &p, (size_t)c->n_heads * T * fsz);
        st->sin_table =
            attn_carve(base, &p, (c->pos_kind == ATTN_POS_SINUSOIDAL ? L * d : 1) * fsz);
        if (pass == 0) {
            base = st->mem = aligned_alloc(64, p);
            if (!base) {
                free(st);
                return ATTN_ERR_NOMEM;
            }
        }
    }
    if (!st->gin_size)
        st->gin_mem = NULL;
    if (c->pos_kind == ATTN_POS_SINUSOIDAL)
        fill_sinusoids(st->sin_table, (int)L, d, c->pos_sin_concat);
    if (c->pos_kind == ATTN_POS_RELATIVE) {
        int Ls = max_src_len, H = c->n_heads;
        for (int h = 0; h < H; h++) {
            for (int rel = -(Ls - 1); rel <= Ls - 1; rel++) {
                int b = rel_bucket(rel, c->rel_buckets, c->rel_max_distance, 1);
                st->enc_rel[(size_t)h * (2 * Ls - 1) + (size_t)(rel + Ls - 1)] =
                    m->enc.rel[b * H + h];
            }
            for (int rel = -(max_tgt_len - 1); rel <= 0; rel++) {
                int b = rel_bucket(rel, c->rel_buckets, c->rel_max_distance, 0);
                st->dec_rel[(size_t)h * T + (size_t)(rel + max_tgt_len - 1)] =
                    m->dec.rel[b * H + h];
            }
        }
    }
    if (tp_open(&st->pool, n_threads) != 0) {
        free(st->mem);
        free(st);
        return ATTN_ERR_THREAD;
    }
    *out = st;
    return ATTN_OK;
}

struct tp_pool *tf_pool(tf_state *st)
{
    return st->pool;
}

void tf_state_free(tf_state *st)
{
    if (!st)
        return;
    cap_free(st->cap);
    tp_free(st->pool);
    free(st->mem);
    free(st);
}

/* ---------------------------------------------------------------------------------------------
 * Parallel linear layers: jobs split into (output block, input-row block) tasks
 * ------------------------------------------------------------------------------------------- */


typedef struct lin_job {
    float *y;                   /* (n, ldy) output; columns [0, out) written */
    int ldy;
    const kn_input *in;
    const lin_w *l;
    float *y2;                  /* gated FFN: the up product (n, ldy), combined into y; or NULL */
    const lin_w *l2;
    int act;                    /* activation applied to y (-1: none) */
    int gm;                     /* 1: the packed weights and gm_linear; 0: kn_linear */
    int oblock, n_oblocks, n_rblocks;
    int first_task;
} lin_job;

typedef struct lin_batch {
    lin_job jobs[2 * 64];
    int n_jobs, n_tasks;
} lin_batch;

/* Returns 1 when a product of n input rows with weight l goes through gm_linear. */
static int use_gm(const lin_w *l, int n)
{
    return l->pw.data && (n >= GM_MIN_ROWS || l->w.dtype == ATTN_Q4);
}

/* y = in W^T + b over the outputs [o0, o1) with the blocked or the row-by-row kernels. */
static void product(float *y, int ldy, const kn_input *in, const lin_w *l, int gm, int o0, int o1)
{
    if (gm)
        gm_linear(y, ldy, in, &l->pw, l->b, o0, o1);
    else
        kn_linear(y, ldy, in, &l->w, l->b, o0, o1);
}

/* Runs one task: an output block times an input-row block of a job. */
static void lin_task(void *ctx, int task, int thread)
{
    (void)thread;
    lin_batch *lb = ctx;
    int j = 0;
    while (j + 1 < lb->n_jobs && lb->jobs[j + 1].first_task <= task)
        j++;
    lin_job *jb = &lb->jobs[j];
    int local = task - jb->first_task;
    int ob = local % jb->n_oblocks, rb = local / jb->n_oblocks;
    int o0 = ob * jb->oblock, o1 = o0 + jb->oblock;
    if (o1 > jb->l->w.rows)
        o1 = jb->l->w.rows;
    const kn_input *in = jb->in;
    int r0 = rb * ROW_BLOCK, r1 = r0 + ROW_BLOCK;
    if (jb->n_rblocks == 1) {
        r0 = 0;
        r1 = in->n;
    } else if (r1 > in->n) {
        r1 = in->n;
    }
    kn_input sub = *in;
    gm_input view;
    if (in->packed) {
        view = *in->packed;
        view.row0 += r0;
        sub.packed = &view;
    }
    sub.n = r1 - r0;
    sub.x = in->x ? in->x + (size_t)r0 * (size_t)in->cols : NULL;
    if (in->q) {
        sub.q = in->q + (size_t)r0 * (size_t)kn_qcols(in->cols);
        sub.qscale = in->qscale + r0;
    }
    float *y = jb->y + (size_t)r0 * (size_t)jb->ldy;
    product(y, jb->ldy, &sub, jb->l, jb->gm, o0, o1);
    if (jb->l2) {
        float *y2 = jb->y2 + (size_t)r0 * (size_t)jb->ldy;
        product(y2, jb->ldy, &sub, jb->l2, jb->gm, o0, o1);
        for (int r = 0; r < sub.n; r++) {
            float *yr = y + (size_t)r * (size_t)jb->ldy + o0;
            kn_activate(yr, o1 - o0, jb->act);
            const float *ur = y2 + (size_t)r * (size_t)jb->ldy + o0;
            for (int o = 0; o < o1 - o0; o++)
                yr[o] *= ur[o];
        }
    } else if (jb->act >= 0) {
        for (int r = 0; r < sub.n; r++)
            kn_activate(y + (size_t)r * (size_t)jb->ldy + o0, o1 - o0, jb->act);
    }
}

/* Adds a job y = in W^T + b (rows of y ldy apart) to a batch. */
static lin_job *lin_add(lin_batch *lb, float *y, int ldy, const kn_input *in, const lin_w *l)
{
    lin_job *jb = &lb->jobs[lb->n_jobs++];
    memset(jb, 0, sizeof *jb);
    jb->y = y;
    jb->ldy = ldy;
    jb->in = in;
    jb->l = l;
    jb->act = -1;
    return jb;
}

/* Splits every job of the batch into tasks and runs them on the pool. */
static void lin_run(tf_state *st, lin_batch *lb)
{
    int nt = st->n_threads, task = 0;
    for (int j = 0; j < lb->n_jobs; j++) {
        lin_job *jb = &lb->jobs[j];
        int rows = jb->l->w.rows, n = jb->in->n;
        jb->gm = use_gm(jb->l, n);
        jb->n_rblocks = n > 2 * ROW_BLOCK ? (n + ROW_BLOCK - 1) / ROW_BLOCK : 1;
        /* about 4 blocks per thread overall (a thread that the OS deschedules on a busy machine
         * leaves its share to the others), multiples of 16 rows; with several input rows at
         * most MAX_OBLOCK and small enough for the weight block to stay in L2 (256 KiB).
         * gm_linear and kn_linear from f32 panels: multiples of their panels, at most
         * GM_TASK_MACS on several threads (they block for the caches themselves) */
        int want = 4 * nt / jb->n_rblocks;
        if (want < 1)
            want = 1;
        int ob = (rows + want - 1) / want;
        ob = (ob + 15) & ~15;
        int panel = jb->gm ? GM_NR : kn_uses_panels(&jb->l->w) ? KN_PANEL : 0;
        if (!jb->gm && n <= 4 && nt == 1) {
            ob = rows;
        } else if (panel) {
            /* f32 panels with up to 6 rows: at least 4 panels a task (kn_linear streams
             * several at once for a few rows; the second thread lost with one panel a task) */
            int least = jb->gm || n > 6 ? panel : 4 * KN_PANEL;
            ob = (ob + panel - 1) / panel * panel;
            ob = ob < least ? least : ob;
            long task_rows = jb->n_rblocks == 1 ? n : ROW_BLOCK;
            long cap = GM_TASK_MACS / (task_rows * jb->l->w.cols) / panel * panel;
            if (nt > 1 && ob > cap)
                ob = cap < panel ? panel : (int)cap;
        } else if (n > 4) {
            int esize = (int)attn_dtype_size(jb->l->w.dtype);
            int cap = (262144 / (jb->l->w.cols * esize)) & ~15;
            cap = cap < 16 ? 16 : cap > MAX_OBLOCK ? MAX_OBLOCK : cap;
            ob = ob > cap ? cap : ob;
        }
        if (ob < 16)
            ob = 16;
        jb->oblock = ob;
        jb->n_oblocks = (rows + ob - 1) / ob;
        jb->first_task = task;
        task += jb->n_oblocks * jb->n_rblocks;
    }
    lb->n_tasks = task;
    tp_run(st->pool, lin_task, lb, task);
}

/* An input being quantized: its rows, and where they are laid out for gm_linear or NULL. */
typedef struct quant_job {
    const kn_input *in;
    gm_input *gin;
} quant_job;

/* Quantizes the GM_INPUT_ROWS input rows of block `task` of a quant_job into its q / qscale and
 * lays them out into its gin when there is one. */
static void quantize_task(void *ctx, int task, int thread)
{
    (void)thread;
    const quant_job *qj = ctx;
    const kn_input *in = qj->in;
    int r0 = task * GM_INPUT_ROWS, r1 = r0 + GM_INPUT_ROWS < in->n ? r0 + GM_INPUT_ROWS : in->n;
    kn_quantize_rows((int8_t *)in->q + (size_t)r0 * (size_t)kn_qcols(in->cols),
                     (float *)in->qscale + r0, in->x + (size_t)r0 * (size_t)in->cols, r1 - r0,
                     in->cols);
    if (qj->gin)
        gm_input_rows(qj->gin, in, r0, r1);
}

/* Prepares the input x (n, cols) of products with weight l: quantizes it into the state's q8
 * buffer when l is q8 or q4 and lays it out once for gm_linear when the products go through it
 * (in blocks of GM_INPUT_ROWS rows on the pool when there are several). */
static void input_for(tf_state *st, kn_input *in, const float *x, int n, int cols,
                      const lin_w *l)
{
    attn_dtype dt = l->w.dtype;
    *in = (kn_input){x, NULL, NULL, n, cols, NULL};
    if (dt != ATTN_Q8 && dt != ATTN_Q4)
        return;
    in->q = st->qx;
    in->qscale = st->qs;
    quant_job qj = {in, NULL};
    if (use_gm(l, n) && gm_input_init(&st->gin, st->gin_mem, st->gin_size, dt, n, cols) == 0)
        qj.gin = &st->gin;
    int tasks = (n + GM_INPUT_ROWS - 1) / GM_INPUT_ROWS;
    if (tasks > 1)
        tp_run(st->pool, quantize_task, &qj, tasks);
    else
        quantize_task(&qj, 0, 0);
    in->packed = qj.gin;
}

/* ---------------------------------------------------------------------------------------------
 * Element-wise helpers
 * ------------------------------------------------------------------------------------------- */

/* y = Norm(x) for one vector of d (LayerNorm or RMSNorm per the config). */
static void apply_norm(const tf_model *m, float *y, const float *x, const norm_w *n)
{
    if (m->cfg.norm == ATTN_NORM_RMS)
        kn_rmsnorm(y, x, n->w, m->cfg.d_model, m->cfg.norm_eps);
    else
        kn_layernorm(y, x, n->w, n->b, m->cfg.d_model, m->cfg.norm_eps);
}

typedef struct rows_job {
    tf_state *st;
    float *x;                   /* (n, d) residual stream */
    const float *t;             /* (n, d) sub-layer output, or NULL */
    float *h;                   /* (n, d) normed copy, or NULL */
    const norm_w *norm;         /* or NULL */
    int n, in_place;            /* in_place: x = Norm(x + t); else h = Norm(x + t) after x += t */
} rows_job;

/* Residual add and norm over a block of 16 rows. */
static void rows_task(void *ctx, int task, int thread)
{
    (void)thread;
    rows_job *rj = ctx;
    const tf_model *m = rj->st->m;
    int d = m->cfg.d_model;
    int r0 = task * 16, r1 = r0 + 16 < rj->n ? r0 + 16 : rj->n;
    for (int r = r0; r < r1; r++) {
        float *x = rj->x + (size_t)r * d;
        if (rj->t)
            kn_axpy(x, 1.0f, rj->t + (size_t)r * d, d);
        if (rj->norm) {
            if (rj->in_place)
                apply_norm(m, x, x, rj->norm);
            else
                apply_norm(m, rj->h + (size_t)r * d, x, rj->norm);
        }
    }
}

/* x += t (t may be NULL); then x = Norm(x) (in_place) or h = Norm(x), over n rows in parallel. */
static void residual_norm(tf_state *st, float *x, const float *t, float *h, const norm_w *norm,
                          int n, int in_place)
{
    rows_job rj = {st, x, t, h, norm, n, in_place};
    int tasks = (n + 15) / 16;
    if (tasks == 1 || (size_t)n * (size_t)st->m->cfg.d_model < 8192)
        for (int i = 0; i < tasks; i++)
            rows_task(&rj, i, 0);
    else
        tp_run(st->pool, rows_task, &rj, tasks);
}

/* Before a sub-layer: returns its input, Norm(x) in h for pre-norm, x itself for post-norm. */
static const float *sublayer_input(tf_state *st, float *x, const norm_w *norm, int n)
{
    if (!st->m->cfg.pre_norm || !norm->present)
        return x;
    residual_norm(st, x, NULL, st->h, norm, n, 0);
    return st->h;
}

/* After a sub-layer with output t: x += t, then Norm in place for post-norm. */
static void sublayer_output(tf_state *st, float *x, const float *t, const norm_w *norm, int n)
{
    int post = !st->m->cfg.pre_norm && norm->present;
    residual_norm(st, x, t, NULL, post ? norm : NULL, n, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Attention
 * ------------------------------------------------------------------------------------------- */

typedef struct attn_job {
    tf_state *st;
    int n_heads, d_head, inner;
    float scale;
    /* encoder self-attention: one task per (source, head) over packed sources */
    int s0;                     /* first source of the chunk */
    int tok0;                   /* packed offset of the chunk's first token */
    const float *q, *k, *v;     /* (chunk tokens, inner) */
    float *out;                 /* (chunk tokens, inner) */
    /* decoder: one task per (run of rows with one source, group of heads) */
    int layer, cross;
    int head_groups;            /* groups of heads per run: 1, or more when runs are few */
} attn_job;

/* Encoder self-attention for one (source, head): the head's queries, keys and values are copied
 * into the thread's scratch so that S = Q K^T and S V run as matrix products. */
static void enc_attn_task(void *ctx, int task, int thread)
{
    attn_job *aj = ctx;
    tf_state *st = aj->st;
    int H = aj->n_heads, dh = aj->d_head, inner = aj->inner;
    int s = aj->s0 + task / H, h = task % H;
    int L = st->src_len[s], off = st->src_off[s] - aj->tok0, Lmax = st->max_src_len;
    float *qh = st->enc_scratch + (size_t)thread * ENC_SCRATCH(Lmax, dh);   /* (L, dh) */
    float *kh = qh + (size_t)Lmax * dh;                                     /* (L, dh) */
    float *vt = kh + (size_t)Lmax * dh;                                     /* (dh, L) */
    float *sc = vt + (size_t)Lmax * dh;                                     /* (L, L) */
    for (int i = 0; i < L; i++) {
        size_t row = (size_t)(off + i) * inner + (size_t)h * dh;
        memcpy(qh + (size_t)i * dh, aj->q + row, (size_t)dh * sizeof(float));
        memcpy(kh + (size_t)i * dh, aj->k + row, (size_t)dh * sizeof(float));
        for (int e = 0; e < dh; e++)
            vt[(size_t)e * L + i] = aj->v[row + e];
    }
    kn_weight kw = {ATTN_F32, L, dh, kh, NULL, NULL, NULL, NULL};
    kn_input qin = {qh, NULL, NULL, L, dh, NULL};
    kn_linear(sc, L, &qin, &kw, NULL, 0, L);
    const float *rel = st->m->cfg.pos_kind == ATTN_POS_RELATIVE
                           ? st->enc_rel + (size_t)h * (2 * (size_t)Lmax - 1) + (Lmax - 1) : NULL;
    for (int i = 0; i < L; i++) {
        float *r = sc + (size_t)i * L;
        for (int j = 0; j < L; j++)
            r[j] = aj->scale * r[j] + (rel ? rel[j - i] : 0.0f);
        kn_softmax(r, L);
    }
    if (st->cap && s == 0)
        cap_encoder(st->cap, aj->layer, h, sc, L);
    kn_weight vw = {ATTN_F32, dh, L, vt, NULL, NULL, NULL, NULL};
    kn_input pin = {sc, NULL, NULL, L, L, NULL};
    kn_linear(aj->out + (size_t)off * inner + (size_t)h * dh, inner, &pin, &vw, NULL, 0, dh);
}

/* Decoder attention for one run of rows with the same source (row_group) and one group of
 * their heads: self-attention over the cached positions 0..pos through each row's slot table, or
 * cross-attention over the source; the run's rows share their keys (cross) or most of them (the
 * beams' common prefix), which one kn_attend call reads from memory once. */
static void dec_attn_task(void *ctx, int task, int thread)
{
    attn_job *aj = ctx;
    tf_state *st = aj->st;
    int H = aj->n_heads, dh = aj->d_head, inner = aj->inner, G = aj->head_groups;
    int r0 = st->row_group[task / G], nq = st->row_group[task / G + 1] - r0, g = task % G;
    int h0 = g * H / G, nh = (g + 1) * H / G - h0;
    size_t Lmax = (size_t)(st->max_src_len > st->max_tgt_len ? st->max_src_len : st->max_tgt_len);
    float *sc = st->scores + (size_t)thread * (size_t)H * Lmax;    /* (nh, keys) */
    size_t hoff = (size_t)h0 * dh;
    const float *qi = st->q + (size_t)r0 * inner + hoff;    /* (nq, inner) */
    float *o = st->a + (size_t)r0 * inner + hoff;           /* (nq, inner) */
    if (aj->cross) {
        int s = st->src_of_row[r0];
        size_t layer_base = (size_t)aj->layer * (size_t)st->max_src * st->max_src_len;
        size_t base = (layer_base + (size_t)st->src_off[s]) * inner + hoff;
        kn_keys kv = {st->cross_k + base, st->cross_v + base, (size_t)inner, NULL, 0, 0, NULL, 0,
                      st->src_len[s]};
        kn_attend(o, (size_t)inner, qi, (size_t)inner, nq, &kv, aj->scale, nh, dh, sc);
        for (int i = 0; st->cap && i < nq; i++)
            for (int h = 0; h < nh; h++)
                if (cap_wants(st->cap, aj->layer, h0 + h))
                    cap_cross(st->cap, r0 + i, aj->layer, h0 + h, qi + (size_t)i * inner + h * dh,
                              st->cross_k + base + h * dh, (size_t)inner, aj->scale,
                              st->src_len[s], dh);
        return;
    }
    /* position j of row r lives in physical row slot[j] of the cache: cell (slot[j], j) */
    int T = st->max_tgt_len;
    size_t base = (size_t)aj->layer * (size_t)st->max_rows * (size_t)T * inner + hoff;
    const float *rel = st->m->cfg.pos_kind == ATTN_POS_RELATIVE
                           ? st->dec_rel + (size_t)h0 * T + (size_t)(T - 1) - st->pos : NULL;
    kn_keys kv = {st->self_k + base, st->self_v + base, (size_t)inner, st->slot + (size_t)r0 * T,
                  (size_t)T, (size_t)T * inner, rel, (size_t)T, st->pos + 1};
    kn_attend(o, (size_t)inner, qi, (size_t)inner, nq, &kv, aj->scale, nh, dh, sc);
}

/* Runs n_tasks attention tasks, in parallel when there is enough work (work: floats of keys
 * and queries' products, about the floats read). */
static void run_attn(tf_state *st, tp_fn fn, attn_job *aj, int n_tasks, size_t work)
{
    if (work < ATTN_PAR_WORK || st->n_threads == 1)
        for (int i = 0; i < n_tasks; i++)
            fn(aj, i, 0);
    else
        tp_run(st->pool, fn, aj, n_tasks);
}

/* ---------------------------------------------------------------------------------------------
 * Encoder
 * ------------------------------------------------------------------------------------------- */

/* Writes the embeddings of n tokens tok (n) at positions pos (n) into x (n, d), with the
 * embedding norm when the model has one. */
static void embed_tokens(tf_state *st, const stack_w *sw, float *x, const int32_t *tok,
                         const int *pos, int n)
{
    const tf_model *m = st->m;
    const tf_config *c = &m->cfg;
    int d = c->d_model;
    for (int i = 0; i < n; i++) {
        float *xi = x + (size_t)i * d;
        kn_weight_row(xi, &sw->embed, tok[i]);
        if (c->embed_scale != 1.0f)
            for (int k = 0; k < d; k++)
                xi[k] *= c->embed_scale;
        if (c->pos_kind == ATTN_POS_SINUSOIDAL) {
            const float *pe = st->sin_table + (size_t)pos[i] * d;
            for (int k = 0; k < d; k++)
                xi[k] += pe[k];
        } else if (c->pos_kind == ATTN_POS_LEARNED) {
            float *pe = st->t + (size_t)i * d;
            kn_weight_row(pe, &sw->pos, pos[i] + c->pos_offset);
            for (int k = 0; k < d; k++)
                xi[k] += pe[k];
        }
    }
    if (sw->embed_norm.present)
        residual_norm(st, x, NULL, NULL, &sw->embed_norm, n, 1);
}

/* Runs the feed-forward sublayer of layer L on the n rows of x (n, d_model) in place, norm and
 * residual included; it cannot fail. */
static void ffn_sublayer(tf_state *st, float *x, const layer_w *L, int n)
{
    const tf_config *c = &st->m->cfg;
    kn_input in;
    lin_batch lb;
    const float *hin = sublayer_input(st, x, &L->ffn_norm, n);
    input_for(st, &in, hin, n, c->d_model, &L->ffn.up);
    lb.n_jobs = 0;
    if (c->ffn_gated) {
        lin_job *jb = lin_add(&lb, st->f, c->d_ff, &in, &L->ffn.gate);
        jb->y2 = st->g;
        jb->l2 = &L->ffn.up;
        jb->act = c->activation;
    } else {
        lin_add(&lb, st->f, c->d_ff, &in, &L->ffn.up)->act = c->activation;
    }
    lin_run(st, &lb);
    input_for(st, &in, st->f, n, c->d_ff, &L->ffn.down);
    lb.n_jobs = 0;
    lin_add(&lb, st->t, c->d_model, &in, &L->ffn.down);
    lin_run(st, &lb);
    sublayer_output(st, x, st->t, &L->ffn_norm, n);
}

/* Runs the encoder over sources [s0, s1) packed at token offset tok0 (n tokens). */
static void encode_chunk(tf_state *st, const int32_t *const *src, int s0, int s1, int tok0, int n)
{
    const tf_model *m = st->m;
    const tf_config *c = &m->cfg;
    int d = c->d_model, inner = m->inner;
    float *x = st->enc_out + (size_t)tok0 * d;
    int *posbuf = st->pos_buf;
    int32_t *toks = st->tok_buf;
    for (int s = s0, i = 0; s < s1; s++)
        for (int p = 0; p < st->src_len[s]; p++, i++) {
            toks[i] = src[s][p];
            posbuf[i] = p;
        }
    embed_tokens(st, &m->enc, x, toks, posbuf, n);
    for (int l = 0; l < c->n_enc_layers; l++) {
        const layer_w *L = &m->enc.layers[l];
        lin_batch lb;
        kn_input in;
        const float *hin = sublayer_input(st, x, &L->self_norm, n);
        input_for(st, &in, hin, n, d, &L->self.q);
        lb.n_jobs = 0;
        lin_add(&lb, st->q, inner, &in, &L->self.q);
        lin_add(&lb, st->k, inner, &in, &L->self.k);
        lin_add(&lb, st->v, inner, &in, &L->self.v);
        lin_run(st, &lb);
        attn_job aj = {st, c->n_heads, c->d_head, inner, c->attn_scale, s0, tok0,
                       st->q, st->k, st->v, st->a, l, 0, 1};
        run_attn(st, enc_attn_task, &aj, (s1 - s0) * c->n_heads,
                 (size_t)n * (size_t)n * (size_t)inner);
        input_for(st, &in, st->a, n, inner, &L->self.o);
        lb.n_jobs = 0;
        lin_add(&lb, st->t, d, &in, &L->self.o);
        lin_run(st, &lb);
        sublayer_output(st, x, st->t, &L->self_norm, n);

        ffn_sublayer(st, x, L, n);
    }
    if (m->enc.final_norm.present)
        residual_norm(st, x, NULL, NULL, &m->enc.final_norm, n, 1);
    /* cross-attention keys and values of every decoder layer, from the final encoder output */
    kn_input in;
    lin_batch lb;
    size_t stride = (size_t)st->max_src * st->max_src_len * inner;
    for (int l0 = 0; l0 < c->n_dec_layers; l0 += 64) {
        lb.n_jobs = 0;
        input_for(st, &in, x, n, d, &m->dec.layers[0].cross.k);
        for (int l = l0; l < c->n_dec_layers && l < l0 + 64; l++) {
            const layer_w *L = &m->dec.layers[l];
            lin_add(&lb, st->cross_k + l * stride + (size_t)tok0 * inner, inner, &in, &L->cross.k);
            lin_add(&lb, st->cross_v + l * stride + (size_t)tok0 * inner, inner, &in, &L->cross.v);
        }
        lin_run(st, &lb);
    }
}

int tf_encode(tf_state *st, const int32_t *const *src, const int *len, int n_src)
{
    const tf_config *c = &st->m->cfg;
    if (n_src < 1 || n_src > st->max_src)
        return ATTN_ERR_ARG;
    for (int s = 0; s < n_src; s++) {
        if (len[s] < 1 || len[s] > st->max_src_len)
            return ATTN_ERR_ARG;
        for (int i = 0; i < len[s]; i++)
            if (src[s][i] < 0 || src[s][i] >= c->vocab_size)
                return ATTN_ERR_ARG;
    }
    int off = 0;
    for (int s = 0; s < n_src; s++) {
        st->src_len[s] = len[s];
        st->src_off[s] = off;
        off += len[s];
    }
    st->n_src = n_src;
    st->began = 0;
    int s0 = 0;
    while (s0 < n_src) {
        int s1 = s0, n = 0;
        while (s1 < n_src && n + len[s1] <= st->chunk_cap)
            n += len[s1++];
        encode_chunk(st, src, s0, s1, st->src_off[s0], n);
        s0 = s1;
    }
    return ATTN_OK;
}

const float *tf_encoder_output(const tf_state *st, int s, int *len)
{
    if (s < 0 || s >= st->n_src)
        return NULL;
    *len = st->src_len[s];
    return st->enc_out + (size_t)st->src_off[s] * st->m->cfg.d_model;
}

/* ---------------------------------------------------------------------------------------------
 * Decoder
 * ------------------------------------------------------------------------------------------- */

/* Sets row_group and n_runs from src_of_row for the current n_rows: the runs of consecutive
 * rows with one source (a source's beams). */
static void group_rows(tf_state *st)
{
    int runs = 0;
    for (int r = 0; r < st->n_rows; r++)
        if (r == 0 || st->src_of_row[r] != st->src_of_row[r - 1])
            st->row_group[runs++] = r;
    st->row_group[runs] = st->n_rows;
    st->n_runs = runs;
}

int tf_decode_begin(tf_state *st, const int *src_of_row, int n_rows)
{
    if (st->n_src < 1)
        return ATTN_ERR_STATE;
    if (n_rows < 1 || n_rows > st->max_rows)
        return ATTN_ERR_ARG;
    for (int r = 0; r < n_rows; r++)
        if (src_of_row[r] < 0 || src_of_row[r] >= st->n_src)
            return ATTN_ERR_ARG;
    memcpy(st->src_of_row, src_of_row, (size_t)n_rows * sizeof(int));
    st->n_rows = n_rows;
    group_rows(st);
    st->pos = 0;
    st->began = 1;
    return ATTN_OK;
}

int tf_decode_reorder(tf_state *st, const int *parent, int n_rows)
{
    if (!st->began)
        return ATTN_ERR_STATE;
    if (n_rows < 1 || n_rows > st->max_rows)
        return ATTN_ERR_ARG;
    for (int r = 0; r < n_rows; r++)
        if (parent[r] < 0 || parent[r] >= st->n_rows)
            return ATTN_ERR_ARG;
    int T = st->max_tgt_len, P = st->pos;
    for (int r = 0; r < n_rows; r++) {
        memcpy(st->slot_tmp + (size_t)r * T, st->slot + (size_t)parent[r] * T,
               (size_t)P * sizeof(int32_t));
        st->tmp_rows[r] = st->src_of_row[parent[r]];
    }
    for (int r = 0; r < n_rows; r++) {
        memcpy(st->slot + (size_t)r * T, st->slot_tmp + (size_t)r * T, (size_t)P * sizeof(int32_t));
        st->src_of_row[r] = st->tmp_rows[r];
    }
    st->n_rows = n_rows;
    group_rows(st);
    return ATTN_OK;
}

int tf_decode_position(const tf_state *st)
{
    return st->began ? st->pos : 0;
}

/* Decoder attention sub-layer (self or cross) of layer l for the current rows: q (and for self
 * k, v into the cache) from hin, attention into a, output projection into t. */
static void dec_attention(tf_state *st, int l, int cross, const float *hin)
{
    const tf_model *m = st->m;
    const tf_config *c = &m->cfg;
    const layer_w *L = &m->dec.layers[l];
    const attn_w *A = cross ? &L->cross : &L->self;
    int d = c->d_model, inner = m->inner, n = st->n_rows, T = st->max_tgt_len;
    kn_input in;
    lin_batch lb;
    lb.n_jobs = 0;
    input_for(st, &in, hin, n, d, &A->q);
    lin_add(&lb, st->q, inner, &in, &A->q);
    if (!cross) {
        size_t cell = (((size_t)l * st->max_rows) * T + (size_t)st->pos) * inner;
        lin_add(&lb, st->self_k + cell, T * inner, &in, &A->k);
        lin_add(&lb, st->self_v + cell, T * inner, &in, &A->v);
    }
    lin_run(st, &lb);
    /* runs of rows with one source (a source's beams) or heads, whichever gives the threads more
     * tasks: groups of heads when the runs are fewer than two per thread (batch 1) */
    int runs = st->n_runs;
    int groups = runs >= 2 * st->n_threads ? 1 : (2 * st->n_threads + runs - 1) / runs;
    attn_job aj = {st, c->n_heads, c->d_head, inner, c->attn_scale, 0, 0, NULL, NULL, NULL, NULL,
                   l, cross, groups < c->n_heads ? groups : c->n_heads};
    size_t keys = cross ? (size_t)st->src_len[st->src_of_row[0]] : (size_t)st->pos + 1;
    run_attn(st, dec_attn_task, &aj, runs * aj.head_groups, (size_t)n * keys * inner);
    input_for(st, &in, st->a, n, inner, &A->o);
    lb.n_jobs = 0;
    lin_add(&lb, st->t, d, &in, &A->o);
    lin_run(st, &lb);
}

int tf_decode_step(tf_state *st, float *logits, const int32_t *tokens, int n_rows)
{
    const tf_model *m = st->m;
    const tf_config *c = &m->cfg;
    if (!st->began || st->pos >= st->max_tgt_len)
        return ATTN_ERR_STATE;
    if (n_rows != st->n_rows)
        return ATTN_ERR_ARG;
    for (int r = 0; r < n_rows; r++)
        if (tokens[r] < 0 || tokens[r] >= c->vocab_size)
            return ATTN_ERR_ARG;
    int d = c->d_model, n = n_rows, T = st->max_tgt_len;
    float *x = st->x;
    for (int r = 0; r < n; r++) {
        st->slot[(size_t)r * T + (size_t)st->pos] = r;
        st->pos_buf[r] = st->pos;
    }
    embed_tokens(st, &m->dec, x, tokens, st->pos_buf, n);
    for (int l = 0; l < c->n_dec_layers; l++) {
        const layer_w *L = &m->dec.layers[l];
        const float *hin = sublayer_input(st, x, &L->self_norm, n);
        dec_attention(st, l, 0, hin);
        sublayer_output(st, x, st->t, &L->self_norm, n);
        hin = sublayer_input(st, x, &L->cross_norm, n);
        dec_attention(st, l, 1, hin);
        sublayer_output(st, x, st->t, &L->cross_norm, n);
        ffn_sublayer(st, x, L, n);
    }
    if (st->cap)
        cap_mix(st->cap, st->src_of_row, st->src_len, n);
    const float *hout = x;
    if (m->dec.final_norm.present) {
        residual_norm(st, x, NULL, st->h, &m->dec.final_norm, n, 0);
        hout = st->h;
    }
    if (c->output_scale != 1.0f) {
        if (hout != st->h)
            memcpy(st->h, hout, (size_t)n * d * sizeof(float));
        for (size_t i = 0; i < (size_t)n * d; i++)
            st->h[i] *= c->output_scale;
        hout = st->h;
    }
    kn_input in;
    lin_batch lb;
    lb.n_jobs = 0;
    input_for(st, &in, hout, n, d, &m->out);
    lin_add(&lb, logits, c->vocab_size, &in, &m->out);
    lin_run(st, &lb);
    st->pos++;
    return ATTN_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Attention for the caller (capture.c keeps it)
 * ------------------------------------------------------------------------------------------- */

int tf_attn_capture(tf_state *st, const float *mix, int n_channels, int encoder)
{
    const tf_config *c = &st->m->cfg;
    cap_free(st->cap);
    st->cap = NULL;
    if (n_channels == 0 && !encoder)
        return ATTN_OK;
    return cap_open(&st->cap, mix, n_channels, encoder, c->n_dec_layers, c->n_enc_layers,
                    c->n_heads, st->max_rows, st->max_src_len);
}

const float *tf_attn_last(const tf_state *st, int *width)
{
    *width = 0;
    return st->cap ? cap_last(st->cap, width) : NULL;
}

const float *tf_attn_encoder(const tf_state *st, int layer, int head, int *len)
{
    return st->cap ? cap_encoder_get(st->cap, layer, head, len) : NULL;
}
