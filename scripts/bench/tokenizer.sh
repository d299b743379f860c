#!/bin/sh
# tokenizer.sh — attn's tokenizer next to tiktoken (npm `tiktoken`, its Rust core in
# WebAssembly) on the same text in the same run: encode throughput (one thread), decode
# throughput, load time, and single 1 MB pieces.  Every time is CPU time (the thread's for
# attn in-process, the process's user+system for the attn command and for node), so that a busy
# shared machine changes the figures less than wall-clock time would.
#
#   sh scripts/bench/tokenizer.sh PATH/TO/attn
# Environment: ATTN_BENCH_TEXT  English text to use (default: tests/data/tok/en.txt.gz, Debian
#                               package descriptions, repeated to 6 MB: repeated text favours
#                               attn's piece cache, so give a real >= 5 MB file for fair numbers)
#              NODE_PATH        where `npm install tiktoken` put node_modules (default: also tried,
#                               ../npm/node_modules beside the checkout); tiktoken is skipped, and
#                               the output says so, when node or the package is missing
set -eu
ATTN=${1:-./attn}
D=tests/data/tok
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the in-process part: scripts/bench/tokenizer.c, built by the Makefile beside attn
bench=$(dirname "$ATTN")/bench-tokenizer
[ -x "$bench" ] || bench=build/bench-tokenizer
[ -x "$bench" ] || { echo "bench-tokenizer: no $bench: run make $bench (make bench does)"; exit 1; }

gzip -dc $D/r50k_base.tiktoken.gz >"$tmp/r50k_base.tiktoken"
gzip -dc $D/cl100k_base.tiktoken.gz >"$tmp/cl100k_base.tiktoken"
if [ -n "${ATTN_BENCH_TEXT:-}" ]; then
    cp "$ATTN_BENCH_TEXT" "$tmp/text"
    what="$ATTN_BENCH_TEXT"
else
    gzip -dc $D/en.txt.gz >"$tmp/one"
    for i in 1 2 3 4 5; do cat "$tmp/one"; done >"$tmp/text"
    what="$D/en.txt.gz x5 (repeated text: see the header of this script)"
fi
bytes=$(wc -c <"$tmp/text")
echo "text: $what, $bytes bytes; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# attn in-process (best of several runs) and whole process (tokenize --whole, best of 3)
"$bench" "$tmp/r50k_base.tiktoken" "$tmp/text" >"$tmp/attn.r50k"
"$bench" "$tmp/cl100k_base.tiktoken" "$tmp/text" >"$tmp/attn.cl100k"
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
for i in 1 2 3; do
    /usr/bin/time -f '%U %S' -o "$tmp/time.$i" "$ATTN" tokenize --whole -t "$tmp/r50k_base.tiktoken" "$tmp/text" >/dev/null
done
whole=$(cat "$tmp"/time.? | awk -v b="$bytes" '{ t = $1 + $2; if (NR == 1 || t < best) best = t }
    END { if (best > 0) printf "%.1f", b / best / 1e6; else print "-" }')

# tiktoken: the same text, one encode call (best of 3), decode, load
if [ -z "${NODE_PATH:-}" ] && [ -d ../npm/node_modules/tiktoken ]; then
    NODE_PATH=$(cd ../npm/node_modules && pwd)
    export NODE_PATH
fi
if command -v node >/dev/null 2>&1 && node -e 'require("tiktoken")' 2>/dev/null; then
    node - "$tmp/text" >"$tmp/tik" <<'EOF'
const fs = require("fs");
const { get_encoding } = require("tiktoken");
const text = fs.readFileSync(process.argv[2], "utf8");
const bytes = Buffer.byteLength(text);
const now = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
for (const name of ["r50k_base", "cl100k_base"]) {
  let t0 = now();
  const enc = get_encoding(name);
  console.log("load." + name, ((now() - t0) * 1e3).toFixed(1));
  let best = 1e9, ids;
  for (let i = 0; i < 3; i++) {
    t0 = now();
    ids = enc.encode_ordinary(text);
    best = Math.min(best, now() - t0);
  }
  console.log("encode." + name, (bytes / best / 1e6).toFixed(1), ids.length);
  if (name === "r50k_base") {
    t0 = now();
    enc.decode(ids);
    console.log("decode." + name, (bytes / (now() - t0) / 1e6).toFixed(0));
    const a = "a".repeat(100000);
    t0 = now();
    enc.encode_ordinary(a);
    console.log("piece100k", (now() - t0).toFixed(2));
  }
}
EOF
    tik() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/tik"; }
else
    echo "tiktoken: not available (needs node and 'npm install tiktoken' on NODE_PATH); attn alone"
    tik() { echo -; }
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b; else print "-" }'; }

e50=$(get encode "$tmp/attn.r50k"); t50=$(tik encode.r50k_base)
e100=$(get encode "$tmp/attn.cl100k"); t100=$(tik encode.cl100k_base)
d50=$(get decode "$tmp/attn.r50k"); td50=$(tik decode.r50k_base)
printf '%-44s %12s %12s %8s\n' "" attn tiktoken ratio
printf '%-44s %7s MB/s %7s MB/s %8s\n' "encode r50k_base, one thread (in-process)" "$e50" "$t50" "$(ratio "$e50" "$t50")"
printf '%-44s %7s MB/s %7s MB/s %8s\n' "encode r50k_base, whole attn process" "$whole" "$t50" "$(ratio "$whole" "$t50")"
printf '%-44s %7s MB/s %7s MB/s %8s\n' "encode cl100k_base, one thread (in-process)" "$e100" "$t100" "$(ratio "$e100" "$t100")"
printf '%-44s %7s MB/s %7s MB/s %8s\n' "decode r50k_base" "$d50" "$td50" "$(ratio "$d50" "$td50")"
printf '%-44s %9s ms %9s ms\n' "load r50k_base (50k ids, .tiktoken)" "$(get load "$tmp/attn.r50k")" "$(tik load.r50k_base)"
printf '%-44s %9s ms %9s ms\n' "load cl100k_base (100k ids, .tiktoken)" "$(get load "$tmp/attn.cl100k")" "$(tik load.cl100k_base)"
printf '%-44s %9s ms\n' "load cl100k_base (100k ids, attn format)" "$(get load-attn "$tmp/attn.cl100k")"
awk '$1 == "1MB-piece" { printf "%-44s %9s s\n", "one 1 MB piece of " $2 " (r50k_base)", $3 }' "$tmp/attn.r50k"
printf '%-44s %12s %9s s\n' "one 100 kB piece of 'a'" "" "$(tik piece100k)"
awk '$1 == "stream-decode" { printf "%-44s %7s M tokens/s\n", "streaming decoder, one token at a time", $2 }' "$tmp/attn.r50k"
