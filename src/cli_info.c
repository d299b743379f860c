/* cli_info.c — placeholder until its owner lands the real subcommand. */
#include "cli.h"

/* Reports that the subcommand is not built yet; returns 1. */
int cli_info(int argc, char **argv)
{
    (void)argc;
    cli_error("%s: not implemented yet", argv[0]);
    return CLI_FAIL;
}

/* Reports that the subcommand is not built yet; returns 1. */
int cli_convert(int argc, char **argv)
{
    (void)argc;
    cli_error("%s: not implemented yet", argv[0]);
    return CLI_FAIL;
}
