#!/bin/sh
# make install / uninstall honour PREFIX and DESTDIR, and the installed attn finds its model.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

run make -s -C "$top" BUILD="$T/build" PREFIX="$T/usr" install
ok "make install PREFIX=... succeeds" status_is 0
ok "binary installed" test -x "$T/usr/bin/attn"
ok "attn.1 installed" test -f "$T/usr/share/man/man1/attn.1"
ok "attn-format.5 installed" test -f "$T/usr/share/man/man5/attn-format.5"
if [ -f "$top/models/en-fr.attn" ]; then
    ok "default model installed" test -f "$T/usr/share/attn/en-fr.attn"
    run sh -c "cd / && echo 'Hello.' | ATTN_MODEL= '$T/usr/bin/attn' -n 3"
    ok "installed attn runs with its installed default model" status_is 0
fi

run make -s -C "$top" BUILD="$T/build" PREFIX="$T/usr" uninstall
ok "make uninstall succeeds" status_is 0
ok "uninstall removes the binary" test ! -e "$T/usr/bin/attn"
ok "uninstall removes the man page" test ! -e "$T/usr/share/man/man1/attn.1"
ok "uninstall removes the model directory" test ! -e "$T/usr/share/attn"

run make -s -C "$top" BUILD="$T/build" PREFIX=/opt/attn DESTDIR="$T/stage" install
ok "make install DESTDIR=... succeeds" status_is 0
ok "DESTDIR stages under PREFIX" test -x "$T/stage/opt/attn/bin/attn"

finish
