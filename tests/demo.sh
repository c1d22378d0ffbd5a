#!/bin/bash
# The demo: builds the tree, starts a private Dovecot with push_notify and
# the relay (pushadm relay run) on 127.0.0.1, delivers one mail over LMTP and
# prints the notification the HTTP endpoint received through the relay. Run as root on Debian 12: sudo bash tests/demo.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" -eq 0 ] || { echo "tests/demo.sh: run as root (it starts a private Dovecot)" >&2; exit 77; }
bash tests/install-deps.sh >/dev/null
[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure -q
make -j2 >/dev/null
exec python3 tests/integration/demo.py
