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

int cli_utf8_char(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    int need;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if ((size_t)need >= n || s[1] < lo || s[1] > hi)
        return 0;
    for (int k = 2; k <= need; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    return need + 1;
}

void cli_write_utf8(const char *s, size_t n)
{
    size_t start = 0, i = 0;
    while (i < n) {
        int k = cli_utf8_char(s + i, n - i);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        cli_write(s + start, i - start);
        cli_write("\xef\xbf\xbd", 3);
        start = ++i;
    }
    cli_write(s + start, n - start);
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
