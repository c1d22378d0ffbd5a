#!/bin/bash
# RPM tests: the spec parses with no defines (also where dovecot-devel is
# missing); `rpmbuild -ta` builds the SRPM and RPMs from the `make dist`
# tarball; the scriptlets and file lists are the expected ones; the Dovecot
# requirement carries the epoch; in scratch `rpm --root` trees, without
# systemd and with a systemctl that logs its calls: the upgrade from the
# 0.1.0-1 RPMs (tests/rpm/dovecot-push-notify-0.1.0-1.spec) moves an edited
# snippet's drivers into the settings file and carries pushadm-spool.service's
# "enabled" and "running" over to pushadm-relay.service; install, upgrade to
# the next release (an edited settings file kept) and erase exit 0 and leave
# the files expected; rpmlint is clean except what
# rpm/dovecot-push-notify.rpmlintrc explains.
# Ends with "N passed, M failed". Run as root on Debian 12 (Debian has no
# Dovecot RPM and none of the BuildRequires: builds use --nodeps, installs
# --nodeps).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "tests/rpm/run.sh: run as root (scratch roots need chroot and mknod)" >&2; exit 77; }
work=$(mktemp -d /tmp/rpmtest.XXXXXX)
trap 'rm -rf "$work"' EXIT		# (and the Debian 13 root's mounts, below)
passed=0 failed=0
spec=$top/rpm/dovecot-push-notify.spec

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && echo "$@"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then pass "$name"; else fail "$name" "$(tail -30 "$work/out")"; fi; }
# the two strings are equal, else show both
same() { [ "$1" = "$2" ] || { diff <(echo "$2") <(echo "$1"); return 1; }; }

command -v rpmbuild >/dev/null && command -v rpmlint >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm rpmlint >/dev/null 2>&1 ||
	{ echo "installing rpm and rpmlint failed"; exit 1; }

