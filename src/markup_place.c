/* markup_place.c — a parsed record's tags put back into its translation: each at the output word
 * boundary that stands for its source boundary, in document order (markup.h says how). */
#include <stdlib.h>
#include <string.h>

#include "markup_int.h"
#include "status.h"

static const char punct[] = ".,;:!?";

#define NOT_IN ((size_t)-1)

/* Word boundaries of a text: starts and ends of its words (as src/align.h counts them). */
typedef struct words {
    size_t *start, *end;        /* (n) */
    int n;
} words;

/* Splits s (n bytes) into words; returns 0 or -1 (out of memory). */
static int split(words *w, const char *s, size_t n)
{
    w->start = malloc((n / 2 + 1) * sizeof *w->start);
    w->end = malloc((n / 2 + 1) * sizeof *w->end);
    w->n = 0;
    if (!w->start || !w->end)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (al_is_space((unsigned char)s[i]))
            continue;
        w->start[w->n] = i;
        while (i < n && !al_is_space((unsigned char)s[i]))
            i++;
        w->end[w->n++] = i;
    }
    return 0;
}

/* Returns the code point of the UTF-8 character at s (n bytes left) and its length in *len. */
static uint32_t utf8_char(const char *s, size_t n, size_t *len)
{
    unsigned char c = (unsigned char)s[0];
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (k > n)
        k = 1;
    uint32_t v = k == 1 ? c : c & (0x7F >> k);
    for (size_t i = 1; i < k; i++)
        v = v << 6 | ((unsigned char)s[i] & 0x3F);
    *len = k;
    return v;
}

/* The state of one restore: the translation with found `code` replaced by CODE_MARK, its
 * words, the source's words and each event's output boundary. */
typedef struct place {
    const markup *m;
    buf w;                      /* the translation, `code` found replaced by CODE_MARK */
    int *found;                 /* (n_ev) 1: a code atom written in place of its CODE_MARK */
    int *pos;                   /* (n_ev) output word boundary of each event */
    size_t *in;                 /* (n_ev) offset in the translation of an event put inside a
                                   word (before word pos[e]'s end), or NOT_IN */
    words src, out;
    al_link *links;             /* (n_links) source word - output word of P->w, checked */
    int n_links;
    int *score;                 /* (out.n) aligned_run's scratch */
} place;

/* Replaces the first `code` of each code atom found in the translation (in document order)
 * by CODE_MARK, noting each replacement in ed (room for n_ev; offsets of the translation before
 * any); returns their number. */
static int mark_code(place *P, al_edit *ed)
{
    int n_ed = 0;
    size_t shrunk = 0;
    const markup *m = P->m;
    size_t from = 0;
    for (int e = 0; e < m->n_ev; e++) {
        const event *ev = &m->ev[e];
        if (!ev->code)
            continue;
        const char *code = m->plain.p + ev->code_off;
        char *at = from < P->w.len ? memmem(P->w.p + from, P->w.len - from, code, ev->code_len)
                                   : NULL;
        if (!at)
            continue;
        size_t i = (size_t)(at - P->w.p);
        P->w.p[i] = CODE_MARK;
        memmove(P->w.p + i + 1, P->w.p + i + ev->code_len, P->w.len - i - ev->code_len + 1);
        P->w.len -= ev->code_len - 1;
        P->found[e] = 1;
        ed[n_ed++] = (al_edit){i + shrunk, ev->code_len, 1};
        shrunk += ev->code_len - 1;
        from = i + 1;
    }
    return n_ed;
}

