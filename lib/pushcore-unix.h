#ifndef PUSHCORE_UNIX_H
#define PUSHCORE_UNIX_H

#include <stddef.h>
#include <sys/types.h>

/* Not part of libpushcore's API: libpushcore (the plugin's relay client,
   the HTTP loop) and pushadm (which compiles lib/pushcore-unix.c into
   itself) share it; a driver module, built on the public API, can't. */

/* CLOCK_MONOTONIC in milliseconds: the clock of the deadlines below and
   of libpushcore's and pushadm's other bounds (a wall clock that is set
   back or forward must not stretch or cut a wait). */
long long pushcore_mono_msecs(void);

/* Waits until fd has one of events (POLLHUP and POLLERR end it too) or
   the deadline (CLOCK_MONOTONIC milliseconds) passes; a signal does not
   end the wait. >0 when fd is ready, 0 with errno ETIMEDOUT at the
   deadline, -1 with errno when poll() fails. Once the deadline has passed
   it answers 0 without asking: a loop that waits before every read or
   send ends at its deadline even when the peer keeps it busy a byte at a
   time. */
int pushcore_unix_wait(int fd, short events, long long deadline);

/* One read() of what fd has, waited for within the deadline (blocking
   descriptors included): the bytes read, 0 at end of file, -1 with errno
   (ETIMEDOUT once the deadline has passed, whether or not more is coming). */
ssize_t pushcore_unix_read(int fd, void *buf, size_t size, long long deadline);

/* A SOCK_STREAM connection to the unix socket at path, made within the
   deadline (CLOCK_MONOTONIC milliseconds); flags are extra socket() type
   flags: SOCK_NONBLOCK keeps the descriptor non-blocking, without it the
   connected descriptor blocks. -1 with errno: ENOENT or ECONNREFUSED
   when nothing listens there, ETIMEDOUT when the listener's backlog
   stayed full until the deadline. */
int pushcore_unix_connect(const char *path, int flags, long long deadline);

/* Sends all of data on a connected stream socket, blocking or not,
   waiting for room until the deadline (CLOCK_MONOTONIC milliseconds):
   0, or -1 with errno (ETIMEDOUT when the peer read nothing in time). */
int pushcore_unix_send_all(int fd, const void *data, size_t len,
			   long long deadline);

#endif