version=$(sed -n 's/^AC_INIT(\[dovecot-push-notify\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
dovecot_dir=/usr/lib/dovecot
moduledir=$(sed -n 's/^dovecot_moduledir=//p' $dovecot_dir/dovecot-config)
dovecot_version=$(sed -n 's/^#define DOVECOT_VERSION "\(.*\)"$/\1/p' /usr/include/dovecot/config.h)
arch=$(rpm --eval %_arch)
isa=$(rpm --eval '%{?_isa}')
libdir=$(rpm --eval %_libdir)
packages="dovecot-push-notify dovecot-push-notify-lua dovecot-push-notify-redis libpushcore libpushcore-devel push-notify-tools"

# --- the spec alone -------------------------------------------------------
spec_packages() { rpmspec -q --qf '%{name}\n' "$@" "$spec" 2>"$work/err" | sort; }
check "spec parses with no defines, no warnings" \
	bash -c "out=\$(rpmspec -q --qf '%{name}\n' '$spec' 2>&1 >/dev/null) && [ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"
check "spec names the six packages" same "$(spec_packages)" "$(echo $packages | tr ' ' '\n' | sort)"
check "without dovecot-devel the spec parses, Dovecot requirement unversioned" \
	bash -c "rpmspec -q --requires --define 'dovecot_dir /nonexistent' '$spec' | grep -qx 'dovecot$isa'"

# Where systemd-rpm-macros defines the systemd macros (Fedora, RHEL) and
# %ldconfig_scriptlets is empty (Fedora 28 and later), the spec uses those,
# not its fallbacks (which the builds below, with Debian's rpm, use).
cat >"$work/fedora.macros" <<'EOF'
%systemd_post() FEDORA_POST %{?*}
%systemd_preun() FEDORA_PREUN %{?*}
%systemd_postun_with_restart() FEDORA_POSTUN %{?*}
%ldconfig_scriptlets(n:) %{nil}
EOF
fedora_macros() {
	rpmspec --load "$work/fedora.macros" -P "$spec" >"$work/fedora.spec" || return 1
	grep -x 'FEDORA_POST pushadm-relay.service' "$work/fedora.spec" &&
		grep -x 'FEDORA_PREUN pushadm-relay.service' "$work/fedora.spec" &&
		grep -x 'FEDORA_POSTUN pushadm-relay.service' "$work/fedora.spec" &&
		! grep -n 'preset pushadm-relay\|ldconfig' "$work/fedora.spec"
}
check "with systemd-rpm-macros and an empty %ldconfig_scriptlets the spec uses them" fedora_macros

# --- builds ---------------------------------------------------------------
(cd "$top" && { [ -f Makefile ] || { ./autogen.sh && ./configure; }; } && make dist) >"$work/dist.log" 2>&1
tarball=$top/dovecot-push-notify-$version.tar.gz
check "make dist wrote the tarball" test -f "$tarball"

# HOME per build: rpmbuild's tree is ~/rpmbuild, no --define needed
build_a() { HOME=$work/a rpmbuild -ta --nodeps "$tarball"; }
check "rpmbuild -ta from the make dist tarball, no --define" build_a
rpms_a=$work/a/rpmbuild/RPMS/$arch
srpm=$(ls "$work"/a/rpmbuild/SRPMS/*.src.rpm 2>/dev/null)
# the spec's release, and the one the test builds next
rel=$(rpmspec -q --qf '%{release}\n' --undefine dist "$spec" | head -n 1)
next=$((rel + 1))
check "one SRPM and six RPMs" same "$(cd "$rpms_a" 2>/dev/null && ls)" \
	"$(for p in $packages; do echo "$p-$version-$rel.$arch.rpm"; done | sort)"

no_dovecot_build() {
	# (_tmppath: the failed build leaves its script there)
	HOME=$work/nodc rpmbuild -tb --nodeps --define 'dovecot_dir /nonexistent' --define "_tmppath $work" \
		"$tarball" >"$work/nodc.log" 2>&1 &&
		{ echo "built without dovecot-devel"; return 1; }
	grep "dovecot-devel not found" "$work/nodc.log"
}
check "a binary build without dovecot-devel stops and says so" no_dovecot_build
check "the SRPM builds without dovecot-devel" \
	bash -c "HOME='$work/nodc' rpmbuild -ts --define 'dovecot_dir /nonexistent' '$tarball'"

# the next release: same sources, the settings template changed (so that
# the upgrade meets an edited %config(noreplace) file whose shipped content
# changed)
build_b() {
	mkdir -p "$work/b/rpmbuild/SOURCES"
	cp "$tarball" "$work/b/rpmbuild/SOURCES/"
	tar -xzOf "$tarball" "dovecot-push-notify-$version/rpm/dovecot-push-notify.spec" |
		sed -e "s/^Release:\( *\)$rel%/Release:\1$next%/" \
		    -e "/^%make_install$/a echo '# shipped by release $next' >>%{buildroot}%{_sysconfdir}/dovecot/conf.d/95-push-notify.conf" \
		>"$work/b/next.spec"
	grep -q "^Release: *$next%" "$work/b/next.spec" || return 1
	HOME=$work/b rpmbuild -bb --nodeps "$work/b/next.spec"
}
check "the next release builds" build_b
rpms_b=$work/b/rpmbuild/RPMS/$arch
# 0.1.0-1 as released: its spec needs dovecot_dir on Debian
build_old() {
	mkdir -p "$work/o/rpmbuild/SOURCES"
	cp "$tarball" "$work/o/rpmbuild/SOURCES/"
	HOME=$work/o rpmbuild -bb --nodeps --define "dovecot_dir $dovecot_dir" --define "debug_package %{nil}" \
		"$top/tests/rpm/dovecot-push-notify-0.1.0-1.spec"
}
check "0.1.0-1 builds" build_old
rpms_o=$work/o/rpmbuild/RPMS/$arch

# --- what the packages hold -----------------------------------------------
pkg() { echo "$rpms_a/$1-$version-$rel.$arch.rpm"; }
qf() { rpm -qp --qf "$1" "$(pkg $2)" 2>/dev/null; }
restart='systemctl try-restart dovecot.service >/dev/null 2>&1 || :'
restart_if_valid='if command -v doveconf >/dev/null 2>&1 && ! doveconf -n >/dev/null 2>&1; then
 echo "dovecot-push-notify: doveconf -n fails, so Dovecot was not restarted: fix the configuration, then: systemctl restart dovecot"
else
 '$restart'
fi'
for p in dovecot-push-notify dovecot-push-notify-lua; do
	check "$p: Dovecot try-restart at the end of %posttrans (install, upgrade) unless doveconf fails" \
		same "$(qf '%{POSTTRANS}' $p | tail -n 5 | sed 's/[[:space:]]*$//' | tr -s ' ')" "$restart_if_valid"
	check "$p: Dovecot try-restart in %postun on erase only" \
		same "$(qf '%{POSTUN}' $p | tr -s ' ')" "$(printf 'if [ $1 -eq 0 ]; then\n %s\nfi' "$restart")"
	check "$p: requires the Dovecot version it was built against" \
		bash -c "rpm -qp --requires '$(pkg $p)' | grep -qx 'dovecot$isa = $dovecot_version'"
done
check "dovecot-push-notify requires push-notify-tools of the same build (the relay)" \
	bash -c "rpm -qp --requires '$(pkg dovecot-push-notify)' | grep -qx 'push-notify-tools$isa = $version-$rel'"
check "libpushcore: ldconfig after install and erase" \
	same "$(qf '%{POSTINPROG} %{POSTUNPROG}' libpushcore)" "/sbin/ldconfig /sbin/ldconfig"
check "push-notify-tools: %post presets pushadm-relay.service on install" \
	bash -c "rpm -qp --qf '%{POSTIN}' '$(pkg push-notify-tools)' | grep -A1 'if \[ \$1 -eq 1 \]' | grep -q 'preset pushadm-relay.service'"
check "push-notify-tools: %preun disables and stops pushadm-relay.service on erase" \
	bash -c "rpm -qp --qf '%{PREUN}' '$(pkg push-notify-tools)' | grep -A1 'if \[ \$1 -eq 0 \]' | grep -q 'disable --now pushadm-relay.service'"
check "push-notify-tools: %postun restarts pushadm-relay.service on upgrade" \
	bash -c "rpm -qp --qf '%{POSTUN}' '$(pkg push-notify-tools)' | grep -A1 'if \[ \$1 -ge 1 \]' | grep -q 'try-restart pushadm-relay.service'"
check "push-notify-tools: %pre retires pushadm-spool.service" \
	bash -c "rpm -qp --qf '%{PREIN}' '$(pkg push-notify-tools)' | grep -q 'disable --now pushadm-spool.service'"
check "rpm -qp --scripts shows them" \
	bash -c "rpm -qp --scripts '$rpms_a'/*.rpm | grep -c 'scriptlet\|program' | grep -qx 11"

# Exact file lists (a man page may be compressed)
rpm_files() {
	local pkg=$1; shift
	same "$(rpm -qlp "$(pkg $pkg)" | grep -v '^/usr/lib/.build-id' | sed -e 's/\.gz$//' | sort)" \
		"$(printf '%s\n' "$@" | sort)"
}
docs=$(cd "$top" && ls docs/*.md docs/webhook.schema.json | sed 's|^docs/|/usr/share/doc/dovecot-push-notify/|')
series=$(echo "$dovecot_version" | cut -d. -f1,2)
settings=/etc/dovecot/push-notify.d/settings-$series.conf
check "dovecot-push-notify holds exactly its files" rpm_files dovecot-push-notify \
	/etc/dovecot/conf.d/95-push-notify.conf "$moduledir/lib20_push_notify_plugin.so" \
	/usr/share/dovecot-push-notify /usr/share/dovecot-push-notify/mail-plugins.conf \
	/usr/share/dovecot-push-notify/push-notify.conf /usr/share/dovecot-push-notify/settings-$series.conf \
	/etc/dovecot/push-notify.d "$settings" \
	/var/spool/dovecot-push-notify /var/spool/dovecot-push-notify/failed \
	/var/spool/dovecot-push-notify/new /var/spool/dovecot-push-notify/quarantine \
	/var/spool/dovecot-push-notify/tmp \
	/usr/share/doc/dovecot-push-notify /usr/share/doc/dovecot-push-notify/README.md \
	/usr/share/doc/dovecot-push-notify/NEWS $docs \
	/usr/share/licenses/dovecot-push-notify /usr/share/licenses/dovecot-push-notify/LICENSE
check "docs/upgrading.md is shipped" bash -c "rpm -qlp '$(pkg dovecot-push-notify)' | grep -q '/upgrading.md$'"
check "dovecot-push-notify-lua holds exactly its files" rpm_files dovecot-push-notify-lua \
	/etc/dovecot/conf.d/95-push-notify-lua.conf "$moduledir/lib22_push_notify_lua_plugin.so" \
	"$libdir/dovecot-push-notify/drivers/push_driver_lua.so" \
	/usr/share/dovecot-push-notify-lua /usr/share/dovecot-push-notify-lua/mail-plugins-lua.conf \
	/usr/share/licenses/dovecot-push-notify-lua /usr/share/licenses/dovecot-push-notify-lua/LICENSE
check "dovecot-push-notify-redis holds exactly its files" rpm_files dovecot-push-notify-redis \
	"$libdir/dovecot-push-notify/drivers/push_driver_redis.so" \
	/usr/share/doc/dovecot-push-notify-redis /usr/share/doc/dovecot-push-notify-redis/redis.md \
	/usr/share/licenses/dovecot-push-notify-redis /usr/share/licenses/dovecot-push-notify-redis/LICENSE
check "libpushcore holds exactly its files" rpm_files libpushcore \
	"$libdir/libpushcore.so.0" "$libdir/libpushcore.so.0.0.0" \
	"$libdir/dovecot-push-notify" "$libdir/dovecot-push-notify/drivers" \
	/usr/share/licenses/libpushcore /usr/share/licenses/libpushcore/LICENSE
check "libpushcore-devel holds exactly its files" rpm_files libpushcore-devel \
	/usr/include/pushcore $(sed -n '/^pushcore_headers =/,/^$/p' "$top/lib/local.mk" |
		grep -o 'pushcore[a-z-]*\.h' | sed 's|^|/usr/include/pushcore/|') \
	"$libdir/libpushcore.so" "$libdir/pkgconfig/pushcore.pc" \
	/usr/share/doc/libpushcore-devel /usr/share/doc/libpushcore-devel/driver-api.md \
	/usr/share/doc/libpushcore-devel/example-driver \
	/usr/share/doc/libpushcore-devel/example-driver/Makefile \
	/usr/share/doc/libpushcore-devel/example-driver/example-driver.c
check "push-notify-tools holds exactly its files" rpm_files push-notify-tools \
	/usr/bin/pushadm /usr/lib/systemd/system/pushadm-relay.service /usr/share/man/man1/pushadm.1 \
	/usr/share/bash-completion/completions/pushadm \
	/usr/share/licenses/push-notify-tools /usr/share/licenses/push-notify-tools/LICENSE
# what is in /etc: conf.d links into /usr/share (no configuration file, so
# nothing of the package stays there for a Dovecot to read), the settings
# file the only %config(noreplace) file
etc_files() {
	rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILENAMES} %{FILELINKTOS}\n]' \
		"$rpms_a"/dovecot-push-notify*.rpm | grep ' /etc/' | sort
}
check "/etc: conf.d links into /usr/share, settings-$series.conf the only %config(noreplace)" \
	same "$(etc_files)" "$(printf '%s\n' \
		" lrwxrwxrwx /etc/dovecot/conf.d/95-push-notify-lua.conf /usr/share/dovecot-push-notify-lua/mail-plugins-lua.conf" \
		" lrwxrwxrwx /etc/dovecot/conf.d/95-push-notify.conf /usr/share/dovecot-push-notify/push-notify.conf" \
		" drwxr-xr-x /etc/dovecot/push-notify.d " \
		"cn -rw-r--r-- $settings " | sort)"
check "push-notify.conf loads the module and includes settings-$series.conf, nothing else" \
	bash -c "rpm2cpio '$(pkg dovecot-push-notify)' | (cd '$work' && cpio -id --quiet ./usr/share/dovecot-push-notify/push-notify.conf) &&
		[ \"\$(grep -v '^#' '$work/usr/share/dovecot-push-notify/push-notify.conf' | grep .)\" = \"\$(printf '!include_try %s\n' \
			/usr/share/dovecot-push-notify/mail-plugins.conf $settings)\" ]"

# --- stub packages: Dovecot with an epoch ------------------------------
# stub NAME EPOCH VERSION RELEASE: an RPM holding the files listed on stdin
# as "PATH CONTENT" lines
stub() {
	local name=$1 epoch=$2 ver=$3 rel=$4 dir=$work/stubs path content
	mkdir -p "$dir"
	: >"$dir/$name.files"
	{
		echo "Name: $name"
		[ "$epoch" = - ] || echo "Epoch: $epoch"
		printf 'Version: %s\nRelease: %s\nSummary: test stub\nLicense: MIT\n' "$ver" "$rel"
		[ -z "${STUB_REQUIRES:-}" ] || echo "Requires: $STUB_REQUIRES"
		printf '%%description\ntest stub\n%%install\n'
		while read -r path content; do
			echo "mkdir -p %{buildroot}$(dirname "$path") && echo '$content' >%{buildroot}$path"
			echo "$path" >>"$dir/$name.files"
		done
		printf '%%files\n'
		cat "$dir/$name.files"
	} >"$dir/$name.spec"
	HOME=$dir rpmbuild -bb --define "debug_package %{nil}" "$dir/$name.spec" >"$dir/$name.log" 2>&1 ||
		{ cat "$dir/$name.log"; return 1; }
	ls "$dir"/rpmbuild/RPMS/*/"$name-$ver-$rel".*.rpm
}

# A build where dovecot-config belongs to an RPM with an epoch, as
# Fedora's dovecot-devel (Epoch: 1): the requirement is epoch:version.
# Debian's rpm keeps its database in ~/.rpmdb.
epoch_requires() {
	local devel
	devel=$(echo "$dovecot_dir/dovecot-config x" | stub dovecot-devel 1 "$dovecot_version" 7) || return 1
	mkdir -p "$work/epoch"
	HOME=$work/epoch rpm -i --justdb --nodeps "$devel" || return 1
	HOME=$work/epoch rpmspec -q --requires "$spec" | grep -x "dovecot$isa = 1:$dovecot_version"
}
check "built against an RPM Dovecot with an epoch: requires epoch:version" epoch_requires
# does a dovecot EPOCH:VERSION-3 satisfy that requirement? (a package that
# requires the same, installed beside it with dependencies checked)
dovecot_provides() {
	local dovecot needs db=$work/provides-$1-$2
	dovecot=$(stub dovecot "$1" "$2" 3 </dev/null) &&
		needs=$(STUB_REQUIRES="dovecot$isa = 1:$dovecot_version" stub needs-dovecot - 1 1 </dev/null) || return 2
	mkdir -p "$db" && rpm --dbpath "$db" -i --justdb --nodeps "$dovecot" 2>/dev/null || return 2
	rpm --dbpath "$db" -i --justdb "$needs"
}
check "that requirement matches any release of dovecot 1:$dovecot_version" dovecot_provides 1 "$dovecot_version"
no_other_provides() {
	local e
	for e in "- $dovecot_version" "1 9.9.9"; do
		dovecot_provides $e 2>&1 | grep -F "dovecot$isa = 1:$dovecot_version is needed by" ||
			{ echo "dovecot $e satisfied it"; return 1; }
	done
}
check "... and no other epoch or version" no_other_provides

# --- scratch roots --------------------------------------------------------
# A root with a shell, coreutils' few commands the scriptlets use and
# ldconfig, no systemd; with "systemctl", a systemctl that logs its calls
# (and whether the plugins are installed at that moment) and answers
# is-enabled / is-active for pushadm-spool.service from /fake/, a doveconf
# that fails when /fake/doveconf-fails exists or settings-2.4.conf holds
# REJECT-ME, and a pushadm whose config convert --from-2.3 turns a dlog
# driver into a block (fails with /fake/convert-fails).
copy_with_libs() {
	local root=$1 bin=$2 dest=$3 lib
	install -D -m 0755 "$bin" "$root$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}
make_root() {
	local root=$1 c
	mkdir -p "$root"/{dev,etc,tmp,fake,usr/bin,usr/sbin}
	ln -s usr/bin "$root/bin"
	ln -s usr/sbin "$root/sbin"
	mknod -m 666 "$root/dev/null" c 1 3
	copy_with_libs "$root" /bin/dash /usr/bin/sh
	for c in cat cp grep head mkdir mv rm touch; do copy_with_libs "$root" "$(command -v $c)" /usr/bin/$c; done
	copy_with_libs "$root" /sbin/ldconfig /usr/sbin/ldconfig
	rpm --root "$root" --dbpath /var/lib/rpm --initdb
	[ "${2:-}" = systemctl ] || return 0
	printf '%s\n' '#!/bin/sh' '[ ! -e /fake/doveconf-fails ] &&' \
		'! grep -qs REJECT-ME /etc/dovecot/push-notify.d/settings-2.4.conf' >"$root/usr/bin/doveconf"
	# pushadm config convert --from-2.3 as far as the scriptlet sees it
	# (the package's own pushadm can't run here); /usr/sbin comes before
	# /usr/bin in the PATH rpm gives scriptlets
	cat >"$root/usr/sbin/pushadm" <<-'EOF'
	#!/bin/sh
	echo "$*" >>/pushadm.log
	[ "$1 $2 $3 $4" = "-P config convert --from-2.3" ] || exit 64
	[ -e /fake/convert-fails ] && { echo "$5 line 3: can't convert" >&2; exit 65; }
	grep -q '^ *push_notification_driver = dlog' "$5" && printf 'push_notify push_notification_driver {\n  driver = dlog\n}\n'
	grep -q REJECT-ME "$5" && echo REJECT-ME
	exit 0
	EOF
	chmod 755 "$root/usr/bin/doveconf" "$root/usr/sbin/pushadm"
	cat >"$root/usr/bin/systemctl" <<-EOF
	#!/bin/sh
	installed=
	[ -e $moduledir/lib20_push_notify_plugin.so ] && installed="\$installed push_notify"
	[ -e $moduledir/lib22_push_notify_lua_plugin.so ] && installed="\$installed push_notify_lua"
	case "\$*" in
	*dovecot.service) echo "\$* [installed:\${installed:- none}]" >>/systemctl.log;;
	*) echo "\$*" >>/systemctl.log;;
	esac
	case "\$*" in
	*"is-enabled pushadm-spool.service") [ -e /fake/spool-enabled ]; exit;;
	*"is-active pushadm-spool.service") [ -e /fake/spool-active ]; exit;;
	esac
	exit 0
	EOF
	chmod 755 "$root/usr/bin/systemctl"
}
# rpm in a root; fails on a non-zero exit or any scriptlet error
rpm_root() {
	local root=$1; shift
	rpm --root "$root" --dbpath /var/lib/rpm "$@" >"$work/rpm.log" 2>&1
	local rc=$?
	cat "$work/rpm.log" >&2
	[ $rc -eq 0 ] && ! grep -qi 'scriptlet failed\|error' "$work/rpm.log"
}
installed() { rpm --root "$1" --dbpath /var/lib/rpm -qa --qf '%{name}-%{version}-%{release}\n' | sort; }
all_of() { for p in $packages; do echo "$p-$version-$1"; done | sort; }
# (release 1, 0.1.0-1, had no redis package)
rpms() { for p in $packages; do
	[ "$2" = 1 ] && [ "$p" = dovecot-push-notify-redis ] && continue
	echo "$1/$p-$version-$2.$arch.rpm"; done; }
