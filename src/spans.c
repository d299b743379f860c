/* spans.c — protected spans: found with one PCRE2 pattern, repaired in a model's output. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "spans.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

/* One alternative per kind, in span_kind order; the first that matches at the leftmost
 * position wins.  Each starts only where a word starts or on a sign that no word holds, and
 * looks ahead a bounded distance, so that a long record is searched in linear time. */
#define EMOJI_BASE "[\\x{1F000}-\\x{1FAFF}\\x{2600}-\\x{27BF}\\x{2B00}-\\x{2BFF}]"
static const char *const kind_pattern[SPAN_N_KINDS] = {
    /* url */
    "(?:(?:https?|s?ftp|file|git|ssh|rsync)://|www\\.)[^\\s<>\"'`]*[^\\s<>\"'`.,;:!?)\\]}]",
    /* email */
    "(?<![\\w.+-])[\\w.+-]{1,64}@[\\w-]+(?:\\.[\\w-]+)*\\.[A-Za-z]{2,}",
    /* code in backticks */
    "`[^`\\n]+`",
    /* path: absolute, home- or dot-relative, relative with a file name, or Windows */
    "(?<![\\w/.~])(?:~|\\.\\.?)?/(?:[\\w.+@%-]+/)*[\\w+@%-]+(?:\\.[\\w+-]+)*/?"
    "|(?<![\\w/.-])(?:[\\w.-]+/)+[\\w-]+\\.[A-Za-z0-9]{1,8}\\b"
    "|(?<!\\w)[A-Za-z]:\\\\(?:[\\w.-]+\\\\)*[\\w.-]*\\w",
    /* printf and brace placeholders */
    "(?<![A-Za-z0-9%])%(?:\\d+\\$)?[-+#0']*(?:\\d+|\\*)?(?:\\.(?:\\d+|\\*))?"
    "(?:hh|h|ll|l|L|j|z|t|q)?[A-Za-z](?![A-Za-z0-9])|%%"
    "|\\{\\{?[\\w.:!/\\[\\]-]*\\}\\}?",
    /* environment variables */
    "\\$\\{[A-Za-z_]\\w*\\}|\\$[A-Za-z_]\\w*|%[A-Za-z_]\\w*%"
    "|\\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\\b",
    /* command-line options */
    "(?<![\\w-])(?:--[A-Za-z0-9](?:[\\w-]*\\w)?|-[A-Za-z][A-Za-z0-9]*)(?:=[^\\s,;]*[^\\s,;.])?",
    /* identifiers: CVE, standards with their number, bug numbers */
    "\\b(?:CVE-\\d{4}-\\d+|(?:RFC|ISO|IEC|IEEE|PEP|ECMA|CWE|ISBN|DSA|DLA|USN|ANSI|DIN)"
    "[ -]?\\d+(?:[.:-]\\d+)*)\\b|(?<![\\w#])#\\d+\\b",
    /* numbers and every word with a digit: versions, dates, times, sizes, 3D, x86_64 (not
     * ordinals, which languages write their own way) */
    "(?<![\\w.,:/+-])[+-]?\\.?(?=[\\w.,:/+~-]{0,64}\\d)(?!\\d+(?:st|nd|rd|th)\\b)"
    "\\w+(?:[.,:/+~-]\\w+)*\\+*(?:%|°[CF])?",
    /* emoji, with variation selectors, skin tones, tags and joined sequences */
    EMOJI_BASE "(?:[\\x{FE0F}\\x{20E3}\\x{1F3FB}-\\x{1F3FF}\\x{E0020}-\\x{E007F}]|\\x{200D}"
    EMOJI_BASE ")*",
};

static const char *const kind_name[SPAN_N_KINDS] = {
    "url", "email", "code", "path", "placeholder", "env", "option", "ident", "number", "emoji",
};

struct spans {
    pcre2_code *re;
    pcre2_match_data *md;
};

const char *spans_kind_name(span_kind k)
{
    return (unsigned)k < SPAN_N_KINDS ? kind_name[k] : "?";
}

