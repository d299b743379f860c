/* json.c — quoted strings (JSON: UTF-8 checked; or C-style for attn info) and JSON numbers. */
#include "cli.h"

#include <math.h>

int cli_utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    int need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if ((size_t)need >= n || s[1] < lo || s[1] > hi)
        return 0;
    for (int k = 2; k <= need; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    return need + 1;
}

void cli_quote(const char *s, size_t n, int json)
{
    cli_write("\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        int k = json ? cli_utf8_char((const unsigned char *)s + i, n - i) : 1;
        if (c == '"' || c == '\\')
            cli_printf("\\%c", c);
        else if (c == '\n')
            cli_puts("\\n");
        else if (c == '\t')
            cli_puts("\\t");
        else if (c < 0x20 || c == 0x7f)
            cli_printf(json ? "\\u%04x" : "\\x%02x", c);
        else if (k > 0)
            cli_write(s + i, (size_t)k);
        else
            cli_puts("\\ufffd");
        i += k > 0 ? (size_t)k : 1;
    }
    cli_write("\"", 1);
}

void cli_json_number(double x)
{
    if (isfinite(x))
        cli_printf("%.6g", x);
    else
        cli_puts("null");
}
