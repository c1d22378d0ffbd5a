/* pushadm's clock, its one bounded wait for a descriptor and its one unix
   socket connect, shared by every command that talks to a socket (the
   relay's clients, the userdb, relay retry and relay stats). */
#include "pushadm.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

long long pushadm_mono_msecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pushadm_wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int ret;

	do {
		left = deadline - pushadm_mono_msecs();
		ret = poll(&pfd, 1, left < 0 ? 0 : (int)left);
	} while (ret < 0 && errno == EINTR);
	if (ret == 0)
		errno = ETIMEDOUT;
	return ret > 0 ? 0 : -1;
}

int pushadm_unix_connect(const char *path, int flags, long long deadline)
{
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
	} addr = { .un = { .sun_family = AF_UNIX } };
	int fd, err = 0;
	socklen_t len = sizeof(err);

	if (strlen(path) >= sizeof(addr.un.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.un.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0)) < 0)
		return -1;
	if (connect(fd, &addr.sa, sizeof(addr.un)) == 0)
		return fd;
	/* non-blocking, and a full listen backlog: wait within the bound */
	if ((errno == EAGAIN || errno == EINPROGRESS) &&
	    pushadm_wait_fd(fd, POLLOUT, deadline) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
		if (err == 0)
			return fd;
		errno = err;
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}
