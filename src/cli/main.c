/* main.c — attn's entry point: picks the subcommand and returns its exit status. */
#include "cli.h"

#include <string.h>

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
    argv[0] = "run";
    return cli_finish(cli_run(argc, argv));
}
