/* The spool's directories and files as root handles them: checked, held
   open, never followed through a link (pushadm-spool.h). */
#include "pushadm.h"
#include "pushadm-spool.h"
#include "pushadm-trust.h"
#include "pushcore.h"
#include "pushcore-unix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const area_names[PUSHADM_SPOOL_AREA_COUNT] = {
	"tmp", PUSHCORE_SPOOL_NEW, PUSHCORE_SPOOL_FAILED, PUSHCORE_SPOOL_QUARANTINE
};

const char *pushadm_spool_area_name(enum pushadm_spool_area area)
{
	return area_names[area];
}

/* A name for a log line: whatever a file name holds, printed safely. */
static const char *printable_name(struct pushcore_pool *pool, const char *name)
{
	struct pushcore_buf buf;
	const unsigned char *p;
	const char *ret;

	pushcore_buf_init(&buf);
	for (p = (const unsigned char *)name; *p != '\0' && buf.len < 200; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			pushcore_buf_printf(&buf, "\\x%02x", *p);
		else
			pushcore_buf_append_c(&buf, (char)*p);
	}
	ret = pushcore_pstrdup(pool, buf.data);
	pushcore_buf_free(&buf);
	return ret;
}

/* An area must be a real directory owned by us or by the spool's owner;
   tmp/ and new/ may be writable by all only if sticky, failed/ and
   quarantine/ by their owner only. */
