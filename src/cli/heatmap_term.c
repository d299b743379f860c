/* heatmap_term.c — a heatmap in a terminal: each cell two spaces on a 24-bit background colour,
 * the attending words at the left, the attended words numbered above with a legend below (see
 * heatmap.h). */
#include "heatmap.h"

#include <string.h>

enum { LABEL_CHARS = 16 };

/* The colour of weight v in [0, 1]: near black to yellow through red (bright = more). */
static void colour(float v, int rgb[3])
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    rgb[0] = (int)(30 + 225 * (v < 0.5f ? 2 * v : 1.0f));
    rgb[1] = (int)(30 + 215 * (v < 0.5f ? 0.2f * v : 0.1f + 1.8f * (v - 0.5f)));
    rgb[2] = (int)(40 - 30 * v);
}

/* Writes label s padded or cut to LABEL_CHARS characters. */
static void padded(FILE *out, const char *s)
{
    char buf[128];
    int n = hm_label(buf, sizeof buf, s, strlen(s), LABEL_CHARS);
    fprintf(out, "%*s%s ", LABEL_CHARS - n, "", buf);
}

int hm_write_term(FILE *out, const heatmap *h, int width)
{
    int need = LABEL_CHARS + 1 + 2 * h->cols;
    if (need > width)
        return need;
    for (int i = 0; i < h->n_panels; i++) {
        const hm_panel *p = &h->panels[i];
        float mx = 0;
        for (int k = 0; k < h->rows * h->cols; k++)
            mx = p->v[k] > mx ? p->v[k] : mx;
        fprintf(out, "%s\n%*s ", p->title, LABEL_CHARS, "");
        for (int c = 0; c < h->cols; c++)
            fprintf(out, "%2d", c % 100);
        fputc('\n', out);
        for (int r = 0; r < h->rows; r++) {
            padded(out, h->row_labels[r]);
            for (int c = 0; c < h->cols; c++) {
                int rgb[3];
                float v = p->v[(size_t)r * h->cols + c];
                colour(mx > 0 ? v / mx : 0, rgb);
                fprintf(out, "\x1b[48;2;%d;%d;%dm  ", rgb[0], rgb[1], rgb[2]);
            }
            fputs("\x1b[0m\n", out);
        }
    }
    fprintf(out, "rows: %s; columns (%s):", h->row_axis, h->col_axis);
    for (int c = 0; c < h->cols; c++) {
        char buf[256];
        hm_label(buf, sizeof buf, h->col_labels[c], strlen(h->col_labels[c]), 40);
        fprintf(out, " %d %s", c, buf);
    }
    fputc('\n', out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
