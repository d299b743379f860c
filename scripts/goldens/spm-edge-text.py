#!/usr/bin/python3
"""spm-edge-text.py — writes the SentencePiece edge-case text (one case per line) to stdout.

Mixed scripts, combining marks, full-width and compatibility forms, emoji, invalid UTF-8, control
and zero-width characters, long runs, lines of only whitespace, text that looks like pieces.
Deterministic: the same bytes every run.
"""
import sys

LINES = [
    "Hello, world! This is a plain English sentence.",
    "",
    " ",
    "     ",
    "\t",
    " \t \t ",
    "\u3000\u3000",
    "\u00a0\u00a0x\u00a0",
    "\u2002\u2003\u2009\u200a\u202f\u205f",
    "  leading spaces",
    "trailing spaces   ",
    "a  b   c    d",
    "tab\tseparated\tvalues",
    "Hello \u043c\u0438\u0440 \u4e16\u754c \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd "
    "\u0928\u092e\u0938\u094d\u0924\u0947 \uc548\ub155 "
    "\u03b5\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002\u4e2d\u6587\u6587\u672c\u3002",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 \u1780\u17b6\u179a "
    "\u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8",
    "e\u0301 a\u0308 o\u0302 n\u0303 c\u0327 \u00e9 \u00e4 \u00f4 \u00f1 \u00e7",
    "Z\u0324\u0354\u0347a\u0351\u0357l\u0358g\u031co\u0345",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab",
    "q\u0307\u0323 \u0915\u094d\u0937 \u0627\u064e\u0644\u0652",
    "\uff21\uff22\uff23\uff41\uff42\uff43\uff11\uff12\uff13\uff01\uff1f\uff08\uff09",
    "\uff76\uff80\uff76\uff85 \uff8a\uff9f \u30ac\u30d1",
    "\u337f \ufb01 \ufb02 \u2460 \u2461 \u2122 \u00bd \u00b2 \u2075 \u2167 \u3396 \u33a1",
    "\u212b \u2126 \u00b5 \u017f \u1e9e \u00df \u0130 \u0131",
    "\U0001f600 \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 "
    "\U0001f1eb\U0001f1f7 \u2764\ufe0f \U0001f3f3\ufe0f\u200d\U0001f308",
    "emoji\U0001f600in\U0001f680words",
    "\u200b\u200c\u200d\ufeff zero\u200bwidth \u00adsoft\u00adhyphen",
    "\u2028line\u2029para\u0085next",
    "\x01\x02\x03 control \x1b[0m \x7f",
    "\x0b\x0c vertical",
    "carriage\rreturn",
    "\ufffd replacement \ufffd\ufffd",
    "\u2581 \u2581\u2581x\u2581 y\u2581\u2581",
    "<unk> <s> </s> <pad> <0x41> <0xFF> [UNK]",
    "<sep> @@ <2fr> <2de> <mask> ing the",
    "a<sep>b@@c<2fr>d",
    "  <sep>  <sep>  ",
    "1234567890 3.14159 1,000,000 2026-12-06 0x1F",
    "\u0661\u0662\u0663 \u0967\u0968\u0969 \uff11\uff12\uff13",
    "don't can't won't l'homme aujourd'hui \u2019s \u201cquoted\u201d \u00abfran\u00e7ais\u00bb",
    "Stra\u00dfe Gr\u00f6\u00dfe \u00c4rger \u0152uvre c\u0153ur na\u00efve fa\u00e7ade",
    "URL https://example.com/a?b=c&d=e#f and mail user@example.org",
    "a" * 3000,
    "ab" * 1500,
    "-" * 1000,
    "word " * 600,
    "x" + " " * 300 + "y",
    "1234567890" * 80,
    "\u00e9" * 800,
    "\U0001f600" * 300,
    "Abc" * 1000 + "def",
]

RAW = [
    b"\xff\xfe invalid bytes",
    b"lone lead \xc3 and \xe2\x82 and \xf0\x9f\x98",
    b"surrogate \xed\xa0\x80 overlong \xc0\xaf \xe0\x80\xaf beyond \xf4\x90\x80\x80",
    b"continuation \x80\x81\xbf alone",
    b"caf\xe9 latin-1",
    b"nul\x00byte",
    b"\xf8\x88\x80\x80\x80 five \xfc six",
    b"mixed \xe6\x97\xa5\xff\xe6\x9c\xac",
]


def main():
    out = sys.stdout.buffer
    for line in LINES:
        out.write(line.encode("utf-8") + b"\n")
    for line in RAW:
        out.write(line + b"\n")


if __name__ == "__main__":
    main()
