#!/bin/sh
# attn info and attn convert: the report, damaged files, conversions checked by the Python reader.
. "$(dirname "$0")/lib.sh"
D=tests/data/modelfile

run "$ATTN" info $D/py-q8.attn
ok "info exits 0" status_is 0
ok "info writes nothing to stderr" err_empty
ok "info prints the format version" out_has '^format   1\.0$'
ok "info prints an i64" out_has '^  d_model  *i64  *48$'
ok "info prints an f64" out_has '^  norm_eps  *f64  *1e-05$'
ok "info prints a string" out_has '^  arch  *str  *"transformer"$'
ok "info prints a blob's size" out_has '^  tokenizer  *blob  *768 bytes$'
ok "info prints an i64 array" out_has '^  gen\.bad_ids  *i64\[\]  *\[1, -2, 3\]$'
ok "info prints a q8 tensor" out_has '^  conv\.weight  *q8  *16x16  *[0-9][0-9]*  *320  *[0-9.]*$'
ok "info prints a 3-D shape" out_has '^  cube  *f32  *2x3x5 '
ok "info prints the total" out_has '^  total  *[0-9][0-9]*  *3320 '

run sh -c '"$ATTN" info tests/data/modelfile/py-f32.attn | head -1'
ok "info into a closed pipe exits 0" status_is 0
ok "info into a closed pipe is quiet" err_empty

run env ATTN_MODEL=$D/py-f16.attn "$ATTN" info
ok "info without MODEL reads \$ATTN_MODEL" out_has "^file     $D/py-f16.attn$"

run "$ATTN" info --stats --verify read $D/py-none.attn
ok "info --stats exits 0" status_is 0
ok "info --stats prints one line of figures" out_has '^load_ms=[0-9.]* cpu_ms=[0-9.]* decoded_bytes=8504 file_bytes=10488 peak_rss_bytes=[0-9]*$'
run "$ATTN" info --verify some $D/py-none.attn
ok "info --verify some is a usage error" status_is 2

run "$ATTN" info $D/py-q8.attn $D/py-f32.attn
ok "info with two files is a usage error" status_is 2
run "$ATTN" info --threads 0 $D/py-q8.attn
ok "info --threads 0 is a usage error" status_is 2

# a flipped byte in the last tensor's data (cube, deflated, ends the file)
size=$(wc -c <$D/py-q8.attn)
at=$((size - 9))
cp $D/py-q8.attn "$T/bad.attn"
byte=$(od -An -tu1 -j$at -N1 "$T/bad.attn" | tr -d ' ')
if [ "$byte" = 255 ]; then new='\0'; else new='\377'; fi
printf "$new" | dd of="$T/bad.attn" bs=1 seek=$at conv=notrunc 2>/dev/null
run "$ATTN" info "$T/bad.attn"
ok "damaged file exits 1" status_is 1
ok "damaged file: one line" err_one_line
ok "damaged file: names file and tensor" err_has "bad.attn: tensor cube: chunk 0 of 1: CRC mismatch"
ok "damaged file: nothing on stdout" out_empty

head -c 3000 $D/py-q8.attn >"$T/cut.attn"
run "$ATTN" info "$T/cut.attn"
ok "truncated file exits 1" status_is 1
ok "truncated file says so" err_has "cut.attn: the file is 3000 bytes, its header says $size (truncated)"

run "$ATTN" info Makefile
ok "not a model file exits 1" status_is 1
ok "not a model file says so" err_has "Makefile: not an attn model file"

# --no-verify skips the data CRCs: a flip in uncompressed data goes unnoticed
cp $D/py-none.attn "$T/none.attn"
printf 'x' | dd of="$T/none.attn" bs=1 seek=$(($(wc -c <$D/py-none.attn) - 20)) conv=notrunc 2>/dev/null
run "$ATTN" info "$T/none.attn"
ok "damaged uncompressed file exits 1" status_is 1
run "$ATTN" info --no-verify "$T/none.attn"
ok "--no-verify does not read the data" status_is 0

