"""tok_edge_text.py — writes tests/data/tok/edge.txt, the tokenizer's edge-case text.

Each line exercises one corner of the pre-tokenizer patterns or the merge loop: emoji and ZWJ
sequences, CJK, combining marks, right-to-left scripts, \\r\\n, tabs, long runs of spaces and
digits, contractions with straight and curly apostrophes and upper case, very long words, lines of
one character, every Unicode White_Space character and its look-alikes, special tokens' text,
case folding in the contractions ((?i) also matches U+017F for s),
long single pieces.  Characters added in Unicode 15 and 16 are left out on purpose (Debian 12's
PCRE2 has older tables than tiktoken's Rust regex; see tokenizer/bpe.h).

    /usr/bin/python3 -m scripts.goldens.tok_edge_text tests/data/tok/edge.txt
"""
import sys

WHITE = [0x09, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B)) + \
        [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
LOOKALIKE = [0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD]


def lines():
    yield "Hello, world! This is a plain English sentence."
    yield "😀 👍🏽 🇫🇷🇩🇪 👨‍👩‍👧‍👦 ❤️ 🏳️‍🌈 👩🏾‍💻 🧑‍🤝‍🧑 ✌️✌🏿"
    yield "日本語のテキスト、中文文本。한국어 텍스트입니다。ｶﾀｶﾅ ＡＢＣ"
    yield "e\u0301 n\u0303 a\u030a\u0323 Z\u0324\u0354\u0367\u0311\u0343 q\u0307\u0323 \u0915\u094d\u0937"
    yield "שלום עולם! مرحبا بالعالم. \u200fRTL mark\u200e LTR mark \u202eoverride\u202c"
    yield "carriage return at the end\r"
    yield "mid\rline\r\rcarriage returns\r "
    yield "\t\tindented with tabs\tand\ttabs\t"
    yield "a\tb \t c\t \td"
    for n in (1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 40, 64):
        yield "x" + " " * n + "y" + " " * n
    yield " " * 25
    yield "\t" * 9
    yield "1234567890" * 10
    yield "3.14159 2,718 1,000,000 0x1F 1e-9 -42 +7 12:30 2024-05-06 ½ ¾ ² ³"
    yield "١٢٣٤ ４５６ ⅻ Ⅳ ① ¹²³ ०१२"
    yield "don't I'll we've they're she'd I'm it's you'd"
    yield "don’t it’s we’ve ‘quoted’ “double” «guillemets» „Anführung“"
    yield "IT'S DON'T I'M WE'VE THEY'RE SHE'D I'LL 'S 'T 'RE 'VE 'M 'LL 'D"
    yield "It'S iT's 'Ll 'rE ''s '''t 's't'd"
    yield "it'\u017f IT'\u017f '\u017f'\u017f DON'\u212aT 'K"  # case folding: long s, Kelvin sign
    yield "pneumonoultramicroscopicsilicovolcanoconiosis Donaudampfschifffahrtsgesellschaftskapitän"
    yield "anticonstitutionnellement Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz"
    yield "supercalifragilisticexpialidocious" * 8
    for ch in ("a", " ", "'", "1", "é", "😀", "\t", ".", "ß", "İ", "ſ", "K"):
        yield ch
    yield ""
    yield " ".join("U+%04X[%s]" % (c, chr(c)) for c in WHITE)
    yield "".join("a" + chr(c) + "b" for c in WHITE)
    yield "".join(chr(c) * 3 + "x" for c in WHITE)
    yield "".join("a" + chr(c) + "b " for c in LOOKALIKE)
    yield "".join(" " + chr(c) + "z" for c in LOOKALIKE)
    yield "<|endoftext|> <s> </s> <pad> <unk> >>fr<< <|fim_prefix|><|endofprompt|>"
    yield "text<|endoftext|>more text"
    yield "ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝 𝓈𝒸𝓇𝒾𝓅𝓉 ﬁﬂﬀ Ǆ ǅ ǆ ẞ ß Σσς"
    yield "Ελληνικά Русский язык Українська ქართული Հայերեն ไทย ລາວ ខ្មែរ"
    yield "हिन्दी বাংলা தமிழ் తెలుగు ಕನ್ನಡ മലയാളം ગુજરાતી ਪੰਜਾਬੀ"
    yield "mixed123numbers456and789letters a1b2c3 ab12cd34 x²y³"
    yield "punctuation!!! ??? ... --- ___ *** ### @@@ $$$ %%% ^^^ &&& ((())) [[[]]] {{{}}}"
    yield "path/to/file.txt C:\\Windows\\System32 https://example.com/a?b=c&d=e#f"
    yield "email@example.com user.name+tag@sub.domain.org"
    yield "```code block``` `inline` <html><body class=\"x\">&amp;&lt;</body></html>"
    yield "a" * 3000
    yield " " * 3000 + "end"
    yield "^" * 3000
    yield "7" * 2000
    yield "ab" * 1500
    yield "é" * 1500
    yield "😀" * 700
    yield " a" * 1500
    yield "'s" * 1000


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/tok/edge.txt"
    with open(out, "w", encoding="utf-8", newline="") as f:
        for line in lines():
            assert "\n" not in line
            f.write(line + "\n")
        # whole-text corners: runs of newlines, spaces before newlines, a final line without '\n'
        f.write("\n\n\nafter three newlines   \n  \n\t\n \r\n\r\n")
        f.write("last line without a newline   ")


main()
