/* The unit test harness. */
#include "unit-test.h"

bool test_failed;
static unsigned int passed, failed;

void test_run(const char *name, void (*test)(void))
{
	test_failed = false;
	test();
	if (test_failed) {
		printf("FAIL %s\n", name);
		failed++;
	} else {
		printf("PASS %s\n", name);
		passed++;
	}
}

int test_done(void)
{
	printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
