#!/bin/bash
# Debian 13 (trixie) with Dovecot 2.4: makes a Debian 13 root with
# debootstrap, installs the build and test dependencies there, builds this
# tree against trixie's dovecot-dev, installs it into the root (Dovecot 2.4's
# config process only loads settings modules from its own module directory),
# runs the integration tests against trixie's Dovecot inside the root, then
# builds the .debs there and installs and removes them.
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
	libcurl4-openssl-dev libyajl-dev liblua5.3-dev libconfuse-dev libsqlite3-dev
	libssl-dev libhiredis-dev python3 openssl redis-server lua-socket strace"

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
set +e
in_root python3 /src/tests/integration/runner.py "$@" | tee "$root/test.log" |
	grep -v '^[0-9]* passed, [0-9]* failed$'
read -r passed _ failed _ < <(tail -1 "$root/test.log")
passed=$((passed + 1))		# the build
[ -n "$failed" ] || failed=1	# the runner died before its summary

# the packages, built on Debian 13: the settings module and the snippets in
# 2.4 syntax, loadable by the system's Dovecot, removable
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && echo "$@"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >"$root/check.out" 2>&1; then pass "$name";
	else fail "$name" "$(tail -30 "$root/check.out")"; fi; }

build_debs() {
	in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends debhelper dpkg-dev fakeroot >/dev/null' || return 1
	rm -rf "$root/pkg" && mkdir -p "$root/pkg/src"
	(cd "$top" && git ls-files -z | xargs -0 cp -P --parents -t "$root/pkg/src")
	in_root sh -c 'cd /pkg/src && dpkg-buildpackage -us -uc -b' >"$root/pkg/build.log" 2>&1 ||
		{ tail -40 "$root/pkg/build.log"; return 1; }
}
deb_has() {
	local listing
	listing=$(dpkg-deb -c "$root"/pkg/dovecot-push-notify_*.deb) || return 1
	for f in ./usr/lib/dovecot/modules/lib20_push_notify_plugin.so \
		./usr/lib/dovecot/modules/settings/libpush_notify_settings.so \
		./usr/share/dovecot-push-notify/settings-2.4.conf \
		./usr/share/dovecot-push-notify/mail-plugins.conf; do
		grep -q " $f\$" <<<"$listing" || { echo "missing: $f"; return 1; }
	done
	grep -q " ./etc/dovecot/conf.d/95-push-notify.conf -> /usr/share/dovecot-push-notify/push-notify.conf\$" \
		<<<"$listing" || { echo "no conf.d link"; return 1; }
	dpkg-deb -f "$root"/pkg/dovecot-push-notify_*.deb Version | grep "~deb13u1\$" || return 1
	dpkg-deb -f "$root"/pkg/dovecot-push-notify_*.deb Depends |
		grep "dovecot-abi-$(tr -d '\n' <"$root/usr/share/dovecot/dovecot-abi")"
}
# Debian's default configuration reads this certificate (Dovecot 2.4 reads
# it when parsing the configuration)
system_config_ok() {
	if [ ! -e "$root/etc/dovecot/private/dovecot.pem" ]; then
		mkdir -p "$root/etc/dovecot/private"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
			-keyout "$root/etc/dovecot/private/dovecot.key" \
			-out "$root/etc/dovecot/private/dovecot.pem" 2>/dev/null
	fi
	in_root doveconf -n >/dev/null
}
install_debs() {
	# what an administrator installs: not the -dbgsym packages, whose
	# exact-version dependencies would keep this build's libraries
	# installed through purge_debs
	in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--allow-downgrades $(ls ./pkg/*.deb | grep -v -- -dbgsym_)' && system_config_ok &&
	in_root doveconf -f protocol=lmtp -h mail_plugins | grep -x "push_notify = yes" &&
	in_root doveconf -f protocol=lmtp -h mail_plugins | grep -x "push_notify_lua = yes" &&
	grep -q "^#push_notify webhook {" "$root/etc/dovecot/push-notify.d/settings-2.4.conf" &&
	[ -L "$root/etc/dovecot/conf.d/95-push-notify.conf" ]
}
block_accepted() {
	printf 'push_notify dlog {\n}\n' >"$root/etc/dovecot/conf.d/96-push-notify-test.conf"
	in_root doveconf -n | grep -x "push_notify dlog {"
	local rc=$?
	rm -f "$root/etc/dovecot/conf.d/96-push-notify-test.conf"
	return $rc
}
remove_debs() {
	in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get remove -y \
		dovecot-push-notify-lua dovecot-push-notify-redis dovecot-push-notify' &&
	[ ! -e "$root/etc/dovecot/conf.d/95-push-notify.conf" ] &&
	[ -e "$root/etc/dovecot/push-notify.d/settings-2.4.conf" ] && system_config_ok
}
# The 2.4 build meets 2.3 settings it can't convert, or whose conversion
# Dovecot refuses: Dovecot keeps a valid configuration without
# notifications, and one message says what to do.
settings_dir=$root/etc/dovecot/push-notify.d
# dpkg: apt refuses to purge a package it does not know (the Lua one is
# already gone, -dev never came)
# Everything of ours goes (a chroot kept from an earlier run may hold the
# -dbgsym packages, which depend on the exact versions): a purge that
# leaves a package behind fails the check that called it, instead of
# letting apt keep an older build of the same version.
purge_debs() {
	local left
	in_root dpkg --purge libpushcore0-dbgsym push-notify-tools-dbgsym \
		dovecot-push-notify-dbgsym dovecot-push-notify-lua-dbgsym \
		dovecot-push-notify-redis-dbgsym dovecot-push-notify-lua \
		dovecot-push-notify-redis dovecot-push-notify push-notify-tools \
		libpushcore-dev libpushcore0 >/dev/null 2>&1
	left=$(in_root dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null |
		grep -E ' (libpushcore|push-notify-tools|dovecot-push-notify)' | grep -vE '^.n')
	[ -z "$left" ] || { echo "not purged: $left"; return 1; }
}
install_with_23() {
	purge_debs || return 1
	mkdir -p "$settings_dir"
	printf 'plugin {\n  push_notification_driver = http:url=http://127.0.0.1:9/hook\n%s\n}\n' \
		"$1" >"$settings_dir/settings-2.3.conf"
	chmod 0640 "$settings_dir/settings-2.3.conf"
	in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y ./pkg/libpushcore0_*.deb \
		./pkg/push-notify-tools_*.deb ./pkg/dovecot-push-notify_*.deb' >"$root/check.apt" 2>&1 ||
		{ cat "$root/check.apt"; return 1; }
	grep -A3 "^dovecot-push-notify:" "$root/check.apt"
}
not_convertible() {
	install_with_23 "  mail_attribute_dict = file:%h/attributes" &&
	[ "$(grep -c "^dovecot-push-notify:" "$root/check.apt")" = 1 ] &&
	grep -q "could not convert .*notifications are off" "$root/check.apt" &&
	grep -q "line 3: mail_attribute_dict" "$root/check.apt" &&
	[ -f "$settings_dir/settings-2.3.conf" ] &&
	grep -q "^#push_notify webhook {" "$settings_dir/settings-2.4.conf" && system_config_ok
}
refused() {
	install_with_23 "  push_notification_max_delay = soon" &&
	[ "$(grep -c "^dovecot-push-notify:" "$root/check.apt")" = 1 ] &&
	grep -q "Dovecot refuses the result" "$root/check.apt" &&
	grep -q "push_notify_max_delay = soon" "$settings_dir/settings-2.4.conf.dpkg-rejected" &&
	[ "$(stat -c %a "$settings_dir/settings-2.4.conf.dpkg-rejected")" = 640 ] &&
	grep -q "^#push_notify webhook {" "$settings_dir/settings-2.4.conf" && system_config_ok
}

# the lua and redis drivers are modules in packages of their own
core_has_no_driver_libs() {
	local d n
	# libssl3t64 is the package of libcrypto.so.3, which libpushcore links
	# (HMAC, random ids); libssl.so itself must not be linked
	d=$(dpkg-deb -f "$root"/pkg/libpushcore0_*.deb Depends) && echo "$d" &&
	! echo "$d" | grep -Eiq 'lua|hiredis' &&
	! echo "$d" | sed 's/libssl3\(t64\)\? ([^)]*)//' | grep -qi libssl &&
	rm -rf "$root/pkg/lib0" && dpkg-deb -x "$root"/pkg/libpushcore0_*.deb "$root/pkg/lib0" &&
	n=$(objdump -p "$root"/pkg/lib0/usr/lib/*/libpushcore.so.0 | grep NEEDED) && echo "$n" &&
	! echo "$n" | grep -Eiq 'lua|hiredis|libssl' &&
	dpkg-deb -c "$root"/pkg/dovecot-push-notify-lua_*.deb | grep -q '/drivers/push_driver_lua.so$' &&
	dpkg-deb -c "$root"/pkg/dovecot-push-notify-redis_*.deb | grep -q '/drivers/push_driver_redis.so$'
}

cd /
check "debs build on Debian 13" build_debs
check "libpushcore0 depends on and links no Lua, hiredis or libssl; the module packages hold the modules" core_has_no_driver_libs
check "the plugin package holds the settings module, the 2.4 template and the conf.d link, is ~deb13u1, depends on the 2.4 ABI" deb_has
check "installed: Dovecot 2.4's system configuration loads push_notify and push_notify_lua, settings-2.4.conf from the template" install_debs
check "installed: a push_notify block is a known setting" block_accepted
check "removed (not purged): the conf.d link is gone, the settings stay, the system configuration is valid" remove_debs
check "2.3 settings that can't be converted: the template, notifications off, Dovecot's configuration valid, one message" not_convertible
check "2.3 settings converted to what Dovecot refuses: set aside (mode kept), the template, configuration valid, one message" refused
purge_debs

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
