/* output.c — the command line's two streams: messages on stderr, a checked stdout (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("attn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "attn: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'attn %s --help')\n", cmd);
    return CLI_USAGE;
}

void cli_init(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/* Ends the process after a failed write to stdout: quietly with 0 for a closed pipe, else 1. */
static void stdout_failed(void)
{
    if (errno == EPIPE)
        _exit(CLI_OK);
    cli_error("stdout: %s", strerror(errno ? errno : EIO));
    _exit(CLI_FAIL);
}

void cli_write(const void *buf, size_t len)
{
    if (len && fwrite(buf, 1, len, stdout) != len)
        stdout_failed();
}

void cli_puts(const char *s)
{
    cli_write(s, strlen(s));
}

void cli_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    if (r < 0)
        stdout_failed();
}

void cli_flush(void)
{
    if (fflush(stdout) != 0)
        stdout_failed();
}

int cli_finish(int status)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE)
            return status;
        cli_error("stdout: %s", strerror(errno ? errno : EIO));
        return CLI_FAIL;
    }
    if (fclose(stdout) != 0 && errno != EPIPE) {
        cli_error("stdout: %s", strerror(errno));
        return CLI_FAIL;
    }
    return status;
}
