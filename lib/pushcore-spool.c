/* Spool files: writing them crash-safely and parsing them back. */
#include "pushcore-spool.h"
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

#define SPOOL_MAGIC "PUSHSPOOL 1\n"

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

static void spool_serialize(struct pushcore_buf *buf,
			    const struct pushcore_spool_entry *e)
{
	unsigned int i;

	pushcore_buf_append_str(buf, SPOOL_MAGIC);
	append_field(buf, "id", e->id);
	pushcore_buf_printf(buf, "created: %lld\nattempts: %u\nnext: %lld\n",
			    e->created_usecs, e->attempts, e->next_attempt);
	append_field(buf, "user", e->user);
	append_field(buf, "driver", e->driver);
	append_field(buf, "last_error", e->last_error);
	append_field(buf, "method", e->method);
	append_field(buf, "url", e->url);
	append_field(buf, "tls_ca_file", e->tls_ca_file);
	append_field(buf, "secret_file", e->secret_file);
	pushcore_buf_printf(buf, "tls_no_verify: %d\ntimeout_msecs: %u\n",
			    e->tls_no_verify ? 1 : 0, e->timeout_msecs);
	for (i = 0; i < e->header_count; i++)
		append_field(buf, "header", e->headers[i]);
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

/* Makes the rename durable where we can. Once rename() succeeded the file
   is in the spool and will be sent, so nothing here makes it lost: a
   delivery uid other than root can't open new/ (mode 1733, no read bit, by
   design) and skips the fsync silently - the file's data was fsynced
   before the rename, and the rename reaches the disk with the
   filesystem's next journal commit (only a crash within those seconds
   could undo it); a failing fsync is only a warning. */
static void fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		if (errno != EACCES && errno != EPERM)
			pushcore_log(PUSHCORE_LOG_WARNING, NULL, "open(%s) for fsync "
				     "failed: %s (the notification is spooled)",
				     path, strerror(errno));
		return;
	}
	if (fsync(fd) < 0)
		pushcore_log(PUSHCORE_LOG_WARNING, NULL, "fsync(%s) failed: %s "
			     "(the notification is spooled)", path, strerror(errno));
	close(fd);
}

int pushcore_spool_write(const char *spool_dir, const char *area,
			 const struct pushcore_spool_entry *entry,
			 const char **error_r)
{
	static char error[512];
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *name = pushcore_spool_file_name(pool, entry);
	const char *tmp = pushcore_psprintf(pool, "%s/tmp/%s", spool_dir, name);
	const char *dir = pushcore_psprintf(pool, "%s/%s", spool_dir, area);
	const char *dest = pushcore_psprintf(pool, "%s/%s", dir, name);
	const char *failed = tmp;
	struct pushcore_buf buf;
	int fd, ret = -1;

	pushcore_buf_init(&buf);
	spool_serialize(&buf, entry);
	errno = 0;
	/* 0600: URLs and headers may hold credentials */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT &&
	    pushcore_spool_init_dir(spool_dir, error_r) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 && write_all(fd, buf.data, buf.len) == 0 && fsync(fd) == 0) {
		failed = dest;
		if (rename(tmp, dest) == 0) {
			fsync_dir(dir);
			ret = 0;
		}
	}
	if (ret < 0) {
		snprintf(error, sizeof(error), "writing spool file %s failed: %s",
			 failed, strerror(errno));
		*error_r = error;
		if (fd >= 0)
			(void)unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
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

static bool parse_line(struct pushcore_pool *pool,
		       struct pushcore_spool_entry *e, const char *key,
		       const char *value)
{
	long long num;

	if (strcmp(key, "id") == 0) {
		if (strlen(value) != 36)
			return false;
		memcpy(e->id, value, 37);
	} else if (strcmp(key, "created") == 0) {
		return parse_ll(value, &e->created_usecs);
	} else if (strcmp(key, "attempts") == 0) {
		return pushcore_parse_uint(value, &e->attempts);
	} else if (strcmp(key, "next") == 0) {
		return parse_ll(value, &e->next_attempt);
	} else if (strcmp(key, "tls_no_verify") == 0) {
		if (!parse_ll(value, &num))
			return false;
		e->tls_no_verify = num != 0;
	} else if (strcmp(key, "timeout_msecs") == 0) {
		return pushcore_parse_uint(value, &e->timeout_msecs);
	} else if (strcmp(key, "header") == 0) {
		e->headers[e->header_count++] = pushcore_pstrdup(pool, value);
	} else {
		const char **str =
			strcmp(key, "user") == 0 ? &e->user :
			strcmp(key, "driver") == 0 ? &e->driver :
			strcmp(key, "last_error") == 0 ? &e->last_error :
			strcmp(key, "method") == 0 ? &e->method :
			strcmp(key, "url") == 0 ? &e->url :
			strcmp(key, "tls_ca_file") == 0 ? &e->tls_ca_file :
			strcmp(key, "secret_file") == 0 ? &e->secret_file : NULL;

		if (str == NULL)
			return false;
		*str = pushcore_pstrdup(pool, value);
	}
	return true;
}

int pushcore_spool_parse(struct pushcore_pool *pool, const char *data,
			 size_t size, struct pushcore_spool_entry **entry_r,
			 const char **error_r)
{
	struct pushcore_spool_entry *e = pushcore_palloc(pool, sizeof(*e));
	const char *p = data, *end = data + size, *nl, *sep;
	unsigned int lines = 0;
	long long body_len = -1;

	if (size < strlen(SPOOL_MAGIC) ||
	    memcmp(data, SPOOL_MAGIC, strlen(SPOOL_MAGIC)) != 0) {
		*error_r = "not a spool file (bad first line)";
		return -1;
	}
	for (nl = data; nl < end && (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL; nl++)
		lines++;
	e->headers = pushcore_palloc(pool, sizeof(*e->headers) * (lines + 1));
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
		if (!parse_line(pool, e, key, sep + 2)) {
			*error_r = pushcore_psprintf(pool, "invalid field '%.40s'", key);
			return -1;
		}
	}
	if (body_len < 0 || e->id[0] == '\0' || e->user == NULL ||
	    e->method == NULL || e->url == NULL) {
		*error_r = "missing field (id, user, method, url or body)";
		return -1;
	}
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

static int mkdir_mode(const char *path, mode_t mode, const char **error_r)
{
	static char error[512];

	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "mkdir(%s) failed: %s", path,
			 strerror(errno));
		*error_r = error;
		return -1;
	}
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
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *path;
	unsigned int i;
	int ret = mkdir_mode(spool_dir, 0755, error_r);

	for (i = 0; ret == 0 && i < sizeof(areas) / sizeof(areas[0]); i++) {
		path = pushcore_psprintf(pool, "%s/%s", spool_dir, areas[i].name);
		ret = mkdir_mode(path, areas[i].mode, error_r);
		if (ret == 0)
			(void)chmod(path, areas[i].mode);	/* umask-proof */
	}
	pushcore_pool_free(&pool);
	return ret;
}
