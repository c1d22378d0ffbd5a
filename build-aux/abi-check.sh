#!/bin/sh
# libpushcore's ABI check, run by make after linking the library (so a
# change the map does not announce fails the build):
#
#   abi-check.sh MAP LIBRARY SYMBOLS ABI_VERSION -- PUBLIC_HEADER... -- PRIVATE_HEADER...
#
# - the library exports exactly the symbols lib/pushcore.map announces,
#   each in its node (PUSHCORE_0: public, PUSHCORE_PRIVATE_*: the
#   project's own);
# - the public headers declare with PUSHCORE_API exactly the map's public
#   symbols, the private headers exactly its private ones (a new API
#   function that the map does not announce would not be exported, one
#   removed from the headers would still be);
# - debian/libpushcore0.symbols lists the map's symbols with their nodes
#   (build-aux/abi-symbols.sh writes it);
# - pushcore.pc's driver_abi_version is pushcore-driver.h's
#   PUSHCORE_DRIVER_ABI_VERSION.
# Prints every difference and exits 1 if there is one.
set -u
map=$1 lib=$2 symbols=$3 abi_version=$4
shift 4
[ "${1:-}" = "--" ] && shift
pub_headers= priv_headers= part=pub
for a in "$@"; do
	if [ "$a" = "--" ]; then part=priv; continue; fi
	if [ $part = pub ]; then pub_headers="$pub_headers $a"; else priv_headers="$priv_headers $a"; fi
done
here=$(dirname "$0")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/abi-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
# prints "what: names" for the lines in $1 but not in $2
differ() {
	comm -23 "$1" "$2" >"$tmp/diff"
	if [ -s "$tmp/diff" ]; then
		echo "abi-check: $3: $(tr '\n' ' ' <"$tmp/diff")" >&2
		failed=1
	fi
}

# the map: "node symbol" lines
awk '/^[A-Za-z_][A-Za-z0-9_.]* *\{/ { node = $1 }
     /^[ \t]+[A-Za-z_][A-Za-z0-9_]*;/ { gsub(/[ \t;]/, ""); print node, $0 }' "$map" |
	sort >"$tmp/map"
awk '$1 == "PUSHCORE_0" { print $2 }' "$tmp/map" | sort >"$tmp/map.pub"
awk '$1 != "PUSHCORE_0" { print $2 }' "$tmp/map" | sort >"$tmp/map.priv"

# the library's exports, "node symbol" (nm -D: name@@NODE; the nodes
# themselves are absolute symbols)
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' |
	awk -F'@+' '{ print ($2 == "" ? "(unversioned)" : $2), $1 }' | sort >"$tmp/exports"
differ "$tmp/exports" "$tmp/map" "exported but not announced in $map (or in another node)"
differ "$tmp/map" "$tmp/exports" "announced in $map but not exported"

# the headers' PUSHCORE_API declarations
# (before the headers used the macro: every declaration of theirs)
marked=--marked
grep -q PUSHCORE_API $pub_headers || marked=
python3 "$here/abi-decls.py" $marked $pub_headers | sort >"$tmp/decl.pub"
if [ -n "$priv_headers" ]; then
	python3 "$here/abi-decls.py" $marked $priv_headers | sort >"$tmp/decl.priv"
else
	cp "$tmp/map.priv" "$tmp/decl.priv"
fi
differ "$tmp/decl.pub" "$tmp/map.pub" "declared PUSHCORE_API in an installed header but not in $map's PUSHCORE_0"
differ "$tmp/map.pub" "$tmp/decl.pub" "in $map's PUSHCORE_0 but declared PUSHCORE_API in no installed header"
differ "$tmp/decl.priv" "$tmp/map.priv" "declared PUSHCORE_API in a private header but not in $map's private node"
differ "$tmp/map.priv" "$tmp/decl.priv" "in $map's private node but declared PUSHCORE_API in no private header"

# debian/libpushcore0.symbols: " name@NODE version"
if [ -f "$symbols" ]; then
	# (without the version nodes' own lines, " NODE@NODE version")
	sed -n 's/^ \([A-Za-z_][A-Za-z0-9_]*\)@\([A-Za-z0-9_.]*\) .*/\2 \1/p' "$symbols" |
		awk '$1 != $2' | sort >"$tmp/symbols"
	for node in $(awk '{ print $1 }' "$tmp/map" | sort -u); do
		grep -q "^ $node@$node " "$symbols" || {
			echo "abi-check: $symbols lacks the version node $node@$node" >&2
			failed=1
		}
	done
	differ "$tmp/map" "$tmp/symbols" "missing from $symbols (build-aux/abi-symbols.sh writes it)"
	differ "$tmp/symbols" "$tmp/map" "in $symbols but not announced in $map"
fi

header_abi=$(for h in $pub_headers; do sed -n 's/^#define PUSHCORE_DRIVER_ABI_VERSION \([0-9]*\).*/\1/p' "$h"; done)
if [ "$header_abi" != "$abi_version" ]; then
	echo "abi-check: PUSHCORE_DRIVER_ABI_VERSION is $header_abi in pushcore-driver.h, $abi_version in configure.ac" >&2
	failed=1
fi
[ $failed -eq 0 ] && echo "abi-check: $(wc -l <"$tmp/exports") symbols exported, as $map announces"
exit $failed
