/* pushcore-unix.c's bounds. pushcore_unix_connect() against a listener
   whose backlog is full: it waits within its deadline and never hands back
   a socket that is not connected (a unix socket leaves nothing pending on
   EAGAIN). pushcore_unix_read(): its deadline holds against a peer that
   says nothing and against one that never stops saying a little. */
#include "unit-test.h"
#include "pushcore-unix.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FILLERS 64

static char dir[] = "/tmp/test-unix-connect-XXXXXX";
static char path[128];
static int listen_fd = -1;
static int fillers[MAX_FILLERS];
static unsigned int filler_count;

/* A listener that accepts nothing, its backlog filled until connect()
   says EAGAIN (bounded: at most MAX_FILLERS connections). */
static bool listen_full(void)
{
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
	} addr = { .un = { .sun_family = AF_UNIX } };
	int fd;

	snprintf(path, sizeof(path), "%s/sock", dir);
	strcpy(addr.un.sun_path, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, &addr.sa, sizeof(addr.un)) < 0 ||
	    listen(listen_fd, 0) < 0)
		return false;
	for (filler_count = 0; filler_count < MAX_FILLERS; filler_count++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fd, &addr.sa, sizeof(addr.un)) < 0) {
			close(fd);
			return errno == EAGAIN;
		}
		fillers[filler_count] = fd;
	}
	return false;
}

static void listen_close(void)
{
	while (filler_count > 0)
		close(fillers[--filler_count]);
	close(listen_fd);
	unlink(path);
}

static void check_times_out(int flags)
{
	long long start, elapsed;
	int fd;

	test_assert(listen_full());
	start = pushcore_mono_msecs();
	fd = pushcore_unix_connect(path, flags, start + 200);
	elapsed = pushcore_mono_msecs() - start;
	/* before: a socket that was not connected, at once (non-blocking),
	   or a wait without end (blocking; the alarm ends the test) */
	test_assert(fd < 0);
	test_assert(errno == ETIMEDOUT);
	test_assert(elapsed >= 190 && elapsed < 1000);
	if (fd >= 0)
		close(fd);
	listen_close();
}

static void test_full_backlog_nonblocking(void)
{
	check_times_out(SOCK_NONBLOCK);
}

static void test_full_backlog_blocking(void)
{
	check_times_out(0);
}

static void *accept_later(void *context)
{
	(void)context;
	usleep(100 * 1000);
	close(accept(listen_fd, NULL, NULL));
	return NULL;
}

/* A slot that frees within the deadline is taken, and the descriptor is
   really connected, with the blocking mode asked for. */
static void test_slot_frees_in_time(void)
{
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
	} peer;
	socklen_t len = sizeof(peer.un);
	pthread_t thread;
	int fd;

	test_assert(listen_full());
	pthread_create(&thread, NULL, accept_later, NULL);
	fd = pushcore_unix_connect(path, 0, pushcore_mono_msecs() + 2000);
	pthread_join(thread, NULL);
	test_assert(fd >= 0);
	test_assert(fd >= 0 && getpeername(fd, &peer.sa, &len) == 0);
	test_assert(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
	if (fd >= 0)
		close(fd);
	listen_close();
}

static void test_nothing_listens(void)
{
	snprintf(path, sizeof(path), "%s/none", dir);
	test_assert(pushcore_unix_connect(path, 0, pushcore_mono_msecs() + 200) < 0);
	test_assert(errno == ENOENT);
}

/* A peer that never stops sending: for 3 s, in larger writes than the
   reader's reads (its socket buffer stays full), until the reader is
   gone. */
static void *flood(void *context)
{
	int fd = *(int *)context;
	long long end = pushcore_mono_msecs() + 3000;
	char data[4096];

	memset(data, 'x', sizeof(data));
	while (pushcore_mono_msecs() < end &&
	       send(fd, data, sizeof(data), MSG_NOSIGNAL) > 0)
		;
	close(fd);
	return NULL;
}

/* Before: a past deadline still let the wait look once, and more was
   always there, so the loop read until the peer stopped (3 s, then end
   of file). */
static void test_read_flood_cut_at_deadline(void)
{
	long long start, elapsed;
	pthread_t thread;
	char buf[16];	/* smaller reads than the peer's writes */
	ssize_t ret;
	int fds[2];

	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	pthread_create(&thread, NULL, flood, &fds[1]);
	start = pushcore_mono_msecs();
	while ((ret = pushcore_unix_read(fds[0], buf, sizeof(buf), start + 200)) > 0)
		;
	elapsed = pushcore_mono_msecs() - start;
	test_assert(ret < 0);
	test_assert(errno == ETIMEDOUT);
	test_assert(elapsed >= 190 && elapsed < 1000);
	close(fds[0]);
	pthread_join(thread, NULL);
}

/* A blocking descriptor whose peer says nothing: the wait ends, the
   read() never blocks. */
static void test_read_silent_peer(void)
{
	long long start, elapsed;
	char buf[64];
	int fds[2];

	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	start = pushcore_mono_msecs();
	test_assert(pushcore_unix_read(fds[0], buf, sizeof(buf), start + 200) < 0);
	elapsed = pushcore_mono_msecs() - start;
	test_assert(errno == ETIMEDOUT);
	test_assert(elapsed >= 190 && elapsed < 1000);
	close(fds[0]);
	close(fds[1]);
}

/* What is there is read at once; then end of file is 0, not an error. */
static void test_read_data_then_eof(void)
{
	char buf[64];
	int fds[2];

	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	test_assert(write(fds[1], "ack", 3) == 3);
	close(fds[1]);
	test_assert(pushcore_unix_read(fds[0], buf, sizeof(buf),
				       pushcore_mono_msecs() + 1000) == 3);
	test_assert(memcmp(buf, "ack", 3) == 0);
	test_assert(pushcore_unix_read(fds[0], buf, sizeof(buf),
				       pushcore_mono_msecs() + 1000) == 0);
	close(fds[0]);
}

int main(void)
{
	int ret;

	/* a connect() that waits for ever fails the program, not CI */
	alarm(20);
	if (mkdtemp(dir) == NULL)
		return 1;
	test_run("full backlog, non-blocking: ETIMEDOUT within the bound",
		 test_full_backlog_nonblocking);
	test_run("full backlog, blocking: ETIMEDOUT within the bound",
		 test_full_backlog_blocking);
	test_run("a slot freed in time is taken", test_slot_frees_in_time);
	test_run("nothing listens: ENOENT", test_nothing_listens);
	test_run("a peer that never stops sending is cut off at the deadline",
		 test_read_flood_cut_at_deadline);
	test_run("a silent peer: ETIMEDOUT within the bound",
		 test_read_silent_peer);
	test_run("data, then end of file", test_read_data_then_eof);
	ret = test_done();
	rmdir(dir);
	return ret;
}
