/* heatmap.h — drawing attention weights as heatmaps: panels of (rows, cols) values in [0, 1]
 * with word labels, as an SVG file (heatmap_svg.c) or as 24-bit colour blocks in a terminal
 * (heatmap_term.c).  Darker (SVG) or brighter (terminal) cells hold more attention; each panel is
 * scaled to its own largest value. */
#ifndef ATTN_CLI_HEATMAP_H
#define ATTN_CLI_HEATMAP_H

#include <stdio.h>

/* One heatmap: a title and values (rows, cols), row r column c at v[r * cols + c]. */
typedef struct hm_panel {
    char title[64];
    const float *v;
} hm_panel;

/* Panels that share their labels: rows are the words that attend (output words, or source
 * words for self-attention), columns the words attended to. */
typedef struct heatmap {
    const char *title;              /* e.g. the source text */
    const char *row_axis, *col_axis;
    const char *const *row_labels;  /* (rows) UTF-8, may hold invalid bytes */
    int rows;
    const char *const *col_labels;  /* (cols) */
    int cols;
    const hm_panel *panels;         /* (n_panels) */
    int n_panels;
} heatmap;

/* Writes h as a standalone SVG document (UTF-8; labels XML-escaped, invalid bytes as U+FFFD);
 * returns 0, or -1 when out fails (errno set). */
int hm_write_svg(FILE *out, const heatmap *h);

/* Writes h as coloured blocks for a terminal of `width` columns; returns 0, or the columns it
 * would need (> width) without writing anything, or -1 when out fails. */
int hm_write_term(FILE *out, const heatmap *h, int width);

/* Copies label s (n bytes) into dst (cap bytes, NUL-terminated) as valid UTF-8 of at most
 * max_chars characters (invalid bytes and control characters become U+FFFD, a cut ends in
 * U+2026); returns the number of characters written. */
int hm_label(char *dst, size_t cap, const char *s, size_t n, int max_chars);

#endif
