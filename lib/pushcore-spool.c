/* Spool files: writing them crash-safely and parsing them back. */
#define _GNU_SOURCE	/* O_PATH: an area a delivery uid may write to but not read */
#include "pushcore-spool.h"
#include "pushcore-event.h"
#include "pushcore-file.h"
#include "pushcore-log.h"
#include "pushcore-mem.h"
#include "pushcore-spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_MAGIC "PUSHSPOOL 2\n"
/* before the relay: it carried the request (url, headers, secret_file) */
#define SPOOL_MAGIC_V1 "PUSHSPOOL 1\n"

const char *pushcore_spool_file_name(struct pushcore_pool *pool,
				     const struct pushcore_spool_entry *e)
{
	return pushcore_psprintf(pool, "%016lld-%s.spool", e->created_usecs, e->id);
}

/* A value on one line: whatever could break the format is replaced. */
static void append_field(struct pushcore_buf *buf, const char *key,
			 const char *value)
{
	const char *p;

	if (value == NULL)
		return;
	pushcore_buf_printf(buf, "%s: ", key);
	for (p = value; *p != '\0'; p++)
		pushcore_buf_append_c(buf, *p == '\n' || *p == '\r' ? ' ' : *p);
	pushcore_buf_append_c(buf, '\n');
}

void pushcore_spool_serialize(struct pushcore_buf *buf,
			      const struct pushcore_spool_entry *e)
{
	pushcore_buf_append_str(buf, SPOOL_MAGIC);
	append_field(buf, "id", e->id);
	pushcore_buf_printf(buf, "created: %lld\nattempts: %u\nnext: %lld\n",
			    e->created_usecs, e->attempts, e->next_attempt);
	append_field(buf, "user", e->user);
	append_field(buf, "driver", e->driver);
	append_field(buf, "last_error", e->last_error);
	append_field(buf, "method", e->method);
	/* no url, headers, secret_file, TLS options or timeout: whoever
	   sends it takes them from the configuration */
	pushcore_buf_printf(buf, "body: %zu\n\n", e->body_len);
	pushcore_buf_append(buf, e->body, e->body_len);
}

