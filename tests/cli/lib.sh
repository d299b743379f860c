# lib.sh — helpers for the command-line tests: run attn, check status, stdout and stderr.
# A test script sources this file, calls the checks, and ends with `finish`.
: "${ATTN:?set ATTN to the attn binary}"
PASS=0
FAIL=0
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT

# run CMD...: runs a command with stdout in $T/out, stderr in $T/err, status in $RC.
run() {
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
}

# ok NAME COND...: counts a check as passed when the shell condition holds, else prints why.
ok() {
    name=$1
    shift
    if "$@"; then
        PASS=$((PASS + 1))
    else
        FAIL=$((FAIL + 1))
        echo "FAIL: $name (status $RC)"
        echo "  stdout: $(head -c 300 "$T/out" 2>/dev/null)"
        echo "  stderr: $(head -c 300 "$T/err" 2>/dev/null)"
    fi
}

# Conditions for ok.
status_is() { [ "$RC" -eq "$1" ]; }
out_is() { [ "$(cat "$T/out")" = "$1" ]; }
out_empty() { [ ! -s "$T/out" ]; }
err_empty() { [ ! -s "$T/err" ]; }
err_one_line() { [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^attn: ' "$T/err"; }
err_has() { grep -q -- "$1" "$T/err"; }
out_has() { grep -q -- "$1" "$T/out"; }
out_lacks() { ! grep -q -- "$1" "$T/out"; }

# finish: prints the summary line and exits non-zero when a check failed.
finish() {
    echo "$(basename "$0"): $PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
