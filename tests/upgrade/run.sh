#!/bin/bash
# Distribution upgrade test (issue 13, 1a-1d), as an administrator lives it,
# in chroots:
#  - Debian 12 (debootstrap minbase) with Dovecot and this tree's Debian 12
#    packages from a local apt repository; the webhook example of the
#    settings file uncommented and pointed at an HTTP endpoint on the host;
#    a mail delivered over LMTP must reach it;
#  - a next package version whose shipped comments changed upgrades with
#    DEBIAN_FRONTEND=noninteractive and no --force-conf option: no prompt;
#  - sources switched to Debian 13, `apt-get full-upgrade` with the
#    unattended options and no Debian 13 build of the project: apt exits 0,
#    doveconf -n exits 0, Dovecot 2.4 starts and delivers, pushadm says that
#    notifications are off until the Debian 13 build is installed;
#  - a second local repository with the Debian 13 build (built in a Debian 13
#    root): apt exits 0, every project package is the ~deb13 build, the 2.3
#    settings were converted (one message, old file kept), Dovecot 2.4
#    starts and the mail reaches the same endpoint, with no manual edit;
#  - the same from the saved Debian 12 root with both repositories there
#    during the distribution upgrade: one full-upgrade does it all.
# Ends with "N passed, M failed". Run as root on Debian 12 (the host builds
# the Debian 12 packages). Takes about 12 minutes the first time (debootstrap,
# downloads), 6 with the caches:
#   UPGRADE_CACHE (default /var/tmp/deb-upgrade-cache): the pristine Debian
#     12 root as a tarball and the downloaded .debs, kept between runs;
#   UPGRADE_ROOT (default /var/tmp/deb-upgrade-12): the Debian 12 root,
#     made afresh from the tarball each run (kept after a failure);
#   TRIXIE_ROOT (default /var/tmp/push-notify-trixie, tests/debian13/run.sh's
#     root, reused): where the Debian 13 packages are built;
#   DEBIAN_MIRROR (default http://deb.debian.org/debian).
# (all in one { } block: bash reads it whole before running it, so editing
# this file during a run does not change the run)
{
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${UPGRADE_CACHE:-/var/tmp/deb-upgrade-cache}
root=${UPGRADE_ROOT:-/var/tmp/deb-upgrade-12}
trixie=${TRIXIE_ROOT:-/var/tmp/push-notify-trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/upgradetest.XXXXXX)
projects="libpushcore0 libpushcore-dev push-notify-tools dovecot-push-notify dovecot-push-notify-lua"
settings23=/etc/dovecot/push-notify.d/settings-2.3.conf
settings24=/etc/dovecot/push-notify.d/settings-2.4.conf
unattended="-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
passed=0 failed=0 receiver_pid= mounted=()
started=$(date +%s)

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && echo "$@"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then pass "$name";
	else fail "$name" "$(tail -40 "$work/out")"; fi; }
# a step the rest depends on: stop here when it fails
need() { check "$@" || finish; }

in_chroot() {
	local dir=$1; shift
	chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 TZ=UTC DEBIAN_FRONTEND=noninteractive "$@"
}
in_root() { in_chroot "$root" "$@"; }

mount_fs() {
	local dir=$1 fs
	for fs in proc dev; do
		mountpoint -q "$dir/$fs" && continue
		if [ $fs = proc ]; then mount -t proc proc "$dir/proc"
		else mount --bind /dev "$dir/dev"; fi
		mounted+=("$dir/$fs")
	done
}

# Dovecot of the Debian 12 root, started and stopped by the test (the
# policy-rc.d keeps apt from starting it)
dovecot_pid() { cat "$root/run/dovecot/master.pid" 2>/dev/null; }
stop_dovecot() {
	local pid i
	pid=$(dovecot_pid) || return 0
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}
start_dovecot() {
	local i
	stop_dovecot
	in_root dovecot || return 1
	for i in $(seq 100); do
		[ -S "$root/run/dovecot/lmtp" ] && [ -n "$(dovecot_pid)" ] && return 0
		sleep 0.1
	done
	echo "no LMTP socket after 10s"; tail -20 "$root/var/log/dovecot.log"
	return 1
}

