"""Drives a command as a coprocess: writes one line, waits for its one answer line, then writes
the next, as an interactive user or a program holding both pipes would.

Usage: /usr/bin/python3 tests/cli/coproc.py LINES_FILE COMMAND [ARG...]
Prints each answer and, on stderr, the median and worst latency; exits 1 when an answer does not
come within 20 s of its line (the command waits for more input than it was given) or the command
fails.
"""
import os
import select
import subprocess
import sys
import time


def main():
    lines = open(sys.argv[1], 'rb').read().splitlines()
    proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = proc.stdout.fileno()
    pending = b''
    waits = []
    for line in lines:
        proc.stdin.write(line + b'\n')
        proc.stdin.flush()
        t0 = time.monotonic()
        while b'\n' not in pending:
            left = 20.0 - (time.monotonic() - t0)
            ready, _, _ = select.select([out], [], [], max(left, 0))
            if not ready:
                print('coproc: no answer to %r within 20 s' % line, file=sys.stderr)
                proc.kill()
                return 1
            chunk = os.read(out, 65536)
            if not chunk:
                print('coproc: the command ended before answering %r' % line, file=sys.stderr)
                return 1
            pending += chunk
        waits.append(time.monotonic() - t0)
        answer, pending = pending.split(b'\n', 1)
        sys.stdout.buffer.write(answer + b'\n')
    proc.stdin.close()
    rest = proc.stdout.read()
    status = proc.wait()
    sys.stdout.buffer.write(pending + rest)
    waits.sort()
    print('coproc: %d answers, median %.1f ms, worst %.1f ms'
          % (len(waits), 1e3 * waits[len(waits) // 2], 1e3 * waits[-1]), file=sys.stderr)
    return 1 if status else 0


if __name__ == '__main__':
    sys.exit(main())
