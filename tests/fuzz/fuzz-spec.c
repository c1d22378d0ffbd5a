/* libFuzzer target: driver specs come from configuration and userdb extra
   fields; the parser must never crash, whatever the bytes. */
#include "pushcore.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	char *str = pushcore_pstrndup(pool, data, size);
	const char *error;
	struct pushcore_spec *spec = pushcore_spec_parse(pool, str, &error);
	unsigned int i, n;

	if (spec != NULL) {
		for (i = 0; i < spec->count; i++) {
			(void)pushcore_spec_get(spec, spec->options[i].key);
			(void)pushcore_spec_get_all(pool, spec, spec->options[i].key);
			(void)pushcore_parse_uint(spec->options[i].value, &n);
			(void)pushcore_parse_time_msecs(spec->options[i].value, 1000, &n);
		}
	}
	pushcore_pool_free(&pool);
	return 0;
}
