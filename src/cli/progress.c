/* progress.c — the progress line on stderr: records done, records/s, tokens/s, time left. */
#include "cli.h"

#include <unistd.h>

void cli_progress_show(cli_progress *p, const cli_reader *rd, int force)
{
    double t = eng_now();
    if (!force && t - p->t_last < 0.5)
        return;
    p->t_last = t;
    double el = t - p->t_start;
    int tty = isatty(2);
    fprintf(stderr, "%sattn: %ld records, %.1f records/s, %.1f tokens/s", tty ? "\r" : "",
            p->n_done, el > 0 ? p->n_done / el : 0.0, el > 0 ? p->n_tokens / el : 0.0);
    if (rd->total > 0 && rd->consumed > 0 && rd->consumed < rd->total) {
        double left = el * (double)(rd->total - rd->consumed) / (double)rd->consumed;
        fprintf(stderr, ", ETA %ld:%02ld", (long)left / 60, (long)left % 60);
    }
    fputs(tty ? "\033[K" : "\n", stderr);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p, const cli_reader *rd)
{
    cli_progress_show(p, rd, 1);
    if (isatty(2))
        fputc('\n', stderr);
}
