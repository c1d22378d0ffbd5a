#!/bin/bash
# Package tests: build the .debs, lintian them, install them on this
# machine, deliver through Dovecot's system configuration, upgrade from
# 0.1.0-1 (its conffile snippet edited: the settings move to the settings
# file), remove and purge. Ends with "N passed, M failed".
# Run as root on Debian 12 (it installs and removes packages).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/pkgtest.XXXXXX)
passed=0 failed=0
snippet=/etc/dovecot/conf.d/95-push-notify.conf
settings=/etc/dovecot/push-notify.d/settings-2.3.conf
# 0.1.0-1: the last version whose snippets were conffiles holding the settings
old_layout=7f80c06
packages="dovecot-push-notify-lua dovecot-push-notify-redis dovecot-push-notify push-notify-tools libpushcore0 libpushcore-dev"

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && echo "$@"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then pass "$name"; else fail "$name" "$(tail -30 "$work/out")"; fi; }

# Debian's default configuration reads this certificate (dovecot-core makes
# it when ssl-cert is there); a minimal machine may lack it
made_cert=
if [ ! -e /etc/dovecot/private/dovecot.pem ]; then
	mkdir -p /etc/dovecot/private
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-keyout /etc/dovecot/private/dovecot.key -out /etc/dovecot/private/dovecot.pem 2>/dev/null
	made_cert=yes
fi

cleanup() {
	# dpkg: apt refuses to purge packages it no longer knows (those purged
	# above), and would then leave the others installed
	dpkg --purge $packages >/dev/null 2>&1
	[ -n "$made_cert" ] && rm -f /etc/dovecot/private/dovecot.pem /etc/dovecot/private/dovecot.key
	rm -rf "$work"
}
trap cleanup EXIT

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	debhelper dpkg-dev lintian rpm fakeroot >/dev/null 2>&1 ||
	{ echo "installing the packaging tools failed"; exit 1; }

# a copy of the committed tree, or of an older commit, built
build_debs() {
	local dir=$1 commit=${2:-}
	mkdir -p "$dir/src"
	if [ -z "$commit" ]; then
		(cd "$top" && git ls-files -z | xargs -0 cp -P --parents -t "$dir/src")
	else
		git -C "$top" archive "$commit" | tar -x -C "$dir/src" || return 1
	fi
	(cd "$dir/src" && dpkg-buildpackage -us -uc -b) >"$dir/build.log" 2>&1 ||
		{ tail -40 "$dir/build.log"; return 1; }
}

# the previous version (0.1.0-1) had no redis package
debs() { ls "$1"/{dovecot-push-notify,dovecot-push-notify-lua,push-notify-tools,libpushcore0,libpushcore-dev}_*.deb
	ls "$1"/dovecot-push-notify-redis_*.deb 2>/dev/null; }

check "debs build" build_debs "$work/new"
check "debs are versioned for this distribution (~deb12u1)" \
	bash -c "dpkg-deb -f $work/new/dovecot-push-notify_*.deb Version | grep -q '~deb12u1\$'"
check "no conffile in any package: conf.d holds links into /usr/share" \
	bash -c "for d in \$(ls $work/new/*.deb); do ! dpkg-deb -I \$d conffiles 2>/dev/null | grep . || exit 1; done &&
		dpkg-deb -c $work/new/dovecot-push-notify_*.deb | grep -q ' ./etc/dovecot/conf.d/95-push-notify.conf -> /usr/share/dovecot-push-notify/push-notify.conf\$'"
check "previous version (0.1.0-1, conffile snippets) builds" build_debs "$work/old" "$old_layout"
check "lintian: no errors, no unjustified warnings" \
	lintian --fail-on error,warning "$work"/new/*.changes
# the drivers with their own libraries are modules in packages of their own:
# the core library and the plugin pull in no Lua, hiredis or libssl
# (libcrypto.so.3, which libpushcore does link for HMAC and random ids, is
# in Debian's package libssl3: that package name is expected; libssl.so
# itself is not linked, see objdump below)
check "libpushcore0's Depends name no Lua, hiredis or libssl other than libcrypto's package" \
	bash -c "d=\$(dpkg-deb -f $work/new/libpushcore0_*.deb Depends) && echo \"\$d\" &&
		! echo \"\$d\" | grep -Eiq 'lua|hiredis' &&
		! echo \"\$d\" | sed 's/libssl3\\(t64\\)\\? ([^)]*)//' | grep -qi libssl &&
		dpkg -S '*/libcrypto.so.3' | grep -q '^libssl3'"
