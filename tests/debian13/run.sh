#!/bin/bash
# Debian 13 (trixie) with Dovecot 2.4: makes a Debian 13 root with
# debootstrap, installs the build and test dependencies there, builds this
# tree against trixie's dovecot-dev, installs it into the root (Dovecot 2.4's
# config process only loads settings modules from its own module directory),
# and runs the integration tests against trixie's Dovecot inside the root.
# Ends with the runner's "N passed, M failed". Run as root:
#   bash tests/debian13/run.sh [-k PATTERN] [/src/tests/integration/TEST-FILE ...]
# TRIXIE_ROOT (default /var/tmp/push-notify-trixie) is kept and reused;
# TRIXIE_MIRROR picks the archive (default deb.debian.org).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
root=${TRIXIE_ROOT:-/var/tmp/push-notify-trixie}
mirror=${TRIXIE_MIRROR:-http://deb.debian.org/debian}

# what the tests need, as tests/install-deps.sh installs it on Debian 12
packages="build-essential autoconf automake libtool pkg-config
	dovecot-dev dovecot-core dovecot-imapd dovecot-lmtpd
	libcurl4-openssl-dev libyajl-dev liblua5.3-dev libconfuse-dev
	libssl-dev libhiredis-dev python3 openssl redis-server lua-socket"

make_root() {
	if [ ! -x "$root/usr/bin/apt-get" ]; then
		command -v debootstrap >/dev/null ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
		rm -rf "$root"
		debootstrap --variant=minbase trixie "$root" "$mirror" >/dev/null ||
			{ echo "debootstrap of Debian 13 failed"; return 1; }
	fi
	# no Dovecot or Redis of the root starts as a service
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
}

mounted=()
mount_root() {
	local fs
	for fs in proc dev; do
		mountpoint -q "$root/$fs" && continue
		if [ $fs = proc ]; then mount -t proc proc "$root/proc"
		else mount --bind /dev "$root/dev"; fi
		mounted+=("$root/$fs")
	done
}
unmount_root() {
	local m
	for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}

in_root() {
	chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 TZ=UTC "$@"
}

make_root
mount_root
trap unmount_root EXIT
in_root sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends $(echo $packages) >/dev/null" ||
	{ echo "installing the build dependencies in Debian 13 failed"; exit 1; }
echo "Debian 13 root: $(in_root dovecot --version), $(in_root dpkg-query -W -f='${Version}' libhiredis-dev) hiredis"

rm -rf "$root/src"
mkdir -p "$root/src"
(cd "$top" && git ls-files -z | xargs -0 cp -P --parents -t "$root/src")
if ! in_root sh -c 'cd /src && ./autogen.sh && ./configure --prefix=/usr &&
		make -j2' >"$root/build.log" 2>&1 ||
   ! in_root sh -c 'cd /src && make install' >"$root/install.log" 2>&1; then
	tail -40 "$root/build.log" "$root/install.log" 2>/dev/null
	echo "FAIL build on Debian 13"
	echo "0 passed, 1 failed"
	exit 1
fi
if grep -n "warning:" "$root/build.log"; then
	echo "FAIL build on Debian 13 has warnings"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "PASS build on Debian 13 (Dovecot 2.4) without warnings"

# every integration test; those of 2.3-only behaviour say N/A and why
# the build counts as one passed test in the summary
set +e
in_root python3 /src/tests/integration/runner.py "$@" | tee "$root/test.log" |
	grep -v '^[0-9]* passed, [0-9]* failed$'
rc=${PIPESTATUS[0]}
read -r passed _ failed _ < <(tail -1 "$root/test.log")
echo "$((passed + 1)) passed, $failed failed"
exit "$rc"
