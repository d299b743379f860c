#!/bin/sh
# slurm-local-test.sh — tests slurm-translate.sh on a one-node Slurm on this machine: installs
# slurm-wlm and munge from Debian when missing, starts munged, slurmctld and slurmd for localhost
# with a throw-away configuration, translates a 5,000-line input (multi-sentence and empty lines)
# as a 4-task job array, checks that the joined output is byte-identical to one attn run over the
# whole input, and stops the daemons again.  Needs root (apt, the daemons).  CI runs it when it
# can install the packages (.ci/run); exits 0 on success, 1 on a failed check, 77 when Slurm
# cannot be installed or started here.
#
# Usage: scripts/cluster/slurm-local-test.sh ATTN [MODEL]  (default MODEL: tests/data/gen/echo.attn)
set -u
cd "$(dirname "$0")/../.." || exit 1
attn=$(cd "$(dirname "${1:?usage: slurm-local-test.sh ATTN [MODEL]}")" && pwd)/$(basename "$1")
m=${2:-tests/data/gen/echo.attn}
model=$(cd "$(dirname "$m")" && pwd)/$(basename "$m")
skip() { echo "slurm-local-test: $*; not tested" >&2; exit 77; }

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || skip "no slurmctld and no apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends slurm-wlm munge; } >/dev/null 2>&1 ||
        skip "apt-get cannot install slurm-wlm"
fi

d=$(mktemp -d /tmp/attn-slurm.XXXXXX) || exit 1
chmod 755 "$d"
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    sleep 1
    rm -rf "$d"
}
trap cleanup EXIT

# munge: a key of our own, the daemon on a socket in $d
mkdir -p "$d/munge" && chmod 700 "$d/munge"
dd if=/dev/urandom of="$d/munge/key" bs=1024 count=1 2>/dev/null && chmod 400 "$d/munge/key"
munged --key-file="$d/munge/key" --socket="$d/munge/sock" --pid-file="$d/munge/pid" \
    --log-file="$d/munge/log" --seed-file="$d/munge/seed" -f 2>/dev/null ||
    skip "munged does not start"
pids="$pids $(cat "$d/munge/pid")"

cpus=$(nproc)
host=$(hostname -s)
mkdir -p "$d/spool/ctld" "$d/spool/d"
cat >"$d/slurm.conf" <<CONF
ClusterName=attntest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/sock
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$d/spool/ctld
SlurmdSpoolDir=$d/spool/d
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$d/slurm.conf"
slurmctld -c -f "$SLURM_CONF" || skip "slurmctld does not start (see $d/slurmctld.log)"
slurmd -f "$SLURM_CONF" || skip "slurmd does not start"
sleep 2
pids="$pids $(cat "$d/slurmctld.pid" 2>/dev/null) $(cat "$d/slurmd.pid" 2>/dev/null)"
i=0
until sinfo -h -o %T 2>/dev/null | grep -q idle; do
    i=$((i + 1))
    [ $i -lt 30 ] ||
        { cat "$d/slurmctld.log" "$d/slurmd.log" >&2; skip "the node never became idle"; }
    sleep 1
done

# 5,000 lines: one, two and three sentences, and empty lines.
/usr/bin/python3 tests/cli/corpus.py "$d/in" 5000
"$attn" -m "$model" --batch 32 "$d/in" >"$d/one" 2>"$d/one.err" ||
    { echo "slurm-local-test: attn failed" >&2; exit 1; }
t0=$(date +%s)
ATTN=$attn SBATCH_ARGS="--cpus-per-task=1" sh scripts/cluster/slurm-translate.sh -n 4 -w "$d/work" \
    -o "$d/joined" "$d/in" -m "$model" --batch 32 --threads 1
rc=$?
t1=$(date +%s)
if [ $rc -eq 0 ] && cmp -s "$d/one" "$d/joined"; then
    echo "slurm-local-test: 4 array tasks, $(wc -l <"$d/joined") lines, byte-identical to one" \
        "attn run ($((t1 - t0)) s)"
    echo "1 passed, 0 failed"
    exit 0
fi
echo "slurm-local-test: FAIL (status $rc); logs:" >&2
cat "$d"/work/log.* "$d/slurmctld.log" 2>/dev/null | tail -20 >&2
echo "0 passed, 1 failed"
exit 1