check "libpushcore.so.0 links no Lua, hiredis or libssl (objdump -p)" \
	bash -c "dpkg-deb -x $work/new/libpushcore0_*.deb $work/lib0 &&
		n=\$(objdump -p $work/lib0/usr/lib/*/libpushcore.so.0 | grep NEEDED) && echo \"\$n\" &&
		! echo \"\$n\" | grep -Eiq 'lua|hiredis|libssl' && echo \"\$n\" | grep -q libcurl"
check "dovecot-push-notify and push-notify-tools depend on no Lua or hiredis" \
	bash -c "! dpkg-deb -f $work/new/dovecot-push-notify_*.deb Depends | grep -Eiq 'lua|hiredis' &&
		! dpkg-deb -f $work/new/push-notify-tools_*.deb Depends | grep -Eiq 'lua|hiredis'"
check "the lua package ships the Lua 5.3 module, the redis package the hiredis one" \
	bash -c "dpkg-deb -c $work/new/dovecot-push-notify-lua_*.deb | grep -q '/dovecot-push-notify/drivers/push_driver_lua.so\$' &&
		dpkg-deb -f $work/new/dovecot-push-notify-lua_*.deb Depends | grep -q 'liblua5.3-0' &&
		dpkg-deb -c $work/new/dovecot-push-notify-redis_*.deb | grep -q '/dovecot-push-notify/drivers/push_driver_redis.so\$' &&
		dpkg-deb -f $work/new/dovecot-push-notify-redis_*.deb Depends | grep -q 'libhiredis'"
check "plugin depends on the Dovecot ABI it was built for" \
	bash -c "dpkg-deb -f $work/new/dovecot-push-notify_*.deb Depends | grep -q 'dovecot-abi-$(tr -d '\n' </usr/share/dovecot/dovecot-abi)'"

install_debs() { DEBIAN_FRONTEND=noninteractive apt-get install -y --allow-downgrades $(debs "$1"); }
check "previous version installs" install_debs "$work/old"
check "doveconf -n is valid after install" doveconf -n
check "no driver is on by default: the spool dir is the only setting" \
	bash -c "test -z \"\$(doveconf -h plugin/push_notification_driver)\" && test -d /var/spool/dovecot-push-notify/new"
echo "  # local edit: kept across upgrades" >>"$snippet"
# what "systemctl enable pushadm-spool" did (README of 0.1.0-1)
wants=/etc/systemd/system/multi-user.target.wants
mkdir -p $wants && ln -sf /lib/systemd/system/pushadm-spool.service $wants/
check "upgrade installs" install_debs "$work/new"
check "upgrade: pushadm-spool.service is gone, disabled, no dangling link" \
	bash -c "test ! -e /lib/systemd/system/pushadm-spool.service && test ! -L $wants/pushadm-spool.service"
check "upgrade moved the edited snippet's settings to the settings file" \
	bash -c "grep -q 'local edit: kept across upgrades' $settings && test -L $snippet &&
		test -f $snippet.dpkg-bak && doveconf -n >/dev/null"
echo "  # a second local edit" >>"$settings"
check "reinstall leaves the settings file alone" install_debs "$work/new"
check "the settings file kept the edit" grep -q "a second local edit" "$settings"
check "the units' Documentation= files exist" bash -c '
	for u in $(dpkg -L push-notify-tools | grep "\.service$"); do
		for d in $(sed -n "s/^Documentation=//p" "$u"); do
			case "$d" in file://*) test -e "${d#file://}" || { echo "missing: $d"; exit 1; };; esac
		done
	done'
check "upgrading.md is shipped" test -f /usr/share/doc/dovecot-push-notify/upgrading.md
check "the module is where Dovecot looks" test -f /usr/lib/dovecot/modules/lib20_push_notify_plugin.so
check "pushadm is installed" bash -c "pushadm help | grep -q 'spool run'"
check "pushadm's bash completion is installed and completes nouns" \
	bash -c "source /usr/share/bash-completion/completions/pushadm && COMP_WORDS=(pushadm rel) COMP_CWORD=1 && _pushadm && test \"\${COMPREPLY[*]}\" = relay"
check "the Lua plugin is loaded for lmtp with push_notify" \
	bash -c "doveconf -f protocol=lmtp -h mail_plugins | grep -q 'push_notify_lua' && test -f /usr/lib/dovecot/modules/lib22_push_notify_lua_plugin.so"

printf '%s\n' 'function dovecot_lua_notify_begin_txn(user) return {} end' \
	'function dovecot_lua_notify_event_message_new(ctx, event) end' \
	'function dovecot_lua_notify_end_txn(ctx, success) end' >"$work/check.lua"
check "pushadm lua check works with dovecot-push-notify-lua installed" \
	bash -c "pushadm lua check $work/check.lua | grep -q 'dovecot_lua_notify_event_message_new *defined'"

deliver() { python3 "$top/tests/packaging/deliver.py" "$@" | tee /dev/stderr | grep -q "^errors: 0"; }
check "system config + a driver: delivery notifies" \
	bash -c "python3 '$top/tests/packaging/deliver.py' --driver --expect 1 | tee /dev/stderr | grep -q '\"event\": \"MessageNew\", \"user\": \"alice\"'"
DEBIAN_FRONTEND=noninteractive apt-get remove -y dovecot-push-notify-lua >/dev/null 2>&1
check "pushadm lua check without dovecot-push-notify-lua names that package" \
	bash -c "out=\$(pushadm lua check $work/check.lua 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q 'install the package dovecot-push-notify-lua'"
DEBIAN_FRONTEND=noninteractive apt-get remove -y dovecot-push-notify dovecot-push-notify-redis >/dev/null 2>&1
check "removed: the module and the conf.d link are gone, the settings stay" \
	bash -c "test ! -e /usr/lib/dovecot/modules/lib20_push_notify_plugin.so && test ! -e $snippet && test -f $settings"
check "removed: doveconf -n valid and push_notify not loaded" \
	bash -c "doveconf -n >/dev/null && ! doveconf -f protocol=lmtp -h mail_plugins | grep -q push_notify"
check "removed: Dovecot starts and delivers" deliver --expect 0
DEBIAN_FRONTEND=noninteractive apt-get purge -y dovecot-push-notify dovecot-push-notify-lua dovecot-push-notify-redis >/dev/null 2>&1
check "purged: settings and spool gone" bash -c "test ! -e $settings && test ! -e /var/spool/dovecot-push-notify"
rm -f "$snippet.dpkg-bak"
check "purged: Dovecot starts and delivers" deliver --expect 0

# The RPMs: tests/rpm/run.sh

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
