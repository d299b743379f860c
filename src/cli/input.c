/* input.c — the command line's input: files or stdin, whole or as records, through one reader. */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

FILE *cli_open_input(const char *path)
{
    if (strcmp(path, "-") == 0)
        return stdin;
    FILE *f = fopen(path, "rb");
    if (!f)
        cli_error("%s: %s", path, strerror(errno));
    return f;
}

void cli_close_input(FILE *f)
{
    if (f && f != stdin)
        fclose(f);
}

int cli_slurp(FILE *f, char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return -1;
    for (;;) {
        if (cap - n < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                errno = ENOMEM;
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(b);
                errno = e;
                return -1;
            }
            break;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

long cli_read_record(FILE *f, char **buf, size_t *cap, int delim, size_t *raw)
{
    errno = 0;
    ssize_t n = getdelim(buf, cap, delim, f);
    if (n < 0)
        return -1;
    if (raw)
        *raw = (size_t)n;
    if (n > 0 && (*buf)[n - 1] == (char)delim)
        (*buf)[--n] = '\0';
    return (long)n;
}

/* Removes a UTF-8 byte order mark from the start of buf (n bytes, NUL-terminated); returns the
 * new length. */
static size_t skip_bom(char *buf, size_t n)
{
    if (n < 3 || memcmp(buf, "\xef\xbb\xbf", 3) != 0)
        return n;
    memmove(buf, buf + 3, n - 2);
    return n - 3;
}

/* Sums the sizes of the input files when all are regular files; returns -1 otherwise. */
static long long input_size(char **files, int n)
{
    long long total = 0;
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (strcmp(files[i], "-") == 0 ? fstat(0, &sb) : stat(files[i], &sb))
            return -1;
        if (!S_ISREG(sb.st_mode))
            return -1;
        total += sb.st_size;
    }
    return total;
}

void cli_reader_init(cli_reader *r, char **files, int n, int delim)
{
    static char *dash[] = {"-"};
    *r = (cli_reader){.files = n > 0 ? files : dash, .n_files = n > 0 ? n : 1, .delim = delim};
    r->total = input_size(r->files, r->n_files);
}

/* Reads every input file, concatenated, into *buf as one record without its final newline;
 * returns 1, or -1 after printing the error. */
static int read_whole(cli_reader *r, char **buf, size_t *cap, size_t *len)
{
    size_t n = 0;
    for (int i = 0; i < r->n_files; i++) {
        FILE *f = cli_open_input(r->files[i]);
        if (!f)
            return -1;
        char *part;
        size_t plen;
        if (cli_slurp(f, &part, &plen) < 0) {
            cli_error("%s: %s", r->files[i], strerror(errno));
            cli_close_input(f);
            return -1;
        }
        cli_close_input(f);
        plen = skip_bom(part, plen);
        if (n + plen + 1 > *cap) {
            char *nb = realloc(*buf, n + plen + 1);
            if (!nb) {
                free(part);
                cli_error("out of memory");
                return -1;
            }
            *buf = nb;
            *cap = n + plen + 1;
        }
        memcpy(*buf + n, part, plen);
        n += plen;
        free(part);
    }
    if (n > 0 && (*buf)[n - 1] == '\n')
        n--;
    if (!*buf && !(*buf = calloc(1, 1)))
        return -1;
    (*buf)[n] = '\0';
    *len = n;
    r->finished = 1;
    r->name = r->n_files == 1 ? r->files[0] : "input";
    r->record = 1;
    return 1;
}

int cli_reader_next(cli_reader *r, char **buf, size_t *cap, size_t *len)
{
    if (r->finished)
        return 0;
    if (r->delim < 0)
        return read_whole(r, buf, cap, len);
    for (;;) {
        if (!r->f) {
            if (r->next_file >= r->n_files) {
                r->finished = 1;
                return 0;
            }
            r->name = r->files[r->next_file++];
            r->f = cli_open_input(r->name);
            r->record = 0;
            if (!r->f)
                return -1;
        }
        size_t raw;
        long n = cli_read_record(r->f, buf, cap, r->delim, &raw);
        if (n >= 0) {
            r->consumed += (long long)raw;
            *len = r->record == 0 ? skip_bom(*buf, (size_t)n) : (size_t)n;
            r->record++;
            return 1;
        }
        if (ferror(r->f)) {
            cli_error("%s: %s", r->name, strerror(errno ? errno : EIO));
            return -1;
        }
        cli_close_input(r->f);
        r->f = NULL;
    }
}

void cli_reader_close(cli_reader *r)
{
    cli_close_input(r->f);
    r->f = NULL;
}