int spans_open(spans **out)
{
    *out = NULL;
    size_t len = 0;
    for (int k = 0; k < SPAN_N_KINDS; k++)
        len += strlen(kind_pattern[k]) + 3;
    char *pat = malloc(len + 1);
    spans *sp = calloc(1, sizeof *sp);
    if (!pat || !sp) {
        free(pat);
        free(sp);
        return ATTN_ERR_NOMEM;
    }
    char *p = pat;
    for (int k = 0; k < SPAN_N_KINDS; k++)
        p += sprintf(p, "%s(%s)", k ? "|" : "", kind_pattern[k]);
    int err;
    PCRE2_SIZE off;
    sp->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP |
                           PCRE2_NO_UTF_CHECK, &err, &off, NULL);
    free(pat);
    if (sp->re)
        sp->md = pcre2_match_data_create_from_pattern(sp->re, NULL);
    if (!sp->re || !sp->md) {
        spans_free(sp);
        return ATTN_ERR_NOMEM;
    }
    *out = sp;
    return ATTN_OK;
}

void spans_free(spans *sp)
{
    if (!sp)
        return;
    pcre2_match_data_free(sp->md);
    pcre2_code_free(sp->re);
    free(sp);
}

int spans_find(spans *sp, const char *text, size_t len, span *out, int cap)
{
    int n = 0;
    size_t at = 0;
    uint32_t opts = 0;
    while (at <= len) {
        int rc = pcre2_match(sp->re, (PCRE2_SPTR)text, len, at, opts, sp->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_BADUTFOFFSET || rc < 0)
            return rc == PCRE2_ERROR_NOMEMORY ? ATTN_ERR_NOMEM : n;
        opts = PCRE2_NO_UTF_CHECK;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sp->md);
        int kind = 0;
        while (kind + 1 < rc && ov[2 * (kind + 1)] == PCRE2_UNSET)
            kind++;
        if (n < cap)
            out[n] = (span){ov[0], ov[1] - ov[0], (span_kind)kind};
        n++;
        at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    return n;
}

int spans_count(spans *sp, const char *text, size_t len)
{
    return spans_find(sp, text, len, NULL, 0);
}

/* ---- counting ------------------------------------------------------------------------------ */

/* Returns 1 for a byte that continues a word: ASCII letters and digits, '_', and UTF-8. */
static int wordish(unsigned char c)
{
    return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* Returns 1 when needle stands alone at hay[i..i+m): no word continues across its edges, not
 * even through a joining character ("foo" is not in "foo-05", "64" not in "x86-64"). */
static int standalone(const char *hay, size_t n, size_t i, const char *needle, size_t m)
{
    static const char join[] = ".,:-/";
    unsigned char first = (unsigned char)needle[0], last = (unsigned char)needle[m - 1];
    const unsigned char *h = (const unsigned char *)hay;
    if (first < 0x80 && wordish(first) && i > 0 &&
        (wordish(h[i - 1]) || (i > 1 && strchr(join, h[i - 1]) && wordish(h[i - 2]))))
        return 0;
    size_t e = i + m;
    if (last < 0x80 && wordish(last) && e < n &&
        (wordish(h[e]) || (e + 1 < n && strchr(join, h[e]) && wordish(h[e + 1]))))
        return 0;
    return 1;
}

/* Returns the position of the next standalone occurrence of needle in hay from `from`, or
 * (size_t)-1. */
static size_t next_occurrence(const char *hay, size_t n, size_t from, const char *needle,
                              size_t m)
{
    while (m > 0 && from + m <= n) {
        const char *p = memmem(hay + from, n - from, needle, m);
        if (!p)
            break;
        size_t i = (size_t)(p - hay);
        if (standalone(hay, n, i, needle, m))
            return i;
        from = i + 1;
    }
    return (size_t)-1;
}

int spans_occurrences(const char *hay, size_t n, const char *needle, size_t m)
{
    int c = 0;
    for (size_t i = next_occurrence(hay, n, 0, needle, m); i != (size_t)-1;
         i = next_occurrence(hay, n, i + m, needle, m))
        c++;
    return c;
}

/* ---- repair -------------------------------------------------------------------------------- */

/* One change to the output: del bytes at pos replaced by ins (ins_len), with a space added
 * before or after it; a span put in also has its first source word, and once applied the
 * offset of ins in the result. */
typedef struct edit {
    size_t pos, del;
    const char *ins;
    size_t ins_len;
    int space_before, space_after;
    int src_word;               /* the word of src where the span put in starts, or -1 */
    size_t new_at;
} edit;

/* A source occurrence the output lacks. */
typedef struct missing {
    size_t src_pos;
    const char *text;
    size_t len;
} missing;

/* Everything spans_restore works with; allocated per call. */
typedef struct repair {
    const char *src, *hyp;
    size_t src_len, hyp_len;
    span *sp;                   /* (n_sp) the source's spans */
    int n_sp;
    size_t (*busy)[2];          /* (n_busy) output byte ranges already settled */
    int n_busy;
    size_t (*surplus)[2];       /* (n_surplus) output copies beyond the source's count */
    int n_surplus;
    missing *miss;              /* (n_miss) */
    int n_miss;
    edit *ed;                   /* (n_ed) */
    int n_ed;
    size_t (*word)[2];          /* (n_word) the output's words (as src/align.h counts them) */
    int n_word;
    const al_link *links;       /* (n_links) source word - output word, or none */
    int n_links;
} repair;

#define MAX_DIST_LEN 512

/* Decodes UTF-8 s (n bytes) into at most MAX_DIST_LEN code units (a byte of invalid UTF-8
 * counts as one); returns their number, or -1 when there are more. */
static int code_points(uint32_t *out, const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; k++) {
        if (k == MAX_DIST_LEN)
            return -1;
        unsigned char c = (unsigned char)s[i];
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (i + len > n)
            len = 1;
        uint32_t v = c;
        for (size_t j = 1; j < len; j++)
            v = v << 8 | (unsigned char)s[i + j];
        out[k] = v;
        i += len;
    }
    return k;
}

