/* pushadm's clock and its one bounded wait for a descriptor, shared by
   every command that talks to a socket (the relay's clients, the userdb,
   relay retry and relay stats; they connect with pushcore_unix_connect(),
   lib/pushcore-unix.c, which the plugin's relay client shares). */
#include "pushadm.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

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
