#!/bin/sh
# attn bench: its report on a small model, every --isa, and its errors.
. "$(dirname "$0")/lib.sh"
M=tests/data/ref/post_relu_tied.attn

for isa in portable avx2 avx512; do
    run "$ATTN" bench --threads 1 --reps 1 --batch 2 --beams 2 --out-len 4 --bandwidth-mb 0 --isa $isa $M
    if [ $RC -eq 1 ] && err_has "not supported"; then
        echo "SKIP: --isa $isa: this CPU lacks it"
        continue
    fi
    ok "bench --isa $isa exits 0" status_is 0
    ok "bench --isa $isa reports its isa" out_has "^isa	$isa\$"
    ok "bench --isa $isa reports decoder tokens/s" out_has '^decode_b1_tok_s	[0-9]'
    ok "bench --isa $isa reports the bulk case" out_has '^decode_b2x2_tok_s	[0-9]'
    ok "bench --isa $isa: nothing on stderr" err_empty
    if [ $isa = portable ]; then
        ok "bench --isa portable: no peak to measure" out_has '^peak_fma_gflop_s	0\.0$'
        ok "bench --isa portable: no share of a peak" out_lacks '^bulk_of_peak'
    else
        ok "bench --isa $isa measures the multiply-add peak" out_has '^peak_fma_gflop_s	[1-9]'
        ok "bench --isa $isa measures the int8 peak" out_has '^peak_int8_gop_s	[1-9]'
        ok "bench --isa $isa reports the bulk share of the peak" out_has '^bulk_of_peak	0\.'
    fi
    # the products' rate is 2 x (n_dec x (6 d^2 + 2 d ffn) + d vocab) x tokens/s
    ok "bench --isa $isa: bulk products counted from the model's shapes" sh -c "awk -F '\t' '
        \$1 == \"config\" { split(\$2, w, /[ ,+]+/); d = w[2]; f = w[6]; n = w[9]; v = w[11] }
        \$1 == \"decode_b2x2_tok_s\" { t = \$2 }
        \$1 == \"bulk_products_gop_s\" { g = \$2 }
        END { want = 2 * (n * (6 * d * d + 2 * d * f) + d * v) * t * 1e-9
              exit !(g > 0 && (g - want) / want < 0.02 && (want - g) / want < 0.02) }' '$T/out'"
done

# the dtype line names the weights' dtype, q4 included
for dt in f16 q8 q4; do
    "$ATTN" convert --dtype $dt --compress none $M "$T/m.$dt.attn" >/dev/null
    run "$ATTN" bench --threads 1 --reps 1 --batch 0 --out-len 2 --bandwidth-mb 0 "$T/m.$dt.attn"
    ok "bench reports dtype $dt" out_has "^dtype	$dt\$"
done

run "$ATTN" bench --reps 0 $M
ok "bench --reps 0 is a usage error" status_is 2
ok "bench --reps 0: one line" err_one_line
run "$ATTN" bench --isa mmx $M
ok "bench --isa mmx is a usage error" status_is 2
run "$ATTN" bench /nonexistent.attn
ok "bench on a missing model exits 1" status_is 1
ok "bench on a missing model: one line" err_one_line

finish
