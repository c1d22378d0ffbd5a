#ifndef PUSHCORE_MEM_H
#define PUSHCORE_MEM_H

#include "pushcore-api.h"

/* Memory for one lifetime (a transaction, a user, a parsed spec): many
   allocations, one free. Modelled on Dovecot's alloconly pools. */

#include <stdarg.h>
#include <stddef.h>

struct pushcore_pool;

PUSHCORE_API struct pushcore_pool *pushcore_pool_new(void);
PUSHCORE_API void pushcore_pool_free(struct pushcore_pool **pool);

/* Zero-filled; never returns NULL (aborts when memory is exhausted, as
   Dovecot does: a half-built notification is worse than none). */
PUSHCORE_API void *pushcore_palloc(struct pushcore_pool *pool, size_t size);
PUSHCORE_API char *pushcore_pstrdup(struct pushcore_pool *pool, const char *str);
PUSHCORE_API char *pushcore_pstrndup(struct pushcore_pool *pool, const void *data, size_t len);
PUSHCORE_API
char *pushcore_psprintf(struct pushcore_pool *pool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A growable byte string, always NUL-terminated. */
struct pushcore_buf {
	char *data;
	size_t len, size;
};

PUSHCORE_API void pushcore_buf_init(struct pushcore_buf *buf);
PUSHCORE_API void pushcore_buf_free(struct pushcore_buf *buf);
PUSHCORE_API void pushcore_buf_append(struct pushcore_buf *buf, const void *data, size_t len);
PUSHCORE_API void pushcore_buf_append_str(struct pushcore_buf *buf, const char *str);
PUSHCORE_API void pushcore_buf_append_c(struct pushcore_buf *buf, char c);
PUSHCORE_API
void pushcore_buf_printf(struct pushcore_buf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
PUSHCORE_API
void pushcore_buf_vprintf(struct pushcore_buf *buf, const char *fmt, va_list args)
	__attribute__((format(printf, 2, 0)));
/* Hands the string over to the caller (free() it); the buffer is reset. */
PUSHCORE_API char *pushcore_buf_steal(struct pushcore_buf *buf);

PUSHCORE_API void *pushcore_xmalloc(size_t size);
PUSHCORE_API void *pushcore_xrealloc(void *ptr, size_t size);
PUSHCORE_API char *pushcore_xstrdup(const char *str);

#endif
