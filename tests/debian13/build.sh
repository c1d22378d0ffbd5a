#!/bin/bash
# Work in progress for issue 9 (Debian 13 / Dovecot 2.4): builds this tree
# in a Debian 13 (trixie) root made with debootstrap, against Debian 13's
# dovecot-dev (2.4.1). Not part of tests/run.sh yet: the push_notify plugin
# still needs its 2.4 compatibility layer (settings module instead of
# mail_user_plugin_getenv, notify_unregister(&ctx)); libpushcore, pushadm and
# push_notify_lua already build. Run as root:
#   bash tests/debian13/build.sh [ROOT]     (ROOT is kept and reused)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
root=${1:-/var/tmp/push-notify-trixie}

if [ ! -x "$root/usr/bin/apt-get" ]; then
	apt-get install -y -qq debootstrap >/dev/null
	debootstrap --variant=minbase trixie "$root"
fi
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends build-essential autoconf \
	automake libtool pkg-config dovecot-dev dovecot-core dovecot-imapd \
	dovecot-lmtpd libcurl4-openssl-dev libyajl-dev liblua5.3-dev \
	libconfuse-dev libssl-dev libhiredis-dev python3 >/dev/null'
rm -rf "$root/src"
mkdir -p "$root/src"
(cd "$top" && git ls-files -z | xargs -0 cp -P --parents -t "$root/src")
chroot "$root" sh -c 'cd /src && ./autogen.sh >/dev/null 2>&1 && ./configure -q && make -j2'
