/* generate.c — the decoder object, HF-compatible logits processors, sampling, greedy runs and
 * teacher-forced scoring (see generate.h for the exact rules; beam search is generate_beam.c). */
#include "generate_int.h"

#include "arena.h"
#include "kernels.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers: xoshiro256** seeded through splitmix64 ---------------------------------- */

/* Advances a splitmix64 state and returns its next output. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seeds r from a seed and a stream number; distinct streams give unrelated sequences. */
static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t a = seed, b = stream ^ 0x6a09e667f3bcc909ull;
    uint64_t x = splitmix64(&a) ^ (splitmix64(&b) * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* Rotates x left by k bits. */
static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Returns the next 64 random bits of r. */
static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Returns a uniform double in [0, 1) with 53 random bits. */
static double rng_uniform(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- the object ------------------------------------------------------------------------------ */

void gen_params_default(gen_params *p)
{
    memset(p, 0, sizeof *p);
    p->mode = GEN_GREEDY;
    p->max_new_tokens = 20;
    p->eos_id = p->pad_id = p->forced_bos_id = p->forced_eos_id = -1;
    p->repetition_penalty = 1.0f;
    p->temperature = 1.0f;
    p->top_p = 1.0f;
    p->num_beams = 1;
    p->length_penalty = 1.0f;
    p->early_stopping = GEN_STOP_HEURISTIC;
    p->n_best = 1;
}

/* Returns 1 when id is -1 or a valid id of a vocabulary of size V. */
static int id_or_none(int id, int V)
{
    return id == -1 || (id >= 0 && id < V);
}

int gen_params_check(const gen_params *p, int V)
{
    if (V < 1 || p->max_new_tokens < 1 || p->max_new_tokens > (1 << 24) || p->min_new_tokens < 0)
        return ATTN_ERR_PARAM;
    if (p->mode != GEN_GREEDY && p->mode != GEN_SAMPLE && p->mode != GEN_BEAM)
        return ATTN_ERR_PARAM;
    if (p->decoder_start_id < 0 || p->decoder_start_id >= V || !id_or_none(p->eos_id, V) ||
        !id_or_none(p->pad_id, V) || !id_or_none(p->forced_bos_id, V) ||
        !id_or_none(p->forced_eos_id, V))
        return ATTN_ERR_PARAM;
    if (p->n_bad_ids < 0 || (p->n_bad_ids && !p->bad_ids) || p->prefix_len < 0 ||
        (p->prefix_len && !p->prefix))
        return ATTN_ERR_PARAM;
    for (int i = 0; i < p->n_bad_ids; i++)
        if (p->bad_ids[i] < 0 || p->bad_ids[i] >= V)
            return ATTN_ERR_PARAM;
    for (int i = 0; i < p->prefix_len; i++)
        if (p->prefix[i] < 0 || p->prefix[i] >= V)
            return ATTN_ERR_PARAM;
    if (!(p->repetition_penalty > 0) || !isfinite(p->repetition_penalty) || p->no_repeat_ngram < 0)
        return ATTN_ERR_PARAM;
    if (!(p->temperature > 0) || !isfinite(p->temperature) || p->top_k < 0 ||
        !(p->top_p > 0 && p->top_p <= 1) || !(p->min_p >= 0 && p->min_p <= 1))
        return ATTN_ERR_PARAM;
    if (p->num_beams < 1 || p->num_beams > 4096 || !isfinite(p->length_penalty) ||
        (p->mode == GEN_BEAM && V < 2))
        return ATTN_ERR_PARAM;
    if (p->early_stopping != GEN_STOP_HEURISTIC && p->early_stopping != GEN_STOP_EARLY &&
        p->early_stopping != GEN_STOP_NEVER)
        return ATTN_ERR_PARAM;
    if (p->n_best < 1 || p->n_best > (p->mode == GEN_BEAM ? p->num_beams : 1))
        return ATTN_ERR_PARAM;
    if (p->attn_width < 0 || p->attn_width > (1 << 24))
        return ATTN_ERR_PARAM;
    return ATTN_OK;
}

/* Lays out every buffer of g in the arena base (NULL: only measures); returns the bytes used. */
static size_t layout(gen *g, char *base)
{
    size_t c = 0;
    size_t R = (size_t)g->max_rows, V = (size_t)g->V, L = (size_t)g->max_len;
    size_t S = (size_t)g->max_src, B = (size_t)g->B, K = (size_t)g->K, N = (size_t)g->p.n_best;
    g->logits = attn_carve(base, &c, R * V * sizeof(float));
    /* beam search processes each row in its thread's scratch row instead */
    g->aux = attn_carve(base, &c, (g->p.mode == GEN_BEAM ? 1 : R) * V * sizeof(float));
    g->seq = attn_carve(base, &c, R * L * sizeof(int32_t));
    g->next_seq = attn_carve(base, &c, R * L * sizeof(int32_t));
    g->lp = attn_carve(base, &c, R * L * sizeof(float));
    g->next_lp = attn_carve(base, &c, R * L * sizeof(float));
    size_t W = (size_t)g->p.attn_width;
    int beam_att = g->p.mode == GEN_BEAM && W > 0;
    g->att = beam_att ? attn_carve(base, &c, R * L * W * sizeof(float)) : NULL;
    g->next_att = beam_att ? attn_carve(base, &c, R * L * W * sizeof(float)) : NULL;
    g->bscore = attn_carve(base, &c, R * sizeof(float));
    g->next_bscore = attn_carve(base, &c, R * sizeof(float));
    g->feed = attn_carve(base, &c, R * sizeof(int32_t));
    g->row_src = attn_carve(base, &c, R * sizeof(int));
    g->next_row_src = attn_carve(base, &c, R * sizeof(int));
    g->parent = attn_carve(base, &c, R * sizeof(int));
    g->src_ids = attn_carve(base, &c, S * sizeof(int32_t *));
    g->src_len = attn_carve(base, &c, S * sizeof(int));
    g->scratch = g->scratch0 = attn_carve(base, &c, sizeof(gen_scratch));
    uint32_t *mark = attn_carve(base, &c, V * sizeof(uint32_t));
    int *heap = attn_carve(base, &c, V * sizeof(int));
    float *row = attn_carve(base, &c, V * sizeof(float));
    if (base) {
        g->scratch->mark = mark;
        g->scratch->heap = heap;
        g->scratch->row = row;
    }
    g->rscore = attn_carve(base, &c, R * K * sizeof(float));
    g->rflat = attn_carve(base, &c, R * K * sizeof(int));
    g->rhave = attn_carve(base, &c, R * sizeof(int));
    size_t C = (size_t)g->n_chunks;
    g->part_m = attn_carve(base, &c, R * C * sizeof(float));
    g->part_s = attn_carve(base, &c, R * C * sizeof(float));
    g->part_i = attn_carve(base, &c, R * C * sizeof(int));
    g->rtok = attn_carve(base, &c, R * sizeof(int32_t));
    g->rlp = attn_carve(base, &c, R * sizeof(float));
    g->cscore = attn_carve(base, &c, S * K * sizeof(float));
    g->cflat = attn_carve(base, &c, S * K * sizeof(int));
    g->forced = attn_carve(base, &c, (L + 1) * sizeof(int32_t));
    g->src = attn_carve(base, &c, S * sizeof(srcstate));
    g->kept = attn_carve(base, &c, S * B * sizeof(kept_hyp));
    g->hyps = attn_carve(base, &c, S * N * sizeof(gen_hyp));
    g->res = attn_carve(base, &c, S * sizeof(gen_result));
    for (size_t s = 0; s < S; s++) {
        srcstate *st = base ? &g->src[s] : NULL;
        int32_t *oi = attn_carve(base, &c, L * sizeof(int32_t));
        float *ol = attn_carve(base, &c, (L + 1) * sizeof(float));
        float *oa = W ? attn_carve(base, &c, (L + 1) * W * sizeof(float)) : NULL;
        if (st) {
            st->out_ids = oi;
            st->out_lps = ol;
            st->out_att = oa;
            st->kept = &g->kept[s * B];
        }
        if (g->p.mode != GEN_BEAM)
            continue;
        for (size_t b = 0; b < B; b++) {
            int32_t *ids = attn_carve(base, &c, L * sizeof(int32_t));
            float *lps = attn_carve(base, &c, (L + 1) * sizeof(float));
            float *att = W ? attn_carve(base, &c, (L + 1) * W * sizeof(float)) : NULL;
            if (st) {
                st->kept[b].ids = ids;
                st->kept[b].lps = lps;
                st->kept[b].att = att;
            }
        }
    }
    return c;
}

int gen_open(gen **out, const gen_params *p, int vocab_size, int max_sources)
{
    *out = NULL;
    if (gen_params_check(p, vocab_size) < 0 || max_sources < 1)
        return ATTN_ERR_PARAM;
    int B = p->mode == GEN_BEAM ? p->num_beams : 1;
    if ((long long)max_sources * B > (1 << 20))
        return ATTN_ERR_PARAM;
    gen *g = calloc(1, sizeof *g);
    if (!g)
        return ATTN_ERR_NOMEM;
    g->p = *p;
    g->V = vocab_size;
    g->max_src = max_sources;
    g->B = B;
    g->K = 2 * B;
    g->max_rows = max_sources * B;
    g->max_len = 1 + p->max_new_tokens;
    g->n_chunks = (vocab_size + GEN_CHUNK - 1) / GEN_CHUNK;
    size_t need = layout(g, NULL);
    g->arena = calloc(1, need);
    if (!g->arena) {
        free(g);
        return ATTN_ERR_NOMEM;
    }
    layout(g, g->arena);
    g->n_scratch = 1;
    if (p->forced_bos_id >= 0)
        g->forced[g->n_forced++] = p->forced_bos_id;
    for (int i = 0; i < p->prefix_len && g->n_forced < g->max_len; i++)
        g->forced[g->n_forced++] = p->prefix[i];
    *out = g;
    return ATTN_OK;
}

int gen_use_pool(gen *g, tp_pool *pool)
{
    int n = pool ? tp_threads(pool) : 1;
    gen_scratch *sc = g->scratch0;
    void *mem = NULL;
    if (n > 1) {
        /* thread 0 keeps the arena's marks, heap and row; the others get their own */
        size_t V = (size_t)g->V;
        mem = calloc(1, (size_t)n * sizeof *sc +
                            (size_t)(n - 1) * V * (sizeof(uint32_t) + sizeof(int) + sizeof(float)));
        if (!mem)
            return ATTN_ERR_NOMEM;
        sc = mem;
        uint32_t *marks = (uint32_t *)(sc + n);
        int *heaps = (int *)(marks + (size_t)(n - 1) * V);
        float *rows = (float *)(heaps + (size_t)(n - 1) * V);
        for (int t = 1; t < n; t++) {
            sc[t].mark = marks + (size_t)(t - 1) * V;
            sc[t].heap = heaps + (size_t)(t - 1) * V;
            sc[t].row = rows + (size_t)(t - 1) * V;
        }
    }
    sc[0] = g->scratch[0];
    free(g->pool_mem);
    g->pool_mem = mem;
    g->scratch = sc;
    g->n_scratch = n;
    g->pool = n > 1 ? pool : NULL;
    return ATTN_OK;
}

void gen_for_rows(gen *g, tp_fn fn, void *ctx, int rows)
{
    if (g->pool && rows > 1) {
        tp_run(g->pool, fn, ctx, rows);
        return;
    }
    for (int r = 0; r < rows; r++)
        fn(ctx, r, 0);
}

void gen_free(gen *g)
{
    if (!g)
        return;
    free(g->pool_mem);
    free(g->arena);
    free(g);
}

int gen_rows(const gen *g, int n_sources)
{
    return n_sources * g->B;
}

const gen_result *gen_result_get(const gen *g, int s)
{
    return s >= 0 && s < g->max_src ? &g->res[s] : NULL;
}

const float *gen_score_attn(const gen *g, int t)
{
    return t >= 0 && t < g->max_src ? g->src[t].out_att : NULL;
}

int gen_model_status(const gen *g)
{
    return g->model_status;
}

/* ---- logits processors ----------------------------------------------------------------------- */

/* Returns 1 when the no-repeat-ngram processor looks at sequences of length cur_len. */
static int ngram_on(const gen *g, int cur_len)
{
    return g->p.no_repeat_ngram > 0 && cur_len + 1 >= g->p.no_repeat_ngram;
}

/* Returns 1 when end of sequence is masked for sequences of length cur_len (too short). */
static int eos_masked(const gen *g, int cur_len)
{
    return g->p.eos_id >= 0 && cur_len < 1 + g->p.min_new_tokens;
}

/* Returns the token forced after sequences of length cur_len, or -1 when none is. */
static int forced_token(const gen *g, int cur_len)
{
    if (g->p.forced_eos_id >= 0 && cur_len == g->max_len - 1)
        return g->p.forced_eos_id;
    return cur_len - 1 < g->n_forced ? g->forced[cur_len - 1] : -1;
}

int gen_processes(const gen *g, int cur_len)
{
    return g->p.repetition_penalty != 1.0f || ngram_on(g, cur_len) || g->p.n_bad_ids > 0 ||
           eos_masked(g, cur_len) || forced_token(g, cur_len) >= 0;
}

/* Applies the processors 1-6 of generate.h to one row x (V) whose sequence is seq[0..cur_len),
 * with the scratch of thread `thread`. */
void gen_process_row(gen *g, int thread, float *x, const int32_t *seq, int cur_len)
{
    const gen_params *p = &g->p;
    gen_scratch *sc = &g->scratch[thread];
    int V = g->V;
    if (p->repetition_penalty != 1.0f) {
        if (++sc->epoch == 0) {
            memset(sc->mark, 0, (size_t)V * sizeof *sc->mark);
            sc->epoch = 1;
        }
        for (int i = 0; i < cur_len; i++) {
            int id = seq[i];
            if (sc->mark[id] == sc->epoch)
                continue;
            sc->mark[id] = sc->epoch;
            x[id] = x[id] < 0 ? x[id] * p->repetition_penalty : x[id] / p->repetition_penalty;
        }
    }
    int n = p->no_repeat_ngram;
    if (ngram_on(g, cur_len)) {
        const int32_t *tail = seq + cur_len - (n - 1);
        for (int i = 0; i + n <= cur_len; i++)
            if (memcmp(seq + i, tail, (size_t)(n - 1) * sizeof *seq) == 0)
                x[seq[i + n - 1]] = -INFINITY;
    }
    for (int i = 0; i < p->n_bad_ids; i++)
        x[p->bad_ids[i]] = -INFINITY;
    if (eos_masked(g, cur_len))
        x[p->eos_id] = -INFINITY;
    int force = forced_token(g, cur_len);
    if (force >= 0) {
        for (int v = 0; v < V; v++)
            x[v] = -INFINITY;
        x[force] = 0.0f;
    }
}

/* ---- sampling -------------------------------------------------------------------------------- */

/* Returns 1 when token a ranks before token b (larger value, then lower id). */
static int ranks_before(const float *x, int a, int b)
{
    return x[a] > x[b] || (x[a] == x[b] && a < b);
}

/* Restores the max-heap property of h (n) below position i. */
static void sift_down(int *h, int n, int i, const float *x)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranks_before(x, h[l], h[m]))
            m = l;
        if (r < n && ranks_before(x, h[r], h[m]))
            m = r;
        if (m == i)
            return;
        int t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Removes the best token of heap h (*n) and returns it. */
static int heap_pop(int *h, int *n, const float *x)
{
    int top = h[0];
    h[0] = h[--*n];
    sift_down(h, *n, 0, x);
    return top;
}

/* Draws one token from row x (V, processed logits; overwritten) with temperature, top-k, top-p and
 * min-p in that order, ordering tokens in heap (V); returns the token. */
static int sample_row(gen *g, int *heap, float *x, rng *r)
{
    const gen_params *p = &g->p;
    int V = g->V, n = 0;
    for (int v = 0; v < V; v++) {
        x[v] /= p->temperature;
        if (x[v] > -INFINITY)
            heap[n++] = v;
    }
    if (n == 0)
        return kn_argmax(x, V);
    /* kept tokens end up in keep[0..n_keep), best first, when top-k or top-p is on */
    int *keep = heap, n_keep = n;
    int limit_k = p->top_k > 0 && p->top_k < n, limit_p = p->top_p < 1.0f;
    float m = x[kn_argmax(x, V)];
    if (limit_k || limit_p) {
        for (int i = n / 2 - 1; i >= 0; i--)
            sift_down(heap, n, i, x);
        /* partial heapsort: popped tokens go to the end of the array, best at the very end */
        int hn = n, popped = 0;
        double z = 0;
        if (limit_p) {
            if (limit_k) {
                /* the top-p mass is over the tokens top-k keeps: find its threshold first */
                float thr = -INFINITY;
                int tmp_n = n;
                for (int i = 0; i < p->top_k; i++)
                    thr = x[heap_pop(heap, &tmp_n, x)];
                for (int v = 0; v < V; v++)
                    if (x[v] >= thr)
                        z += exp((double)x[v] - m);
                n = 0;
                for (int v = 0; v < V; v++)
                    if (x[v] >= thr)
                        heap[n++] = v;
                for (int i = n / 2 - 1; i >= 0; i--)
                    sift_down(heap, n, i, x);
                hn = n;
            } else {
                for (int v = 0; v < V; v++)
                    z += exp((double)x[v] - m);
            }
            double cum = 0;
            while (hn > 0 && cum < p->top_p * z) {
                int t = heap_pop(heap, &hn, x);
                heap[hn] = t;
                cum += exp((double)x[t] - m);
                popped++;
            }
        } else {
            float thr = -INFINITY;
            while (hn > 0) {
                int t = heap[0];
                if (popped >= p->top_k && x[t] < thr)
                    break;
                heap_pop(heap, &hn, x);
                heap[hn] = t;
                thr = x[t];
                popped++;
            }
        }
        keep = heap + hn;
        n_keep = popped;
    }
    /* min-p: p_i >= min_p * p_max  <=>  x_i - m >= log(min_p) */
    double min_x = p->min_p > 0 ? m + log((double)p->min_p) : -INFINITY;
    double z = 0;
    for (int i = 0; i < n_keep; i++)
        if (x[keep[i]] >= min_x)
            z += exp((double)x[keep[i]] - m);
    double u = rng_uniform(r) * z, cum = 0;
    int last = keep[0];
    for (int i = n_keep - 1; i >= 0; i--) {
        int t = keep[i];
        if (x[t] < min_x)
            continue;
        last = t;
        cum += exp((double)x[t] - m);
        if (u < cum)
            return t;
    }
    return last;
}

/* ---- shared run helpers ---------------------------------------------------------------------- */

/* Records a model failure; returns ATTN_ERR_DECODER. */
int gen_model_failed(gen *g, int status)
{
    g->model_status = status;
    return ATTN_ERR_DECODER;
}

/* Tells the model that only rows parent[0..kept) of its `rows` rows go on (nothing to do when
 * all go on or none does); returns ATTN_OK or ATTN_ERR_DECODER. */
static int keep_rows(gen *g, const gen_model *m, int kept, int rows)
{
    if (kept < rows && kept > 0) {
        int rc = m->reorder(m->ctx, g->parent, kept);
        if (rc < 0)
            return gen_model_failed(g, rc);
    }
    return ATTN_OK;
}

/* Resets the per-source state of a run of n sources. */
static void reset_sources(gen *g, const gen_source *src, int n)
{
    for (int s = 0; s < n; s++) {
        srcstate *st = &g->src[s];
        rng_seed(&st->r, g->p.seed, src[s].stream);
        st->done = 0;
        st->n_kept = 0;
        st->next_order = 0;
        st->worst = 1e9;
        for (int b = 0; b < g->B && g->p.mode == GEN_BEAM; b++)
            st->kept[b].used = 0;
        gen_result *res = &g->res[s];
        res->settled = st->out_ids;
        res->n_settled = 0;
        res->done = 0;
        res->n_hyps = 0;
        res->hyps = &g->hyps[(size_t)s * g->p.n_best];
    }
}

/* Encodes the sources and starts rows (B per source); returns ATTN_OK or ATTN_ERR_DECODER. */
static int start_rows(gen *g, const gen_model *m, const gen_source *src, int n)
{
    for (int s = 0; s < n; s++) {
        g->src_ids[s] = src[s].ids;
        g->src_len[s] = src[s].len;
    }
    int rc = m->encode(m->ctx, g->src_ids, g->src_len, n);
    if (rc < 0)
        return gen_model_failed(g, rc);
    for (int r = 0; r < n * g->B; r++) {
        g->row_src[r] = r / g->B;
        g->seq[(size_t)r * g->max_len] = g->p.decoder_start_id;
        g->feed[r] = g->p.decoder_start_id;
    }
    rc = m->begin(m->ctx, g->row_src, n * g->B);
    return rc < 0 ? gen_model_failed(g, rc) : ATTN_OK;
}

/* ---- greedy and sampling --------------------------------------------------------------------- */

/* Marks source s finished with its output so far; calls fn. */
static void finish_single(gen *g, int s, int ended, gen_progress_fn fn, void *user)
{
    srcstate *st = &g->src[s];
    gen_result *res = &g->res[s];
    gen_hyp *h = &g->hyps[(size_t)s * g->p.n_best];
    h->ids = st->out_ids;
    h->logprobs = st->out_lps;
    h->attn = st->out_att;
    h->len = res->n_settled;
    h->ended = ended;
    double sum = 0;
    for (int i = 0; i < h->len + ended; i++)
        sum += st->out_lps[i];
    h->score = sum;
    res->n_hyps = 1;
    res->done = 1;
    st->done = 1;
    if (fn)
        fn(user, s);
}

typedef struct single_job {
    gen *g;
    int cur;            /* the sequences' length */
} single_job;

/* Columns [*v0, *v1) of vocabulary chunk c. */
static void chunk_cols(const gen *g, int c, int *v0, int *v1)
{
    *v0 = c * GEN_CHUNK;
    *v1 = *v0 + GEN_CHUNK < g->V ? *v0 + GEN_CHUNK : g->V;
}

/* Copies chunk task % n_chunks of row task / n_chunks of the logits to aux (the raw logits) and
 * writes its kn_sumexp parts. */
static void chunk_sumexp(void *ctx, int task, int thread)
{
    (void)thread;
    gen *g = ((single_job *)ctx)->g;
    int r = task / g->n_chunks, v0, v1;
    chunk_cols(g, task % g->n_chunks, &v0, &v1);
    size_t o = (size_t)r * g->V + (size_t)v0;
    memcpy(g->aux + o, g->logits + o, (size_t)(v1 - v0) * sizeof *g->aux);
    g->part_s[task] = kn_sumexp(&g->part_m[task], g->aux + o, v1 - v0);
}

/* Returns row r's log-sum-exp from its chunks' parts (-inf when every logit is -inf). */
static float row_lse(const gen *g, int r)
{
    const float *m = g->part_m + (size_t)r * g->n_chunks, *s = g->part_s + (size_t)r * g->n_chunks;
    float mx = m[0], sum = 0.0f;
    for (int c = 1; c < g->n_chunks; c++)
        mx = m[c] > mx ? m[c] : mx;
    for (int c = 0; c < g->n_chunks; c++)
        sum += s[c] * expf(m[c] - mx);
    return sum > 0.0f ? mx + logf(sum) : -INFINITY;
}

/* Writes the argmax of chunk task % n_chunks of processed row task / n_chunks. */
static void chunk_argmax(void *ctx, int task, int thread)
{
    (void)thread;
    gen *g = ((single_job *)ctx)->g;
    int v0, v1;
    chunk_cols(g, task % g->n_chunks, &v0, &v1);
    const float *x = g->logits + (size_t)(task / g->n_chunks) * g->V;
    g->part_i[task] = v0 + kn_argmax(x + v0, v1 - v0);
}

/* One row of a greedy or sampling step: its log-sum-exp, processors, then the token (argmax or
 * a draw from its source's stream) and its model log-probability into rtok / rlp. */
static void single_row(void *ctx, int r, int thread)
{
    single_job *sj = ctx;
    gen *g = sj->g;
    int V = g->V;
    float *x = g->logits + (size_t)r * V;
    for (int c = 0; c < g->n_chunks; c++)
        chunk_sumexp(ctx, r * g->n_chunks + c, thread);
    gen_process_row(g, thread, x, g->seq + (size_t)r * g->max_len, sj->cur);
    int tok = g->p.mode == GEN_SAMPLE
                  ? sample_row(g, g->scratch[thread].heap, x, &g->src[g->row_src[r]].r)
                  : kn_argmax(x, V);
    g->rtok[r] = tok;
    g->rlp[r] = g->aux[(size_t)r * V + (size_t)tok] - row_lse(g, r);
}

/* A greedy step whose rows are fewer than the threads, split by vocabulary chunks instead: the
 * raw copy and log-sum-exp parts, the processors (on the caller's thread), then the chunks'
 * argmaxes (the lowest index wins ties, as kn_argmax's). */
static void single_columns(gen *g, single_job *sj, int rows)
{
    int C = g->n_chunks;
    tp_run(g->pool, chunk_sumexp, sj, rows * C);
    for (int r = 0; r < rows; r++)
        gen_process_row(g, 0, g->logits + (size_t)r * g->V, g->seq + (size_t)r * g->max_len,
                        sj->cur);
    tp_run(g->pool, chunk_argmax, sj, rows * C);
    for (int r = 0; r < rows; r++) {
        const float *x = g->logits + (size_t)r * g->V;
        const int *best = g->part_i + (size_t)r * C;
        int tok = best[0];
        for (int c = 1; c < C; c++)
            if (x[best[c]] > x[tok])
                tok = best[c];
        g->rtok[r] = tok;
        g->rlp[r] = g->aux[(size_t)r * g->V + (size_t)tok] - row_lse(g, r);
    }
}

/* Greedy or sampled decoding of n started sources; returns ATTN_OK or ATTN_ERR_DECODER. */
static int run_single(gen *g, const gen_model *m, int n, gen_progress_fn fn, void *user)
{
    int L = g->max_len, rows = n;
    size_t W = (size_t)g->p.attn_width;
    for (int cur = 1; rows > 0; cur++) {
        int rc = m->step(m->ctx, g->logits, g->feed, rows);
        if (rc < 0)
            return gen_model_failed(g, rc);
        const float *att = W ? m->attn(m->ctx) : NULL;
        single_job sj = {g, cur};
        /* rows or vocabulary chunks, whichever gives the threads more tasks */
        if (g->pool && g->p.mode == GEN_GREEDY && rows < g->n_scratch && g->n_chunks > 1)
            single_columns(g, &sj, rows);
        else
            gen_for_rows(g, single_row, &sj, rows);
        int kept = 0;
        for (int r = 0; r < rows; r++) {
            int s = g->row_src[r];
            srcstate *st = &g->src[s];
            int32_t *seq = g->seq + (size_t)r * L;
            int tok = g->rtok[r];
            gen_result *res = &g->res[s];
            st->out_lps[res->n_settled] = g->rlp[r];
            if (att)
                memcpy(st->out_att + (size_t)res->n_settled * W, att + r * W, W * sizeof *att);
            if (tok == g->p.eos_id) {
                finish_single(g, s, 1, fn, user);
                continue;
            }
            st->out_ids[res->n_settled++] = tok;
            if (cur + 1 >= L) {
                finish_single(g, s, 0, fn, user);
                continue;
            }
            if (fn)
                fn(user, s);
            seq[cur] = tok;
            g->parent[kept] = r;
            if (kept != r) {
                memcpy(g->seq + (size_t)kept * L, seq, (size_t)(cur + 1) * sizeof *seq);
                g->row_src[kept] = s;
            }
            g->feed[kept++] = tok;
        }
        if ((rc = keep_rows(g, m, kept, rows)) < 0)
            return rc;
        rows = kept;
    }
    return ATTN_OK;
}

int gen_run(gen *g, const gen_model *m, const gen_source *src, int n_src, gen_progress_fn fn,
            void *user)
{
    if (n_src < 0 || n_src > g->max_src)
        return ATTN_ERR_TOO_MANY;
    if (m->vocab_size != g->V || (g->p.attn_width > 0 && !m->attn))
        return ATTN_ERR_PARAM;
    if (n_src == 0)
        return ATTN_OK;
    reset_sources(g, src, n_src);
    int rc = start_rows(g, m, src, n_src);
    if (rc < 0)
        return rc;
    return g->p.mode == GEN_BEAM ? gen_run_beam(g, m, n_src, fn, user)
                                 : run_single(g, m, n_src, fn, user);
}

/* ---- scoring --------------------------------------------------------------------------------- */

int gen_score(gen *g, const gen_model *m, float *const *logprobs, const gen_source *src,
              const int32_t *const *tgt, const int *tgt_len, int n)
{
    if (n < 0 || n > g->max_rows || n > g->max_src)
        return ATTN_ERR_TOO_MANY;
    if (m->vocab_size != g->V || (g->p.attn_width > 0 && !m->attn))
        return ATTN_ERR_PARAM;
    size_t W = (size_t)g->p.attn_width;
    int f = g->p.forced_bos_id >= 0, has_eos = g->p.eos_id >= 0, longest = 0;
    for (int t = 0; t < n; t++) {
        if (tgt_len[t] < 0 || 1 + f + tgt_len[t] > g->p.max_new_tokens + (has_eos ? 0 : 1))
            return ATTN_ERR_TOO_LONG;
        for (int i = 0; i < tgt_len[t]; i++)
            if (tgt[t][i] < 0 || tgt[t][i] >= g->V)
                return ATTN_ERR_PARAM;
        if (tgt_len[t] > longest)
            longest = tgt_len[t];
    }
    if (n == 0)
        return ATTN_OK;
    int saved_beams = g->B;
    g->B = 1;
    int rc = start_rows(g, m, src, n);
    g->B = saved_beams;
    if (rc < 0)
        return rc;
    int rows = n, V = g->V;
    if (f) {
        rc = m->step(m->ctx, g->logits, g->feed, rows);
        if (rc < 0)
            return gen_model_failed(g, rc);
        for (int r = 0; r < rows; r++)
            g->feed[r] = g->p.forced_bos_id;
    }
    /* row r scores pair row_src[r]; at position j it predicts tgt[j] (or eos at j == len) */
    for (int j = 0; rows > 0 && j <= longest; j++) {
        rc = m->step(m->ctx, g->logits, g->feed, rows);
        if (rc < 0)
            return gen_model_failed(g, rc);
        const float *att = W ? m->attn(m->ctx) : NULL;
        int kept = 0;
        for (int r = 0; r < rows; r++) {
            int t = g->row_src[r];
            const float *x = g->logits + (size_t)r * V;
            if (att)
                memcpy(g->src[t].out_att + (size_t)j * W, att + r * W, W * sizeof *att);
            if (j < tgt_len[t]) {
                int tok = tgt[t][j];
                logprobs[t][j] = x[tok] - kn_logsumexp(x, V);
                if (j + 1 == tgt_len[t] && !has_eos)
                    continue;
                g->parent[kept] = r;
                g->row_src[kept] = t;
                g->feed[kept++] = tok;
            } else if (has_eos) {
                logprobs[t][j] = x[g->p.eos_id] - kn_logsumexp(x, V);
            }
        }
        if ((rc = keep_rows(g, m, kept, rows)) < 0)
            return rc;
        rows = kept;
    }
    return ATTN_OK;
}
