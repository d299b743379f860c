/* main.c — attn's entry point: picks the subcommand and returns its exit status. */
#include "cli.h"

#include <string.h>
#include <sys/stat.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cli_run, "generate text from each input line (the default command)"},
    {"tokenize", cli_tokenize, "print the token ids of each input line"},
    {"detokenize", cli_detokenize, "turn lines of token ids back into text"},
    {"train-tokenizer", cli_train_tokenizer, "learn a BPE vocabulary from text files"},
    {"info", cli_info, "print a model file's metadata and tensor table"},
    {"convert", cli_convert, "rewrite a model file in another dtype or compression"},
    {"score", cli_score, "print the log-probability of target lines given sources"},
    {"bench", cli_bench, "measure a model's speed on this machine"},
    {"attention", cli_attention, "draw the attention of one translation as a heatmap"},
};

/* Prints the list of subcommands after the default command's help. */
static void print_commands(void)
{
    cli_puts("\nCommands (attn COMMAND --help for each):\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        cli_printf("  %-16s %s\n", commands[i].name, commands[i].summary);
    cli_puts("\nOther options:\n      --version             print the version and exit\n");
}

/* Returns the edit distance (insertions, deletions, substitutions, swaps of neighbours) between a
 * and b, or 3 when it is more than 2 or either is longer than 31 bytes. */
static int distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 31 || m > 31)
        return 3;
    int d[32][32];
    for (size_t i = 0; i <= n; i++)
        for (size_t j = 0; j <= m; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m] > 2 ? 3 : d[n][m];
}

/* Returns the subcommand that word is a likely misspelling of (at most 2 edits away, 1 for a
 * word of up to 4 bytes) when no file of that name exists, else NULL. */
static const char *misspelt_command(const char *word)
{
    struct stat sb;
    if (word[0] == '-' || stat(word, &sb) == 0)
        return NULL;
    const char *best = NULL;
    int best_d = strlen(word) <= 4 ? 2 : 3;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        int d = distance(word, commands[i].name);
        if (d < best_d) {
            best_d = d;
            best = commands[i].name;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    cli_init();
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_run_usage();
        print_commands();
        return cli_finish(CLI_OK);
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        cli_puts("attn " ATTN_VERSION "\n");
        return cli_finish(CLI_OK);
    }
    if (argc >= 2) {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(argv[1], commands[i].name) == 0)
                return cli_finish(commands[i].fn(argc - 1, argv + 1));
    }
    const char *near = argc >= 2 ? misspelt_command(argv[1]) : NULL;
    if (near) {
        cli_error("unknown command '%s' (did you mean '%s'?)", argv[1], near);
        return cli_finish(CLI_USAGE);
    }
    argv[0] = "run";
    return cli_finish(cli_run(argc, argv));
}
