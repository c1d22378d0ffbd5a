/* The relay's unix socket listeners, made and removed one way: its own
   socket (pushadm-relay-server.c), the stats socket and a unix
   metrics_listen (pushadm-relay-metrics.c). */
#include "pushadm.h"
#include "pushadm-relay.h"
#include "pushcore-unix.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* how long a live listener with a full backlog may take to answer the
   probe: a busy relay is still a relay */
#define RELAY_PROBE_TIMEOUT_MSECS 1000

int relay_mkdir_parent(const char *path, mode_t mode, const char **error_r)
{
	static char error[600];
	char dir[512];
	char *p;

	if (strlen(path) >= sizeof(dir)) {
		*error_r = "path too long";
		return -1;
	}
	strcpy(dir, path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, mode) == 0) {
			/* the mode asked for, not the relay's umask */
			(void)chmod(dir, mode);
		} else if (errno != EEXIST) {
			snprintf(error, sizeof(error), "mkdir(%s) failed: %s", dir,
				 strerror(errno));
			*error_r = error;
			return -1;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* A socket file left by a relay that died is removed; a live one is not:
   two relays would share one journal's work, or one port's figures. Only
   "nobody listens" (ECONNREFUSED) makes a socket stale. */
static int relay_clear_stale(const char *path, const char *setting,
			     const char **error_r)
{
	static char error[700];
	struct stat st;
	int fd;

	/* lstat: a symlink planted here is not a socket, and not followed */
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(error, sizeof(error), "lstat(%s) failed: %s", path,
			 strerror(errno));
	} else if (!S_ISSOCK(st.st_mode)) {
		snprintf(error, sizeof(error), "%s exists and is not a socket; "
			 "remove it or change %s", path, setting);
	} else if ((fd = pushcore_unix_connect(path, SOCK_NONBLOCK,
			pushcore_mono_msecs() + RELAY_PROBE_TIMEOUT_MSECS)) >= 0 ||
		   errno == ETIMEDOUT) {
		if (fd >= 0)
			close(fd);
		snprintf(error, sizeof(error), "another relay is listening on %s",
			 path);
	} else if (errno == ECONNREFUSED || errno == ENOENT) {
		(void)unlink(path);
		return 0;
	} else {
		snprintf(error, sizeof(error), "connect(%s) failed: %s", path,
			 strerror(errno));
	}
	*error_r = error;
	return -1;
}

int relay_unix_listen(const char *path, const char *setting, uid_t uid,
		      gid_t gid, mode_t mode, int backlog, ino_t *ino_r,
		      const char **error_r)
{
	static char error[700];
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
	} addr = { .un = { .sun_family = AF_UNIX } };
	const char *op = "socket";
	struct stat st;
	int fd = -1;

	if (strlen(path) >= sizeof(addr.un.sun_path)) {
		snprintf(error, sizeof(error), "%s: the path is too long "
			 "(at most %zu bytes)", path, sizeof(addr.un.sun_path) - 1);
		*error_r = error;
		return -1;
	}
	strcpy(addr.un.sun_path, path);
	/* 0755: the delivery uids and scrapers must reach the socket */
	if (relay_mkdir_parent(path, 0755, error_r) < 0 ||
	    relay_clear_stale(path, setting, error_r) < 0)
		return -1;
	/* owner and mode are set before listen(): no client gets in while
	   the socket is still the relay's umask's */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 0)) < 0 ||
	    (op = "bind", bind(fd, &addr.sa, sizeof(addr.un))) < 0 ||
	    (op = "chown", lchown(path, uid, gid)) < 0 ||
	    (op = "chmod", chmod(path, mode)) < 0 ||
	    (op = "stat", lstat(path, &st)) < 0 ||
	    (op = "listen", listen(fd, backlog)) < 0) {
		snprintf(error, sizeof(error), "%s(%s) failed: %s", op, path,
			 strerror(errno));
		*error_r = error;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*ino_r = st.st_ino;
	return fd;
}

void relay_unix_close(int *fd, const char *path, ino_t ino)
{
	struct stat st;

	if (*fd < 0)
		return;
	close(*fd);
	*fd = -1;
	/* ours only: a new relay may have replaced it */
	if (path != NULL && lstat(path, &st) == 0 && st.st_ino == ino)
		(void)unlink(path);
}
