"""SentencePiece tokenizers for the Hugging Face fixture models, and the source ids their families'
tokenizers give (transformers 4.30's MarianTokenizer, T5Tokenizer, MBartTokenizer; the rules are
README.md's "Hugging Face tokenizers" section).

usage (from the repository root):
    /usr/bin/python3 scripts/goldens/hf_text_fixtures.py goldens
        trains the tokenizers with Debian's spm_train (apt-get install sentencepiece) on the DDTP
        text of tests/data/tok and writes them, Marian's vocab.json, and the ids of every line of
        tests/data/hf_spm/input.txt for each family into tests/data/hf_spm
    /usr/bin/python3 scripts/goldens/hf_text_fixtures.py cleanup
        (also part of goldens) writes, from the tokenizers already in tests/data/hf_spm, for
        each family id lists whose decoded text has " ." " ," " n't" " 's" ... and white space
        at its ends (cleanup.F.ids), that text as spm_decode gives it (cleanup.F.raw), after
        the strip() that ends the family's convert_tokens_to_string (cleanup.F.strip) and after
        that strip and transformers' clean_up_tokenization_spaces rules (cleanup.F.txt)
    /usr/bin/python3 scripts/goldens/hf_text_fixtures.py decode
        (also part of goldens) writes id lists whose tokens the SentencePiece model does not
        know (Marian: vocab.json pieces missing from target.spm; T5: ids past the sentinels of
        the t5_pad folder) among ones it knows (decode.F.ids), spm_decode's text of their tokens
        (decode.F.raw) and that text stripped and cleaned up (decode.F.txt)
    /usr/bin/python3 scripts/goldens/hf_text_fixtures.py folders OUT
        builds the Hugging Face folders marian, t5_v1_0, t5_v1_1, t5_pad and mbart in OUT: the
        fixture weights of tests/data/hf with those tokenizers (t5_pad: T5 v1.1 with extra_ids
        90, so that ids 502-511 are past the sentinels; mbart: the BART fixture's weights as an
        mBART checkpoint, pre-norm layer norms added, decoder start ro_RO)

The ids come from spm_encode's pieces and ids and the family rules written here, not from attn.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, ROOT)
from scripts.lib import protowire  # noqa: E402

DATA = os.path.join(ROOT, "tests", "data", "hf_spm")
FIXTURES = os.path.join(ROOT, "tests", "data", "hf")

# name -> (folder file, training languages, spm_train options)
MODELS = {
    "marian-source": ("source.spm", ["en"], ["--model_type=unigram", "--vocab_size=350"]),
    "marian-target": ("target.spm", ["de"], ["--model_type=unigram", "--vocab_size=350"]),
    "t5": ("spiece.model", ["en"], ["--model_type=unigram", "--vocab_size=412", "--pad_id=0",
                                    "--eos_id=1", "--unk_id=2", "--bos_id=-1"]),
    "mbart": ("sentencepiece.bpe.model", ["en", "fr", "de"], ["--model_type=bpe",
                                                              "--vocab_size=485"]),
}
COMMON = ["--character_coverage=0.995", "--num_threads=1", "--input_sentence_size=0",
          "--minloglevel=2"]
# A small normalization rule set instead of nmt_nfkc (whose 230 kB table would make every test
# model that large): full-width ASCII to ASCII, no-break space to space.
RULES = "".join(f"{c:X}\t{c - 0xFEE0:X}\n" for c in range(0xFF01, 0xFF5F)) + "A0\t20\n"
MARIAN_VOCAB = 512          # the marian fixture's vocab_size; <pad> is its last id
MARIAN_SPECIALS = {"</s>": 0, "<unk>": 1, ">>de<<": 2, ">>fr<<": 3}
MBART_LANGS = ["ar_AR", "cs_CZ", "de_DE", "en_XX", "es_XX", "et_EE", "fi_FI", "fr_XX", "gu_IN",
               "hi_IN", "it_IT", "ja_XX", "kk_KZ", "ko_KR", "lt_LT", "lv_LV", "my_MM", "ne_NP",
               "nl_XX", "ro_RO", "ru_RU", "si_LK", "tr_TR", "vi_VN", "zh_CN"]
T5_EXTRA = 100
T5_PAD_EXTRA = 90           # extra_ids of the t5_pad folder: its ids 502-511 are past the sentinels


def training_text(langs, path):
    """Writes the DDTP description lines of langs (no Package / md5 lines) to path."""
    with open(path, "w", encoding="utf-8") as out:
        for lang in langs:
            p = subprocess.run(["gzip", "-dc", os.path.join(ROOT, "tests", "data", "tok",
                                                             f"{lang}.txt.gz")],
                               capture_output=True, check=True)
            for line in p.stdout.decode("utf-8").split("\n"):
                if line and not line.startswith(("Package:", "Description-md5:")):
                    out.write(line.lstrip() + "\n")


def spm(tool, model, lines, fmt):
    """Returns spm_encode's output (one list of strings per line) for lines."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write("".join(l + "\n" for l in lines))
    try:
        p = subprocess.run([tool, f"--model={model}", f"--output_format={fmt}", f.name],
                           capture_output=True, check=True)
    finally:
        os.unlink(f.name)
    out = p.stdout.decode("utf-8").split("\n")[:len(lines)]
    return [l.split(" ") if l else [] for l in out]


