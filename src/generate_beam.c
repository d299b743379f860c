/* generate_beam.c — beam search as HF's BeamSearchScorer does it: candidates, finished
 * hypotheses, stopping rules, the settled prefix of each source (see generate.h). */
#include "generate_int.h"

#include "kernels.h"

#include <math.h>
#include <string.h>

/* ---- beam search ----------------------------------------------------------------------------- */

/* Adds a hypothesis to source st's list as HF's BeamHypotheses.add does; with attention on,
 * att (len, attn_width) is its history and att_eos (attn_width) that of its eos step or NULL. */
static void hyp_add(gen *g, srcstate *st, const int32_t *seq, const float *lps, const float *att,
                    const float *att_eos, int len, int ended, float eos_lp, float sum_logprobs,
                    int hyp_len)
{
    double score = (double)sum_logprobs / pow((double)hyp_len, (double)g->p.length_penalty);
    if (st->n_kept >= g->B && !(score > st->worst))
        return;
    kept_hyp *spot = NULL;
    for (int b = 0; b < g->B && !spot; b++)
        if (!st->kept[b].used)
            spot = &st->kept[b];
    int evict = st->n_kept >= g->B;
    if (evict) {
        /* the list is full: the new one replaces the worst (earliest on ties) */
        kept_hyp *w = NULL;
        for (int b = 0; b < g->B; b++) {
            kept_hyp *c = &st->kept[b];
            if (!w || c->score < w->score || (c->score == w->score && c->order < w->order))
                w = c;
        }
        spot = w;
    }
    spot->used = 1;
    spot->order = st->next_order++;
    spot->score = score;
    spot->len = len;
    spot->ended = ended;
    memcpy(spot->ids, seq, (size_t)len * sizeof *seq);
    memcpy(spot->lps, lps, (size_t)len * sizeof *lps);
    spot->lps[len] = eos_lp;
    size_t W = (size_t)g->p.attn_width;
    if (W) {
        memcpy(spot->att, att, (size_t)len * W * sizeof *att);
        if (att_eos)
            memcpy(spot->att + (size_t)len * W, att_eos, W * sizeof *att);
    }
    if (evict) {
        double w = INFINITY;
        for (int b = 0; b < g->B; b++)
            if (st->kept[b].score < w)
                w = st->kept[b].score;
        st->worst = w;
    } else {
        st->n_kept++;
        if (score < st->worst)
            st->worst = score;
    }
}

/* Returns 1 when source st is done per HF's BeamHypotheses.is_done. */
static int hyp_done(const gen *g, const srcstate *st, float best_sum, int cur_len)
{
    if (st->n_kept < g->B)
        return 0;
    double lp = g->p.length_penalty, len = cur_len;
    switch (g->p.early_stopping) {
    case GEN_STOP_EARLY:
        return 1;
    case GEN_STOP_NEVER:
        if (lp > 0)
            len = g->max_len;
        break;
    default:
        break;
    }
    return st->worst >= (double)best_sum / pow(len, lp);
}

/* Fills source s's n-best hypotheses from its list and calls fn. */
static void finish_beam(gen *g, int s, gen_progress_fn fn, void *user)
{
    srcstate *st = &g->src[s];
    gen_result *res = &g->res[s];
    gen_hyp *out = &g->hyps[(size_t)s * g->p.n_best];
    int n = 0;
    for (int k = 0; k < g->p.n_best && k < st->n_kept; k++) {
        const kept_hyp *best = NULL;
        for (int b = 0; b < g->B; b++) {
            const kept_hyp *c = &st->kept[b];
            if (!c->used)
                continue;
            int taken = 0;
            for (int j = 0; j < n; j++)
                taken |= out[j].ids == c->ids + 1;
            if (taken)
                continue;
            if (!best || c->score > best->score ||
                (c->score == best->score && c->order > best->order))
                best = c;
        }
        out[n].ids = best->ids + 1;
        out[n].logprobs = best->lps + 1;
        out[n].attn = best->att ? best->att + g->p.attn_width : NULL;
        out[n].len = best->len - 1;
        out[n].ended = best->ended;
        out[n].score = best->score;
        n++;
    }
    res->n_hyps = n;
    res->done = 1;
    st->done = 1;
    if (fn)
        fn(user, s);
}