snippet=/etc/dovecot/conf.d/95-push-notify.conf
unit=/usr/lib/systemd/system

# 1. no systemd at all: 0.1.0-1 with a driver set in its snippet, upgraded
r=$work/root-plain
make_root "$r"
check "no systemd: 0.1.0-1 installs" rpm_root "$r" -i --nodeps $(rpms "$rpms_o" 1)
sed -i 's/^  #push_notification_driver = dlog$/  push_notification_driver = dlog/' "$r$snippet"
chmod 0640 "$r$snippet"
check "no systemd: 0.1.0-1's snippet edited: a driver set (mode 0640)" grep -qx '  push_notification_driver = dlog' "$r$snippet"
check "no systemd: upgrade from 0.1.0-1 exits 0, no scriptlet fails" rpm_root "$r" -U --nodeps $(rpms "$rpms_a" $rel)
check "no systemd: it says where the settings went" \
	grep -qx "dovecot-push-notify: moved your settings from $snippet.rpmsave to $settings" "$work/rpm.log"
check "no systemd: installed: the six packages, release $rel" same "$(installed "$r")" "$(all_of $rel)"
check "no systemd: the snippet is now the link, the old one kept as .rpmsave" \
	bash -c "[ \"\$(readlink '$r$snippet')\" = /usr/share/dovecot-push-notify/push-notify.conf ] && test -f '$r$snippet.rpmsave'"