def spm_decode_pieces(model, lines):
    """Returns spm_decode's text of each list of pieces (--input_format=piece): a piece that the
    model does not know comes out as it is written, U+2581 included."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write("".join(" ".join(p) + "\n" for p in lines))
    try:
        p = subprocess.run(["spm_decode", f"--model={model}", "--input_format=piece", f.name],
                           capture_output=True, check=True)
    finally:
        os.unlink(f.name)
    return p.stdout.decode("utf-8").split("\n")[:len(lines)]


def write_lines(name, lines):
    """Writes lines, each ended by a line feed, as tests/data/hf_spm/name."""
    with open(os.path.join(DATA, name), "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in lines))


# ---- the family rules (README: Hugging Face tokenizers) ------------------------------------------

PY_SPACE = " \t\n\v\f\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" \
           "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def split_specials(text, specials):
    """Splits text at the specials (text -> (strip left, strip right)), earliest first, longest
    at one place; strips the white space each takes from its neighbours; returns [(is_special,
    piece)] without empty text pieces."""
    parts, pos, pending_lstrip = [], 0, False
    while True:
        best = None
        for i in range(pos, len(text)):
            hits = [s for s in specials if text.startswith(s, i)]
            if hits:
                best = (i, max(hits, key=len))
                break
        span = text[pos:best[0]] if best else text[pos:]
        if pending_lstrip:
            span = span.lstrip(PY_SPACE)
        if best and specials[best[1]][0]:
            span = span.rstrip(PY_SPACE)
        if span:
            parts.append((False, span))
        if not best:
            return parts
        parts.append((True, best[1]))
        pending_lstrip = specials[best[1]][1]
        pos = best[0] + len(best[1])


def marian_code(span):
    """Returns (the leading >>.+<< of span or None, span with every such match removed)."""
    code = re.match(">>.+<<", span)
    return (code.group(0) if code else None), re.sub(">>.+<<", "", span)


def family_ids(family, lines, models, vocab, controls):
    """Returns the framed source ids of each line for family (marian, t5, mbart); with controls,
    the control tokens (</s>, <unk>, <pad>; mBART's <s>) are found in the text too (attn
    --special; transformers always does)."""
    control = ["</s>", "<unk>", "<pad>"] + (["<s>"] if family == "mbart" else [])
    if family == "t5":
        sp = [t for t, _ in protowire.pieces(open(models["t5"], "rb").read())]
        added = {f"<extra_id_{i}>": len(sp) + T5_EXTRA - 1 - i for i in range(T5_EXTRA)}
        added.update({c: sp.index(c) for c in control})
    elif family == "mbart":
        n_sp = len(protowire.pieces(open(models["mbart"], "rb").read()))
        langs = {code: n_sp + 1 + i for i, code in enumerate(MBART_LANGS)}
        added = dict(langs, **{"<mask>": n_sp + 1 + len(MBART_LANGS), "<s>": 0, "<pad>": 1,
                               "</s>": 2, "<unk>": 3})
    else:
        added = {c: vocab[c] for c in control}
    specials = {t: (True, t != "<mask>") for t in added if controls or t not in control}
    # every span, tokenized by spm_encode in one run
    split = [split_specials(l, specials) for l in lines]
    spans, codes = [], []
    for parts in split:
        for is_special, piece in parts:
            if is_special:
                continue
            if family == "marian":
                code, piece = marian_code(piece)
                codes.append(code)
            spans.append(piece)
    model = models["marian-source" if family == "marian" else family]
    pieces = spm("spm_encode", model, spans, "piece")
    sp_ids = spm("spm_encode", model, spans, "id")
    out, k = [], 0
    for parts in split:
        ids = []
        for is_special, piece in parts:
            if is_special:
                ids.append(added[piece])
                continue
            if family == "marian":
                if codes[k] is not None:
                    ids.append(vocab.get(codes[k], vocab["<unk>"]))
                ids += [vocab.get(p, vocab["<unk>"]) for p in pieces[k]]
            elif family == "t5":
                ids += [int(i) for i in sp_ids[k]]
            else:
                fairseq = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
                ids += [fairseq[p] if p in fairseq else (int(i) + 1 if int(i) else 3)
                        for p, i in zip(pieces[k], sp_ids[k])]
            k += 1
        eos = {"marian": 0, "t5": 1, "mbart": 2}[family]
        if ids and not (family == "t5" and ids[-1] == eos):  # T5 adds no second </s>
            ids.append(eos)
        if ids and family == "mbart":  # the source language after </s>
            ids.append(langs["en_XX"])
        out.append(ids)
    return out


# ---- goldens -------------------------------------------------------------------------------------

def marian_vocab(models):
    """Returns Marian's vocab.json: the specials, the source then the target pieces (every fifth
    source piece left out, so that some pieces are unknown to the model), <pad> last."""
    vocab = dict(MARIAN_SPECIALS)
    src = [t for t, k in protowire.pieces(open(models["marian-source"], "rb").read()) if k == 1]
    tgt = [t for t, k in protowire.pieces(open(models["marian-target"], "rb").read()) if k == 1]
    for i, t in enumerate(src + tgt):
        if (i < len(src) and i % 5 == 4) or t in vocab or len(vocab) >= MARIAN_VOCAB - 1:
            continue
        vocab[t] = len(vocab)
    vocab["<pad>"] = MARIAN_VOCAB - 1
    return vocab


def goldens():
    for tool in ("spm_train", "spm_encode"):
        if not shutil.which(tool):
            sys.exit(f"hf_text_fixtures.py: {tool} missing: apt-get install sentencepiece")
    os.makedirs(DATA, exist_ok=True)
    models = {}
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules.tsv")
        with open(rules, "w") as f:
            f.write(RULES)
        for name, (_, langs, opts) in MODELS.items():
            text = os.path.join(tmp, name + ".txt")
            training_text(langs, text)
            prefix = os.path.join(tmp, name)
            # relative names: the model records them, and the same run gives the same bytes
            subprocess.run(["spm_train", f"--input={name}.txt", f"--model_prefix={name}", *opts,
                            *COMMON, "--normalization_rule_tsv=rules.tsv"], check=True, cwd=tmp)
            models[name] = os.path.join(DATA, name + ".model")
            shutil.copyfile(prefix + ".model", models[name])
    vocab = marian_vocab(models)
    with open(os.path.join(DATA, "marian-vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(DATA, "input.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")[:-1]
    for family in ("marian", "t5", "mbart"):
        for controls, name in ((False, f"{family}.ids"), (True, f"{family}.special.ids")):
            with open(os.path.join(DATA, name), "w") as f:
                for ids in family_ids(family, lines, models, vocab, controls):
                    f.write(" ".join(map(str, ids)) + "\n")


# ---- decoding clean-up (transformers' clean_up_tokenization_spaces) ------------------------------

# Texts whose pieces decode with a space before punctuation and English clitics, the white space
# at the ends and inside kept as SentencePiece decodes it.
CLEANUP_TEXT = [
    "I do n't know .",
    "It 's here , is n't it ?",
    "We 're fine ! They 've gone .",
    "I 'm sure he ca n't .",
    "don 't , won 't !",
    "a ' b ' c",
    "x ' ' y ' 's",
    "rock ' n ' roll , ok ?",
    "Wait  .  Really ?!",
    "x .. y ,, z !!",
    ". , ! ?",
    "no change here",
]

# transformers 4.30 PreTrainedTokenizerBase.clean_up_tokenization: each a replace-all, in order
CLEANUP_RULES = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                 (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]


# Lines of CLEANUP_TEXT with lone U+2581 pieces (each a space) put before and after their
# pieces, so that the decoded text has white space at its ends: (line, pieces before, after).
STRIP_CASES = [
    ("I do n't know .", 0, 1),
    ("It 's here , is n't it ?", 2, 0),
    ("x '", 0, 1),              # " ' " only before the strip: the clean-up must come after it
    ("We 're fine !", 3, 3),
    ("no change here", 1, 2),
    ("", 2, 0),                 # white space only
    ("", 0, 1),
]


def clean_up(text):
    """Returns text after the clean-up rules, applied one after the other."""
    for old, new in CLEANUP_RULES:
        text = text.replace(old, new)
    return text


def convert_tokens_to_string(family, pieces, decoded):
    """Returns what transformers 4.30's convert_tokens_to_string gives for pieces (no special
    tokens among them), decoded being SentencePiece's text of them: MarianTokenizer and
    T5Tokenizer strip that text; MBartTokenizer joins the pieces, U+2581 as a space, and
    strips (str.strip: Python's white space)."""
    if family == "mbart":
        return "".join(pieces).replace("\u2581", " ").strip()
    return decoded.strip()


def cleanup_goldens():
    """Writes cleanup.F.ids / .raw / .txt for F in marian, t5, mbart (module docstring)."""
    for tool in ("spm_encode", "spm_decode"):
        if not shutil.which(tool):
            sys.exit(f"hf_text_fixtures.py: {tool} missing: apt-get install sentencepiece")
    with open(os.path.join(DATA, "marian-vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    for family, name in (("marian", "marian-target"), ("t5", "t5"), ("mbart", "mbart")):
        model = os.path.join(DATA, name + ".model")
        texts = CLEANUP_TEXT + [t for t, _, _ in STRIP_CASES]
        pieces = spm("spm_encode", model, texts, "piece")
        sp_ids = spm("spm_encode", model, texts, "id")
        space = [i for i, (p, _) in enumerate(protowire.pieces(open(model, "rb").read()))
                 if p == "\u2581"]
        if len(space) != 1:
            sys.exit(f"hf_text_fixtures.py: {name}.model has no lone U+2581 piece")
        for k, (_, before, after) in enumerate(STRIP_CASES):
            j = len(CLEANUP_TEXT) + k
            pieces[j] = ["\u2581"] * before + pieces[j] + ["\u2581"] * after
            sp_ids[j] = [str(space[0])] * before + sp_ids[j] + [str(space[0])] * after
        unk = 2 if family == "t5" else 0        # the spm_train options of MODELS
        ids, raw = [], []
        for line_pieces, line_ids in zip(pieces, sp_ids):
            # no unknown pieces (their text is not the line's), Marian: only vocab.json's pieces
            keep = [(p, int(i)) for p, i in zip(line_pieces, line_ids)
                    if int(i) != unk and (family != "marian" or p in vocab)]
            if family == "marian":
                ids.append([vocab[p] for p, _ in keep])
            elif family == "t5":
                ids.append([i for _, i in keep])
            else:
                ids.append([i + 1 for _, i in keep])
            raw.append([p for p, _ in keep])
        decoded = spm_decode_pieces(model, raw)
        stripped = [convert_tokens_to_string(family, r, d) for r, d in zip(raw, decoded)]
        for ext, lines in (("ids", [" ".join(map(str, i)) for i in ids]), ("raw", decoded),
                           ("strip", stripped), ("txt", [clean_up(t) for t in stripped])):
            write_lines(f"cleanup.{family}.{ext}", lines)


# ---- decoding tokens the SentencePiece model does not know --------------------------------------

def decode_cases(family):
    """Returns (model file, [id list], [token list]) for family: id lists whose tokens (the
    names transformers 4.30 gives the ids, special tokens left out as skip_special_tokens=True
    does) mix pieces the SentencePiece model knows with ones it does not. Marian: vocab.json's
    source pieces that target.spm lacks (MarianTokenizer.convert_tokens_to_string hands them to
    decode_pieces); T5 with extra_ids 90: ids past the sentinels, which
    T5Tokenizer._convert_id_to_token names <extra_id_-1>, <extra_id_-2>, ... (no special tokens,
    so sp_model.decode gets them), among sentinels and controls, which are left out."""
    with open(os.path.join(DATA, "input.txt"), encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n")[:12] if l.strip()]
    if family == "marian":
        with open(os.path.join(DATA, "marian-vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        model = os.path.join(DATA, "marian-target.model")
        known = {t for t, _ in protowire.pieces(open(model, "rb").read())}
        src = spm("spm_encode", os.path.join(DATA, "marian-source.model"), lines, "piece")
        tgt = spm("spm_encode", model, lines, "piece")
        cases = [[p for p in s if p in vocab] + [p for p in t if p in vocab][:4]
                 for s, t in zip(src, tgt)]
        lone = [p for p in vocab if p not in known and p.startswith("\u2581")][:3]
        cases += [lone, lone[:1] + ["\u2581"] + lone[1:], ["\u2581"] + lone[:1], lone[::-1]]
        if not any(p not in known for c in cases for p in c):
            sys.exit("hf_text_fixtures.py: no vocab.json piece is unknown to target.spm")
        ids = [[vocab[p] for p in c] for c in cases]
        return model, ids, cases
    model = os.path.join(DATA, "t5.model")
    n = len(protowire.pieces(open(model, "rb").read()))
    total = n + T5_PAD_EXTRA
    with open(os.path.join(FIXTURES, "t5_v1_1", "config.json")) as f:
        V = json.load(f)["vocab_size"]
    sp_ids = spm("spm_encode", model, lines, "id")
    ids = []
    for k, line in enumerate(sp_ids):
        line = [int(i) for i in line]
        at = k % (len(line) + 1)
        pad = total + k % (V - total)
        line[at:at] = [pad, n + k, 1] if k % 2 else [pad]      # a sentinel, </s>
        ids.append(line + [total + (k + 3) % (V - total)])
    ids += [[V - 1, V - 2], [0, V - 1, 2, total + 3], [total, total]]   # <pad>, <unk> left out
    pieces = [t for t, _ in protowire.pieces(open(model, "rb").read())]
    special = {0, 1, 2}                       # <pad>, </s>, <unk> (the spm_train options above)
    tokens = [[pieces[i] if i < n else f"<extra_id_{total - 1 - i}>" for i in line
               if i not in special and not n <= i < total] for line in ids]
    return model, ids, tokens


def decode_goldens():
    """Writes decode.F.ids / .raw / .txt for F in marian, t5 (decode_cases): the ids, the text
    spm_decode gives their tokens, and that text after str.strip() and the clean-up rules."""
    if not shutil.which("spm_decode"):
        sys.exit("hf_text_fixtures.py: spm_decode missing: apt-get install sentencepiece")
    for family in ("marian", "t5"):
        model, ids, tokens = decode_cases(family)
        raw = spm_decode_pieces(model, tokens)
        txt = [clean_up(convert_tokens_to_string(family, t, r)) for t, r in zip(tokens, raw)]
        for ext, lines in (("ids", [" ".join(map(str, i)) for i in ids]), ("raw", raw),
                           ("txt", txt)):
            write_lines(f"decode.{family}.{ext}", lines)


# ---- the folders the tests convert ---------------------------------------------------------------

def read_safetensors(path):
    """Returns (header dict, data bytes) of a safetensors file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), f.read()


def write_safetensors(path, tensors):
    """Writes {name: (dtype, shape, bytes)} as a safetensors file (sorted, packed)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def folders(out):
    def put(folder, files):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        for src, dst in files:
            shutil.copyfile(src, os.path.join(out, folder, dst))

    weights = ("config.json", "generation_config.json", "model.safetensors")
    put("marian", [(os.path.join(FIXTURES, "marian", w), w) for w in weights] +
        [(os.path.join(DATA, "marian-source.model"), "source.spm"),
         (os.path.join(DATA, "marian-target.model"), "target.spm"),
         (os.path.join(DATA, "marian-vocab.json"), "vocab.json")])
    for t5 in ("t5_v1_0", "t5_v1_1"):
        put(t5, [(os.path.join(FIXTURES, t5, w), w) for w in weights] +
            [(os.path.join(DATA, "t5.model"), "spiece.model")])
    put("t5_pad", [(os.path.join(FIXTURES, "t5_v1_1", w), w) for w in weights] +
        [(os.path.join(DATA, "t5.model"), "spiece.model")])
    with open(os.path.join(out, "t5_pad", "tokenizer_config.json"), "w") as f:
        json.dump({"extra_ids": T5_PAD_EXTRA}, f)
    put("mbart", [(os.path.join(DATA, "mbart.model"), "sentencepiece.bpe.model")])
    with open(os.path.join(FIXTURES, "bart", "config.json")) as f:
        cfg = json.load(f)
    n_sp = len(protowire.pieces(open(os.path.join(DATA, "mbart.model"), "rb").read()))
    cfg.update(model_type="mbart", architectures=["MBartForConditionalGeneration"],
               decoder_start_token_id=n_sp + 1 + MBART_LANGS.index("ro_RO"),
               forced_bos_token_id=None)
    with open(os.path.join(out, "mbart", "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    header, data = read_safetensors(os.path.join(FIXTURES, "bart", "model.safetensors"))
    tensors = {}
    for name, ent in header.items():
        if name != "__metadata__":
            b, e = ent["data_offsets"]
            tensors[name] = (ent["dtype"], ent["shape"], data[b:e])
    d = cfg["d_model"]
    for stack in ("encoder", "decoder"):
        ones, zeros = struct.pack(f"<{d}f", *[1.0] * d), struct.pack(f"<{d}f", *[0.0] * d)
        tensors[f"model.{stack}.layer_norm.weight"] = ("F32", [d], ones)
        tensors[f"model.{stack}.layer_norm.bias"] = ("F32", [d], zeros)
    write_safetensors(os.path.join(out, "mbart", "model.safetensors"), tensors)


if __name__ == "__main__":
    if sys.argv[1:] == ["goldens"]:
        goldens()
        cleanup_goldens()
        decode_goldens()
    elif sys.argv[1:] == ["cleanup"]:
        cleanup_goldens()
    elif sys.argv[1:] == ["decode"]:
        decode_goldens()
    elif len(sys.argv) == 3 and sys.argv[1] == "folders":
        folders(sys.argv[2])
    else:
        sys.exit(__doc__)
