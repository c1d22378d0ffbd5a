/* The unit test harness. */
#include "unit-test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

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

int test_listen_loopback(int backlog, int *port_r)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
	} addr = { .sin = { .sin_family = AF_INET } };
	socklen_t len = sizeof(addr);
	int fd;

	addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, &addr.sa, sizeof(addr.sin)) < 0 ||
	    listen(fd, backlog) < 0 || getsockname(fd, &addr.sa, &len) < 0)
		abort();
	*port_r = ntohs(addr.sin.sin_port);
	return fd;
}