check "no systemd: the driver is set in settings-$series.conf, the include is not, mode 0640 kept" \
	bash -c "grep -qx '  push_notification_driver = dlog' '$r$settings' && ! grep -q '^!include' '$r$settings' &&
		[ \$(stat -c %a '$r$settings') = 640 ]"
check "no systemd: pushadm-spool.service gone, pushadm-relay.service there" \
	bash -c "test ! -e '$r$unit/pushadm-spool.service' && test -f '$r$unit/pushadm-relay.service'"
check "no systemd: modules in place, spool modes 1733/0700" \
	bash -c "test -f '$r$moduledir/lib20_push_notify_plugin.so' && test -f '$r$moduledir/lib22_push_notify_lua_plugin.so' &&
		[ \$(stat -c %a '$r/var/spool/dovecot-push-notify/new') = 1733 ] &&
		[ \$(stat -c %a '$r/var/spool/dovecot-push-notify/failed') = 700 ]"
check "no systemd: ldconfig ran" test -f "$r/etc/ld.so.cache"
check "no systemd: rpm -V: only the settings file changed" \
	same "$(rpm --root "$r" --dbpath /var/lib/rpm -V --nodeps $packages | sed 's/ .* / /')" "SM5....T. $settings"
echo "# local edit: kept across upgrades" >>"$r$settings"
check "no systemd: upgrade to release $next exits 0" rpm_root "$r" -U --nodeps $(rpms "$rpms_b" $next)
check "no systemd: installed: the six packages, release $next" same "$(installed "$r")" "$(all_of $next)"
check "no systemd: the edited settings file is kept, release $next's beside it as .rpmnew" \
	bash -c "grep -q 'local edit: kept across upgrades' '$r$settings' && ! grep -q 'shipped by release $next' '$r$settings' &&
		grep -q 'shipped by release $next' '$r$settings.rpmnew'"
