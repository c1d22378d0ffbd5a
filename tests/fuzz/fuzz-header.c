/* libFuzzer target: message headers are hostile input. Whatever they hold,
   the cleaned value is valid UTF-8 on one line, its JSON is valid, and
   redaction and log quoting never crash. */
#include "pushcore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	char *raw = pushcore_pstrndup(pool, data, size);
	const char *clean = pushcore_header_clean(pool, raw);
	struct pushcore_json *json = pushcore_json_new();
	struct pushcore_buf buf;
	const char *out;
	size_t len;

	if (!pushcore_utf8_is_valid(clean, strlen(clean)) ||
	    strpbrk(clean, "\r\n") != NULL)
		abort();
	pushcore_json_string(json, raw);
	out = pushcore_json_result(json, &len);
	if (!pushcore_utf8_is_valid(out, len) || memchr(out, '\n', len) != NULL)
		abort();
	pushcore_json_free(&json);
	(void)pushcore_redact(pool, raw);
	pushcore_buf_init(&buf);
	pushcore_append_quoted(&buf, raw);
	if (strpbrk(buf.data, "\r\n") != NULL)
		abort();
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
	return 0;
}
