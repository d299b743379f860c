/* heatmap_svg.c — a heatmap as an SVG document: one grid of coloured cells per panel, the
 * attended words above each grid (slanted), the attending words at its left, each cell's weight
 * in its tooltip (see heatmap.h). */
#include "heatmap.h"

#include "cli.h"

#include <string.h>

enum { CELL = 22, LABEL_W = 150, TOP = 120, GAP = 30, TITLE_H = 30 };

int hm_label(char *dst, size_t cap, const char *s, size_t n, int max_chars)
{
    size_t o = 0, i = 0;
    int chars = 0;
    while (i < n && o + 5 < cap) {
        if (chars == max_chars) {
            if (o >= 3) {
                /* replace the last character by an ellipsis */
                while (o > 0 && ((unsigned char)dst[o - 1] & 0xc0) == 0x80)
                    o--;
                o--;
            }
            memcpy(dst + o, "\xe2\x80\xa6", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        int k = cli_utf8_char(s + i, n - i);
        if (k == 0 || c < 0x20 || c == 0x7f) {
            memcpy(dst + o, "\xef\xbf\xbd", 3);
            o += 3;
            i += k ? (size_t)k : 1;
        } else {
            memcpy(dst + o, s + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        }
        chars++;
    }
    dst[o] = '\0';
    return chars;
}

/* Writes s as XML character data (s is valid UTF-8 from hm_label). */
static void xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* Writes a label of at most max_chars characters, escaped. */
static void xml_label(FILE *out, const char *s, int max_chars)
{
    char buf[512];
    hm_label(buf, sizeof buf, s, strlen(s), max_chars);
    xml_text(out, buf);
}

/* The colour of weight v in [0, 1]: white to dark blue. */
static void colour(float v, int rgb[3])
{
    static const int lo[3] = {255, 255, 255}, hi[3] = {8, 48, 107};
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    for (int k = 0; k < 3; k++)
        rgb[k] = (int)(lo[k] + (hi[k] - lo[k]) * v + 0.5f);
}

/* Writes panel p at (x0, y0). */
static void svg_panel(FILE *out, const heatmap *h, const hm_panel *p, int x0, int y0)
{
    int R = h->rows, C = h->cols;
    float mx = 0;
    for (int i = 0; i < R * C; i++)
        mx = p->v[i] > mx ? p->v[i] : mx;
    fprintf(out, "<g transform=\"translate(%d,%d)\">\n<text x=\"%d\" y=\"-%d\" "
            "class=\"panel\">", x0, y0, LABEL_W, TOP - 16);
    xml_text(out, p->title);
    fputs("</text>\n", out);
    for (int c = 0; c < C; c++) {
        int x = LABEL_W + c * CELL + CELL / 2;
        fprintf(out, "<text class=\"col\" transform=\"translate(%d,-6) rotate(-55)\">", x);
        xml_label(out, h->col_labels[c], 24);
        fputs("</text>\n", out);
    }
    for (int r = 0; r < R; r++) {
        fprintf(out, "<text class=\"row\" x=\"%d\" y=\"%d\">", LABEL_W - 6,
                r * CELL + CELL / 2 + 4);
        xml_label(out, h->row_labels[r], 24);
        fputs("</text>\n", out);
        for (int c = 0; c < C; c++) {
            float v = p->v[(size_t)r * C + c];
            int rgb[3];
            colour(mx > 0 ? v / mx : 0, rgb);
            fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "fill=\"#%02x%02x%02x\"><title>", LABEL_W + c * CELL, r * CELL, CELL, CELL,
                    rgb[0], rgb[1], rgb[2]);
            xml_label(out, h->row_labels[r], 60);
            fputs(" \xe2\x86\x92 ", out);
            xml_label(out, h->col_labels[c], 60);
            fprintf(out, ": %.3f</title></rect>\n", v);
        }
    }
    fprintf(out, "<rect x=\"%d\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#888\"/>\n</g>\n", LABEL_W, C * CELL, R * CELL);
}

int hm_write_svg(FILE *out, const heatmap *h)
{
    int per_row = h->n_panels > 4 ? 4 : h->n_panels;
    int grid = h->cols * CELL < 200 ? 200 : h->cols * CELL;   /* room for the panel title */
    int pw = LABEL_W + grid + GAP, ph = TOP + h->rows * CELL + GAP;
    int n_rows = (h->n_panels + per_row - 1) / per_row;
    int W = per_row * pw + 20, H = TITLE_H + n_rows * ph + 40;
    W = W < 820 ? 820 : W;                                      /* and for the legend */
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\">\n<style>text{font-family:'DejaVu Sans',sans-serif;"
            "font-size:13px;fill:#222}.row{text-anchor:end}.panel{font-weight:bold}"
            ".title{font-size:15px}</style>\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n<text class=\"title\" x=\"10\" y=\"24\">", W, H, W, H);
    xml_label(out, h->title, 200);
    fprintf(out, "</text>\n<text x=\"10\" y=\"%d\">rows: ", H - 30);
    xml_text(out, h->row_axis);
    fputs(" (attending); columns: ", out);
    xml_text(out, h->col_axis);
    fprintf(out, " (attended to)</text>\n<text x=\"10\" y=\"%d\">darker = more attention; "
            "each panel is scaled to its largest weight</text>\n", H - 12);
    for (int i = 0; i < h->n_panels; i++)
        svg_panel(out, h, &h->panels[i], 10 + (i % per_row) * pw,
                  TITLE_H + (i / per_row) * ph + TOP);
    fputs("</svg>\n", out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