finish() {
	stop_dovecot
	[ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null
	local m
	for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null; done
	if [ "$failed" -eq 0 ]; then rm -rf "$root"
	else echo "the Debian 12 root is kept for inspection: $root"; fi
	rm -rf "$work"
	echo "took $(( ($(date +%s) - started) / 60 )) min"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
trap finish INT TERM

host_tools() {
	local p missing=
	for p in debootstrap apt-utils debhelper dpkg-dev fakeroot python3; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] || apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# --- the packages -----------------------------------------------------------

copy_tree() {
	rm -rf "$1" && mkdir -p "$1"
	(cd "$top" && git ls-files -z | xargs -0 cp -P --parents -t "$1")
}
debs_of() { ls "$1"/{libpushcore0,push-notify-tools,dovecot-push-notify,dovecot-push-notify-lua,libpushcore-dev}_*.deb; }

build_deb12() {
	copy_tree "$work/deb12/src"
	(cd "$work/deb12/src" && dpkg-buildpackage -us -uc -b) >"$work/deb12/build.log" 2>&1 ||
		{ tail -30 "$work/deb12/build.log"; return 1; }
	mkdir -p "$work/repo12"
	cp $(debs_of "$work/deb12") "$work/repo12/"
	debs_of "$work/repo12" | grep -q '~deb12u1_' || { echo "no ~deb12u1 version"; return 1; }
}

# the Debian 13 build, in a Debian 13 root (made if missing)
build_deb13() {
	if [ ! -x "$trixie/usr/bin/apt-get" ]; then
		rm -rf "$trixie"
		debootstrap --variant=minbase trixie "$trixie" "$mirror" >"$work/debootstrap13.log" 2>&1 ||
			{ tail -20 "$work/debootstrap13.log"; return 1; }
	fi
	printf '#!/bin/sh\nexit 101\n' >"$trixie/usr/sbin/policy-rc.d"
	chmod 755 "$trixie/usr/sbin/policy-rc.d"
	mount_fs "$trixie"
	copy_tree "$trixie/upgrade-pkg/src"
	in_chroot "$trixie" sh -c 'apt-get update -qq && apt-get install -y -qq \
		--no-install-recommends build-essential debhelper dpkg-dev fakeroot &&
		apt-get build-dep -y -qq /upgrade-pkg/src' >"$work/deps13.log" 2>&1 ||
		{ tail -30 "$work/deps13.log"; return 1; }
	in_chroot "$trixie" sh -c 'cd /upgrade-pkg/src && dpkg-buildpackage -us -uc -b' \
		>"$work/build13.log" 2>&1 || { tail -30 "$work/build13.log"; return 1; }
	mkdir -p "$work/repo13"
	cp $(debs_of "$trixie/upgrade-pkg") "$work/repo13/"
	rm -rf "$trixie/upgrade-pkg"
	debs_of "$work/repo13" | grep -q '~deb13u1_' || { echo "no ~deb13u1 version"; return 1; }
}

# The next Debian 12 version (~deb12u2): the same files, but every comment
# line of what it ships in /usr/share/dovecot-push-notify* reworded.
next_version() {
	local deb d v next out=$work/repo12
	for deb in $(debs_of "$work/deb12"); do
		d=$work/repack/$(basename "$deb" .deb)
		rm -rf "$d" && mkdir -p "$d"
		dpkg-deb -R "$deb" "$d" || return 1
		v=$(dpkg-deb -f "$deb" Version)
		next=${v%u1}u2
		sed -i "s/$v/$next/g" "$d/DEBIAN/control"
		find "$d/usr/share" -path '*/dovecot-push-notify*' -name '*.conf' -type f \
			-exec sed -i 's/^\(#\+\) /\1 (reworded in '"$next"') /' {} +
		(cd "$d" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' |
			sort | xargs -r md5sum) >"$d/DEBIAN/md5sums"
		dpkg-deb -b "$d" "$out/$(basename "$deb" | sed "s/$v/$next/")" >/dev/null || return 1
	done
	grep -rq "reworded in" "$work/repack" || { echo "nothing reworded"; return 1; }
	make_repo 12
}

# a flat repository inside the root, apt-ftparchive's index
make_repo() {
	local n=$1
	rm -rf "$root/srv/repo$n" && mkdir -p "$root/srv/repo$n"
	cp "$work/repo$n"/*.deb "$root/srv/repo$n/"
	(cd "$root/srv/repo$n" && apt-ftparchive packages . >Packages && apt-ftparchive release . >Release)
}

# --- the Debian 12 root ---------------------------------------------------

# .debs apt downloaded, shared between runs
restore_archives() {
	mkdir -p "$cache/archives"
	find "$cache/archives" -name '*.deb' -exec cp -l {} "$root/var/cache/apt/archives/" \; 2>/dev/null
	return 0
}
save_archives() {
	find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' \
		-exec cp -ln {} "$cache/archives/" \; 2>/dev/null
	return 0
}

make_root() {
	mkdir -p "$cache"
	if [ ! -s "$cache/bookworm-minbase.tar" ]; then
		rm -rf "$work/stage"
		debootstrap --variant=minbase bookworm "$work/stage" "$mirror" >"$work/debootstrap12.log" 2>&1 ||
			{ tail -20 "$work/debootstrap12.log"; return 1; }
		tar -C "$work/stage" -cf "$cache/bookworm-minbase.tar.tmp" . &&
			mv "$cache/bookworm-minbase.tar.tmp" "$cache/bookworm-minbase.tar"
		rm -rf "$work/stage"
	fi
	rm -rf "$root" && mkdir -p "$root"
	tar -C "$root" -xf "$cache/bookworm-minbase.tar" || return 1
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	cat >"$root/etc/apt/apt.conf.d/90upgrade-test" <<-EOF
	APT::Install-Recommends "false";
	Acquire::Languages "none";
	Acquire::http::Timeout "60";
	Acquire::Retries "3";
	EOF
	mount_fs "$root"
	debian_sources bookworm
	echo "deb [trusted=yes] file:/srv/repo12 ./" >"$root/etc/apt/sources.list.d/push-notify.list"
	make_repo 12
}

debian_sources() {
	echo "deb $mirror $1 main" >"$root/etc/apt/sources.list"
}

apt_in_root() {
	local rc
	restore_archives
	in_root apt-get "$@" </dev/null >"$work/apt.out" 2>&1
	rc=$?
	save_archives
	cat "$work/apt.out"
	return $rc
}

install_debian12() {
	apt_in_root update -qq &&
	apt_in_root install -y dovecot-core dovecot-lmtpd dovecot-push-notify dovecot-push-notify-lua || return 1
	# what a Debian 12 mail server has that minbase lacks: the certificate
	# Debian's default configuration reads, a mail user, a log file
	mkdir -p "$root/etc/dovecot/private"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-keyout "$root/etc/dovecot/private/dovecot.key" \
		-out "$root/etc/dovecot/private/dovecot.pem" 2>/dev/null || return 1
	in_root useradd -m alice || return 1
	# valid on Dovecot 2.3 and 2.4 alike (the administrator's own file):
	# only LMTP on its unix socket (no IMAP port taken on the host), and a
	# log file in the root
	cat >"$root/etc/dovecot/conf.d/99-local.conf" <<-EOF
	protocols = lmtp
	log_path = /var/log/dovecot.log
	EOF
}

# The administrator uncomments the webhook example of the settings file and
# puts in their endpoint; the secret file it names is theirs to create.
configure_webhook() {
	local f=$root$settings23 port
	port=$(cat "$work/port")
	grep -q '^[[:space:]]*#[[:space:]]*push_notification_driver[0-9]* = http:url=' "$f" ||
		{ echo "no webhook example in $f"; return 1; }
	sed -i 's|^\([[:space:]]*\)#[[:space:]]*\(push_notification_driver[0-9]* = http:url=\)[^ ]*|\1\2http://127.0.0.1:'"$port"'/hook|' "$f"
	grep -n "push_notification_driver" "$f"
	head -c 32 /dev/urandom | base64 >"$root/etc/dovecot/push-notify.secret"
	chmod 0640 "$root/etc/dovecot/push-notify.secret"
	in_root chgrp dovecot /etc/dovecot/push-notify.secret
}

start_receiver() {
	python3 "$top/tests/upgrade/receiver.py" "$work/port" "$work/received" &
	receiver_pid=$!
	local i
	for i in $(seq 100); do [ -s "$work/port" ] && return 0; sleep 0.1; done
	return 1
}

# $1: subject; delivered to alice over LMTP and in her INBOX
deliver() {
	python3 "$top/tests/upgrade/lmtp.py" "$root/run/dovecot/lmtp" alice "$1" || return 1
	in_root doveadm search -u alice mailbox INBOX header Subject "$1" | grep -q .
}

# $1: subject; the endpoint got exactly one signed MessageNew for it
notified() {
	local i n
	for i in $(seq 150); do
		n=$(grep -c "\"subject\": \"$1\"" "$work/received")
		[ "$n" -ge 1 ] && break
		sleep 0.2
	done
	sleep 1	# a duplicate would show up by now
	python3 - "$work/received" "$1" <<-'EOF'
	import json, sys
	got = [r for r in map(json.loads, open(sys.argv[1]))
	       if r["json"] and r["json"].get("subject") == sys.argv[2]]
	print(json.dumps(got, indent=1))
	assert len(got) == 1, "%d notifications" % len(got)
	r = got[0]
	assert r["path"] == "/hook" and r["signature"], r
	assert (r["json"]["event"], r["json"]["user"], r["json"]["mailbox"]) == \
	    ("MessageNew", "alice", "INBOX"), r["json"]
	EOF
}
not_notified() {
	sleep 2
	! grep -q "\"subject\": \"$1\"" "$work/received"
}

start_and_deliver() { start_dovecot && deliver "$1"; }
dovecot_24() { in_root dovecot --version | tee /dev/stderr | grep -q '^2\.4\.'; }

# every project package installed is the ~debN build
all_builds() {
	local want=$1 p v any=
	for p in $projects; do
		v=$(in_root dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$p" 2>/dev/null) || continue
		case "$v" in ii*) ;; *) continue;; esac
		echo "$p $v"; any=yes
		case "$v" in *"$want") ;; *) return 1;; esac
	done
	[ -n "$any" ]
}

# --- the scenario -----------------------------------------------------------

no_conffiles() {
	local p
	for p in $projects; do
		[ -s "$root/var/lib/dpkg/info/$p.conffiles" ] && { cat "$root/var/lib/dpkg/info/$p.conffiles"; return 1; }
	done
	return 0
}
upgrade_no_prompt() {
	apt_in_root update -qq && apt_in_root -y upgrade || return 1
	! grep -i "configuration file" "$work/apt.out"
}
deliver_notified() { start_and_deliver "$1" && notified "$1"; }
full_upgrade_13() {
	debian_sources trixie
	apt_in_root update -qq && apt_in_root -y $unattended full-upgrade
}
# the Debian 12 pushadm, left installed, on Dovecot 2.4
notifications_off() {
	in_root pushadm config check 2>&1 | tee /dev/stderr |
		grep "notifications are off until the build for this Dovecot is installed" |
		grep -q "(2.4)"
}
install_13() {
	make_repo 13
	echo "deb [trusted=yes] file:/srv/repo13 ./" >"$root/etc/apt/sources.list.d/push-notify-13.list"
	apt_in_root update -qq &&
	apt_in_root -y $unattended install dovecot-push-notify dovecot-push-notify-lua || return 1
	cp "$work/apt.out" "$work/install-13.out"
	apt_in_root -y $unattended full-upgrade
}
one_conversion_message() {
	local lines
	lines=$(grep -i "converted" "$work/install-13.out")
	echo "$lines"
	[ "$(echo "$lines" | grep -c .)" = 1 ] && echo "$lines" | grep -q "settings-2.3.conf.dpkg-old"
}
old_settings_aside() {
	test -f "$root$settings23.dpkg-old" && test ! -e "$root$settings23" &&
		! grep -rsE '^[[:space:]]*!include(_try)?[[:space:]].*settings-2\.3' \
			"$root/etc/dovecot/" "$root/usr/share/dovecot-push-notify/"
}
# push-notify-tools enabled the relay (started at boot; policy-rc.d keeps
# it from starting here), and the paths its Documentation= names exist
relay_enabled() {
	local unit d
	[ -L "$root/etc/systemd/system/multi-user.target.wants/pushadm-relay.service" ] ||
		{ echo "pushadm-relay.service is not enabled"; return 1; }
	unit=$(in_root dpkg -L push-notify-tools | grep '/pushadm-relay\.service$') || return 1
	for d in $(sed -n 's/^Documentation=//p' "$root$unit"); do
		case "$d" in file://*) test -e "$root${d#file://}" || { echo "missing: $d"; return 1; };; esac
	done
}
plugin_loaded() {
	in_root doveconf -n >/dev/null &&
		in_root doveconf -f protocol=lmtp -h mail_plugins | grep -x "push_notify = yes"
}

# The Debian 12 root as it is now, to run a second upgrade from it
snapshot_root() {
	tar -C "$root" --one-file-system -cf "$work/debian12.tar" .
}
restore_root() {
	umount -l "$root/proc" "$root/dev" 2>/dev/null
	rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xf "$work/debian12.tar" || return 1
	mount_fs "$root"
}
# Both builds in the project's repositories during the distribution upgrade
# itself: one full-upgrade replaces the ~deb12 packages by the ~deb13 ones
direct_upgrade() {
	restore_root || return 1
	make_repo 13
	echo "deb [trusted=yes] file:/srv/repo13 ./" >"$root/etc/apt/sources.list.d/push-notify-13.list"
	debian_sources trixie
	apt_in_root update -qq && apt_in_root -y $unattended full-upgrade || return 1
	cp "$work/apt.out" "$work/install-13.out"
}

host_tools || { echo "installing debootstrap, apt-utils, debhelper failed"; echo "0 passed, 1 failed"; exit 1; }
need "Debian 12 packages build, versioned ~deb12u1" build_deb12
need "Debian 13 packages build in a Debian 13 root, versioned ~deb13u1" build_deb13
need "Debian 12 root" make_root
need "receiver on 127.0.0.1" start_receiver
need "Debian 12: Dovecot and the project installed from the local repository" install_debian12
check "Debian 12: no file of the project is a conffile" no_conffiles
check "Debian 12: pushadm-relay.service enabled, its Documentation= paths exist" relay_enabled
check "Debian 12: the settings file was created from the template" test -f "$root$settings23"
need "Debian 12: the administrator uncomments the webhook example" configure_webhook
check "Debian 12: doveconf -n exits 0" in_root doveconf -n
check "Debian 12: pushadm config check is happy" in_root pushadm config check
check "Debian 12: Dovecot starts, a mail reaches the endpoint" deliver_notified "before the upgrade"
stop_dovecot

# 1c: the next version rewords what it ships; the administrator edited
# their settings; no --force-conf option
cp "$root$settings23" "$work/settings.edited"
need "next Debian 12 version (~deb12u2, reworded comments) in the repository" next_version
check "unattended upgrade to ~deb12u2 without --force-conf: exit 0, no prompt" upgrade_no_prompt
check "~deb12u2: the settings file is as the administrator left it" cmp "$work/settings.edited" "$root$settings23"
check "~deb12u2: every project package is ~deb12u2" all_builds "~deb12u2"
check "~deb12u2: Dovecot starts, a mail reaches the endpoint" deliver_notified "after the reworded upgrade"
stop_dovecot
need "Debian 12 root saved for the second way up" snapshot_root

# 1a: Debian 13, no Debian 13 build of the project anywhere
check "Debian 13 (no project build): full-upgrade exits 0" full_upgrade_13
check "Debian 13 (no project build): Dovecot is 2.4" dovecot_24
check "Debian 13 (no project build): doveconf -n exits 0" in_root doveconf -n
check "Debian 13 (no project build): Dovecot 2.4 starts and delivers" start_and_deliver "on Debian 13 without the build"
check "Debian 13 (no project build): no notification is sent" not_notified "on Debian 13 without the build"
stop_dovecot
check "Debian 13 (no project build): pushadm says notifications are off until the Debian 13 build is installed" notifications_off

# 1b: the Debian 13 build in a second repository
check "Debian 13 build: apt-get install and full-upgrade exit 0" install_13
check "Debian 13 build: every project package is ~deb13u1" all_builds "~deb13u1"
check "Debian 13 build: one message says the settings were converted and where the old ones are" one_conversion_message
check "Debian 13 build: the 2.3 settings are kept aside, read by nothing" old_settings_aside
check "Debian 13 build: doveconf -n exits 0 and loads push_notify" plugin_loaded
check "Debian 13 build: pushadm-relay.service enabled, its Documentation= paths exist" relay_enabled
check "Debian 13 build: pushadm config check is happy" in_root pushadm config check
check "Debian 13 build: Dovecot 2.4 starts, the mail reaches the endpoint configured on Debian 12" deliver_notified "after the upgrade"
stop_dovecot

# the other way: the project's repository has the Debian 13 build when the
# distribution is upgraded
check "both builds available: one full-upgrade to Debian 13 exits 0" direct_upgrade
check "both builds available: every project package is ~deb13u1" all_builds "~deb13u1"
check "both builds available: one message says the settings were converted" one_conversion_message
check "both builds available: the 2.3 settings are kept aside, read by nothing" old_settings_aside
check "both builds available: doveconf -n exits 0 and loads push_notify" plugin_loaded
check "both builds available: Dovecot 2.4 starts, the mail reaches the endpoint configured on Debian 12" \
	deliver_notified "after the direct upgrade"
stop_dovecot
finish
}