/* Returns the Levenshtein distance of a (n bytes) and b (m bytes) in characters, and their
 * lengths in characters in *la and *lb; returns -1 when one is too long. */
static int distance(const char *a, size_t n, const char *b, size_t m, int *la, int *lb)
{
    uint32_t x[MAX_DIST_LEN], y[MAX_DIST_LEN];
    int nx = code_points(x, a, n), ny = code_points(y, b, m);
    if (nx < 0 || ny < 0)
        return -1;
    int row[2][MAX_DIST_LEN + 1];
    for (int j = 0; j <= ny; j++)
        row[0][j] = j;
    for (int i = 1; i <= nx; i++) {
        int *cur = row[i & 1], *prev = row[(i - 1) & 1];
        cur[0] = i;
        for (int j = 1; j <= ny; j++) {
            int d = prev[j - 1] + (x[i - 1] != y[j - 1]);
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            cur[j] = d;
        }
    }
    *la = nx;
    *lb = ny;
    return row[nx & 1][ny];
}

/* Returns 1 when output bytes [a, b) overlap a settled range. */
static int is_busy(const repair *R, size_t a, size_t b)
{
    for (int i = 0; i < R->n_busy; i++)
        if (a < R->busy[i][1] && R->busy[i][0] < b)
            return 1;
    return 0;
}

/* Returns 1 when text (len) equals one of the source's spans. */
static int is_source_span(const repair *R, const char *text, size_t len)
{
    for (int i = 0; i < R->n_sp; i++)
        if (R->sp[i].len == len && memcmp(R->src + R->sp[i].start, text, len) == 0)
            return 1;
    return 0;
}

/* Narrows [*a, *b) past punctuation the span s (m) does not have at the same edge. */
static void trim(const repair *R, size_t *a, size_t *b, const char *s, size_t m)
{
    static const char open[] = "([{\"'<", close[] = ".,;:!?)]}\"'>";
    while (*a < *b && strchr(open, R->hyp[*a]) && R->hyp[*a] != s[0])
        (*a)++;
    while (*b > *a && strchr(close, R->hyp[*b - 1]) && R->hyp[*b - 1] != s[m - 1])
        (*b)--;
}

/* Returns the word of text (as src/align.h counts them) that holds its non-space byte at. */
static int word_of(const char *text, size_t at)
{
    return al_count_words(text, at + 1) - 1;
}

/* Finds the output words most like missing span x: sets *a, *b and returns 1, or returns 0
 * when no run of words unsettled, no copy of a source word and at most half different (or
 * starting with the whole span, which the model glued to other letters) is found. */