/* Updates source s's settled prefix: the common prefix of its live rows (a, B rows in next_seq,
 * length cur) and its finished hypotheses; calls fn when it grew. */
static void settle_beam(gen *g, int s, int a, int cur, gen_progress_fn fn, void *user)
{
    srcstate *st = &g->src[s];
    gen_result *res = &g->res[s];
    const int32_t *first = g->next_seq + (size_t)a * g->B * g->max_len;
    int n = cur;
    for (int b = 1; b < g->B; b++) {
        const int32_t *q = first + (size_t)b * g->max_len;
        int i = 1;
        while (i < n && q[i] == first[i])
            i++;
        n = i;
    }
    for (int b = 0; b < g->B; b++) {
        const kept_hyp *c = &st->kept[b];
        if (!c->used)
            continue;
        int i = 1;
        while (i < n && i < c->len && c->ids[i] == first[i])
            i++;
        n = i;
    }
    if (n - 1 > res->n_settled) {
        for (int i = res->n_settled; i < n - 1; i++)
            st->out_ids[i] = first[i + 1];
        res->n_settled = n - 1;
        if (fn)
            fn(user, s);
    }
}

typedef struct beam_job {
    gen *g;
    int cur;            /* the sequences' length */
    int processed;      /* gen_processes for cur: the processors change rows */
} beam_job;

/* One row of a beam step: the row's log-sum-exp (after the pad mask) into rlp, then the row's
 * 2B best candidates log_softmax + beam score as beam * V + id (the source's best 2B are among
 * its rows' best 2B) into rscore / rflat; with processors, log_softmax is written into the
 * thread's scratch row for them first, else the candidates come from the logits directly (the
 * same roundings).  The logits stay as they are: a candidate's model log-probability is its
 * logit minus rlp. */
static void beam_row(void *ctx, int r, int thread)
{
    beam_job *bj = ctx;
    gen *g = bj->g;
    int V = g->V, K = g->K, have = 0;
    float *x = g->logits + (size_t)r * V, *lsm = g->scratch[thread].row;
    float *rscore = g->rscore + (size_t)r * K;
    int *rflat = g->rflat + (size_t)r * K;
    if (g->p.beam_mask_pad && g->p.pad_id >= 0)
        x[g->p.pad_id] = -INFINITY;
    g->rlp[r] = kn_logsumexp(x, V);
    if (bj->processed) {
        kn_add_scalar(lsm, x, -g->rlp[r], V);
        gen_process_row(g, thread, lsm, g->seq + (size_t)r * g->max_len, bj->cur);
        kn_top_merge(rscore, rflat, &have, lsm, g->bscore[r], (r % g->B) * V, V, K);
    } else {
        kn_top_merge_shifted(rscore, rflat, &have, x, -g->rlp[r], g->bscore[r], (r % g->B) * V,
                             V, K);
    }
    g->rhave[r] = have;
}

