#!/bin/sh
# Lints the man pages and checks that every option that `attn --help` and `attn COMMAND --help`
# list is documented in man/attn.1, and that every option documented there is listed by --help.
# Usage: tests/check-man.sh PATH/TO/attn
set -u
ATTN=${1:?usage: check-man.sh ATTN}
fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

for page in man/*.[1-9]; do
    if command -v mandoc >/dev/null 2>&1; then
        mandoc -Tlint -W warning "$page" >"$tmp/lint" 2>&1 || { cat "$tmp/lint"; fail=1; }
    else
        groff -man -ww -z "$page" >"$tmp/lint" 2>&1
        [ -s "$tmp/lint" ] && { cat "$tmp/lint"; fail=1; }
    fi
done

# Options that --help lists: the leading "-x, --long" column of indented lines starting with '-'.
help_options() {
    grep -E '^ +-' | sed -E 's/^ +//; s/  .*//' | tr ',' '\n' | sed -E 's/^ +//; s/[ =].*//' |
        grep -E '^--?[A-Za-z0-9]' || true
}
: >"$tmp/help"
"$ATTN" --help | help_options >>"$tmp/help"
for cmd in $("$ATTN" --help | sed -n '/^Commands/,$p' | awk '/^  [a-z]/ { print $1 }'); do
    "$ATTN" "$cmd" --help >"$tmp/cmdhelp" 2>&1 ||
        { echo "check-man: attn $cmd --help failed"; fail=1; continue; }
    help_options <"$tmp/cmdhelp" >>"$tmp/help"
done
sort -u "$tmp/help" >"$tmp/help.sorted"

# Options that the man page documents: the item lines after .TP that start with \- .
awk 'prev == ".TP" { print } { prev = $1 }' man/attn.1 | grep -E '^\.(B|BR|BI) +\\-' |
    sed -E 's/^\.[A-Z]+ +//; s/"//g; s/\\-/-/g' | tr ',' '\n' | tr ' ' '\n' |
    grep -E '^--?[A-Za-z0-9]' | sort -u >"$tmp/man.sorted"

missing_man=$(comm -23 "$tmp/help.sorted" "$tmp/man.sorted")
missing_help=$(comm -13 "$tmp/help.sorted" "$tmp/man.sorted")
if [ -n "$missing_man" ]; then
    echo "check-man: in --help but not in man/attn.1:" $missing_man
    fail=1
fi
if [ -n "$missing_help" ]; then
    echo "check-man: in man/attn.1 but in no --help:" $missing_help
    fail=1
fi
n=$(wc -l <"$tmp/help.sorted")
if [ $fail -eq 0 ]; then
    echo "check-man: man pages lint clean; $n options agree between --help and man/attn.1"
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
fi
exit $fail
