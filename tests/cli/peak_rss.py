"""Runs a command with one line of N bytes of 'a' (then the line "after") on its stdin, fed
through a pipe so that the input is never a file, and prints the command's peak resident memory.

Usage: /usr/bin/python3 tests/cli/peak_rss.py N OUT_FILE COMMAND [ARG...]
Prints "peak_rss_kb K status S" on stdout; the command's stdout goes to OUT_FILE, its stderr
passes through.
"""
import resource
import subprocess
import sys


def main():
    n = int(sys.argv[1])
    with open(sys.argv[2], 'wb') as out:
        proc = subprocess.Popen(sys.argv[3:], stdin=subprocess.PIPE, stdout=out)
        block = b'a' * (1 << 20)
        try:
            left = n
            while left > 0:
                proc.stdin.write(block[:min(left, len(block))])
                left -= len(block)
            proc.stdin.write(b'\nafter\n')
            proc.stdin.close()
        except BrokenPipeError:
            pass
        status = proc.wait()
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print('peak_rss_kb %d status %d' % (kb, status))
    return 0


if __name__ == '__main__':
    sys.exit(main())
