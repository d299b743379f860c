"""metrics — corpus BLEU and chrF, implemented from their definitions.

BLEU as sacreBLEU computes it by default (13a tokenisation, one or more references, brevity
penalty, 'exp' smoothing); chrF2 (character n-grams 1..6 without spaces, beta 2, corpus
statistics). scripts/model/evaluate_model.py reports both; scripts/model/train.py validates with
BLEU.
"""
import math
import re
from collections import Counter

# ---- BLEU ----------------------------------------------------------------------------------------

_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),   # punctuation and symbols
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),               # period, comma not after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),               # period, comma not before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),                    # dash after a digit
]


def tokenize_13a(line):
    """mteval-v13a's tokenisation (as sacreBLEU's default '13a' tokenizer) of one line."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = (line.replace("&quot;", '"').replace("&amp;", "&")
                .replace("&lt;", "<").replace("&gt;", ">"))
    line = " %s " % line
    for pattern, repl in _13A:
        line = pattern.sub(repl, line)
    return line.split()


def ngrams(tokens, n):
    """Counter of the n-grams (tuples) of a token list."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(hyps, refs, order=4):
    """Corpus BLEU (0-100) as sacreBLEU computes it by default.

    refs: one reference string per hypothesis, or a list of such reference streams (several
    references: n-gram counts clipped by the largest count in any reference, reference length the
    closest to the hypothesis', the shorter on a tie). Returns (score, precisions in %, brevity
    penalty, hypothesis length, reference length)."""
    streams = [refs] if refs and isinstance(refs[0], str) else refs
    correct, total = [0] * order, [0] * order
    hyp_len = ref_len = 0
    for i, h in enumerate(hyps):
        ht = tokenize_13a(h)
        rts = [tokenize_13a(stream[i]) for stream in streams]
        hyp_len += len(ht)
        ref_len += min((abs(len(rt) - len(ht)), len(rt)) for rt in rts)[1]
        for n in range(1, order + 1):
            hc = ngrams(ht, n)
            most = Counter()
            for rt in rts:
                most |= ngrams(rt, n)
            correct[n - 1] += sum(min(c, most[g]) for g, c in hc.items())
            total[n - 1] += max(len(ht) - n + 1, 0)
    precisions = [0.0] * order
    smooth = 1.0
    for n in range(order):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    if hyp_len == 0:
        return 0.0, precisions, 0.0, hyp_len, ref_len
    bp = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    if min(precisions) <= 0:
        return 0.0, precisions, bp, hyp_len, ref_len
    score = bp * math.exp(sum(math.log(p) for p in precisions) / order)
    return score, precisions, bp, hyp_len, ref_len


# ---- chrF ----------------------------------------------------------------------------------------

def char_ngrams(text, n):
    """Counter of the character n-grams of text with all whitespace removed."""
    s = "".join(text.split())
    return Counter(s[i:i + n] for i in range(len(s) - n + 1))


def chrf(hyps, refs, order=6, beta=2.0):
    """Corpus chrF (0-100) as sacreBLEU's default chrF2: character n-gram statistics of orders
    1..order summed over the corpus; precision and recall averaged over the orders present in both
    hypotheses and references; then their F-beta."""
    stats = [[0, 0, 0] for _ in range(order)]   # per order: hypothesis, reference, matching
    for h, r in zip(hyps, refs):
        for n in range(1, order + 1):
            hc, rc = char_ngrams(h, n), char_ngrams(r, n)
            stats[n - 1][0] += sum(hc.values())
            stats[n - 1][1] += sum(rc.values())
            stats[n - 1][2] += sum(min(c, rc[g]) for g, c in hc.items())
    prec = rec = 0.0
    effective = 0
    for n_hyp, n_ref, n_match in stats:
        if n_hyp > 0 and n_ref > 0:
            prec += n_match / n_hyp
            rec += n_match / n_ref
            effective += 1
    if effective == 0:
        return 0.0
    prec, rec = prec / effective, rec / effective
    if prec + rec == 0:
        return 0.0
    b2 = beta * beta
    return 100.0 * (1 + b2) * prec * rec / (b2 * prec + rec)
