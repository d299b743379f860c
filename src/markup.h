/* markup.h — HTML and XML records: the text a model translates taken out of its tags, and the
 * tags put back around the output words that stand for the words they enclosed.
 *
 * Usage (error handling elided; functions return ATTN_OK = 0 or a negative ATTN_ERR_*):
 *
 *     markup *m;  char why[160];
 *     if (markup_parse(&m, MARKUP_HTML, rec, rec_len, why, sizeof why) == ATTN_ERR_FORMAT)
 *         ...                                  // not well-formed: translate rec as plain text
 *     size_t n;  const char *plain = markup_text(m, &n);      // tags out, entities decoded
 *     ... translate plain into hyp ...
 *     char *out;  size_t out_len;
 *     markup_restore(m, hyp, hyp_len, links, n_links, &out, &out_len);  // malloc'd; caller frees
 *     free(out);  markup_free(m);
 *
 * Parsing is libxml2's (its HTML parser for MARKUP_HTML, its XML parser on the record wrapped in
 * one root element for MARKUP_XML); a record the parser reports any error for is refused, so that
 * a broken record is never half-repaired. Entity references are decoded for the model (libxml2's
 * tables: every HTML 4 entity, XML's five and character references); in the output, '&', '<' and
 * '>' are escaped and each character the record wrote as a reference is written with the same
 * reference again. Elements are written back with the same names, nesting and attribute values
 * (quoted with "); void elements (HTML's area, base, br, col, embed, hr, img, input, link, meta,
 * source, track, wbr and the obsolete basefont, bgsound, frame, keygen, param) and empty XML
 * elements are written self-closed. The content of script, style, code and pre elements, and
 * comments and processing instructions, are not translated: code and pre reach the model as code
 * in backticks (kept by src/spans.h) and come back in their place; the others are placed as
 * void tags are.
 *
 * Placement: a tag sits at a boundary between source words (words as src/align.h counts them,
 * in markup_text) or inside a word. An element goes around the output words that stand for the
 * words it enclosed: the same words when they occur unchanged and once only in the output, else
 * the output words the word alignment links to them (the best run of words linked inside less
 * those linked only outside, widened over unlinked words towards where the links put its
 * edges), else the boundaries the links put its edges at. A boundary goes where the fewest
 * links cross it (al_project), or with no links to the same relative position: so do void tags,
 * comments and untranslated elements. A tag inside a source word goes at the same place inside
 * the word's unchanged copy, when there is one. The boundaries then follow document order, so
 * the output is well-formed whenever the record was, with the same tags in the same order, and
 * an element that held words holds at least one while the output has words left for it.
 */
#ifndef ATTN_MARKUP_H
#define ATTN_MARKUP_H

#include <stddef.h>

#include "align.h"

typedef enum markup_kind { MARKUP_HTML = 1, MARKUP_XML = 2 } markup_kind;

typedef struct markup markup;

/* Parses record text (len bytes) as kind into *out; returns ATTN_OK, ATTN_ERR_FORMAT when the
 * parser reports an error (a one-line reason in why; *out NULL) or ATTN_ERR_NOMEM. */
int markup_parse(markup **out, markup_kind kind, const char *text, size_t len, char *why,
                 size_t why_len);

/* The text the model translates (NUL-terminated, *len bytes), owned by m. */
const char *markup_text(const markup *m, size_t *len);

/* Puts m's tags back into hyp (the translation of markup_text, hyp_len bytes) guided by links
 * (n_links, may be 0: source word of markup_text - word of hyp; links out of range are
 * ignored): *out (malloc'd, NUL-terminated) and *out_len; returns ATTN_OK or ATTN_ERR_NOMEM
 * (*out NULL). */
int markup_restore(const markup *m, const char *hyp, size_t hyp_len, const al_link *links,
                   int n_links, char **out, size_t *out_len);

/* Frees m (NULL is fine). */
void markup_free(markup *m);

#endif
