#!/usr/bin/env node
// tok-goldens.js — writes reference token ids computed by tiktoken (npm `tiktoken`, the Rust core
// built to WebAssembly) for attn's tokenizer tests and benchmarks.
//
//   NODE_PATH=/path/to/node_modules node scripts/goldens/tok-goldens.js ENCODING MODE IN OUT
//
// ENCODING: r50k_base | cl100k_base | o200k_base.  MODE: "lines" writes one line of
// space-separated ids per input line (the '\n' not encoded, as `attn tokenize` does); "whole"
// encodes the whole file as one text and writes one line.  IN must be valid UTF-8 (all tiktoken
// accepts).  Special tokens' text is encoded as plain text (disallowed_special = none).
// "vocab" MODE writes the encoding's rank file (base64 token, space, rank) to OUT instead.
"use strict";
const fs = require("fs");
const { get_encoding } = require("tiktoken");

const [name, mode, inPath, outPath] = process.argv.slice(2);
if (!name || !mode || (mode !== "vocab" && (!inPath || !outPath))) {
  console.error("usage: tok-goldens.js ENCODING lines|whole|vocab IN OUT");
  process.exit(2);
}
const enc = get_encoding(name);
if (mode === "vocab") {
  const out = inPath;
  const special = new Set(Object.values(require("tiktoken/encoders/" + name + ".json").special_tokens));
  const n = enc.token_byte_values().length + special.size;
  const lines = [];
  for (let r = 0, found = 0; found < n && r < 1 << 20; r++) {
    if (special.has(r)) { found++; continue; }
    let b;
    try { b = enc.decode_single_token_bytes(r); } catch (e) { continue; }
    found++;
    lines.push(Buffer.from(b).toString("base64") + " " + r);
  }
  fs.writeFileSync(out, lines.join("\n") + "\n");
  process.exit(0);
}
const text = fs.readFileSync(inPath, "utf8");
if (Buffer.from(text, "utf8").compare(fs.readFileSync(inPath)) !== 0) {
  console.error(inPath + ": not valid UTF-8");
  process.exit(1);
}
const pieces = mode === "whole" ? [text] : text.split("\n");
if (mode !== "whole" && text.endsWith("\n")) pieces.pop();
const out = fs.openSync(outPath, "w");
let buf = [];
for (const p of pieces) {
  buf.push(Array.from(enc.encode(p, [], [])).join(" "));
  if (buf.length >= 4096) { fs.writeSync(out, buf.join("\n") + "\n"); buf = []; }
}
if (buf.length) fs.writeSync(out, buf.join("\n") + "\n");
fs.closeSync(out);
