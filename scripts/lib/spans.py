"""spans.py — the spans a translation must keep unchanged (numbers, versions, paths, URLs, e-mail
addresses, options, identifiers), as (kind, regular expression); used to make copy examples
(scripts/model/extra_data.py) and to measure how many such spans a model reproduces
(scripts/model/evaluate_model.py)."""
import re

SPANS = [
    ("url", r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]"),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    ("path", r"(?<![\w/])(?:/[\w.+-]+){2,}/?"),
    ("cve", r"\bCVE-\d{4}-\d{4,7}\b"),
    ("option", r"(?<![\w-])--[a-z][a-z0-9-]+\b"),
    ("version", r"\b\d+(?:\.\d+){1,3}(?:[-~+][\w.~+]+)?\b"),
    ("number", r"(?<![\w.,])\d{2,7}(?![\w.,])"),
]


def find(text):
    """The distinct spans of text, as (kind, string), in the order of SPANS."""
    out = []
    for kind, rx in SPANS:
        for m in re.finditer(rx, text):
            if m.group(0) not in [s for _, s in out]:
                out.append((kind, m.group(0)))
    return out
