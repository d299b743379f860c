/* json.c — quoted strings (JSON: UTF-8 checked; or C-style for attn info) and JSON numbers. */
#include "cli.h"

#include <math.h>

void cli_quote(const char *s, size_t n, int json)
{
    cli_write("\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        int k = json ? cli_utf8_char(s + i, n - i) : 1;
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
