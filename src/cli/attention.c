/* attention.c — `attn attention`: the attention of one translation drawn as a heatmap, in the
 * terminal (24-bit colour blocks) or as an SVG file: the decoder's cross-attention (output words
 * attending to source words) or the encoder's self-attention (--encoder), for the chosen layers
 * and heads combined, or for every layer and head (--each).  Words are the whitespace-separated
 * words of the text and of the output; a word's tokens are merged (alignment.h, src/align.h). */
#include "alignment.h"
#include "heatmap.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Prints the help of attn attention. */
static void attention_usage(void)
{
    cli_puts(
        "Usage: attn attention [OPTIONS] [TEXT...]\n"
        "Translate one text (the TEXT words, or the first line of standard input) and draw the\n"
        "attention as a heatmap: rows are the words that attend, columns the words attended to.\n"
        "Without --svg, coloured blocks on standard output (a terminal with 24-bit colour).\n\n"
        "  -m, --model FILE    model file (default as for attn run)\n"
        "      --svg FILE      write an SVG document to FILE ('-': standard output)\n"
        "      --encoder       the encoder's self-attention (source words attending to source\n"
        "                      words) instead of the decoder's cross-attention\n"
        "      --layer LIST    layers combined: all, or numbers from 1 (or -1 the last), e.g.\n"
        "                      2,3 (default: the upper half, as attn run --align)\n"
        "      --heads LIST    heads combined: all (default) or numbers from 1\n"
        "      --each          also one heatmap per layer and head\n"
        "      --width N       terminal columns (default: the terminal's, $COLUMNS, or 80)\n"
        "      --threads N     compute threads (default: all CPUs, at most 8)\n"
        "  -h, --help          show this help\n");
}

typedef struct view {
    const char *cmd;
    engine *e;
    const tf_config *cfg;
    eng_run *r;
    int encoder, each, threads, width;
    const char *layer, *heads, *svg;
    char *text;                 /* the source text (text_len bytes), owned */
    size_t text_len;
    int32_t *ids;               /* (n_ids) source ids */
    int n_ids;
    float *mix;                 /* (n_channels, layers * heads) */
    int n_channels;
    cli_align al;
    char **src_words, **out_words;
    hm_panel *panels;
    float *values;              /* (n_channels, rows, cols) */
} view;

/* Splits text (n bytes) into its whitespace-separated words, each a NUL-terminated copy;
 * returns the array (count words) or NULL when out of memory. */
static char **split_words(const char *text, size_t n, int count)
{
    char **w = calloc((size_t)count + 1, sizeof *w);
    for (size_t i = 0, k = 0; w && i < n && (int)k < count;) {
        while (i < n && strchr(" \t\r\n\f\v", text[i]))
            i++;
        size_t j = i;
        while (j < n && !strchr(" \t\r\n\f\v", text[j]))
            j++;
        if (j == i)
            break;
        if (!(w[k] = strndup(text + i, j - i)))
            return w;
        k++;
        i = j;
    }
    return w;
}

/* Reads the text from the arguments or the first line of stdin; returns 0 or CLI_FAIL. */
static int read_text(view *v, char **args, int n)
{
    size_t cap = 0;
    if (n > 0) {
        for (int i = 0; i < n; i++)
            cap += strlen(args[i]) + 1;
        if (!(v->text = malloc(cap + 1)))
            return CLI_FAIL;
        v->text[0] = '\0';
        for (int i = 0; i < n; i++) {
            if (i)
                strcat(v->text, " ");
            strcat(v->text, args[i]);
        }
        v->text_len = strlen(v->text);
    } else {
        ssize_t got = getline(&v->text, &cap, stdin);
        if (got < 0) {
            v->text_len = 0;
            if (!v->text && !(v->text = strdup("")))
                return CLI_FAIL;
        } else {
            v->text_len = (size_t)got;
            while (v->text_len > 0 && strchr("\r\n", v->text[v->text_len - 1]))
                v->text[--v->text_len] = '\0';
        }
    }
    return 0;
}

/* Encodes the text into v->ids with the model's source markers; returns 0 or CLI_FAIL. */
static int encode(view *v)
{
    size_t n = 0;
    v->ids = malloc((v->text_len + 1 + ENG_FRAME_MAX) * sizeof *v->ids);
    if (!v->ids)
        return CLI_FAIL;
    int rc = tok_encode(eng_tokenizer(v->e), v->ids, v->text_len + 1, &n, v->text, v->text_len,
                        0);
    if (rc < 0) {
        cli_error("attention: %s", tok_strerror(rc));
        return CLI_FAIL;
    }
    if (n == 0) {
        cli_error("attention: the text is empty: nothing to draw");
        return CLI_FAIL;
    }
    n = eng_frame_source(v->e, v->ids, n);
    if (n > (size_t)v->cfg->max_positions) {
        cli_error("attention: the text has %zu tokens, the model reads at most %d: draw one "
                  "sentence or paragraph at a time", n, v->cfg->max_positions);
        return CLI_FAIL;
    }
    v->n_ids = (int)n;
    return 0;
}