static int write_all(int fd, const char *data, size_t len)
{
	ssize_t ret;

	while (len > 0) {
		if ((ret = write(fd, data, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += ret;
		len -= (size_t)ret;
	}
	return 0;
}

/* Writes name in tmp_fd, fsync()s it and renames it into dest_fd, then
   fsync()s that directory; on failure *failed_r says which step. */
/* Makes a rename durable where we can. Once the rename succeeded the file
   is in the spool and will be sent, so nothing here makes it lost: a
   delivery uid that holds only an O_PATH fd of new/ can't fsync it (EBADF)
   and skips it - the file's data was fsynced before the rename, and the
   rename reaches the disk with the filesystem's next journal commit; a
   failing fsync is only a warning. */
static void fsync_area(int dir_fd, const char *name)
{
	if (fsync(dir_fd) < 0 && errno != EBADF)
		pushcore_log(PUSHCORE_LOG_WARNING, NULL, "fsync of the spool "
			     "directory holding %s failed: %s (the notification "
			     "is spooled)", name, strerror(errno));
}

static int spool_write_file(int tmp_fd, int dest_fd, const char *name,
			    const struct pushcore_buf *buf, const char **failed_r)
{
	char tmp_name[64];
	int fd, ret = -1;

	/* a name nobody can guess and take first: the canonical one is
	   given only by the rename */
	pushcore_uuid(tmp_name);
	strcat(tmp_name, ".tmp");
	*failed_r = "creating it in tmp/";
	/* 0600: only its writer and root read it; O_EXCL never follows a
	   link another uid left under that name */
	fd = openat(tmp_fd, tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, buf->data, buf->len) == 0 && fsync(fd) == 0) {
		*failed_r = "renaming it";
		if (renameat(tmp_fd, tmp_name, dest_fd, name) == 0) {
			ret = 0;
			fsync_area(dest_fd, name);
		}
	} else {
		*failed_r = "writing it";
	}
	if (ret < 0) {
		int err = errno;

		(void)unlinkat(tmp_fd, tmp_name, 0);
		errno = err;
	}
	close(fd);
	return ret;
}

int pushcore_spool_writeat(int tmp_fd, int dest_fd,
			   const struct pushcore_spool_entry *entry,
			   const char **error_r)
{
	static char error[512];
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *name = pushcore_spool_file_name(pool, entry), *failed;
	struct pushcore_buf buf;
	int ret;

	/* the name is made of them: never a path */
	if (!pushcore_spool_id_valid(entry->id) || entry->created_usecs < 0) {
		snprintf(error, sizeof(error), "not writing a spool file for an "
			 "invalid id or created time");
		*error_r = error;
		pushcore_pool_free(&pool);
		return -1;
	}
	pushcore_buf_init(&buf);
	pushcore_spool_serialize(&buf, entry);
	if ((ret = spool_write_file(tmp_fd, dest_fd, name, &buf, &failed)) < 0) {
		snprintf(error, sizeof(error), "writing spool file %s failed "
			 "(%s): %s", name, failed, strerror(errno));
		*error_r = error;
	}
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
	return ret;
}

/* An area of the spool, never through a symlink. */
/* An area of the spool as a directory fd, never through a symlink. A
   delivery uid other than root may not read tmp/ and new/ (mode 1733, by
   design): it gets an O_PATH fd, which is enough to create and rename
   files there, not to fsync the directory. */
static int open_dir_at(int at_fd, const char *path)
{
	int fd = openat(at_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fd = openat(at_fd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static int open_area(const char *spool_dir, const char *area)
{
	int dir_fd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (dir_fd < 0 && (errno == EACCES || errno == EPERM))
		dir_fd = open(spool_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -1;
	fd = open_dir_at(dir_fd, area);
	if (fd < 0) {
		int err = errno;

		close(dir_fd);
		errno = err;
		return -1;
	}
	close(dir_fd);
	return fd;
}

int pushcore_spool_write(const char *spool_dir, const char *area,
			 const struct pushcore_spool_entry *entry,
			 const char **error_r)
{
	static char error[512];
	int tmp_fd, dest_fd = -1, ret = -1;

	tmp_fd = open_area(spool_dir, "tmp");
	if (tmp_fd < 0 && errno == ENOENT &&
	    pushcore_spool_init_dir(spool_dir, error_r) == 0)
		tmp_fd = open_area(spool_dir, "tmp");
	if (tmp_fd >= 0)
		dest_fd = open_area(spool_dir, area);
	if (tmp_fd < 0 || dest_fd < 0) {
		snprintf(error, sizeof(error), "writing spool file failed: "
			 "%s/%s: %s", spool_dir, tmp_fd < 0 ? "tmp" : area,
			 strerror(errno));
		*error_r = error;
	} else {
		ret = pushcore_spool_writeat(tmp_fd, dest_fd, entry, error_r);
	}
	if (tmp_fd >= 0)
		close(tmp_fd);
	if (dest_fd >= 0)
		close(dest_fd);
	return ret;
}

static bool parse_ll(const char *str, long long *num_r)
{
	char *end;

	if (str[0] == '\0')
		return false;
	errno = 0;
	*num_r = strtoll(str, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Lines of format 1 that are read and dropped: a file never chooses
   where or how a notification is sent. */
static bool v1_dropped_key(const char *key)
{
	static const char *const keys[] = {
		"url", "tls_ca_file", "secret_file", "tls_no_verify",
		"timeout_msecs", "header", NULL
	};
	unsigned int i;

	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(keys[i], key) == 0)
			return true;
	}
	return false;
}

static bool parse_line(struct pushcore_pool *pool,
		       struct pushcore_spool_entry *e, const char *key,
		       const char *value, bool v1)
{
	if (strcmp(key, "id") == 0) {
		if (!pushcore_spool_id_valid(value))
			return false;
		memcpy(e->id, value, 37);
	} else if (strcmp(key, "created") == 0) {
		return parse_ll(value, &e->created_usecs);
	} else if (strcmp(key, "attempts") == 0) {
		return pushcore_parse_uint(value, &e->attempts);
	} else if (strcmp(key, "next") == 0) {
		return parse_ll(value, &e->next_attempt);
	} else if (v1 && v1_dropped_key(key)) {
		return true;
	} else {
		const char **str =
			strcmp(key, "user") == 0 ? &e->user :
			strcmp(key, "driver") == 0 ? &e->driver :
			strcmp(key, "last_error") == 0 ? &e->last_error :
			strcmp(key, "method") == 0 ? &e->method : NULL;

		if (str == NULL || *str != NULL)
			return false;	/* unknown or repeated */
		*str = pushcore_pstrdup(pool, value);
	}
	return true;
}

/* Format 1 wrote "push_notification_driver (http)"; the record names the
   setting alone. */
static void v1_driver_name(struct pushcore_pool *pool,
			   struct pushcore_spool_entry *e)
{
	const char *sp;

	if (e->driver != NULL && (sp = strchr(e->driver, ' ')) != NULL)
		e->driver = pushcore_pstrndup(pool, e->driver,
					      (size_t)(sp - e->driver));
}

bool pushcore_spool_id_valid(const char *id)
{
	unsigned int i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return false;
		} else if (!((id[i] >= '0' && id[i] <= '9') ||
			     (id[i] >= 'a' && id[i] <= 'f'))) {
			return false;
		}
	}
	return id[36] == '\0';
}

bool pushcore_spool_name_valid(const char *name)
{
	size_t len = strlen(name), digits = strspn(name, "0123456789");
	char id[37];

	/* 16 digits, more only after the year 2286 */
	if (digits < 16 || digits > 19 || len != digits + 1 + 36 + 6 ||
	    name[digits] != '-' || strcmp(name + len - 6, ".spool") != 0)
		return false;
	memcpy(id, name + digits + 1, 36);
	id[36] = '\0';
	return pushcore_spool_id_valid(id);
}

static bool printable(const char *str, size_t max, bool allow_space)
{
	const unsigned char *p;

	for (p = (const unsigned char *)str; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || (*p == ' ' && !allow_space) ||
		    (size_t)(p - (const unsigned char *)str) >= max)
			return false;
	}
	return p != (const unsigned char *)str;
}

bool pushcore_spool_user_name_valid(const char *user)
{
	/* looked up with doveadm user: no option, no wildcard */
	return printable(user, PUSHCORE_SPOOL_USER_MAX, false) &&
		user[0] != '-' && strpbrk(user, "*?") == NULL;
}

bool pushcore_spool_entry_valid(const struct pushcore_spool_entry *e,
				const char **error_r)
{
	if (!pushcore_spool_id_valid(e->id))
		*error_r = "invalid id";
	else if (e->user == NULL || !pushcore_spool_user_name_valid(e->user))
		*error_r = "invalid user";
	else if (e->driver == NULL ||
		 !printable(e->driver, PUSHCORE_SPOOL_DRIVER_MAX, false))
		*error_r = "invalid driver";
	else if (e->method == NULL || (strcmp(e->method, "POST") != 0 &&
				       strcmp(e->method, "PUT") != 0 &&
				       strcmp(e->method, "XADD") != 0))
		*error_r = "invalid method (POST, PUT or XADD)";
	else if (e->created_usecs < 0 || e->next_attempt < 0)
		*error_r = "negative time";
	else
		return true;
	return false;
}

int pushcore_spool_parse(struct pushcore_pool *pool, const char *data,
			 size_t size, struct pushcore_spool_entry **entry_r,
			 const char **error_r)
{
	struct pushcore_spool_entry *e = pushcore_palloc(pool, sizeof(*e));
	const char *p = data, *end = data + size, *nl, *sep;
	long long body_len = -1;
	bool v1;

	if (size >= strlen(SPOOL_MAGIC) &&
	    memcmp(data, SPOOL_MAGIC, strlen(SPOOL_MAGIC)) == 0)
		v1 = false;
	else if (size >= strlen(SPOOL_MAGIC_V1) &&
		 memcmp(data, SPOOL_MAGIC_V1, strlen(SPOOL_MAGIC_V1)) == 0)
		v1 = true;
	else {
		*error_r = "not a spool file (bad first line)";
		return -1;
	}
	for (p += strlen(SPOOL_MAGIC); p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		const char *line = pushcore_pstrndup(pool, p, (size_t)(nl - p));
		if (strlen(line) != (size_t)(nl - p) ||
		    (sep = strstr(line, ": ")) == NULL) {
			*error_r = "malformed line";
			return -1;
		}
		const char *key = pushcore_pstrndup(pool, line, (size_t)(sep - line));
		if (strcmp(key, "body") == 0) {
			if (!parse_ll(sep + 2, &body_len) || body_len < 0 ||
			    nl + 2 > end || nl[1] != '\n' ||
			    (long long)(end - (nl + 2)) != body_len) {
				*error_r = "body length does not match the file";
				return -1;
			}
			e->body = pushcore_pstrndup(pool, nl + 2, (size_t)body_len);
			e->body_len = (size_t)body_len;
			break;
		}
		if (!parse_line(pool, e, key, sep + 2, v1)) {
			*error_r = pushcore_psprintf(pool, "invalid field '%.40s'", key);
			return -1;
		}
	}
	if (v1)
		v1_driver_name(pool, e);
	if (body_len < 0 || e->id[0] == '\0' || e->user == NULL ||
	    e->driver == NULL || e->method == NULL) {
		*error_r = "missing field (id, user, driver, method or body)";
		return -1;
	}
	if (!pushcore_spool_entry_valid(e, error_r))
		return -1;
	*entry_r = e;
	return 0;
}

int pushcore_spool_read(struct pushcore_pool *pool, const char *path,
			struct pushcore_spool_entry **entry_r,
			const char **error_r)
{
	char *data;
	size_t size;

	if (pushcore_file_read(pool, path, PUSHCORE_SPOOL_MAX_SIZE, &data, &size,
			       error_r) < 0)
		return -1;
	if (pushcore_spool_parse(pool, data, size, entry_r, error_r) < 0)
		return -1;
	(*entry_r)->path = pushcore_pstrdup(pool, path);
	return 0;
}

/* Creates an area if missing and sets its mode, through an fd opened
   without following a symlink, and only if it is ours: never chmod()s
   whatever an area's name was made to point to. */
static int init_area(int dir_fd, const char *spool_dir, const char *name,
		     mode_t mode, const char **error_r)
{
	static char error[512];
	struct stat st;
	int fd;

	if (mkdirat(dir_fd, name, mode) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "mkdir(%s/%s) failed: %s",
			 spool_dir, name, strerror(errno));
		*error_r = error;
		return -1;
	}
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(error, sizeof(error), "%s/%s is not a directory (or a "
			 "symlink, which the spool never follows): %s",
			 spool_dir, name, strerror(errno));
		*error_r = error;
		return -1;
	}
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & 07777) != mode)
		(void)fchmod(fd, mode);	/* umask-proof */
	close(fd);
	return 0;
}

int pushcore_spool_init_dir(const char *spool_dir, const char **error_r)
{
	static const struct {
		const char *name;
		mode_t mode;
	} areas[] = {
		/* delivery processes of any uid create files here; sticky, and
		   no read bit, so nobody lists or touches another's files */
		{ "tmp", 01733 }, { PUSHCORE_SPOOL_NEW, 01733 },
		/* only the dispatcher (root) moves files here */
		{ PUSHCORE_SPOOL_FAILED, 0700 }, { PUSHCORE_SPOOL_QUARANTINE, 0700 },
	};
	static char error[512];
	unsigned int i;
	int dir_fd, ret = 0;

	if (mkdir(spool_dir, 0755) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "mkdir(%s) failed: %s", spool_dir,
			 strerror(errno));
		*error_r = error;
		return -1;
	}
	if ((dir_fd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(error, sizeof(error), "open(%s) failed: %s", spool_dir,
			 strerror(errno));
		*error_r = error;
		return -1;
	}
	for (i = 0; ret == 0 && i < sizeof(areas) / sizeof(areas[0]); i++)
		ret = init_area(dir_fd, spool_dir, areas[i].name, areas[i].mode, error_r);
	close(dir_fd);
	return ret;
}