static int best_candidate(const repair *R, const missing *x, size_t *a, size_t *b)
{
    int k = al_count_words(x->text, x->len), best = -1;
    double want = R->src_len ? (double)x->src_pos / (double)R->src_len * (double)R->hyp_len : 0;
    double best_off = 0;
    for (int w = 0; w + k <= R->n_word; w++) {
        size_t s = R->word[w][0], e = R->word[w + k - 1][1];
        trim(R, &s, &e, x->text, x->len);
        if (s >= e || is_busy(R, s, e))
            continue;
        if (spans_occurrences(R->src, R->src_len, R->hyp + s, e - s) > 0 &&
            !is_source_span(R, R->hyp + s, e - s))
            continue;
        int la, lb, d = distance(R->hyp + s, e - s, x->text, x->len, &la, &lb);
        int glued = e - s > x->len && memcmp(R->hyp + s, x->text, x->len) == 0;
        if (d < 0 || (d * 2 > (la > lb ? la : lb) && !glued))
            continue;
        double off = (double)s > want ? (double)s - want : want - (double)s;
        if (best < 0 || d < best || (d == best && off < best_off)) {
            best = d;
            best_off = off;
            *a = s;
            *b = e;
        }
    }
    return best >= 0;
}

/* Returns the output position where missing span x is inserted: the start of the word where
 * the links put the boundary before x's source word, else of the word nearest its relative
 * source position, or the end of the last word (*at_end set). */
static size_t insert_position(const repair *R, const missing *x, int *at_end)
{
    size_t end = R->hyp_len;
    while (end > 0 && strchr(" \t.!?;:", R->hyp[end - 1]))
        end--;
    if (R->n_links > 0) {
        int p = al_project(R->links, R->n_links, word_of(R->src, x->src_pos),
                           al_count_words(R->src, R->src_len), R->n_word);
        *at_end = p == R->n_word || R->word[p][0] >= end;
        if (*at_end || !is_busy(R, R->word[p][0], R->word[p][0] + 1))
            return *at_end ? end : R->word[p][0];
    }
    const char *rest = R->src + x->src_pos + x->len;
    size_t n_rest = R->src_len - x->src_pos - x->len;
    int src_at_end = 1;
    for (size_t i = 0; i < n_rest; i++)
        if (!strchr(" \t.!?;:", rest[i]))
            src_at_end = 0;
    double want = R->src_len ? (double)x->src_pos / (double)R->src_len * (double)R->hyp_len : 0;
    size_t best = end;
    double best_off = src_at_end ? 0 : (double)end - want;
    if (best_off < 0)
        best_off = -best_off;
    for (int w = 0; !src_at_end && w < R->n_word; w++) {
        size_t s = R->word[w][0];
        double off = (double)s > want ? (double)s - want : want - (double)s;
        if (s < end && off < best_off && !is_busy(R, s, s + 1)) {
            best = s;
            best_off = off;
        }
    }
    *at_end = best == end;
    return best;
}

/* Adds an edit; returns 0 or -1 when out of memory. */
static int add_edit(repair *R, edit e)
{
    if ((R->n_ed & (R->n_ed - 1)) == 0 || R->n_ed == 0) {
        edit *p = realloc(R->ed, (size_t)(R->n_ed ? 2 * R->n_ed : 4) * sizeof *p);
        if (!p)
            return -1;
        R->ed = p;
    }
    R->ed[R->n_ed++] = e;
    return 0;
}

/* Marks output bytes [a, b) settled (room was made by the caller). */
static void settle(repair *R, size_t a, size_t b)
{
    R->busy[R->n_busy][0] = a;
    R->busy[R->n_busy][1] = b;
    R->n_busy++;
}

