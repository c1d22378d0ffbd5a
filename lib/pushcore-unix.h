#ifndef PUSHCORE_UNIX_H
#define PUSHCORE_UNIX_H

#include <stddef.h>

/* Not part of libpushcore's API: the plugin's relay client and pushadm
   (which compiles lib/pushcore-unix.c into itself) share it. */

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
