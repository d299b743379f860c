/* cli_run.c — placeholder until its owner lands the real subcommand. */
#include "cli.h"

/* Reports that the subcommand is not built yet; returns 1. */
int cli_run(int argc, char **argv)
{
    (void)argc;
    cli_error("%s: not implemented yet", argv[0]);
    return CLI_FAIL;
}

/* Prints the default command's help. */
void cli_run_usage(void)
{
    cli_puts("Usage: attn [run] [OPTIONS] [FILE...]\n");
}
