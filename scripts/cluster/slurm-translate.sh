#!/bin/sh
# slurm-translate.sh — runs attn over a large file as a Slurm job array: the input is split into
# parts of whole lines, one array task runs attn on each part, and the outputs are joined in the
# input's order once every task has finished.
#
# Usage: scripts/cluster/slurm-translate.sh [-n PARTS] [-w WORKDIR] [-o OUTPUT] INPUT [ATTN_ARG...]
#   -n PARTS    array tasks (default 8); each gets about 1/PARTS of the lines
#   -w WORKDIR  where the parts, outputs and logs go (default INPUT.slurm); it must be on a
#               file system that every node sees, as must INPUT, OUTPUT, attn and its model
#   -o OUTPUT   the joined outputs (default: standard output)
# ATTN_ARGs are given to every `attn` (e.g. -m /shared/models/en-fr.attn --batch 32).
# Environment: ATTN (the attn binary, default: attn on PATH), SBATCH_ARGS (more sbatch options,
# e.g. "--partition=cpu --cpus-per-task=8 --time=2:00:00").
#
# The script waits for the array (sbatch --wait).  It exits 0 when every task succeeded and the
# output has one line per input line; else 1 naming the failed tasks (their logs are in WORKDIR).
set -eu

parts=8
work=
output=
while getopts n:w:o: opt; do
    case $opt in
    n) parts=$OPTARG ;;
    w) work=$OPTARG ;;
    o) output=$OPTARG ;;
    *) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "slurm-translate.sh: no INPUT (usage: the top of $0)" >&2; exit 2; }
input=$1
shift
case $parts in
'' | *[!0-9]* | 0) echo "slurm-translate.sh: -n: '$parts' is not a number from 1" >&2; exit 2 ;;
esac
[ -r "$input" ] || { echo "slurm-translate.sh: $input: cannot read it" >&2; exit 1; }
attn=${ATTN:-$(command -v attn || true)}
[ -n "$attn" ] || { echo "slurm-translate.sh: attn not found (set ATTN)" >&2; exit 1; }
work=${work:-$input.slurm}
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -f "$work"/part.* "$work"/out.* "$work"/status.* "$work"/log.*

# Parts of whole lines: split -n l/N never cuts a line; names part.000, part.001, ...
split -a 3 -d -n "l/$parts" "$input" "$work/part."
count=$(ls "$work"/part.* | wc -l)

# The task: attn on its part; the status file says it finished and how.
{
    echo '#!/bin/sh'
    echo 'id=$(printf %03d "$SLURM_ARRAY_TASK_ID")'
    printf '%s' "\"$attn\""
    for a in "$@"; do printf " '%s'" "$(printf %s "$a" | sed "s/'/'\\\\''/g")"; done
    echo " <\"$work/part.\$id\" >\"$work/out.\$id\""
    echo "echo \$? >\"$work/status.\$id\""
} >"$work/task.sh"
chmod +x "$work/task.sh"

# shellcheck disable=SC2086
sbatch --wait --array="0-$((count - 1))" --job-name=attn --output="$work/log.%a" \
    ${SBATCH_ARGS:-} "$work/task.sh" >/dev/null || true

failed=
i=0
while [ $i -lt "$count" ]; do
    id=$(printf %03d $i)
    [ "$(cat "$work/status.$id" 2>/dev/null)" = 0 ] || failed="$failed $i"
    i=$((i + 1))
done
if [ -n "$failed" ]; then
    echo "slurm-translate.sh: tasks$failed failed (logs: $work/log.N)" >&2
    exit 1
fi
if [ -n "$output" ]; then
    cat "$work"/out.* >"$output"
    got=$(wc -l <"$output")
else
    cat "$work"/out.*
    got=$(cat "$work"/out.* | wc -l)
fi
want=$(wc -l <"$input")
[ "$(tail -c 1 "$input" | wc -l)" -eq 1 ] || want=$((want + 1))
if [ "$got" -ne "$want" ]; then
    echo "slurm-translate.sh: $got output lines for $want input lines" >&2
    exit 1
fi
