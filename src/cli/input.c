/* input.c — the command line's input: files or stdin, whole or as records, through one reader. */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
    *r = (cli_reader){.files = n > 0 ? files : dash, .n_files = n > 0 ? n : 1, .delim = delim,
                      .fd = -1};
    r->total = input_size(r->files, r->n_files);
}

/* Opens the reader's next file into r->fd (a directory or unreadable file is reported and
 * skipped, r->failed set); returns 1, or 0 when no file is left. */
static int open_next(cli_reader *r)
{
    while (r->next_file < r->n_files) {
        const char *path = r->files[r->next_file++];
        r->name = path;
        r->record = 0;
        int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            close(fd);
            fd = -1;
            errno = EISDIR;
        }
        if (fd >= 0) {
            r->fd = fd;
            r->pos = r->end = 0;
            return 1;
        }
        cli_error("%s: %s", path, strerror(errno));
        r->failed = 1;
    }
    return 0;
}

/* Refills the reader's buffer from r->fd; returns the bytes read, 0 at the end of the file, or
 * -1 after reporting a read error (the rest of that file is skipped, r->failed set). */
static ssize_t refill(cli_reader *r)
{
    ssize_t got;
    do
        got = read(r->fd, r->buf, sizeof r->buf);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        cli_error("%s: %s", r->name, strerror(errno));
        r->failed = 1;
    }
    r->pos = 0;
    r->end = got > 0 ? (size_t)got : 0;
    return got;
}

/* Appends n bytes to the record in *buf while it holds less than r->max bytes; returns 0, or -1
 * when out of memory. */
static int append(cli_reader *r, char **buf, size_t *cap, size_t *len, const char *p, size_t n)
{
    r->bytes += n;
    if (r->max > 0 && *len + n > r->max)
        n = *len < r->max ? r->max - *len : 0;
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap : 256;
        while (want < *len + n + 1)
            want *= 2;
        char *nb = realloc(*buf, want);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = want;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

int cli_reader_next(cli_reader *r, char **buf, size_t *cap, size_t *len)
{
    *len = 0;
    r->bytes = 0;
    int have = 0;            /* a record has begun */
    if (r->finished)
        return 0;
    for (;;) {
        if (r->fd < 0) {
            if (!open_next(r)) {
                r->finished = 1;
                break;
            }
            if (r->delim < 0) {
                r->name = r->n_files == 1 ? r->files[0] : "input";
                r->record = 0;
            }
        }
        if (r->pos == r->end) {
            ssize_t got = refill(r);
            if (got <= 0) {
                cli_reader_close(r);
                if (r->delim < 0 || !have)
                    continue;
                break;        /* a last record without its delimiter */
            }
        }
        const char *p = r->buf + r->pos;
        size_t avail = r->end - r->pos;
        const char *d = r->delim >= 0 ? memchr(p, r->delim, avail) : NULL;
        size_t take = d ? (size_t)(d - p) : avail;
        have = 1;
        if (append(r, buf, cap, len, p, take) < 0) {
            cli_error("out of memory");
            r->failed = r->finished = 1;
            return 0;
        }
        r->pos += take + (d != NULL);
        r->consumed += (long long)(take + (d != NULL));
        if (d)
            break;
    }
    if (r->delim < 0) {
        if (*len > 0 && (*buf)[*len - 1] == '\n' && !cli_reader_overlong(r))
            (*len)--;
        if (r->record > 0)
            return 0;
        have = 1;
    }
    if (!have)
        return 0;
    if (!*buf && !(*buf = malloc(1)))
        return 0;
    (*buf)[*len] = '\0';
    if (r->record == 0)
        *len = skip_bom(*buf, *len);
    r->record++;
    return 1;
}

int cli_reader_ready(const cli_reader *r)
{
    if (r->finished || r->fd < 0 || r->delim < 0)
        return 1;
    if (r->pos < r->end && memchr(r->buf + r->pos, r->delim, r->end - r->pos))
        return 1;
    struct pollfd pfd = {r->fd, POLLIN, 0};
    return poll(&pfd, 1, 0) != 0;
}

int cli_reader_overlong(const cli_reader *r)
{
    return r->max > 0 && r->bytes > r->max;
}

void cli_reader_close(cli_reader *r)
{
    if (r->fd > 0)
        close(r->fd);
    r->fd = -1;
    r->pos = r->end = 0;
}