check "no systemd: erase exits 0" rpm_root "$r" -e $packages
check "no systemd: nothing left installed" same "$(installed "$r")" ""
check "no systemd: modules, unit, library and spool gone" \
	bash -c "! ls '$r$moduledir'/*.so '$r$unit'/*.service '$r$libdir'/libpushcore* 2>/dev/null &&
		test ! -e '$r/var/spool/dovecot-push-notify'"
check "no systemd: no .conf of the package left for Dovecot; the edited settings kept as .rpmsave" \
	bash -c "! ls '$r'/etc/dovecot/conf.d/*.conf '$r'/etc/dovecot/push-notify.d/*.conf 2>/dev/null &&
		grep -q 'local edit' '$r$settings.rpmsave'"

# 2. with systemctl: a fresh install, which calls, in which order
r=$work/root-systemd
make_root "$r" systemctl
log=$r/systemctl.log
log_is() { local got; got=$(cat "$log" 2>/dev/null); : >"$log"; same "$got" "$1"; }
check "systemd: install exits 0" rpm_root "$r" -i --nodeps $(rpms "$rpms_a" $rel)
check "systemd: install: relay unit preset, enabled and started, Dovecot restarted with the plugins in place" log_is \
"--no-reload preset pushadm-relay.service
enable --now pushadm-relay.service
try-restart dovecot.service [installed: push_notify push_notify_lua]
try-restart dovecot.service [installed: push_notify push_notify_lua]"
documentation() { # the unit's Documentation= files and the settings file's doc paths exist
	local f ok=0
	for f in $(sed -n 's/^Documentation=//p' "$r$unit/pushadm-relay.service" | tr ' ' '\n' | sed -n 's|^file://||p') \
		$(grep -o '/usr/share/doc/[^ ,)]*[^ ,).]' "$r$settings"); do
		echo "$f"
		[ -e "$r$f" ] || { echo "missing: $f"; ok=1; }
	done
	return $ok
}
check "systemd: the unit's Documentation= and the settings file's doc paths exist" documentation
check "systemd: a fresh settings file is the template, no message" \
	bash -c "[ \"\$(cat '$r$settings')\" = \"\$(cat '$r/usr/share/dovecot-push-notify/settings-$series.conf')\" ] &&
		! grep -q 'dovecot-push-notify:' '$work/rpm.log'"
