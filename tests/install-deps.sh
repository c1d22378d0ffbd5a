#!/bin/bash
# Installs everything the build, the demo and the tests need on Debian 12.
# Run as root. A policy-rc.d that refuses service starts goes in first, so
# installing Dovecot never starts a system-wide Dovecot.
set -eu
packages=(
	# build
	build-essential autoconf automake libtool pkg-config
	dovecot-dev libcurl4-openssl-dev libyajl-dev liblua5.3-dev libconfuse-dev libsqlite3-dev
	libssl-dev libhiredis-dev
	# tests: a real Dovecot, Python for clients and receivers, sanitizers
	dovecot-core dovecot-imapd dovecot-lmtpd
	python3 openssl clang redis-server lua-socket
	# strace: the relay test that sees each acknowledgement follow its disk sync
	strace
	# package tests
	debhelper dpkg-dev lintian rpm fakeroot
	rpmlint
)
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
