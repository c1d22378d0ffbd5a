#ifndef PUSHCORE_FILE_H
#define PUSHCORE_FILE_H

#include "pushcore-api.h"

#include <stddef.h>

struct pushcore_pool;

/* Reads a whole small file (secrets, tokens) into pool, NUL-terminated.
   Returns -1 with *error_r naming the path and the cause (never the
   content) if it can't be read or is larger than max_size. */
PUSHCORE_API
int pushcore_file_read(struct pushcore_pool *pool, const char *path,
		       size_t max_size, char **content_r, size_t *size_r,
		       const char **error_r);

#endif