check "systemd: upgrade exits 0" rpm_root "$r" -U --nodeps $(rpms "$rpms_b" $next)
check "systemd: upgrade: relay restarted, Dovecot restarted after the old files are gone" log_is \
"try-restart pushadm-relay.service
try-restart dovecot.service [installed: push_notify push_notify_lua]
try-restart dovecot.service [installed: push_notify push_notify_lua]"
touch "$r/fake/doveconf-fails"
check "systemd: doveconf fails: reinstall exits 0" rpm_root "$r" -U --replacepkgs --nodeps $(rpms "$rpms_b" $next)
check "systemd: doveconf fails: Dovecot not restarted on reinstall" log_is "try-restart pushadm-relay.service"
check "systemd: doveconf fails: rpm says so, once per plugin package" \
	bash -c "[ \$(grep -c '^dovecot-push-notify: doveconf -n fails, so Dovecot was not restarted' '$work/rpm.log') = 2 ]"
check "systemd: erase exits 0" rpm_root "$r" -e $packages
check "systemd: erase (doveconf still failing): Dovecot restarted after each plugin is gone, then the relay stopped and disabled" log_is \
"try-restart dovecot.service [installed: push_notify]
try-restart dovecot.service [installed: none]
--no-reload disable --now pushadm-relay.service"