/* Beam search over n started sources; returns ATTN_OK or ATTN_ERR_DECODER. */
int gen_run_beam(gen *g, const gen_model *m, int n, gen_progress_fn fn, void *user)
{
    int V = g->V, L = g->max_len, B = g->B, K = g->K, n_act = n;
    size_t W = (size_t)g->p.attn_width, LW = (size_t)L * W;
    /* with V >= 2 at most B of the 2B candidates are eos, so every walk finds B beams */
    const gen_params *p = &g->p;
    for (int r = 0; r < n * B; r++)
        g->bscore[r] = r % B == 0 ? 0.0f : -1e9f;
    for (int cur = 1; n_act > 0; cur++) {
        int rows = n_act * B;
        int rc = m->step(m->ctx, g->logits, g->feed, rows);
        if (rc < 0)
            return gen_model_failed(g, rc);
        const float *att = W ? m->attn(m->ctx) : NULL;
        beam_job bj = {g, cur, gen_processes(g, cur)};
        gen_for_rows(g, beam_row, &bj, rows);
        /* each source: the 2B best candidates from its rows' lists, then HF's walk over them */
        int n_new = 0;
        for (int a = 0; a < n_act; a++) {
            int s = g->row_src[a * B];
            srcstate *st = &g->src[s];
            float *cs = g->cscore + (size_t)a * K;
            int *cf = g->cflat + (size_t)a * K, nc = 0;
            for (int r = a * B; r < (a + 1) * B; r++)
                for (int i = 0; i < g->rhave[r]; i++)
                    kn_top_insert(cs, cf, &nc, g->rscore[(size_t)r * K + i],
                                  g->rflat[(size_t)r * K + i], K);
            int nb = 0;
            for (int k = 0; k < nc && nb < B; k++) {
                int b = cf[k] / V, tok = cf[k] % V, r = a * B + b;
                const int32_t *seq = g->seq + (size_t)r * L;
                float mlp = g->logits[(size_t)r * V + tok] - g->rlp[r];
                if (tok == p->eos_id) {
                    if (k >= B)
                        continue;
                    hyp_add(g, st, seq, g->lp + (size_t)r * L, att ? g->att + r * LW : NULL,
                            att ? att + r * W : NULL, cur, 1, mlp, cs[k], cur);
                    continue;
                }
                int nr = a * B + nb++;
                int32_t *nseq = g->next_seq + (size_t)nr * L;
                float *nlp = g->next_lp + (size_t)nr * L;
                memcpy(nseq, seq, (size_t)cur * sizeof *seq);
                memcpy(nlp, g->lp + (size_t)r * L, (size_t)cur * sizeof *nlp);
                nseq[cur] = tok;
                nlp[cur] = mlp;
                if (att) {
                    float *nat = g->next_att + nr * LW;
                    memcpy(nat, g->att + r * LW, (size_t)cur * W * sizeof *nat);
                    memcpy(nat + cur * W, att + r * W, W * sizeof *nat);
                }
                g->next_bscore[nr] = cs[k];
                g->parent[nr] = r;
            }
            if (hyp_done(g, st, cs[0], cur))
                st->done = 1;
        }
        /* finish the done sources and those at max length; compact the rest */
        for (int a = 0; a < n_act; a++) {
            int s = g->row_src[a * B];
            srcstate *st = &g->src[s];
            if (!st->done && cur + 1 >= L) {
                for (int b = 0; b < B; b++) {
                    int r = a * B + b;
                    hyp_add(g, st, g->next_seq + (size_t)r * L, g->next_lp + (size_t)r * L,
                            att ? g->next_att + r * LW : NULL, NULL, cur + 1, 0, 0.0f,
                            g->next_bscore[r], cur + 1);
                }
                st->done = 1;
            }
            if (st->done) {
                finish_beam(g, s, fn, user);
                continue;
            }
            settle_beam(g, s, a, cur + 1, fn, user);
            for (int b = 0; b < B; b++) {
                int r = a * B + b, nr = n_new * B + b;
                memcpy(g->seq + (size_t)nr * L, g->next_seq + (size_t)r * L,
                       (size_t)(cur + 1) * sizeof(int32_t));
                memcpy(g->lp + (size_t)nr * L, g->next_lp + (size_t)r * L,
                       (size_t)(cur + 1) * sizeof(float));
                if (att)
                    memcpy(g->att + nr * LW, g->next_att + r * LW,
                           (size_t)(cur + 1) * W * sizeof(float));
                g->bscore[nr] = g->next_bscore[r];
                g->parent[nr] = g->parent[r];
                g->feed[nr] = g->next_seq[(size_t)r * L + cur];
                g->next_row_src[nr] = s;
            }
            n_new++;
        }
        for (int r = 0; r < n_new * B; r++)
            g->row_src[r] = g->next_row_src[r];
        n_act = n_new;
        if (n_act > 0) {
            rc = m->reorder(m->ctx, g->parent, n_act * B);
            if (rc < 0)
                return gen_model_failed(g, rc);
        }
    }
    return ATTN_OK;
}
