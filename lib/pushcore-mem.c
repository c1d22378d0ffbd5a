/* Pools and growable strings for libpushcore. */
#include "pushcore-mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BLOCK_MIN 4096

/* the strictest alignment of any type we store (C99 has no max_align_t) */
union pool_align {
	long long ll;
	long double ld;
	void *ptr;
};

struct pool_block {
	struct pool_block *prev;
	size_t used, size;
	union pool_align data[];
};

struct pushcore_pool {
	struct pool_block *block;
};

static void out_of_memory_size(size_t size)
{
	fprintf(stderr, "libpushcore: out of memory (%zu bytes)\n", size);
	abort();
}

void *pushcore_xmalloc(size_t size)
{
	void *ptr = malloc(size == 0 ? 1 : size);

	if (ptr == NULL)
		out_of_memory_size(size);
	return ptr;
}

void *pushcore_xrealloc(void *ptr, size_t size)
{
	void *ret = realloc(ptr, size == 0 ? 1 : size);

	if (ret == NULL)
		out_of_memory_size(size);
	return ret;
}

char *pushcore_xstrdup(const char *str)
{
	size_t len = strlen(str) + 1;

	return memcpy(pushcore_xmalloc(len), str, len);
}

struct pushcore_pool *pushcore_pool_new(void)
{
	struct pushcore_pool *pool = pushcore_xmalloc(sizeof(*pool));

	pool->block = NULL;
	return pool;
}

void pushcore_pool_free(struct pushcore_pool **_pool)
{
	struct pushcore_pool *pool = *_pool;
	struct pool_block *block, *prev;

	if (pool == NULL)
		return;
	*_pool = NULL;
	for (block = pool->block; block != NULL; block = prev) {
		prev = block->prev;
		free(block);
	}
	free(pool);
}

void *pushcore_palloc(struct pushcore_pool *pool, size_t size)
{
	const size_t align = sizeof(union pool_align);
	struct pool_block *block = pool->block;
	void *ptr;

	if (size > SIZE_MAX / 2)
		out_of_memory_size(size);
	size = (size + align - 1) / align * align;
	if (block == NULL || block->size - block->used < size) {
		size_t bsize = size > POOL_BLOCK_MIN ? size : POOL_BLOCK_MIN;

		block = pushcore_xmalloc(sizeof(*block) + bsize);
		block->prev = pool->block;
		block->used = 0;
		block->size = bsize;
		pool->block = block;
	}
	ptr = (char *)block->data + block->used;
	block->used += size;
	return memset(ptr, 0, size);
}

char *pushcore_pstrndup(struct pushcore_pool *pool, const void *data, size_t len)
{
	char *str = pushcore_palloc(pool, len + 1);

	memcpy(str, data, len);
	return str;
}

char *pushcore_pstrdup(struct pushcore_pool *pool, const char *str)
{
	return str == NULL ? NULL : pushcore_pstrndup(pool, str, strlen(str));
}

char *pushcore_psprintf(struct pushcore_pool *pool, const char *fmt, ...)
{
	struct pushcore_buf buf;
	va_list args;
	char *ret;

	pushcore_buf_init(&buf);
	va_start(args, fmt);
	pushcore_buf_vprintf(&buf, fmt, args);
	va_end(args);
	ret = pushcore_pstrndup(pool, buf.data, buf.len);
	pushcore_buf_free(&buf);
	return ret;
}

void pushcore_buf_init(struct pushcore_buf *buf)
{
	buf->size = 64;
	buf->len = 0;
	buf->data = pushcore_xmalloc(buf->size);
	buf->data[0] = '\0';
}

void pushcore_buf_free(struct pushcore_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->size = 0;
}

static void buf_reserve(struct pushcore_buf *buf, size_t more)
{
	if (more >= SIZE_MAX / 2 - buf->len)
		out_of_memory_size(more);
	if (buf->len + more + 1 <= buf->size)
		return;
	/* a buffer given back with pushcore_buf_free() is used again from
	   nothing (doubling a size of 0 would never end) */
	if (buf->size == 0)
		buf->size = 64;
	while (buf->len + more + 1 > buf->size)
		buf->size *= 2;
	buf->data = pushcore_xrealloc(buf->data, buf->size);
}

void pushcore_buf_append(struct pushcore_buf *buf, const void *data, size_t len)
{
	buf_reserve(buf, len);
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void pushcore_buf_append_str(struct pushcore_buf *buf, const char *str)
{
	pushcore_buf_append(buf, str, strlen(str));
}

void pushcore_buf_append_c(struct pushcore_buf *buf, char c)
{
	pushcore_buf_append(buf, &c, 1);
}

void pushcore_buf_vprintf(struct pushcore_buf *buf, const char *fmt, va_list args)
{
	va_list copy;
	int len;

	va_copy(copy, args);
	len = vsnprintf(buf->data + buf->len, buf->size - buf->len, fmt, copy);
	va_end(copy);
	if (len < 0)
		return;
	if ((size_t)len >= buf->size - buf->len) {
		buf_reserve(buf, (size_t)len);
		vsnprintf(buf->data + buf->len, buf->size - buf->len, fmt, args);
	}
	buf->len += (size_t)len;
}

void pushcore_buf_printf(struct pushcore_buf *buf, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	pushcore_buf_vprintf(buf, fmt, args);
	va_end(args);
}

char *pushcore_buf_steal(struct pushcore_buf *buf)
{
	char *ret = buf->data;

	pushcore_buf_init(buf);
	return ret;
}