# 3. 0.1.0-1 with its snippets as shipped: the upgrade says nothing, the
# settings file is the template
r=$work/root-unedited
make_root "$r"
unedited_upgrade() { rpm_root "$r" -i --nodeps $(rpms "$rpms_o" 1) && rpm_root "$r" -U --nodeps $(rpms "$rpms_a" $rel); }
check "unedited 0.1.0-1: upgrade exits 0" unedited_upgrade
check "unedited 0.1.0-1: no message, no .rpmsave, the settings file is the template" \
	bash -c "! grep -q 'dovecot-push-notify:' '$work/rpm.log' && ! ls '$r'/etc/dovecot/conf.d/*.rpmsave 2>/dev/null &&
		[ \"\$(cat '$r$settings')\" = \"\$(cat '$r/usr/share/dovecot-push-notify/settings-$series.conf')\" ]"

# 4. upgrade of push-notify-tools 0.1.0-1 (pushadm-spool.service)
spool_upgrade() { # ENABLED ACTIVE: the old unit's state
	local r=$work/root-spool-$1-$2
	make_root "$r" systemctl
	[ "$1" = yes ] && touch "$r/fake/spool-enabled"
	[ "$2" = yes ] && touch "$r/fake/spool-active"
	rpm_root "$r" -i --nodeps "$rpms_o/libpushcore-$version-1.$arch.rpm" \
		"$rpms_o/push-notify-tools-$version-1.$arch.rpm" 2>/dev/null || return 1
	test -f "$r$unit/pushadm-spool.service" || { echo "0.1.0-1 has no pushadm-spool.service"; return 1; }
	rpm_root "$r" -U --nodeps "$(pkg libpushcore)" "$(pkg push-notify-tools)" 2>/dev/null || return 1
	test ! -e "$r$unit/pushadm-spool.service" || { echo "old unit left"; return 1; }
	test -f "$r$unit/pushadm-relay.service" || { echo "no relay unit"; return 1; }
	test ! -e "$r/var/lib/rpm-state/push-notify-tools" || { echo "state left behind"; return 1; }
	cat "$r/systemctl.log"
}
calls="-q is-enabled pushadm-spool.service
-q is-active pushadm-spool.service
--no-reload disable --now pushadm-spool.service
daemon-reload"
check "upgrade from pushadm-spool.service enabled and running: relay enabled and started" \
	same "$(spool_upgrade yes yes)" "$calls
enable pushadm-relay.service
start pushadm-relay.service"
check "upgrade from pushadm-spool.service disabled: relay left disabled" \
	same "$(spool_upgrade no no)" "$calls"

# --- Dovecot 2.4 ----------------------------------------------------------
# The same spec built against Dovecot 2.4, in the Debian 13 root that
# tests/debian13/run.sh makes and keeps (TRIXIE_ROOT, default
# /var/tmp/push-notify-trixie; tests/run.sh runs it before this). Left out,
# and said so, where there is none.
troot=${TRIXIE_ROOT:-/var/tmp/push-notify-trixie}
tmounted=()
unmount_troot() { local m; for m in "${tmounted[@]}"; do umount -l "$m" 2>/dev/null; done; }
trap 'unmount_troot; rm -rf "$work"' EXIT
in_troot() {
	chroot "$troot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root/rpmtest LANG=C.UTF-8 TZ=UTC "$@"
}
build_24() {
	local fs
	for fs in proc dev; do
		mountpoint -q "$troot/$fs" && continue
		if [ $fs = proc ]; then mount -t proc proc "$troot/proc"; else mount --bind /dev "$troot/dev"; fi &&
			tmounted+=("$troot/$fs")
	done
	in_troot sh -c 'command -v rpmbuild >/dev/null || { apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm >/dev/null; }' ||
		return 1
	rm -rf "$troot/root/rpmtest" && mkdir -p "$troot/root/rpmtest" && cp "$tarball" "$troot/root/rpmtest/" &&
		in_troot rpmbuild -ta --nodeps "/root/rpmtest/${tarball##*/}" >"$work/build24.log" 2>&1 ||
		{ tail -30 "$work/build24.log"; return 1; }
}
if [ -x "$troot/usr/bin/apt-get" ] && [ -f "$troot/usr/include/dovecot/config.h" ]; then
	version24=$(sed -n 's/^#define DOVECOT_VERSION "\(.*\)"$/\1/p' "$troot/usr/include/dovecot/config.h")
	series24=$(echo "$version24" | cut -d. -f1,2)
	plugin24=$troot/root/rpmtest/rpmbuild/RPMS/$arch/dovecot-push-notify-$version-$rel.$arch.rpm
	check "Dovecot $version24: rpmbuild -ta in Debian 13" build_24
	check "Dovecot $version24: the settings module, settings-$series24.conf in /etc and /usr/share" \
		bash -c "rpm -qlp '$plugin24' | grep -x '$moduledir/settings/libpush_notify_settings.so' &&
			rpm -qlp '$plugin24' | grep -x /etc/dovecot/push-notify.d/settings-$series24.conf &&
			rpm -qlp '$plugin24' | grep -x /usr/share/dovecot-push-notify/settings-$series24.conf"
	check "Dovecot $version24: requires dovecot $version24" \
		bash -c "rpm -qp --requires '$plugin24' | grep -x 'dovecot$isa = $version24'"
	settings24() {
		rm -rf "$work/x24" && mkdir -p "$work/x24" &&
			(cd "$work/x24" && rpm2cpio "$plugin24" | cpio -id --quiet) || return 1
		grep -x "!include_try /etc/dovecot/push-notify.d/settings-$series24.conf" \
			"$work/x24/usr/share/dovecot-push-notify/push-notify.conf" &&
			grep -x '#push_notify dlog {' "$work/x24/etc/dovecot/push-notify.d/settings-$series24.conf" &&
			! grep -n 'plugin *{' "$work/x24/etc/dovecot/push-notify.d/settings-$series24.conf"
	}
	check "Dovecot $version24: push-notify.conf includes settings-$series24.conf, in 2.4 syntax" settings24
	unmount_troot

	# From the Dovecot 2.3 build to the 2.4 one (a distribution upgrade; the
	# versions are the same here, hence --replacepkgs): 2.3 settings edited
	rpms_24=$troot/root/rpmtest/rpmbuild/RPMS/$arch
	to_24() { # what goes wrong: none, convert, doveconf
		local r=$work/root-24-$1
		make_root "$r" systemctl
		rpm_root "$r" -i --nodeps $(rpms "$rpms_a" $rel) 2>/dev/null || return 1
		sed -i 's/^  #push_notification_driver = dlog$/  push_notification_driver = dlog/' "$r$settings"
		grep -qx '  push_notification_driver = dlog' "$r$settings" || { echo "no driver to set"; return 1; }
		chmod 0640 "$r$settings"
		case $1 in
		convert) touch "$r/fake/convert-fails";;
		doveconf) echo "# REJECT-ME" >>"$r$settings";;
		esac
		rpm_root "$r" -U --replacepkgs --nodeps $(rpms "$rpms_24" $rel) 2>/dev/null || return 1
		[ "$(cat "$r/pushadm.log")" = "-P config convert --from-2.3 $settings.rpmsave" ] ||
			{ echo "pushadm called: $(cat "$r/pushadm.log")"; return 1; }
	}
	s24=/etc/dovecot/push-notify.d/settings-$series24.conf
	template24=/usr/share/dovecot-push-notify/settings-$series24.conf
	converted() {
		to_24 none || return 1
		grep -x "dovecot-push-notify: converted your Dovecot 2.3 settings $settings.rpmsave to Dovecot 2.4 blocks in $s24; check them with: pushadm config check" "$work/rpm.log" &&
			grep -x 'push_notify push_notification_driver {' "$r$s24" && grep -x '  driver = dlog' "$r$s24" &&
			[ "$(stat -c %a "$r$s24")" = 640 ] && ! ls "$r$s24".rpm* 2>/dev/null
	}
	r=$work/root-24-none
	check "2.3 build -> 2.4 build: the edited 2.3 settings converted (mode 0640 kept), one message" converted
	not_converted() { # WHY LINE: settings-2.4.conf stays the template, rpm says LINE
		to_24 "$1" || return 1
		grep -F "$2" "$work/rpm.log" &&
			[ "$(cat "$r$s24")" = "$(cat "$r$template24")" ] && ! ls "$r$s24".rpm{tmp,tmp2,err} 2>/dev/null
	}
	r=$work/root-24-convert
	check "2.3 build -> 2.4 build: pushadm can't convert: the template stays, rpm says so with pushadm's words" \
		not_converted convert "dovecot-push-notify: could not convert $settings.rpmsave to Dovecot 2.4: notifications are off"
	check "... pushadm's words" grep -x "$settings.rpmsave line 3: can't convert" "$work/rpm.log"
	r=$work/root-24-doveconf
	check "2.3 build -> 2.4 build: Dovecot refuses the conversion: the template stays, the result kept aside" \
		not_converted doveconf "dovecot-push-notify: converted $settings.rpmsave to Dovecot 2.4, but Dovecot refuses the result (kept as $s24.rpmrejected"
	check "... as $s24.rpmrejected" grep -q REJECT-ME "$r$s24.rpmrejected"
