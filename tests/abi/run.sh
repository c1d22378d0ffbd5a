#!/bin/sh
# The ABI check can fail: build-aux/abi-check.sh against the built
# library passes, and fails (naming the symbol) when a function is exported
# that lib/pushcore.map does not announce, when an installed header
# declares an API function the map lacks, when the map announces one the
# library lacks, and when debian/libpushcore0.symbols is stale.
# Ends with "N passed, M failed" (make check; tests/run.sh runs it too).
srcdir=${srcdir:-.}
top=$(cd "$srcdir" && pwd)
lib=$(pwd)/lib/.libs/libpushcore.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/abi-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
headers=$(cd "$top" && sed -n '/^pushcore_headers =/,/^$/p' lib/local.mk | grep -o 'lib/pushcore[a-z-]*\.h')
private=$(cd "$top" && sed -n 's/^pushcore_private_headers = *//p' lib/local.mk)
# the packaging's symbols file is not in a release tarball
[ -f "$top/debian/libpushcore0.symbols" ] || { echo "no debian/: skipped"; exit 77; }
abi=$(sed -n 's/^#define PUSHCORE_DRIVER_ABI_VERSION \([0-9]*\).*/\1/p' "$top/lib/pushcore-driver.h")

check() {	# NAME MAP SYMBOLS HEADERS... : runs the check, output in $tmp/out
	name=$1 map=$2 symbols=$3
	shift 3
	(cd "$top" && sh build-aux/abi-check.sh "$map" "$lib" "$symbols" "$abi" -- "$@" -- $private) \
		>"$tmp/out" 2>&1
}
expect() {	# NAME RC [TEXT]: the check's exit code (and a line it printed)
	if [ "$rc" -eq "$2" ] && { [ -z "${3:-}" ] || grep -q -- "$3" "$tmp/out"; }; then
		echo "PASS $1"; passed=$((passed + 1))
	else
		echo "FAIL $1 (exit $rc)"; cat "$tmp/out"; failed=$((failed + 1))
	fi
}

check ok lib/pushcore.map debian/libpushcore0.symbols $headers; rc=$?
expect "the built library matches the map, the headers and the symbols file" 0

grep -v '^    pushcore_uuid;$' "$top/lib/pushcore.map" >"$tmp/map"
(cd "$top" && grep -v '^ pushcore_uuid@' debian/libpushcore0.symbols) >"$tmp/symbols"
check unannounced "$tmp/map" "$tmp/symbols" $headers; rc=$?
expect "an exported symbol the map does not announce fails the check" 1 \
	"exported but not announced in $tmp/map (or in another node): PUSHCORE_0 pushcore_uuid"

cp "$top/lib/pushcore-text.h" "$tmp/pushcore-text.h"
sed -i 's/^#endif$/void pushcore_text_new_thing(void);\n#endif/' "$tmp/pushcore-text.h"
sed -i 's/^PUSHCORE_API \(char \*pushcore_header_clean\)/PUSHCORE_API void pushcore_text_new_thing(void);\nPUSHCORE_API \1/' "$tmp/pushcore-text.h"
check undeclared lib/pushcore.map debian/libpushcore0.symbols \
	$(echo $headers | sed "s|lib/pushcore-text.h|$tmp/pushcore-text.h|"); rc=$?
expect "a new API function the map does not announce fails the check" 1 \
	"in an installed header but not in lib/pushcore.map's PUSHCORE_0: pushcore_text_new_thing"

sed 's/^    pushcore_uuid;$/    pushcore_uuid;\n    pushcore_gone;/' "$top/lib/pushcore.map" >"$tmp/map2"
check disappeared "$tmp/map2" debian/libpushcore0.symbols $headers; rc=$?
expect "a symbol the map announces but the library lacks fails the check" 1 \
	"announced in $tmp/map2 but not exported: PUSHCORE_0 pushcore_gone"

(cd "$top" && grep -v '^ pushcore_uuid@' debian/libpushcore0.symbols) >"$tmp/symbols2"
check stale lib/pushcore.map "$tmp/symbols2" $headers; rc=$?
expect "a symbols file that lacks an exported symbol fails the check" 1 \
	"missing from $tmp/symbols2"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
