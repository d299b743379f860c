/* sentences.h — splits a record of UTF-8 text into sentences, as byte spans of the record.
 *
 * A span covers one sentence without the white space (and control characters) around it; what
 * lies between two spans (and before the first, after the last) is the record's own separator
 * text, so a caller that translates each span can rebuild the record with its own spacing:
 *
 *   sentence_span sp[64];
 *   size_t n;
 *   int st = sentences_split(sp, 64, &n, text, len, "en");
 *   if (st == ATTN_ERR_SPACE) ...                  // n says how many spans the record has
 *   size_t at = 0;
 *   for (size_t i = 0; i < n; i++) {
 *       emit(text + at, sp[i].off - at);           // separator (or leading white space)
 *       emit_translation(text + sp[i].off, sp[i].len);
 *       at = sp[i].off + sp[i].len;
 *   }
 *   emit(text + at, len - at);                     // trailing white space
 *
 * Rules (sentences.c says why hand rules and not ICU): the control characters (newline, tab and
 * the rest of C0, DEL, C1) and U+2028, U+2029 always end a sentence and, like white space, are
 * never part of one: they stay in the separators, out of the model's way.  A sentence ends
 * after terminal punctuation (. ! ? … ‼ ⁇ ⁈ ⁉ ‽ ． and the full stops 。｡ and ！？), with the
 * closing quotes and brackets that follow it, when white space and then an upper-case letter,
 * a digit, an opening quote or bracket, or a list bullet (* - • ‣ ◦ – and a space) come next;
 * the full-width 。｡！？ need no space.  A colon or semicolon ends one before a bullet, and a
 * sentence that opens with a bullet ends before the next of the same bullet (a list flattened
 * on one line: "* Sans * Serif" is two items, "* a * b" too, "a * b" one).  A
 * full stop does not end a sentence after a known abbreviation of the language, a list marker
 * opening the sentence (1. a. iv.), or, when the next word is not a usual sentence opener, after
 * an initial, an acronym (U.S.), an abbreviation that may also end a sentence (etc.) or (German)
 * an ordinal number (am 3. Oktober).  Full stops inside numbers, URLs, e-mail addresses, paths
 * and file names are never followed by white space, so they never split.  Text is not
 * validated: an invalid UTF-8 byte counts as one character that is neither letter nor space.
 *
 * Thread safety: the functions keep no state; any number of threads may call them at once.
 */
#ifndef ATTN_SENTENCES_H
#define ATTN_SENTENCES_H

#include <stddef.h>

#include "status.h"

/* Statuses (status.h, named by attn_strerror): ATTN_OK; ATTN_ERR_ARG (n is NULL, or text is NULL
 * with len > 0); ATTN_ERR_LANG (a language code without rules); ATTN_ERR_SPACE (more sentences
 * than the caller's array holds: *n says how many). */

/* One sentence of a record: bytes off .. off + len - 1, never starting or ending in a separator
 * (white space or a control character). */
typedef struct sentence_span {
    size_t off;
    size_t len;
} sentence_span;

/* Splits text[0..len-1] into sentences: fills spans[0..min(*n, cap)-1] in order and sets *n to
 * the number of sentences (0 for a record of separators only).  lang is a language code
 * ("en", "fr", "de", also with a region: "fr-CA", "de_AT") whose abbreviations apply, or NULL
 * for the rules that hold in every language (no abbreviation lists; initials and acronyms never
 * end a sentence).  Returns ATTN_OK, ATTN_ERR_SPACE when *n > cap (the first cap spans are
 * filled), ATTN_ERR_LANG for an unknown code, ATTN_ERR_ARG for a NULL n or text. */
int sentences_split(sentence_span *spans, size_t cap, size_t *n, const char *text, size_t len,
                    const char *lang);

/* The record as one sentence, for callers that do not split: sets *n to 0 for a record of
 * separators only, else to 1 with *span from its first to its last character that is not a
 * separator (separators inside stay in the span).  Returns ATTN_OK, or ATTN_ERR_ARG for a NULL
 * span, n or text. */
int sentences_whole(sentence_span *span, size_t *n, const char *text, size_t len);

/* Returns 1 when sentences_split has abbreviation rules for the language code lang, else 0. */
int sentences_lang_known(const char *lang);

#endif