/* Builds the channels: the combination first, then (--each) one per layer and head; returns 0,
 * CLI_USAGE or CLI_FAIL. */
static int make_mix(view *v, int layers)
{
    tf_config c = *v->cfg;
    c.n_dec_layers = layers;
    float *combined;
    int rc = cli_align_mix(v->cmd, &c, v->layer, v->heads, &combined);
    if (rc)
        return rc;
    int LH = layers * c.n_heads;
    v->n_channels = 1 + (v->each ? LH : 0);
    v->mix = calloc((size_t)v->n_channels * LH, sizeof *v->mix);
    if (!v->mix) {
        free(combined);
        return CLI_FAIL;
    }
    memcpy(v->mix, combined, (size_t)LH * sizeof *combined);
    for (int i = 0; v->each && i < LH; i++)
        v->mix[(size_t)(1 + i) * LH + i] = 1.0f;
    free(combined);
    return 0;
}

/* Sets panel k's title. */
static void title(view *v, int k)
{
    char *t = v->panels[k].title;
    size_t cap = sizeof v->panels[k].title;
    if (k == 0)
        snprintf(t, cap, "layers %s, heads %s", v->layer ? v->layer : "upper half",
                 v->heads ? v->heads : "all");
    else
        snprintf(t, cap, "layer %d, head %d", (k - 1) / v->cfg->n_heads + 1,
                 (k - 1) % v->cfg->n_heads + 1);
}

/* Computes the word-level panels; returns 0 or CLI_FAIL. */
static int panels(view *v, const gen_hyp *h, int *rows, int *cols)
{
    cli_align *a = &v->al;
    if (cli_align_output(a, v->text, v->text_len, v->ids, v->n_ids, h->ids, h->len, NULL, 0,
                         h->attn, (size_t)eng_attn_width(v->r)))
        return CLI_FAIL;
    *cols = a->n_src_words;
    *rows = v->encoder ? a->n_src_words : a->n_tgt_words;
    v->src_words = split_words(v->text, v->text_len, a->n_src_words);
    v->out_words = split_words(a->text, a->text_len, a->n_tgt_words);
    v->panels = calloc((size_t)v->n_channels, sizeof *v->panels);
    v->values = malloc((size_t)v->n_channels * (*rows) * (*cols) * sizeof *v->values + 1);
    float *enc = malloc((size_t)v->n_ids * v->n_ids * sizeof *enc);
    if (!v->src_words || !v->out_words || !v->panels || !v->values || !enc) {
        free(enc);
        return CLI_FAIL;
    }
    int H = v->cfg->n_heads, LH = (v->encoder ? v->cfg->n_enc_layers : v->cfg->n_dec_layers) * H;
    for (int k = 0; k < v->n_channels; k++) {
        float *w = v->values + (size_t)k * (*rows) * (*cols);
        v->panels[k].v = w;
        title(v, k);
        if (!v->encoder) {
            al_word_matrix(w, h->attn + (size_t)k * v->n_ids, (size_t)eng_attn_width(v->r),
                           a->sw, v->n_ids, *cols, a->tw, h->len, *rows);
            continue;
        }
        /* encoder: mix the kept (layer, head) matrices the way the channel says */
        memset(enc, 0, (size_t)v->n_ids * v->n_ids * sizeof *enc);
        for (int i = 0; i < LH; i++) {
            float m = v->mix[(size_t)k * LH + i];
            int len = 0;
            const float *e = m != 0 ? eng_encoder_attn(v->r, i / H, i % H, &len) : NULL;
            for (int j = 0; e && j < len * len; j++)
                enc[j] += m * e[j];
        }
        al_word_matrix(w, enc, (size_t)v->n_ids, a->sw, v->n_ids, *cols, a->sw, v->n_ids,
                       *rows);
    }
    free(enc);
    return 0;
}

/* Returns the terminal's width: --width, the terminal's, $COLUMNS, or 80. */
static int term_width(const view *v)
{
    struct winsize ws;
    if (v->width > 0)
        return v->width;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long n;
    return c && cli_parse_long(c, 20, 100000, &n) == 0 ? (int)n : 80;
}

