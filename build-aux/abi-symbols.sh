#!/bin/sh
# (Re)writes debian/libpushcore0.symbols from lib/pushcore.map: every symbol
# with its version node, at the version of its entry in the old file if
# it has one, else at NEW_VERSION (the first package version with it).
#   build-aux/abi-symbols.sh lib/pushcore.map debian/libpushcore0.symbols NEW_VERSION
set -eu
map=$1 symbols=$2 new=$3
old=$(cat "$symbols" 2>/dev/null || true)
tmp=$symbols.tmp
{
	echo "libpushcore.so.0 libpushcore0 #MINVER#"
	echo "* Build-Depends-Package: libpushcore-dev"
	# the version nodes are symbols too (a binary needs its node)
	awk '/^[A-Za-z_][A-Za-z0-9_.]* *\{/ { print $1 "@" $1 }' "$map" | while read -r sym; do
		version=$(printf '%s\n' "$old" | awk -v s="$sym" '$1 == s { print $2; exit }')
		echo " $sym ${version:-$new}"
	done
	awk '/^[A-Za-z_][A-Za-z0-9_.]* *\{/ { node = $1 }
	     /^[ \t]+[A-Za-z_][A-Za-z0-9_]*;/ { gsub(/[ \t;]/, ""); print $0 "@" node }' "$map" |
	sort | while read -r sym; do
		version=$(printf '%s\n' "$old" | awk -v s="$sym" '$1 == s { print $2; exit }')
		echo " $sym ${version:-$new}"
	done
} >"$tmp"
mv "$tmp" "$symbols"
