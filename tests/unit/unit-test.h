#ifndef UNIT_TEST_H
#define UNIT_TEST_H

/* A minimal harness: each test-*.c lists its test functions in main() with
   test_run(); the program prints one line per failed check and ends with
   "N passed, M failed" (tests, not checks), exiting 1 on any failure. */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern bool test_failed;

#define test_assert(cond) do { \
	if (!(cond)) { \
		printf("  %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
		test_failed = true; \
	} } while (0)

#define test_assert_str(got, want) do { \
	const char *_g = (got), *_w = (want); \
	if (_g == NULL || _w == NULL ? _g != _w : strcmp(_g, _w) != 0) { \
		printf("  %s:%d: %s\n    got:  %s\n    want: %s\n", __FILE__, \
		       __LINE__, #got, _g == NULL ? "(null)" : _g, \
		       _w == NULL ? "(null)" : _w); \
		test_failed = true; \
	} } while (0)

void test_run(const char *name, void (*test)(void));
int test_done(void);

/* A TCP socket listening on 127.0.0.1 at a port of the kernel's choice
   (*port_r), for the tests' own endpoints; aborts on failure. */
int test_listen_loopback(int backlog, int *port_r);

#endif