/* Orders edits by position (qsort comparison). */
static int by_pos(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Orders missing spans by source position (qsort comparison). */
static int by_src_pos(const void *a, const void *b)
{
    const missing *x = a, *y = b;
    return x->src_pos < y->src_pos ? -1 : x->src_pos > y->src_pos;
}

/* Counts kept, surplus and missing occurrences of every distinct source span, settling the
 * kept ones. */
static void tally(repair *R, spans_stats *st)
{
    for (int i = 0; i < R->n_sp; i++) {
        const char *s = R->src + R->sp[i].start;
        size_t m = R->sp[i].len;
        int first = 1;
        for (int j = 0; j < i; j++)
            if (R->sp[j].len == m && memcmp(R->src + R->sp[j].start, s, m) == 0)
                first = 0;
        if (!first)
            continue;
        int want = spans_occurrences(R->src, R->src_len, s, m), have = 0;
        size_t at = next_occurrence(R->hyp, R->hyp_len, 0, s, m);
        for (; at != (size_t)-1; at = next_occurrence(R->hyp, R->hyp_len, at + m, s, m)) {
            if (have < want) {
                settle(R, at, at + m);
            } else {
                R->surplus[R->n_surplus][0] = at;
                R->surplus[R->n_surplus][1] = at + m;
                R->n_surplus++;
            }
            have++;
        }
        st->n_spans += want;
        st->n_kept += have < want ? have : want;
        size_t from = 0;
        for (int k = 0; k < want; k++) {
            size_t p = next_occurrence(R->src, R->src_len, from, s, m);
            from = p + m;
            if (k >= have)
                R->miss[R->n_miss++] = (missing){p, s, m};
        }
    }
}

/* Queues the removal of every surplus copy that no missing span took; returns 0 or -1. */
static int remove_surplus(repair *R, spans_stats *st)
{
    for (int i = 0; i < R->n_surplus; i++) {
        size_t pos = R->surplus[i][0], end = R->surplus[i][1];
        if (is_busy(R, pos, end))
            continue;
        if (pos > 0 && R->hyp[pos - 1] == ' ')
            pos--;
        else if (end < R->hyp_len && R->hyp[end] == ' ')
            end++;
        if (add_edit(R, (edit){pos, end - pos, "", 0, 0, 0, -1, 0}) < 0)
            return -1;
        st->n_removed++;
    }
    return 0;
}

/* Splits the output into words. */
static void split_words(repair *R)
{
    for (size_t i = 0; i < R->hyp_len; i++) {
        if (al_is_space((unsigned char)R->hyp[i]))
            continue;
        size_t s = i;
        while (i < R->hyp_len && !al_is_space((unsigned char)R->hyp[i]))
            i++;
        R->word[R->n_word][0] = s;
        R->word[R->n_word][1] = i;
        R->n_word++;
    }
}

/* Writes the output with R's edits applied into *out, and into ed (room for n_ed; may be
 * NULL) the bytes each one deleted and inserted; returns 0 or -1 (out of memory). */
static int apply(repair *R, al_edit *ed, char **out, size_t *out_len)
{
    if (R->n_ed > 1)
        qsort(R->ed, (size_t)R->n_ed, sizeof *R->ed, by_pos);
    size_t cap = R->hyp_len + 1;
    for (int i = 0; i < R->n_ed; i++)
        cap += R->ed[i].ins_len + 2;
    char *o = malloc(cap);
    if (!o)
        return -1;
    size_t n = 0, cur = 0;
    for (int i = 0; i < R->n_ed; i++) {
        edit *e = &R->ed[i];
        if (e->pos > cur) {
            memcpy(o + n, R->hyp + cur, e->pos - cur);
            n += e->pos - cur;
            cur = e->pos;
        }
        size_t from = n;
        if (e->space_before && n > 0 && o[n - 1] != ' ')
            o[n++] = ' ';
        e->new_at = n;
        memcpy(o + n, e->ins, e->ins_len);
        n += e->ins_len;
        if (e->space_after)
            o[n++] = ' ';
        size_t was = cur;
        if (e->pos + e->del > cur)
            cur = e->pos + e->del;
        if (ed)
            ed[i] = (al_edit){was, cur - was, n - from};
    }
    memcpy(o + n, R->hyp + cur, R->hyp_len - cur);
    n += R->hyp_len - cur;
    o[n] = 0;
    *out = o;
    *out_len = n;
    return 0;
}

/* Writes al->out: al->in in the words of the repaired output (out, n bytes) after edits ed
 * (one per R->ed), and a link from each word of a span put in to its source word; returns 0
 * or -1 (out of memory). */
static int carry_links(const repair *R, spans_links *al, const al_edit *ed, const char *out,
                       size_t n)
{
    int n_old = al_count_words(R->hyp, R->hyp_len);
    int *map = malloc(((size_t)n_old + 1) * sizeof *map);
    if (!map)
        return -1;
    al_word_map(map, R->hyp, R->hyp_len, ed, R->n_ed, out, n);
    al->n_out = 0;
    for (int i = 0; i < al->n_in && al->n_out < al->cap; i++)
        if (al->in[i].tgt >= 0 && al->in[i].tgt < n_old)
            al->out[al->n_out++] = al->in[i];
    al->n_out = al_relink(al->out, al->n_out, map);
    free(map);
    for (int i = 0; i < R->n_ed; i++) {
        const edit *e = &R->ed[i];
        int k = e->src_word < 0 ? 0 : al_count_words(e->ins, e->ins_len), w = 0;
        if (k > 0)
            w = word_of(out, e->new_at);
        for (int j = 0; j < k && al->n_out < al->cap; j++)
            al->n_out = al_add_link(al->out, al->n_out, (al_link){e->src_word + j, w + j});
    }
    return 0;
}

int spans_restore(spans *sp, const char *src, size_t src_len, const char *hyp, size_t hyp_len,
                  spans_links *al, char **out, size_t *out_len, spans_stats *st)
{
    spans_stats local = {0};
    if (!st)
        st = &local;
    *out = NULL;
    repair R = {.src = src, .hyp = hyp, .src_len = src_len, .hyp_len = hyp_len};
    al_edit *ed = NULL;
    if (al) {
        R.links = al->in;
        R.n_links = al->n_in;
        for (int i = 0; i < al->n_in && R.n_links; i++)    /* links out of range: none */
            if (al->in[i].src < 0 || al->in[i].tgt < 0)
                R.n_links = 0;
    }
    int rc = ATTN_ERR_NOMEM;
    int n = spans_count(sp, src, src_len);
    if (n < 0)
        return n;
    if (n > SPANS_MAX) {
        R.n_sp = 0;
        n = 0;
    }
    size_t n_occ = 0;
    R.sp = malloc(((size_t)n + 1) * sizeof *R.sp);
    R.word = malloc((hyp_len / 2 + 2) * sizeof *R.word);
    if (!R.sp || !R.word)
        goto done;
    if (n > 0)
        R.n_sp = spans_find(sp, src, src_len, R.sp, n);
    for (int i = 0; i < R.n_sp; i++)
        n_occ += (size_t)spans_occurrences(src, src_len, src + R.sp[i].start, R.sp[i].len);
    R.busy = malloc((n_occ + 1) * 2 * sizeof *R.busy);
    R.miss = malloc((n_occ + 1) * sizeof *R.miss);
    R.surplus = malloc((hyp_len + 1) * sizeof *R.surplus);
    if (!R.busy || !R.miss || !R.surplus)
        goto done;
    tally(&R, st);
    split_words(&R);
    if (R.n_miss > 1)
        qsort(R.miss, (size_t)R.n_miss, sizeof *R.miss, by_src_pos);
    for (int i = 0; i < R.n_miss; i++) {
        const missing *x = &R.miss[i];
        size_t a = 0, b = 0;
        edit e = {0, 0, x->text, x->len, 0, 0, word_of(src, x->src_pos), 0};
        if (best_candidate(&R, x, &a, &b)) {
            e.pos = a;
            e.del = b - a;
            settle(&R, a, b);
            st->n_replaced++;
        } else {
            int at_end;
            e.pos = insert_position(&R, x, &at_end);
            e.space_before = at_end;
            e.space_after = !at_end;
            st->n_inserted++;
        }
        if (add_edit(&R, e) < 0)
            goto done;
    }
    int carry = al && al->cap > 0;
    if (remove_surplus(&R, st) < 0 || (carry && !(ed = malloc(((size_t)R.n_ed + 1) * sizeof *ed))))
        goto done;
    if (apply(&R, ed, out, out_len) < 0)
        goto done;
    if (carry && carry_links(&R, al, ed, *out, *out_len) < 0) {
        free(*out);
        *out = NULL;
        goto done;
    }
    rc = ATTN_OK;
done:
    free(ed);
    free(R.sp);
    free(R.word);
    free(R.busy);
    free(R.miss);
    free(R.surplus);
    free(R.ed);
    return rc;
}
