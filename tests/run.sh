#!/bin/bash
# Runs every test: builds the tree, then the unit tests (plain and under
# AddressSanitizer + UndefinedBehaviorSanitizer), the fuzz targets, the
# integration tests against a private real Dovecot, and `make distcheck`.
# Ends with "N passed, M failed" and exits non-zero if anything failed.
#
#   sudo bash tests/run.sh            everything
#   sudo bash tests/run.sh -k ox      only integration tests matching "ox"
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" -eq 0 ] || { echo "tests/run.sh: run as root (it starts Dovecot and creates a test user)" >&2; exit 77; }
bash tests/install-deps.sh >/dev/null || { echo "tests/run.sh: installing dependencies failed" >&2; exit 1; }

total_passed=0 total_failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Runs a suite command, shows its output, and adds up its summary line.
suite() {
	local name=$1; shift
	echo "=== $name"
	"$@" 2>&1 | tee "$log/out"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log/out" | tail -1)
	if [ -n "$line" ]; then
		total_passed=$((total_passed + $(echo "$line" | cut -d' ' -f1)))
		total_failed=$((total_failed + $(echo "$line" | cut -d' ' -f3)))
	fi
	if [ "$rc" -ne 0 ] && { [ -z "$line" ] || [ "$(echo "$line" | cut -d' ' -f3)" = 0 ]; }; then
		echo "FAIL $name (exit $rc)"
		total_failed=$((total_failed + 1))
	fi
}

build() {
	[ -x configure ] || ./autogen.sh
	[ -f Makefile ] || ./configure
	make -j2 >"$log/build" 2>&1 || { cat "$log/build"; return 1; }
	if grep -q "warning:" "$log/build"; then
		grep "warning:" "$log/build"; echo "FAIL build: compiler warnings"; return 1
	fi
	# the unit test programs, built but not run here
	make -j2 check TESTS= >>"$log/build" 2>&1 || { cat "$log/build"; return 1; }
	if grep -q "warning:" "$log/build"; then
		grep "warning:" "$log/build"; echo "FAIL build: compiler warnings"; return 1
	fi
	echo "PASS build without warnings"; echo "1 passed, 0 failed"
}

# Runs every unit test program of a build tree; a program that crashes or
# exits non-zero without reporting a failed test counts as one failure.
unit_tests() {
	local dir=$1 t rc out passed=0 failed=0 line
	for t in "$dir"/tests/unit/test-*; do
		case "$t" in *.c|*.o) continue;; esac
		[ -x "$t" ] || continue
		echo "--- $(basename "$t")"
		out=$("$t" 2>&1); rc=$?
		echo "$out"
		line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
		if [ -n "$line" ]; then
			passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
			failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
		fi
		if [ "$rc" -ne 0 ] && { [ -z "$line" ] || [ "$(echo "$line" | cut -d' ' -f3)" = 0 ]; }; then
			echo "FAIL $(basename "$t") (exit $rc)"
			failed=$((failed + 1))
		fi
	done
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# A separate copy of the tree (the in-tree build can't be reused) built with
# the sanitizers; any report fails the run.
sanitized_unit_tests() {
	local dir=$log/asan
	mkdir -p "$dir"
	git ls-files -z | xargs -0 cp --parents -t "$dir"
	(cd "$dir" && ./autogen.sh && ./configure -q \
		CFLAGS="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" &&
		make -j2 check TESTS=) >"$log/asan-build" 2>&1 ||
		{ cat "$log/asan-build"; echo "FAIL sanitizer build"; return 1; }
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 unit_tests "$dir"
}

integration_tests() {
	python3 tests/integration/runner.py "$@"
}

distcheck() {
	if make -j2 distcheck >"$log/distcheck" 2>&1; then
		echo "PASS make distcheck"; echo "1 passed, 0 failed"
	else
		tail -30 "$log/distcheck"; echo "FAIL make distcheck"; echo "0 passed, 1 failed"; return 1
	fi
}

if [ "${1:-}" = "-k" ]; then
	suite build build
	suite integration integration_tests "$@"
else
	suite build build
	suite "unit tests" unit_tests "$top"
	suite "unit tests under ASan+UBSan" sanitized_unit_tests
	suite "fuzz targets" bash tests/fuzz/run.sh
	suite "integration tests" integration_tests
	for extra in tests/*/run.sh; do
		case "$extra" in tests/fuzz/run.sh) continue;; esac
		suite "$(dirname "$extra")" bash "$extra"
	done
	suite "make distcheck" distcheck
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
