/* Reading small files: secrets and tokens that drivers load at init. */
#include "pushcore-file.h"
#include "pushcore-mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pushcore_file_read(struct pushcore_pool *pool, const char *path,
		       size_t max_size, char **content_r, size_t *size_r,
		       const char **error_r)
{
	struct stat st;
	size_t got = 0;
	ssize_t ret;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*error_r = pushcore_psprintf(pool, "open(%s) failed: %s", path,
					     strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max_size) {
		*error_r = pushcore_psprintf(pool, "%s is not a regular file of "
					     "at most %zu bytes", path, max_size);
		close(fd);
		return -1;
	}
	buf = pushcore_palloc(pool, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	       (ret = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)ret;
	close(fd);
	if (got != (size_t)st.st_size) {
		*error_r = pushcore_psprintf(pool, "read(%s) failed", path);
		return -1;
	}
	*content_r = buf;
	*size_r = got;
	return 0;
}
