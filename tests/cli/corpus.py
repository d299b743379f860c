"""Writes a test corpus for the large-corpus tests (GNU parallel, Slurm): N lines (default 5000)
of one, two or three sentences, with an empty line every 13th line.

Usage: /usr/bin/python3 tests/cli/corpus.py OUT_FILE [N]
"""
import sys

SENTENCES = ['This package provides a library.', 'It supports plugins.', 'See the manual.',
             'The daemon logs to syslog.', 'Dr. Smith wrote it in 2003.']


def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    with open(sys.argv[1], 'w') as f:
        for i in range(n):
            if i % 13 == 0:
                f.write('\n')
            else:
                f.write(' '.join(SENTENCES[(i + k) % 5] for k in range(i % 3 + 1)) + '\n')


if __name__ == '__main__':
    main()
