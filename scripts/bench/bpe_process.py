"""bpe_process.py — whole-process BPE encode speed of one or more attn binaries, interleaved.

  /usr/bin/python3 -m scripts.bench.bpe_process [--runs N] [--cpu C] TOKENIZER TEXT ATTN...

Runs `taskset -c C ATTN tokenize -t TOKENIZER --pattern gpt2 < TEXT > /dev/null` N times for
each binary in turn (so that a change in the machine's load hits every binary alike) and prints,
per binary, the median and the fastest of the process's user+system CPU time (from wait4, finer
than /usr/bin/time's 10 ms) as MB/s of TEXT.  The load average is printed first: the issue's
figure is for an idle machine.
"""
import argparse
import os
import statistics
import subprocess


def cpu_seconds(cmd, text):
    """Runs cmd with text on standard input and its output discarded; returns its user+system
    CPU seconds; raises CalledProcessError when it fails."""
    with open(text, "rb") as fin, open(os.devnull, "wb") as fout:
        p = subprocess.Popen(cmd, stdin=fin, stdout=fout)
        _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), cmd)
    return usage.ru_utime + usage.ru_stime


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=21)
    p.add_argument("--cpu", default="0", help="the core taskset pins each run to")
    p.add_argument("tokenizer")
    p.add_argument("text")
    p.add_argument("attn", nargs="+")
    args = p.parse_args()
    size = os.path.getsize(args.text)
    with open("/proc/loadavg") as f:
        print("load average %s; %d runs each, interleaved; %d bytes" %
              (" ".join(f.read().split()[:3]), args.runs, size))
    times = {a: [] for a in args.attn}
    for _ in range(args.runs):
        for a in args.attn:
            cmd = ["taskset", "-c", args.cpu, a, "tokenize", "-t", args.tokenizer,
                   "--pattern", "gpt2"]
            times[a].append(cpu_seconds(cmd, args.text))
    for a in args.attn:
        med, best = statistics.median(times[a]), min(times[a])
        print("%s: median %.1f ms CPU = %.1f MB/s; fastest %.1f ms = %.1f MB/s" %
              (a, med * 1e3, size / med / 1e6, best * 1e3, size / best / 1e6))


if __name__ == "__main__":
    main()