/* Returns the number of source words that start before plain offset off. */
static int source_boundary(const place *P, size_t off)
{
    int lo = 0, hi = P->src.n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (P->src.start[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Returns the output boundary of source boundary b: where the links put it (al_project; with
 * no links, the same relative position). */
static int point(const place *P, int b)
{
    return al_project(P->links, P->n_links, b, P->src.n, P->out.n);
}

/* Returns 1 when open event e's element held source words. */
static int held_words(const place *P, int e)
{
    const markup *m = P->m;
    return source_boundary(P, m->ev[m->ev[e].partner].off) > source_boundary(P, m->ev[e].off);
}

/* Finds the source words [a, b) unchanged and once only in the output; sets *oa, *ob to their
 * output words and returns 1, or returns 0. */
static int anchor(const place *P, int a, int b, int *oa, int *ob)
{
    const char *s = P->m->plain.p + P->src.start[a];
    size_t n = P->src.end[b - 1] - P->src.start[a];
    int hits = 0;
    for (int i = 0; i < P->out.n; i++) {
        if (P->out.start[i] + n > P->w.len || memcmp(P->w.p + P->out.start[i], s, n) != 0)
            continue;
        int j = i;
        while (j < P->out.n && P->out.end[j] < P->out.start[i] + n)
            j++;
        if (j < P->out.n && P->out.end[j] == P->out.start[i] + n) {
            hits++;
            *oa = i;
            *ob = j + 1;
        }
    }
    return hits == 1;
}

/* Puts each event that stands inside a source word (no space on either side) at the same
 * place inside that word's output copy, when the word occurs once in the output. */
static void inside_words(place *P)
{
    const markup *m = P->m;
    for (int e = 0; e < m->n_ev; e++) {
        size_t off = m->ev[e].off;
        int k = source_boundary(P, off + 1) - 1;    /* the last word starting at or before off */
        if (k < 0 || P->src.end[k] <= off)
            continue;
        if (m->ev[e].glued || k == P->src.n || P->src.start[k] >= off)
            continue;
        const char *word = m->plain.p + P->src.start[k];
        size_t len = P->src.end[k] - P->src.start[k];
        int hit = -1, hits = 0;
        for (int j = 0; j < P->out.n; j++)
            if (P->out.end[j] - P->out.start[j] == len &&
                memcmp(P->w.p + P->out.start[j], word, len) == 0) {
                hit = j;
                hits++;
            }
        if (hits == 1) {
            P->pos[e] = hit;
            P->in[e] = P->out.start[hit] + (off - P->src.start[k]);
        }
    }
}

/* Finds the output words that stand for source words [a, b) by the links: the run of output
 * words with the most words linked into [a, b) less those linked only outside, widened over
 * unlinked words towards where the links put the boundaries a and b; sets *oa, *ob and returns
 * 1, or returns 0 when no output word is linked into [a, b). */
static int aligned_run(const place *P, int a, int b, int *oa, int *ob)
{
    int n = P->out.n, *score = P->score;
    for (int j = 0; j < n; j++)
        score[j] = 0;
    for (int i = 0; i < P->n_links; i++) {
        int j = P->links[i].tgt, in = P->links[i].src >= a && P->links[i].src < b;
        if (in)
            score[j] = 1;
        else if (score[j] == 0)
            score[j] = -1;
    }
    int best = 0, sum = 0, from = 0;
    for (int j = 0; j < n; j++) {     /* the best run from a linked word to a linked word */
        if (sum <= 0 && score[j] == 1) {
            sum = 0;
            from = j;
        }
        sum += score[j];
        if (score[j] == 1 && sum > best) {
            best = sum;
            *oa = from;
            *ob = j + 1;
        }
    }
    if (best == 0)
        return 0;
    int pa = point(P, a), pb = point(P, b);
    while (*oa > pa && score[*oa - 1] == 0)
        (*oa)--;
    while (*ob < pb && score[*ob] == 0)
        (*ob)++;
    return 1;
}

/* Gives every event an output boundary (or a place inside a word), in document order: an
 * element around the same words unchanged in the output, else around the words linked to its
 * words, else at the boundaries the links (or relative positions) give; events between words
 * where the links put that boundary. Then makes the boundaries follow document order, each
 * element that held words keeping one while the output has one left. */
static void position(place *P)
{
    const markup *m = P->m;
    for (int e = 0; e < m->n_ev; e++)
        P->pos[e] = -1;
    for (int e = 0; e < m->n_ev; e++) {
        const event *ev = &m->ev[e];
        if (P->pos[e] >= 0)
            continue;
        int a = source_boundary(P, ev->off);
        P->pos[e] = point(P, a);
        if (ev->type != EV_OPEN || ev->partner < 0)
            continue;
        int b = source_boundary(P, m->ev[ev->partner].off), oa, ob;
        if (b > a && (anchor(P, a, b, &oa, &ob) || aligned_run(P, a, b, &oa, &ob))) {
            P->pos[e] = oa;
            P->pos[ev->partner] = ob;
        } else {
            P->pos[ev->partner] = point(P, b);
            if (b > a && P->pos[ev->partner] <= P->pos[e])
                P->pos[ev->partner] = P->pos[e] + (P->pos[e] < P->out.n);
        }
    }
    inside_words(P);
    int floor = 0, min_word = -1;     /* last normal boundary; last word holding an event */
    size_t min_off = 0;
    for (int e = 0; e < m->n_ev; e++) {
        if (P->in[e] != NOT_IN) {
            if (P->pos[e] == min_word ? P->in[e] >= min_off : P->pos[e] >= floor &&
                P->pos[e] > min_word) {
                min_word = P->pos[e];
                min_off = P->in[e];
                continue;
            }
            P->in[e] = NOT_IN;
        }
        if (P->pos[e] < floor)
            P->pos[e] = floor;
        if (P->pos[e] <= min_word)
            P->pos[e] = min_word + 1;
        const event *ev = &m->ev[e];
        if (ev->type == EV_OPEN && ev->partner >= 0 && P->in[ev->partner] == NOT_IN &&
            held_words(P, e) && P->pos[ev->partner] <= P->pos[e] && P->pos[e] < P->out.n)
            P->pos[ev->partner] = P->pos[e] + 1;    /* pushed past its close: keep a word */
        floor = P->pos[e];
    }
}

/* Returns 1 when closing event e goes before the final punctuation of the output word it
 * follows: the source has only punctuation between it and the next space, or it closes on a
 * word without final punctuation and more text follows it. */
static int before_punct(const place *P, int e)
{
    const markup *m = P->m;
    const event *ev = &m->ev[e];
    size_t i = ev->off;
    if (ev->type != EV_CLOSE || i >= m->plain.len)
        return 0;
    if (!strchr(punct, m->plain.p[i]))
        return i > 0 && !strchr(punct, m->plain.p[i - 1]) &&
               !al_is_space((unsigned char)m->plain.p[i - 1]);
    while (i < m->plain.len && m->plain.p[i] && strchr(punct, m->plain.p[i]))
        i++;
    return i == m->plain.len || strchr(" \t\r\n", m->plain.p[i]);
}

/* Appends text (n bytes) escaped: found code atoms for CODE_MARK, &, < and > as references,
 * and each character the record wrote as a reference the same way. */
static void add_text(place *P, buf *o, const char *s, size_t n, int *code_next)
{
    markup *m = (markup *)P->m;
    for (size_t i = 0; i < n;) {
        size_t len;
        uint32_t cp = utf8_char(s + i, n - i, &len);
        const char *rep = NULL;
        if (cp == (unsigned char)CODE_MARK) {
            while (*code_next < m->n_ev && !P->found[*code_next])
                (*code_next)++;
            if (*code_next < m->n_ev) {
                const event *ev = &m->ev[(*code_next)++];
                markup_add(m, o, m->raw.p + ev->raw, ev->raw_len);
            }
            i += len;
            continue;
        }
        for (int k = 0; k < m->n_ent && !rep; k++)
            if (m->ent_cp[k] == cp)
                rep = m->ent_ref[k];
        if (!rep)
            rep = cp == '&' ? "&amp;" : cp == '<' ? "&lt;" : cp == '>' ? "&gt;" : NULL;
        if (rep)
            markup_add(m, o, rep, strlen(rep));
        else
            markup_add(m, o, s + i, len);
        i += len;
    }
}

/* Appends event e's text unless it is a code atom written in place of its CODE_MARK. */
static void add_event_text(place *P, buf *o, int e)
{
    markup *m = (markup *)P->m;
    if (!P->found[e])
        markup_add(m, o, m->raw.p + m->ev[e].raw, m->ev[e].raw_len);
}

/* Where an event stands against the space between two source words. */
enum { AT_BEFORE, AT_INSIDE, AT_AFTER, AT_GLUED };

/* Returns where event e stands: on the end of the word before it, inside the space, on the start
 * of the word after it, or between two words the plain text had to separate. */
static int event_place(const place *P, int e)
{
    const markup *m = P->m;
    const event *ev = &m->ev[e];
    if (ev->glued)
        return AT_GLUED;
    int before = ev->off == 0 || strchr(" \t\r\n", m->plain.p[ev->off - 1]);
    int after = ev->off >= m->plain.len || strchr(" \t\r\n", m->plain.p[ev->off]);
    if (!before && !after)
        return ev->type == EV_CLOSE ? AT_BEFORE : AT_AFTER;
    return !before ? AT_BEFORE : !after ? AT_AFTER : AT_INSIDE;
}

/* Writes the space before output word p (p = n: after the last word) and the events at
 * boundary p, each on the side of the space where it stood in the source; returns the index
 * of the first event past boundary p. */
static int emit_boundary(place *P, buf *o, int p, int e, int *code_next)
{
    markup *m = (markup *)P->m;
    int n = P->out.n;
    size_t gs = p == 0 ? 0 : P->out.end[p - 1], ge = p == n ? P->w.len : P->out.start[p];
    const char *gap = P->w.p + gs, *tail = NULL;
    size_t glen = ge - gs, tlen = 0;
    int done = 0;
    for (; e < m->n_ev && P->pos[e] == p && P->in[e] == NOT_IN; e++) {
        if (P->found[e])
            continue;
        int at = event_place(P, e);
        if (at == AT_GLUED) {
            done = 1;
        } else if (at == AT_INSIDE && !done) {
            done = 1;
            size_t off = m->ev[e].off;
            if (p == 0) {       /* the record's space after the tag, if the output has none */
                int sp = glen == 0 && n > 0 && off < m->plain.len &&
                         al_is_space((unsigned char)m->plain.p[off]);
                tail = sp ? " " : gap, tlen = sp ? 1 : glen;
            } else if (p == n || glen == 0) {   /* and the space before it, at the end */
                add_text(P, o, gap, glen, code_next);
                if (glen == 0 && off > 0 && al_is_space((unsigned char)m->plain.p[off - 1]))
                    add_text(P, o, " ", 1, code_next);
            } else {
                add_text(P, o, gap, 1, code_next);
                tail = glen > 1 ? gap + 1 : " ", tlen = glen > 1 ? glen - 1 : 1;
            }
        } else if (at == AT_AFTER) {
            if (!done)
                add_text(P, o, gap, glen, code_next);
            if (tail)
                add_text(P, o, tail, tlen, code_next);
            done = 1, tail = NULL;
        }
        add_event_text(P, o, e);
    }
    if (!done)
        add_text(P, o, gap, glen, code_next);
    if (tail)
        add_text(P, o, tail, tlen, code_next);
    return e;
}

/* Writes the translation's words with the events between them into o. */
static void emit(place *P, buf *o)
{
    markup *m = (markup *)P->m;
    const char *w = P->w.p;
    int e = 0, code_next = 0, n = P->out.n;
    for (int p = 0; p <= n; p++) {
        e = emit_boundary(P, o, p, e, &code_next);
        if (p == n)
            break;
        size_t s = P->out.start[p], t = P->out.end[p];
        for (; e < m->n_ev && P->pos[e] == p && P->in[e] != NOT_IN; e++) {
            add_text(P, o, w + s, P->in[e] - s, &code_next);
            add_event_text(P, o, e);
            s = P->in[e];
        }
        while (t > s + 1 && strchr(punct, w[t - 1]))
            t--;
        if (t < P->out.end[p] && t > s && e < m->n_ev && P->pos[e] == p + 1 && before_punct(P, e)) {
            add_text(P, o, w + s, t - s, &code_next);
            for (; e < m->n_ev && P->pos[e] == p + 1 && before_punct(P, e); e++)
                add_event_text(P, o, e);
            add_text(P, o, w + t, P->out.end[p] - t, &code_next);
        } else {
            add_text(P, o, w + s, P->out.end[p] - s, &code_next);
        }
    }
    for (; e < m->n_ev; e++)
        add_event_text(P, o, e);
}

/* Takes links (n, source word - word of hyp, hyp being old before mark_code's edits ed, n_ed)
 * into P->links in the words of P->w, dropping those out of range; returns 0 or -1 (out of
 * memory). */
static int take_links(place *P, const al_link *links, int n, const char *old, size_t old_len,
                      const al_edit *ed, int n_ed)
{
    int n_old = al_count_words(old, old_len);
    int *map = malloc(((size_t)n_old + 1) * sizeof *map);
    P->links = malloc(((size_t)n + 1) * sizeof *P->links);
    P->score = malloc(((size_t)P->out.n + 1) * sizeof *P->score);
    if (!map || !P->links || !P->score) {
        free(map);
        return -1;
    }
    al_word_map(map, old, old_len, ed, n_ed, P->w.p, P->w.len);
    for (int i = 0; i < n; i++)
        if (links[i].src >= 0 && links[i].src < P->src.n && links[i].tgt >= 0 &&
            links[i].tgt < n_old)
            P->links[P->n_links++] = links[i];
    P->n_links = al_relink(P->links, P->n_links, map);
    free(map);
    return 0;
}

int markup_restore(const markup *m, const char *hyp, size_t hyp_len, const al_link *links,
                   int n_links, char **out, size_t *out_len)
{
    markup *mm = (markup *)m;
    place P = {.m = m};
    buf o = {0}, old = {0};
    int rc = ATTN_ERR_NOMEM;
    *out = NULL;
    mm->nomem = 0;
    for (size_t i = 0; i < hyp_len; i++)
        if (hyp[i] != CODE_MARK)
            markup_add(mm, &P.w, hyp + i, 1);
    markup_add(mm, &P.w, "", 0);
    markup_add(mm, &old, P.w.p, P.w.len);
    P.found = calloc((size_t)m->n_ev + 1, sizeof *P.found);
    P.pos = calloc((size_t)m->n_ev + 1, sizeof *P.pos);
    P.in = malloc(((size_t)m->n_ev + 1) * sizeof *P.in);
    al_edit *ed = malloc(((size_t)m->n_ev + 1) * sizeof *ed);
    if (mm->nomem || !P.found || !P.pos || !P.in || !ed)
        goto done;
    int n_ed = mark_code(&P, ed);
    if (split(&P.src, m->plain.p, m->plain.len) < 0 || split(&P.out, P.w.p, P.w.len) < 0 ||
        take_links(&P, links, n_links, old.p, old.len, ed, n_ed) < 0)
        goto done;
    for (int e = 0; e < m->n_ev; e++)
        P.in[e] = NOT_IN;
    position(&P);
    emit(&P, &o);
    markup_add(mm, &o, "", 0);
    if (!mm->nomem) {
        *out = o.p;
        *out_len = o.len;
        o.p = NULL;
        rc = ATTN_OK;
    }
done:
    free(o.p);
    free(old.p);
    free(ed);
    free(P.w.p);
    free(P.found);
    free(P.pos);
    free(P.in);
    free(P.links);
    free(P.score);
    free(P.src.start);
    free(P.src.end);
    free(P.out.start);
    free(P.out.end);
    return rc;
}