else
	echo "(the Dovecot 2.4 build is left out: no Debian 13 root at $troot; tests/debian13/run.sh makes one)"
fi

# --- rpmlint --------------------------------------------------------------
# rpm/dovecot-push-notify.rpmlintrc explains what it filters. Two more come
# from the tools on Debian, not from the package: Debian's rpm runs
# brp-compress under dash, which fails (`read -d`), so the man page stays
# uncompressed (and rpmlint then misses it); it makes no debuginfo package
# and its brp-strip only strips debugging sections; Debian's rpmlint has no
# list of valid licenses.
cat "$top/rpm/dovecot-push-notify.rpmlintrc" - >"$work/rpmlintrc" <<'EOF'
addFilter(" W: unstripped-binary-or-object ")
addFilter("push-notify-tools\.\S+: W: manpage-not-compressed")
addFilter("push-notify-tools\.\S+: W: no-manual-page-for-binary pushadm")
addFilter(" W: invalid-license MIT$")
EOF
lint() {
	rpmlint -r "$work/rpmlintrc" "$srpm" "$rpms_a"/*.rpm >"$work/lint.log" 2>&1
	local rc=$?
	cat "$work/lint.log"
	[ $rc -eq 0 ] && grep -q ' 0 errors, 0 warnings' "$work/lint.log"
}
check "rpmlint: SRPM and RPMs clean but for the explained filters" lint

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