# convert: every dtype and compression, checked bit for bit by the Python reader
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    for dt in f32 f16 bf16 q8; do
        for c in zlib none; do
            run "$ATTN" convert --dtype $dt --compress $c --threads 2 $D/py-f32.attn "$T/$dt-$c.attn"
            ok "convert --dtype $dt --compress $c exits 0" status_is 0
            ok "convert is quiet" err_empty
            run /usr/bin/python3 -m scripts.goldens.modelfile_fixtures \
                --check "$T/$dt-$c.attn" $dt $c
            ok "convert --dtype $dt --compress $c: the Python reader agrees" status_is 0
        done
    done
    # q8 -> f16 -> f32 keeps the metadata and converts through floats
    run "$ATTN" convert --dtype f32 "$T/q8-zlib.attn" "$T/back.attn"
    ok "convert q8 back to f32 exits 0" status_is 0
else
    echo "SKIPPED: /usr/bin/python3 with numpy not found: convert outputs not checked by the Python reader"
fi

# q4: the C converter and the Python writer write the same bytes for the default model (the
# fixtures above hold values beyond q4's range, which convert refuses)
if [ -f models/en-fr.attn ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    run "$ATTN" convert --dtype q4 --compress none models/en-fr.attn "$T/q4.attn"
    ok "convert --dtype q4 exits 0" status_is 0
    run "$ATTN" info "$T/q4.attn"
    ok "a q4 file is format 1.1" out_has '^format   1\.1$'
    ok "info prints a q4 tensor" out_has '^  .*\.weight  *q4  *'
    run /usr/bin/python3 -c 'import sys
from scripts.lib import attnfile
meta, t = attnfile.read("models/en-fr.attn")
attnfile.write(sys.argv[1], meta, t, dtype="q4", compress="none")' "$T/q4-py.attn"
    ok "the Python writer writes q4" status_is 0
    ok "the C and Python q4 files are identical" cmp -s "$T/q4.attn" "$T/q4-py.attn"
else
    echo "SKIPPED: no default model or no numpy: the q4 writers not compared"
fi
run "$ATTN" convert --dtype q4 $D/py-f32.attn "$T/q4-range.attn"
ok "convert --dtype q4 of values beyond its range exits 1" status_is 1
ok "convert --dtype q4 beyond its range: one line" err_one_line

run "$ATTN" convert --level 9 $D/py-f32.attn "$T/l9.attn"
ok "convert --level 9 exits 0" status_is 0
run "$ATTN" info "$T/l9.attn"
ok "level 9 output reads back" out_has '^  embed\.weight  *f32  *32x48 '

cp $D/py-f32.attn "$T/inplace.attn"
run "$ATTN" convert --dtype bf16 "$T/inplace.attn" "$T/inplace.attn"
ok "convert in place exits 0" status_is 0
run "$ATTN" info "$T/inplace.attn"
ok "convert in place converted" out_has '^  embed\.weight  *bf16 '
ok "convert in place left no temporary file" test ! -e "$T/inplace.attn.tmp"

run "$ATTN" convert --dtype f64 $D/py-f32.attn "$T/x.attn"
ok "convert --dtype f64 is a usage error" status_is 2
ok "convert --dtype f64: one line" err_one_line
run "$ATTN" convert --compress gzip $D/py-f32.attn "$T/x.attn"
ok "convert --compress gzip is a usage error" status_is 2
run "$ATTN" convert --level 10 $D/py-f32.attn "$T/x.attn"
ok "convert --level 10 is a usage error" status_is 2
run "$ATTN" convert $D/py-f32.attn
ok "convert without OUT is a usage error" status_is 2
run "$ATTN" convert $D/py-f32.attn /nonexistent-dir/out.attn
ok "convert to an unwritable place exits 1" status_is 1
ok "convert to an unwritable place: one line" err_one_line
run "$ATTN" convert "$T/bad.attn" "$T/x.attn"
ok "convert of a damaged file exits 1" status_is 1
ok "convert of a damaged file names the tensor" err_has "tensor cube"
ok "convert of a damaged file writes nothing" test ! -e "$T/x.attn"

finish
