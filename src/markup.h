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
 *     markup_restore(m, hyp, hyp_len, &out, &out_len);        // malloc'd; the caller frees it
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
 * in backticks (kept by src/spans.h) and come back in their place; the others stay at their
 * relative position.
 *
 * Placement: a tag sits at a boundary between source words; it is moved to the output boundary
 * of the same words when they occur unchanged in the output, else to the boundary at the same
 * relative position (word alignments from the engine are the better source, still to come),
 * always in document order, so the output is well-formed whenever the record was, and an element
 * that held words holds at least one.
 */
#ifndef ATTN_MARKUP_H
#define ATTN_MARKUP_H

#include <stddef.h>

typedef enum markup_kind { MARKUP_HTML = 1, MARKUP_XML = 2 } markup_kind;

typedef struct markup markup;

/* Parses record text (len bytes) as kind into *out; returns ATTN_OK, ATTN_ERR_FORMAT when the
 * parser reports an error (a one-line reason in why; *out NULL) or ATTN_ERR_NOMEM. */
int markup_parse(markup **out, markup_kind kind, const char *text, size_t len, char *why,
                 size_t why_len);

/* The text the model translates (NUL-terminated, *len bytes), owned by m. */
const char *markup_text(const markup *m, size_t *len);

/* Puts m's tags back into hyp (the translation of markup_text, hyp_len bytes): *out (malloc'd,
 * NUL-terminated) and *out_len; returns ATTN_OK or ATTN_ERR_NOMEM (*out NULL). */
int markup_restore(const markup *m, const char *hyp, size_t hyp_len, char **out,
                   size_t *out_len);

/* Frees m (NULL is fine). */
void markup_free(markup *m);

#endif
