#ifndef PUSHCORE_UNIX_H
#define PUSHCORE_UNIX_H

#include <stddef.h>

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
   deadline (a deadline already past still asks once), -1 with errno when
   poll() fails. */
int pushcore_unix_wait(int fd, short events, long long deadline);

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
