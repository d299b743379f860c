/* run_options.c — `attn run`'s command line: its help text and its options. */
#include "run.h"

#include <getopt.h>
#include <string.h>

/* The help text of attn run (and of attn --help). */
static const char run_help[] =
    "Usage: attn [run] [OPTIONS] [FILE...]\n"
    "Generate an output (e.g. a translation) for every input line of the FILEs, in order\n"
    "('-' or no FILE: standard input), one output line per input line, flushed as written.\n\n"
    "  -m, --model FILE          model file (default: $ATTN_MODEL, the installed model, or\n"
    "                            models/ beside the binary)\n"
    "  -n, --max-tokens N        at most N generated tokens per source (default: the model's)\n"
    "      --min-tokens N        no end of sequence before N tokens\n"
    "      --greedy              greedy decoding (the default unless the model asks for beams)\n"
    "  -s, --sample              sample from the distribution (see -t, -k, -p, --min-p)\n"
    "  -t, --temperature T       sampling temperature (default 1)\n"
    "  -k, --top-k K             sample among the K most likely tokens (0: all)\n"
    "  -p, --top-p P             sample among the most likely tokens holding mass P (default 1)\n"
    "      --min-p P             drop tokens less likely than P times the most likely one\n"
    "      --seed N              random seed (default: drawn, shown with -v)\n"
    "  -b, --beam N              beam search with N beams\n"
    "      --n-best N            write the N best beam hypotheses (N lines per source; N <= 64)\n"
    "      --length-penalty X    beam score = log-probability / length^X (default: model's)\n"
    "      --early-stopping WHEN beam search stops: true, false (heuristic) or never\n"
    "      --repetition-penalty X  penalise tokens already generated (1: off)\n"
    "      --no-repeat-ngram N   never repeat an N-gram of the output\n"
    "      --prefix TEXT         force the output to start with TEXT (ids with --ids)\n"
    "      --src-lang CODE       the source language token of models that have one (mBART:\n"
    "                            en_XX, de_DE...; default: the model's)\n"
    "      --tgt-lang CODE       the target language token that starts the output (mBART;\n"
    "                            default: the model's)\n"
    "  -0, --null                records are NUL-separated, in and out\n"
    "      --whole               the whole input is one record\n"
    "      --split               translate each record sentence by sentence (the default when\n"
    "                            the model is a translator: its task key)\n"
    "      --no-split            one source per record\n"
    "      --ids                 read and write space-separated token ids, not text\n"
    "      --special             recognise special tokens in the input, write them in the output\n"
    "      --truncate            cut sources longer than the model accepts (default: translate\n"
    "                            them in pieces)\n"
    "      --batch N             decode N sources together (sorted by length; default 32)\n"
    "      --threads N           compute threads (default: all CPUs, at most 8)\n"
    "      --json                one JSON object per record: ids, log-probabilities, score\n"
    "                            (and its sentences, when split)\n"
    "      --markup html|xml     records are HTML or XML: tags kept out of the translation and\n"
    "                            put back around the words they enclosed (records not split)\n"
    "      --no-protect          let the model change URLs, numbers, paths, options, code...\n"
    "                            (default: each appears in the output as in the input)\n"
    "      --align [hard|soft]   word alignments: ' ||| 0-0 1-2 ...' after each output line\n"
    "                            (source word - output word); with --json an \"alignment\"\n"
    "                            field, and with soft the attention of each output token\n"
    "      --align-layer LIST    decoder layers whose cross-attention aligns: all, or numbers\n"
    "                            from 1 (or -1 the last), e.g. 2,3 (default: the upper half)\n"
    "      --align-heads LIST    heads averaged: all (default) or numbers from 1, e.g. 1,3\n"
    "      --progress            progress on standard error\n"
    "  -v, --verbose             timings (and the drawn seed) on standard error\n"
    "  -h, --help                show this help\n";

void cli_run_usage(void)
{
    cli_puts(run_help);
}

enum {
    OPT_MIN_TOKENS = 256, OPT_GREEDY, OPT_MIN_P, OPT_SEED, OPT_NBEST, OPT_LENPEN, OPT_EARLY,
    OPT_REPPEN, OPT_NGRAM, OPT_PREFIX, OPT_WHOLE, OPT_IDS, OPT_SPECIAL, OPT_TRUNCATE, OPT_BATCH,
    OPT_THREADS, OPT_JSON, OPT_PROGRESS, OPT_SPLIT, OPT_NO_SPLIT, OPT_NO_PROTECT, OPT_MARKUP,
    OPT_ALIGN, OPT_ALIGN_LAYER, OPT_ALIGN_HEADS, OPT_SRC_LANG, OPT_TGT_LANG,
};