static int check_area(const char *path, enum pushadm_spool_area area, int fd,
		      const struct stat *base, struct pushcore_pool *pool,
		      const char **error_r)
{
	bool shared = area == PUSHADM_SPOOL_AREA_TMP ||
		area == PUSHADM_SPOOL_AREA_NEW;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = pushcore_psprintf(pool, "%s/%s is not a directory",
					     path, area_names[area]);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != base->st_uid) {
		*error_r = pushcore_psprintf(pool, "%s/%s is owned by uid %lu, "
			"neither the spool's owner nor us: refusing it", path,
			area_names[area], (unsigned long)st.st_uid);
		return -1;
	}
	if (!shared && (st.st_mode & 022) != 0 && st.st_uid == geteuid())
		(void)fchmod(fd, 0700);	/* ours, through the fd: never a link's target */
	else if ((!shared && (st.st_mode & 022) != 0) ||
		 (shared && (st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0)) {
		*error_r = pushcore_psprintf(pool, "%s/%s has mode %04o: others "
			"could replace its files (tmp/ and new/ need the sticky "
			"bit, 1733; failed/ and quarantine/ 0700)", path,
			area_names[area], (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int pushadm_spool_dirs_open(const char *path, bool create,
			    struct pushadm_spool_dirs *dirs, const char **error_r)
{
	static char error[1024];
	struct pushcore_pool *pool = pushcore_pool_new();
	struct stat base;
	int base_fd, ret = 0;
	unsigned int i;

	dirs->path = path;
	for (i = 0; i < PUSHADM_SPOOL_AREA_COUNT; i++)
		dirs->fds[i] = -1;
	if (create && pushcore_spool_init_dir(path, error_r) < 0) {
		pushcore_pool_free(&pool);
		return -1;
	}
	/* the directory itself is the administrator's: a symlink there is
	   theirs; what is inside is not */
	if ((base_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstat(base_fd, &base) < 0) {
		*error_r = pushcore_psprintf(pool, "open(%s) failed: %s", path,
					     strerror(errno));
		ret = -1;
	} else if ((base.st_mode & 022) != 0) {
		*error_r = pushcore_psprintf(pool, "%s has mode %04o: others "
			"could replace its areas (it needs 0755)", path,
			(unsigned int)(base.st_mode & 07777));
		ret = -1;
	}
	for (i = 0; ret == 0 && i < PUSHADM_SPOOL_AREA_COUNT; i++) {
		dirs->fds[i] = openat(base_fd, area_names[i], O_RDONLY | O_DIRECTORY |
				      O_NOFOLLOW | O_CLOEXEC);
		if (dirs->fds[i] < 0) {
			*error_r = pushcore_psprintf(pool, "%s/%s: %s (a symlink "
				"is never followed)", path, area_names[i],
				strerror(errno));
			ret = -1;
		} else {
			ret = check_area(path, i, dirs->fds[i], &base, pool, error_r);
		}
	}
	if (base_fd >= 0)
		close(base_fd);
	if (ret < 0) {
		snprintf(error, sizeof(error), "spool: %s", *error_r);
		*error_r = error;
		pushadm_spool_dirs_close(dirs);
	}
	pushcore_pool_free(&pool);
	return ret;
}

void pushadm_spool_dirs_close(struct pushadm_spool_dirs *dirs)
{
	unsigned int i;

	for (i = 0; i < PUSHADM_SPOOL_AREA_COUNT; i++) {
		if (dirs->fds[i] >= 0)
			close(dirs->fds[i]);
		dirs->fds[i] = -1;
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **pushadm_spool_names(struct pushadm_spool_dirs *dirs,
				 enum pushadm_spool_area area, bool quarantine_bad,
				 struct pushcore_pool *pool)
{
	unsigned int count = 0, size = 64, seen = 0;
	const char **names = pushcore_palloc(pool, sizeof(*names) * (size + 1));
	struct dirent *d;
	DIR *dir;
	int fd;

	/* a fresh fd: readdir() takes it over */
	if ((fd = openat(dirs->fds[area], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: reading %s/%s failed: %s",
			     dirs->path, area_names[area], strerror(errno));
		return names;
	}
	while ((d = readdir(dir)) != NULL && seen++ < PUSHADM_SPOOL_SCAN_MAX) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (!pushcore_spool_name_valid(d->d_name)) {
			if (quarantine_bad)
				pushadm_spool_quarantine(dirs, area, d->d_name,
					"not a spool file name (<µs>-<uuid>.spool)");
			continue;
		}
		if (count == size) {
			const char **bigger = pushcore_palloc(pool, sizeof(*names) *
							      (size * 2 + 1));
			memcpy(bigger, names, sizeof(*names) * count);
			names = bigger;
			size *= 2;
		}
		names[count++] = pushcore_pstrdup(pool, d->d_name);
	}
	closedir(dir);
	qsort(names, count, sizeof(*names), name_cmp);
	names[count] = NULL;
	return names;
}

/* The checks a file passes before a byte of it is read. */
static const char *file_refused(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return S_ISLNK(st->st_mode) ? "a symlink" :
			S_ISFIFO(st->st_mode) ? "a FIFO" : "not a regular file";
	if (st->st_nlink != 1)
		return "hard-linked (more than one name)";
	if (st->st_size > PUSHADM_SPOOL_FILE_MAX)
		return "too large";
	return NULL;
}

static int read_fd(int fd, size_t size, char *buf)
{
	size_t got = 0;
	ssize_t ret;

	while (got < size) {
		ret = read(fd, buf + got, size - got);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return -1;
		got += (size_t)ret;
	}
	/* grown since fstat(): not what was checked */
	return read(fd, buf, 1) == 0 ? 0 : -1;
}

int pushadm_spool_read(struct pushadm_spool_dirs *dirs,
		       enum pushadm_spool_area area, const char *name,
		       struct pushcore_pool *pool,
		       struct pushcore_spool_entry **entry_r, uid_t *uid_r,
		       long long *ctime_r, const char **error_r)
{
	struct stat st, st2;
	const char *why;
	char *data;
	int fd;

	if (!pushcore_spool_name_valid(name)) {
		*error_r = "not a spool file name";
		return -1;
	}
	/* look before opening: a FIFO or a device is never opened */
	if (fstatat(dirs->fds[area], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		*error_r = pushcore_psprintf(pool, "stat failed: %s", strerror(errno));
		return -1;
	}
	if ((why = file_refused(&st)) != NULL) {
		*error_r = why;
		return -1;
	}
	fd = openat(dirs->fds[area], name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st2) < 0) {
		*error_r = pushcore_psprintf(pool, "open failed: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* replaced between the two looks: check what was opened */
	if ((why = file_refused(&st2)) != NULL || st2.st_ino != st.st_ino ||
	    st2.st_dev != st.st_dev) {
		*error_r = why != NULL ? why : "replaced while being opened";
		close(fd);
		return -1;
	}
	data = pushcore_palloc(pool, (size_t)st2.st_size + 1);
	if (read_fd(fd, (size_t)st2.st_size, data) < 0) {
		*error_r = "read failed or the file changed size";
		close(fd);
		return -1;
	}
	close(fd);
	if (pushcore_spool_parse(pool, data, (size_t)st2.st_size, entry_r, error_r) < 0)
		return -1;
	/* the name is the content's: an entry is never copied under another */
	if (strcmp(pushcore_spool_file_name(pool, *entry_r), name) != 0) {
		*error_r = "its name does not match its id and created time";
		return -1;
	}
	(*entry_r)->path = pushcore_psprintf(pool, "%s/%s", area_names[area], name);
	*uid_r = st2.st_uid;
	*ctime_r = (long long)st2.st_ctime;
	return 0;
}

void pushadm_spool_quarantine(struct pushadm_spool_dirs *dirs,
			      enum pushadm_spool_area area, const char *name,
			      const char *why)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	int qfd = dirs->fds[PUSHADM_SPOOL_AREA_QUARANTINE];
	const char *dest = name, *shown = printable_name(pool, name);
	char id[37];

	/* never over another quarantined file */
	if (faccessat(qfd, dest, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		pushcore_uuid(id);
		dest = pushcore_psprintf(pool, "%.200s.%s", name, id);
	}
	if (renameat(dirs->fds[area], name, qfd, dest) < 0)
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s/%s/%s is refused "
			     "(%s) but could not be moved to quarantine/: %s",
			     dirs->path, area_names[area], shown, why, strerror(errno));
	else
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s/%s/%s is refused "
			     "(%s); moved to %s/quarantine/%s, not sent", dirs->path,
			     area_names[area], shown, why, dirs->path,
			     printable_name(pool, dest));
	pushcore_pool_free(&pool);
}

int pushadm_spool_move(struct pushadm_spool_dirs *dirs,
		       enum pushadm_spool_area from, enum pushadm_spool_area to,
		       const struct pushcore_spool_entry *e)
{
	const char *error;

	if (pushcore_spool_writeat(dirs->fds[PUSHADM_SPOOL_AREA_TMP],
				   dirs->fds[to], e, &error) < 0) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s/%s: %s", dirs->path,
			     area_names[to], error);
		return -1;
	}
	if (from == to)
		return 0;
	return pushadm_spool_remove(dirs, from, e);
}

int pushadm_spool_remove(struct pushadm_spool_dirs *dirs,
			 enum pushadm_spool_area area,
			 const struct pushcore_spool_entry *e)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *name = pushcore_spool_file_name(pool, e);
	int ret = unlinkat(dirs->fds[area], name, 0);

	if (ret < 0)
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: unlink(%s/%s/%s) "
			     "failed: %s", dirs->path, area_names[area], name,
			     strerror(errno));
	pushcore_pool_free(&pool);
	return ret;
}

void pushadm_spool_clamp(const struct pushcore_spool_entry *e, long long ctime,
			 long long *created_secs_r, long long *next_r)
{
	long long created = e->created_usecs / 1000000;
	/* never tried: due when written; tried: backoff and Retry-After
	   stay under the bound */
	long long latest = e->attempts == 0 ? ctime :
		ctime + PUSHADM_SPOOL_MAX_DELAY_SECS;

	*created_secs_r = created < ctime ? created : ctime;
	*next_r = e->next_attempt < latest ? e->next_attempt : latest;
}

/* One file of new/ for the taker: checked, trusted, clamped. */
static int takeover_one(struct pushadm_spool_dirs *dirs, const char *name,
			struct pushadm_trust *trust,
			int (*take)(const struct pushcore_spool_entry *e, void *context),
			void *context)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry *e;
	long long ctime, created, now = (long long)time(NULL);
	const char *error;
	uid_t uid;
	int ret = 0, trusted = 0;

	if (pushadm_spool_read(dirs, PUSHADM_SPOOL_AREA_NEW, name, pool, &e,
			       &uid, &ctime, &error) < 0) {
		/* gone since the directory was read (a round's names are
		   read once: pushadm spool purge or run may take a file
		   meanwhile): nothing to refuse */
		if (faccessat(dirs->fds[PUSHADM_SPOOL_AREA_NEW], name, F_OK,
			      AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
			pushcore_pool_free(&pool);
			return 0;
		}
		pushadm_spool_quarantine(dirs, PUSHADM_SPOOL_AREA_NEW, name, error);
	} else if ((trusted = pushadm_trust_check(trust, uid, e->user, &error)) < 0) {
		/* the userdb can't answer now: the file waits for the next look */
		pushcore_log(PUSHCORE_LOG_WARNING, NULL, "spool: %s/new/%s waits: %s",
			     dirs->path, name, error);
	} else if (trusted == 0) {
		pushadm_spool_quarantine(dirs, PUSHADM_SPOOL_AREA_NEW, name,
			pushcore_psprintf(pool, "not trusted: %s", error));
	} else {
		/* the relay keeps these times: no file sets them beyond now */
		pushadm_spool_clamp(e, ctime < now ? ctime : now, &created,
				    &e->next_attempt);
		if (created < e->created_usecs / 1000000)
			e->created_usecs = created * 1000000;
		if (take(e, context) == 0) {
			(void)unlinkat(dirs->fds[PUSHADM_SPOOL_AREA_NEW], name, 0);
			ret = 1;
		}
	}
	pushcore_pool_free(&pool);
	return ret;
}

/* Whether a slice ends before the file at hand (looked files so far). */
static bool slice_full(const struct pushadm_spool_slice *slice,
		       unsigned int looked, long long end)
{
	return slice != NULL && (looked >= slice->max_files ||
		(slice->budget_msecs > 0 && looked > 0 && pushcore_mono_msecs() >= end));
}

void pushadm_spool_slice_free(struct pushadm_spool_slice *slice)
{
	if (slice->names_pool != NULL)
		pushcore_pool_free(&slice->names_pool);
	slice->names = NULL;
}

int pushadm_spool_takeover(struct pushadm_ctx *ctx __attribute__((unused)),
			   const char *spool_dir, struct pushadm_trust *trust,
			   struct pushadm_spool_slice *slice,
			   int (*take)(const struct pushcore_spool_entry *e, void *context),
			   void *context)
{
	long long end = pushcore_mono_msecs() +
		(slice == NULL ? 0 : slice->budget_msecs);
	struct pushadm_spool_dirs dirs;
	struct pushcore_pool *pool;
	const char **names, *error;
	unsigned int looked = 0;
	int taken = 0;

	if (slice != NULL)
		slice->more = false;
	if (pushadm_spool_dirs_open(spool_dir, true, &dirs, &error) < 0) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "%s", error);
		return -1;
	}
	/* A slice goes on with the names its round read: reading and
	   sorting every name for each slice of 64 made a spool of 10000
	   files cost 6.5 s of CPU (2000 files: 0.73 s) and ~40 ms of the
	   relay's loop per slice. */
	if (slice != NULL && slice->names != NULL) {
		names = slice->names;
		pool = slice->names_pool;
	} else {
		pool = pushcore_pool_new();
		names = pushadm_spool_names(&dirs, PUSHADM_SPOOL_AREA_NEW, true, pool);
	}
	for (; *names != NULL && !slice_full(slice, looked, end); names++, looked++) {
		taken += takeover_one(&dirs, *names, trust, take, context);
	}
	if (slice != NULL) {
		slice->more = *names != NULL;
		/* the rest of the round, for the next call */
		slice->names = slice->more ? names : NULL;
		slice->names_pool = slice->more ? pool : NULL;
	}
	if (slice == NULL || !slice->more)
		pushcore_pool_free(&pool);
	pushadm_spool_dirs_close(&dirs);
	return taken;
}
