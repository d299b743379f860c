#!/usr/bin/python3
"""icu_sentence_breaks.py — scores ICU's sentence break iterator on tests/data/sentences/cases.tsv.

Each record is first cut at the hard boundaries attn uses (the control characters, newline and
tab among them, and the line and paragraph separators), as the caller of any splitter would; ICU
then splits each piece. A case counts as right when the list of sentences, stripped of
surrounding white space, equals the expected one. Two configurations are scored: the plain
locale and the locale with the keyword @ss=standard (ICU's suppressions of breaks after known
abbreviations).

Needs PyICU (Debian: apt-get install python3-icu). Usage:
    /usr/bin/python3 -m scripts.bench.icu_sentence_breaks [TABLE.tsv] [--show-misses]
    /usr/bin/python3 -m scripts.bench.icu_sentence_breaks --speed FILE   (MB/s on a text file)
"""
import re
import sys
import time

import icu

HARD = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]')
ESC = re.compile(r'\\(u[0-9a-fA-F]{4}|n|t|\\)')


def unescape(s):
    """Turns the table's escapes (\\n, \\t, \\\\, \\uXXXX) into the characters they stand for."""
    def one(m):
        e = m.group(1)
        return {'n': '\n', 't': '\t', '\\': '\\'}.get(e) or chr(int(e[1:], 16))
    return ESC.sub(one, s)


def read_cases(path):
    """Yields (id, lang, text, expected sentences) for each row of the table."""
    for line in open(path, encoding='utf-8'):
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        cols = [unescape(c) for c in line.split('\t')]
        yield cols[0], cols[1], cols[2], cols[3:]


def icu_split(text, iterator):
    """Splits text into stripped sentences: hard boundaries first, then ICU within each piece."""
    out = []
    for piece in HARD.split(text):
        iterator.setText(piece)
        start = 0
        # PyICU iterates over boundaries as UTF-16 offsets; a UnicodeString keeps them in step.
        u = icu.UnicodeString(piece)
        for end in iterator:
            s = str(u[start:end]).strip()
            if s:
                out.append(s)
            start = end
    return out


def score(path, keyword, show):
    """Prints cases right / total per language for one locale keyword; returns the misses."""
    iters, right, total, misses = {}, {}, {}, []
    for cid, lang, text, expected in read_cases(path):
        if lang not in iters:
            iters[lang] = icu.BreakIterator.createSentenceInstance(icu.Locale(lang + keyword))
        got = icu_split(text, iters[lang])
        total[lang] = total.get(lang, 0) + 1
        if got == expected:
            right[lang] = right.get(lang, 0) + 1
        else:
            misses.append((cid, expected, got))
    name = 'ICU %s locale %s' % (icu.ICU_VERSION, keyword or '(plain)')
    parts = ['%s %d/%d' % (l, right.get(l, 0), total[l]) for l in total]
    print('%-32s all %d/%d  %s' % (name, sum(right.values()), sum(total.values()),
                                   '  '.join(parts)))
    if show:
        for cid, expected, got in misses:
            print('  %s\n    want %s\n    got  %s' % (cid, expected, got))
    return misses


def speed(path):
    """Prints ICU's splitting speed (MB/s of UTF-8, best of 3) on one text file, line by line."""
    data = open(path, encoding='utf-8', errors='replace').read()
    mb = len(data.encode('utf-8')) / 1e6
    it = icu.BreakIterator.createSentenceInstance(icu.Locale('en@ss=standard'))
    best = None
    for _ in range(3):
        t = time.perf_counter()
        n = sum(len(icu_split(line, it)) for line in data.split('\n'))
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    print('ICU (PyICU) en@ss=standard: %.1f MB, %d sentences, %.2f MB/s' % (mb, n, mb / best))


def main():
    args = sys.argv[1:]
    if args[:1] == ['--speed']:
        speed(args[1])
        return
    show = '--show-misses' in args
    args = [a for a in args if a != '--show-misses']
    path = args[0] if args else 'tests/data/sentences/cases.tsv'
    score(path, '', show)
    score(path, '@ss=standard', show)


if __name__ == '__main__':
    main()