int run_parse_options(options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"max-tokens", required_argument, NULL, 'n'},
        {"min-tokens", required_argument, NULL, OPT_MIN_TOKENS},
        {"greedy", no_argument, NULL, OPT_GREEDY}, {"sample", no_argument, NULL, 's'},
        {"temperature", required_argument, NULL, 't'}, {"top-k", required_argument, NULL, 'k'},
        {"top-p", required_argument, NULL, 'p'}, {"min-p", required_argument, NULL, OPT_MIN_P},
        {"seed", required_argument, NULL, OPT_SEED}, {"beam", required_argument, NULL, 'b'},
        {"n-best", required_argument, NULL, OPT_NBEST},
        {"length-penalty", required_argument, NULL, OPT_LENPEN},
        {"early-stopping", required_argument, NULL, OPT_EARLY},
        {"repetition-penalty", required_argument, NULL, OPT_REPPEN},
        {"no-repeat-ngram", required_argument, NULL, OPT_NGRAM},
        {"prefix", required_argument, NULL, OPT_PREFIX}, {"null", no_argument, NULL, '0'},
        {"whole", no_argument, NULL, OPT_WHOLE}, {"ids", no_argument, NULL, OPT_IDS},
        {"special", no_argument, NULL, OPT_SPECIAL}, {"truncate", no_argument, NULL, OPT_TRUNCATE},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"threads", required_argument, NULL, OPT_THREADS}, {"json", no_argument, NULL, OPT_JSON},
        {"progress", no_argument, NULL, OPT_PROGRESS}, {"verbose", no_argument, NULL, 'v'},
        {"split", no_argument, NULL, OPT_SPLIT}, {"no-split", no_argument, NULL, OPT_NO_SPLIT},
        {"no-protect", no_argument, NULL, OPT_NO_PROTECT},
        {"markup", required_argument, NULL, OPT_MARKUP},
        {"align", optional_argument, NULL, OPT_ALIGN},
        {"align-layer", required_argument, NULL, OPT_ALIGN_LAYER},
        {"align-heads", required_argument, NULL, OPT_ALIGN_HEADS},
        {"src-lang", required_argument, NULL, OPT_SRC_LANG},
        {"tgt-lang", required_argument, NULL, OPT_TGT_LANG},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    eng_overrides *ov = &o->ov;
    eng_overrides_default(ov);
    o->batch = 32;
    o->delim = '\n';
    o->split = -1;
    o->protect = 1;
    o->threads = cli_default_threads();
    const char *cmd = argv[0];
    int c;
    optind = 1;
    opterr = 0;
    int li = -1;
    int sampling_opt = 0;   /* -t, -k, -p or --min-p given: they switch sampling on */
    while ((c = getopt_long(argc, argv, "m:n:st:k:p:b:0vh", opts, &li)) != -1) {
        const char *a = optarg;
        char name[32];
        if (li >= 0)
            snprintf(name, sizeof name, "--%s", opts[li].name);
        else
            snprintf(name, sizeof name, "-%c", c);
        li = -1;
        int bad = 0;
        long v = 0;
        double x = 0;
        switch (c) {
        case 'm': o->model = a; break;
        case 'n':
            bad = cli_opt_long(cmd, name, a, 1, 1 << 20, &v);
            ov->max_new_tokens = (int)v;
            break;
        case OPT_MIN_TOKENS:
            bad = cli_opt_long(cmd, name, a, 0, 1 << 20, &v);
            ov->min_new_tokens = (int)v;
            break;
        case OPT_GREEDY: ov->mode = GEN_GREEDY; o->has_greedy = 1; break;
        case 's': ov->mode = GEN_SAMPLE; o->has_sample = 1; break;
        case 't':
            bad = cli_opt_double(cmd, name, a, 1e-6, 1e6, &ov->temperature);
            sampling_opt = 1;
            break;
        case 'k':
            bad = cli_opt_long(cmd, name, a, 0, 1 << 24, &v);
            ov->top_k = (int)v;
            sampling_opt = 1;
            break;
        case 'p':
            bad = cli_opt_double(cmd, name, a, 1e-9, 1, &ov->top_p);
            sampling_opt = 1;
            break;
        case OPT_MIN_P:
            bad = cli_opt_double(cmd, name, a, 0, 1, &ov->min_p);
            sampling_opt = 1;
            break;
        case OPT_SEED:
            bad = cli_opt_long(cmd, name, a, 0, __LONG_MAX__, &v);
            ov->seed = (uint64_t)v;
            ov->has_seed = 1;
            break;
        case 'b':
            bad = cli_opt_long(cmd, name, a, 1, 1024, &v);
            ov->num_beams = (int)v;
            ov->mode = GEN_BEAM;
            o->has_beam = 1;
            break;
        case OPT_NBEST:
            bad = cli_opt_long(cmd, name, a, 1, MAX_NBEST, &v);
            ov->n_best = (int)v;
            break;
        case OPT_LENPEN:
            bad = cli_opt_double(cmd, name, a, -100, 100, &x);
            ov->length_penalty = x;
            break;
        case OPT_EARLY:
            ov->early_stopping = strcmp(a, "true") == 0 ? GEN_STOP_EARLY
                                 : strcmp(a, "false") == 0 ? GEN_STOP_HEURISTIC
                                 : strcmp(a, "never") == 0 ? GEN_STOP_NEVER : -1;
            if (ov->early_stopping < 0)
                bad = cli_usage_error(cmd, "%s: '%s' is not one of true, false, never", name, a);
            break;
        case OPT_REPPEN:
            bad = cli_opt_double(cmd, name, a, 1e-3, 1e3, &x);
            ov->repetition_penalty = x;
            break;
        case OPT_NGRAM:
            bad = cli_opt_long(cmd, name, a, 0, 1024, &v);
            ov->no_repeat_ngram = (int)v;
            break;
        case OPT_PREFIX: o->prefix = a; break;
        case OPT_SRC_LANG: o->src_lang = a; break;
        case OPT_TGT_LANG: o->tgt_lang = a; break;
        case '0': o->delim = '\0'; break;
        case OPT_WHOLE: o->delim = -1; break;
        case OPT_IDS: o->ids = 1; break;
        case OPT_SPECIAL: o->special = 1; break;
        case OPT_TRUNCATE: o->truncate = 1; break;
        case OPT_BATCH: bad = cli_opt_long(cmd, name, a, 1, 4096, &o->batch); break;
        case OPT_THREADS: bad = cli_opt_long(cmd, name, a, 1, 256, &o->threads); break;
        case OPT_JSON: o->json = 1; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_SPLIT: o->split = 1; break;
        case OPT_NO_SPLIT: o->split = 0; break;
        case OPT_NO_PROTECT: o->protect = 0; break;
        case OPT_MARKUP:
            o->markup = strcmp(a, "html") == 0 ? MARKUP_HTML : strcmp(a, "xml") == 0 ? MARKUP_XML
                                                                                : -1;
            if (o->markup < 0)
                return cli_usage_error(cmd, "--markup: '%s' is not html or xml", a);
            break;
        case OPT_ALIGN:
            /* --align, --align=WHAT or --align WHAT (WHAT: hard or soft) */
            if (!a && optind < argc &&
                (strcmp(argv[optind], "hard") == 0 || strcmp(argv[optind], "soft") == 0))
                a = argv[optind++];
            o->align = !a || strcmp(a, "hard") == 0 ? ALIGN_HARD
                       : strcmp(a, "soft") == 0 ? ALIGN_SOFT : 0;
            if (!o->align)
                return cli_usage_error(cmd, "--align: '%s' is not hard or soft", a);
            break;
        case OPT_ALIGN_LAYER: o->align_layer = a; break;
        case OPT_ALIGN_HEADS: o->align_heads = a; break;
        case 'v': o->verbose = 1; break;
        case 'h': cli_run_usage(); return -1;
        default:
            return cli_usage_error(cmd, "unknown option or missing value: %s", argv[optind - 1]);
        }
        if (bad)
            return bad;
    }
    if (sampling_opt && (o->has_beam || o->has_greedy))
        return cli_usage_error(cmd, "-t, -k, -p and --min-p sample: they cannot be combined with "
                               "%s", o->has_beam ? "--beam" : "--greedy");
    if (sampling_opt) {
        ov->mode = GEN_SAMPLE;
        o->has_sample = 1;
    }
    if (o->markup && o->ids)
        return cli_usage_error(cmd, "--markup and --ids cannot be combined");
    if ((o->align_layer || o->align_heads) && !o->align)
        return cli_usage_error(cmd, "--align-layer and --align-heads need --align");
    if (o->align == ALIGN_SOFT && !o->json)
        return cli_usage_error(cmd, "--align soft needs --json (the text output holds hard "
                               "alignments only)");
    if (o->has_sample && o->has_beam)
        return cli_usage_error(cmd, "--sample and --beam cannot be combined");
    if (ov->n_best > 1 && ov->mode != GEN_BEAM)
        return cli_usage_error(cmd, "--n-best needs beam search (-b N)");
    if (ov->mode == GEN_BEAM && ov->n_best > ov->num_beams)
        return cli_usage_error(cmd, "--n-best %d is more than the %d beams", ov->n_best,
                               ov->num_beams);
    if (ov->min_new_tokens >= 0 && ov->max_new_tokens >= 0 &&
        ov->min_new_tokens > ov->max_new_tokens)
        return cli_usage_error(cmd, "--min-tokens is larger than --max-tokens");
    return 0;
}