/* Draws the heatmap; returns the exit status. */
static int draw(view *v)
{
    gen_params p;
    eng_overrides o;
    eng_overrides_default(&o);
    int rc = eng_params(v->e, &o, &p);
    if (rc == ATTN_OK)
        rc = eng_run_open(&v->r, v->e, &p, 1, v->n_ids, v->threads);
    if (rc == ATTN_OK)
        rc = eng_run_attention(v->r, v->mix, v->encoder ? 0 : v->n_channels, v->encoder);
    if (rc < 0) {
        cli_error("attention: %s", attn_strerror(rc));
        return CLI_FAIL;
    }
    gen_source src = {v->ids, v->n_ids, 0};
    if ((rc = eng_generate(v->r, &src, 1, NULL, NULL)) < 0)
        return cli_gen_error(v->r, "attention", rc);
    gen_hyp h = eng_result(v->r, 0)->hyps[0];
    if (cli_align_open(&v->al, eng_tokenizer(v->e), 0, v->n_ids, h.len > 0 ? h.len : 1))
        return CLI_FAIL;
    int rows, cols;
    if (panels(v, &h, &rows, &cols) != 0) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    if (rows == 0 || cols == 0) {
        cli_error("attention: the output is empty: nothing to draw");
        return CLI_FAIL;
    }
    char doc_title[256];
    snprintf(doc_title, sizeof doc_title, "%s of \"%.200s\"",
             v->encoder ? "Encoder self-attention" : "Cross-attention", v->text);
    heatmap hm = {doc_title, v->encoder ? "source words" : "output words", "source words",
                  (const char *const *)(v->encoder ? v->src_words : v->out_words), rows,
                  (const char *const *)v->src_words, cols, v->panels, v->n_channels};
    if (v->svg) {
        FILE *f = strcmp(v->svg, "-") == 0 ? stdout : fopen(v->svg, "w");
        if (!f || hm_write_svg(f, &hm) != 0 || (f != stdout && fclose(f) != 0)) {
            cli_error("%s: %s", v->svg, strerror(errno));
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    int width = term_width(v);
    rc = hm_write_term(stdout, &hm, width);
    if (rc > 0) {
        cli_error("attention: %d source words need %d columns, the terminal has %d: use --svg "
                  "FILE (or --width)", cols, rc, width);
        return CLI_FAIL;
    }
    return rc < 0 ? CLI_FAIL : CLI_OK;
}

/* Frees everything v holds. */
static void teardown(view *v)
{
    for (int i = 0; v->src_words && v->src_words[i]; i++)
        free(v->src_words[i]);
    for (int i = 0; v->out_words && v->out_words[i]; i++)
        free(v->out_words[i]);
    free(v->src_words);
    free(v->out_words);
    free(v->panels);
    free(v->values);
    free(v->mix);
    free(v->ids);
    free(v->text);
    cli_align_close(&v->al);
    eng_run_free(v->r);
    eng_free(v->e);
}

int cli_attention(int argc, char **argv)
{
    enum { O_SVG = 256, O_ENCODER, O_LAYER, O_HEADS, O_EACH, O_WIDTH, O_THREADS };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"svg", required_argument, NULL, O_SVG},
        {"encoder", no_argument, NULL, O_ENCODER}, {"layer", required_argument, NULL, O_LAYER},
        {"heads", required_argument, NULL, O_HEADS}, {"each", no_argument, NULL, O_EACH},
        {"width", required_argument, NULL, O_WIDTH},
        {"threads", required_argument, NULL, O_THREADS}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    view v;
    memset(&v, 0, sizeof v);
    v.cmd = argv[0];
    v.threads = cli_default_threads();
    const char *model = NULL;
    int c, li = -1;
    long n;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:h", opts, &li)) != -1) {
        const char *name = li >= 0 ? opts[li].name : "";
        li = -1;
        switch (c) {
        case 'm': model = optarg; break;
        case O_SVG: v.svg = optarg; break;
        case O_ENCODER: v.encoder = 1; break;
        case O_LAYER: v.layer = optarg; break;
        case O_HEADS: v.heads = optarg; break;
        case O_EACH: v.each = 1; break;
        case 'h': attention_usage(); return CLI_OK;
        case O_WIDTH:
        case O_THREADS:
            if (cli_parse_long(optarg, c == O_WIDTH ? 20 : 1, c == O_WIDTH ? 100000 : 256, &n))
                return cli_usage_error(v.cmd, "bad value for --%s: '%s'", name, optarg);
            *(c == O_WIDTH ? &v.width : &v.threads) = (int)n;
            break;
        default:
            return cli_usage_error(v.cmd, "unknown option or missing value: %s",
                                   argv[optind - 1]);
        }
    }
    int status = read_text(&v, argv + optind, argc - optind);
    if (status == 0 && !(v.e = cli_open_engine(model, 0)))
        status = CLI_FAIL;
    if (status == 0) {
        v.cfg = eng_config(v.e);
        status = make_mix(&v, v.encoder ? v.cfg->n_enc_layers : v.cfg->n_dec_layers);
    }
    if (status == 0)
        status = encode(&v);
    if (status == 0)
        status = draw(&v);
    teardown(&v);
    return status;
}
