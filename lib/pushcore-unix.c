/* Connecting to a unix socket, sending on it, reading from it and waiting
   for a descriptor, within a bound on one monotonic clock. A listener whose
   backlog is full (a busy or stopped relay, a stalled auth process) makes
   connect() fail with EAGAIN, and unlike TCP's EINPROGRESS nothing is
   left pending: poll() for POLLOUT answers at once and SO_ERROR says 0 on
   a socket that is not connected. So connect() is tried again, briefly
   apart, until the deadline. A blocking connect() would wait for a slot
   without a bound, so the socket is non-blocking while it connects. */
#include "pushcore-unix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* how far apart connect() is tried while the backlog is full */
#define UNIX_CONNECT_RETRY_MSECS 5

long long pushcore_mono_msecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pushcore_unix_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int ret;

	do {
		left = deadline - pushcore_mono_msecs();
		/* past the deadline not even a look: a peer that always has
		   one more byte ready would otherwise stretch the bound */
		ret = left <= 0 ? 0 : poll(&pfd, 1, (int)left);
	} while (ret < 0 && errno == EINTR);
	if (ret == 0)
		errno = ETIMEDOUT;
	return ret;
}

ssize_t pushcore_unix_read(int fd, void *buf, size_t size, long long deadline)
{
	ssize_t ret;

	do {
		/* waited for before reading: a blocking read() of a silent
		   peer would have no bound */
		if (pushcore_unix_wait(fd, POLLIN, deadline) <= 0)
			return -1;
		ret = read(fd, buf, size);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret;
}

static int connect_within(int fd, const struct sockaddr_un *addr,
			  long long deadline)
{
	long long left;
	int err;

	while (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		err = errno;
		if (err != EAGAIN && err != EINTR)
			return -1;
		left = deadline - pushcore_mono_msecs();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (err == EAGAIN)
			(void)poll(NULL, 0, left < UNIX_CONNECT_RETRY_MSECS ?
				   (int)left : UNIX_CONNECT_RETRY_MSECS);
	}
	return 0;
}

int pushcore_unix_connect(const char *path, int flags, long long deadline)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK |
		    (flags & ~SOCK_NONBLOCK), 0);
	if (fd < 0)
		return -1;
	if (connect_within(fd, &addr, deadline) == 0 &&
	    ((flags & SOCK_NONBLOCK) != 0 ||
	     fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0))
		return fd;
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int pushcore_unix_send_all(int fd, const void *data, size_t len,
			   long long deadline)
{
	const char *p = data;
	ssize_t ret;
	int err;

	while (len > 0) {
		/* MSG_DONTWAIT: a blocking socket waits here, within the bound */
		ret = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (ret >= 0) {
			p += ret;
			len -= (size_t)ret;
			continue;
		}
		err = errno;
		if (err != EAGAIN && err != EINTR)
			return -1;
		if (err == EINTR)
			continue;
		if (pushcore_unix_wait(fd, POLLOUT, deadline) <= 0)
			return -1;
	}
	return 0;
}
