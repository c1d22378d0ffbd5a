#!/bin/bash
# Builds every libFuzzer target in tests/fuzz/ against libpushcore's sources
# with clang and runs each for a bounded number of inputs. Prints one PASS or
# FAIL line per target and "N passed, M failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${FUZZ_RUNS:-200000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0 failed=0
# libpushcore itself: not the driver modules (lua, redis), which are
# shared objects of their own; internals visible to the targets
libsrc=$(ls "$top"/lib/*.c | grep -v -e '/push-driver-lua\.c$' -e '/push-driver-redis\.c$' \
	-e '/pushcore-redis\(-conn\)\?\.c$')
for target in "$top"/tests/fuzz/fuzz-*.c; do
	name=$(basename "$target" .c)
	if ! clang -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -I"$top" -I"$top/lib" \
		-DPUSHCORE_INTERNAL -DPUSHCORE_MODULE_DIR='"/nonexistent"' \
		$(pkg-config --cflags libcurl yajl libcrypto) "$target" $libsrc \
		$(pkg-config --libs libcurl yajl libcrypto) -o "$out/$name" 2>"$out/$name.build"; then
		echo "FAIL $name: build failed"; cat "$out/$name.build"; failed=$((failed+1)); continue
	fi
	mkdir -p "$out/$name.corpus"
	# a seed corpus, if the target has one, starts it from valid input
	seeds="$top/tests/fuzz/corpus-${name#fuzz-}"
	[ -d "$seeds" ] && cp "$seeds"/* "$out/$name.corpus/"
	if "$out/$name" -runs="$runs" -max_len=4096 -seed=1 "$out/$name.corpus" \
		>"$out/$name.log" 2>&1; then
		echo "PASS $name ($runs inputs)"; passed=$((passed+1))
	else
		echo "FAIL $name"; tail -40 "$out/$name.log"; failed=$((failed+1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
