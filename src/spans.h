/* spans.h — protected spans: the parts of a source that a translation must reproduce exactly
 * (URLs, e-mail addresses, file paths, numbers, versions, dates, identifiers, command-line
 * options, printf and brace placeholders, environment variables, code in backticks, emoji), and
 * their repair in a model's output.
 *
 * Usage (error handling elided; functions return ATTN_OK = 0 or a negative ATTN_ERR_*):
 *
 *     spans *sp;  spans_open(&sp);                      // compiles the patterns once
 *     int n = spans_count(sp, src, src_len);            // 0: nothing to protect
 *     char *fixed;  size_t fixed_len;  spans_stats st = {0};
 *     spans_restore(sp, src, src_len, hyp, hyp_len, NULL, &fixed, &fixed_len, &st);
 *     ...  free(fixed);  spans_free(sp);
 *
 * Method: the model translates the source as it is; spans_restore then makes every span of the
 * source occur in the output exactly as often as in the source.  A span the model reproduced is
 * kept where the model put it.  A missing one replaces the output word (or words) most like it
 * that is no copy of a source word, e.g. "CVE-203-124" for "CVE-2023-12345" or the second
 * "3.11" of "3.11 et 3.11" for "3.12"; with no such word it is inserted at an output word
 * boundary: the one a word alignment puts the source boundary before the span's word at
 * (al_project), when one is given, else the one at the same relative position.  Surplus copies
 * are removed.  Given a word alignment of hyp, spans_restore also gives it back in the words of
 * the repaired output: each word's links follow the word (a word replaced by a span: to the
 * span), links of removed words are dropped, and each span put in links its words with the
 * source span's.
 *
 * An occurrence counts only when it stands alone: the characters around it are no letters or
 * digits where the span's own edge is one, and a span ending in a digit is not followed by a
 * separator and another digit ("3" does not occur in "3.11" or "3D").
 *
 * Thread safety: a spans object is used by one thread at a time (PCRE2 match data inside).
 */
#ifndef ATTN_SPANS_H
#define ATTN_SPANS_H

#include <stddef.h>

#include "align.h"

/* The kinds of span, in the order their patterns are tried at a position. */
typedef enum span_kind {
    SPAN_URL, SPAN_EMAIL, SPAN_CODE, SPAN_PATH, SPAN_PLACEHOLDER, SPAN_ENV, SPAN_OPTION,
    SPAN_IDENT, SPAN_NUMBER, SPAN_EMOJI, SPAN_N_KINDS
} span_kind;

typedef struct span {
    size_t start, len;          /* bytes of the source */
    span_kind kind;
} span;

/* What spans_restore did, added to the counts already there. */
typedef struct spans_stats {
    long n_spans;               /* span occurrences in the sources */
    long n_kept;                /* reproduced by the model */
    long n_replaced;            /* put in place of a word like them */
    long n_inserted;            /* inserted at the relative position */
    long n_removed;             /* surplus copies removed */
} spans_stats;

typedef struct spans spans;

/* A word alignment carried through spans_restore. */
typedef struct spans_links {
    const al_link *in;          /* (n_in) source word of src - word of hyp (align.h's words) */
    int n_in;
    al_link *out;               /* (cap) written: source word - word of the repaired output */
    int cap, n_out;             /* room, and how many were written */
} spans_links;

/* Compiles the span patterns into *out; returns ATTN_OK or ATTN_ERR_NOMEM (*out NULL). */
int spans_open(spans **out);

/* Frees a spans object (NULL is fine). */
void spans_free(spans *sp);

/* Finds the spans of text (len bytes, UTF-8; invalid UTF-8 finds none), leftmost first, none
 * overlapping; writes the first cap of them to out (may be NULL when cap is 0) and returns how
 * many there are, or ATTN_ERR_NOMEM. */
int spans_find(spans *sp, const char *text, size_t len, span *out, int cap);

/* Returns the number of spans of text (spans_find without the list). */
int spans_count(spans *sp, const char *text, size_t len);

/* Returns the name of a kind ("url", "number", ...). */
const char *spans_kind_name(span_kind k);

/* The most spans of a source that spans_restore repairs (it leaves an output with more as it
 * is: the work grows with their square). */
#define SPANS_MAX 512

/* Repairs hyp (a model's output for src) so that every span of src occurs in it as often as in
 * src (unless src has more than SPANS_MAX); *out (malloc'd, NUL-terminated, the caller frees
 * it) and *out_len receive the result, st (may be NULL) the counts and al (may be NULL) the
 * alignment in the result's words (links beyond al->cap are left out).  Returns ATTN_OK, or
 * ATTN_ERR_NOMEM (*out NULL). */
int spans_restore(spans *sp, const char *src, size_t src_len, const char *hyp, size_t hyp_len,
                  spans_links *al, char **out, size_t *out_len, spans_stats *st);

/* Counts the standalone occurrences of needle (m bytes) in hay (n bytes), as spans_restore
 * counts them. */
int spans_occurrences(const char *hay, size_t n, const char *needle, size_t m);

#endif
