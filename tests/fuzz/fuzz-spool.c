/* libFuzzer target: spool files are read by the dispatcher (root) but any
   delivery user can write one; the parser must reject garbage cleanly and
   what it accepts must survive a write/parse round trip's invariants. */
#include "pushcore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry *e;
	const char *error;
	unsigned int i;

	if (pushcore_spool_parse(pool, (const char *)data, size, &e, &error) == 0) {
		/* a record, never a request: nothing that chooses a
		   destination, and a name that is a file name, not a path */
		if (!pushcore_spool_entry_valid(e, &error) || e->url != NULL ||
		    e->header_count != 0 || e->secret_file != NULL ||
		    e->tls_ca_file != NULL || e->driver == NULL ||
		    (e->body == NULL && e->body_len != 0) ||
		    !pushcore_spool_name_valid(pushcore_spool_file_name(pool, e)))
			abort();
		for (i = 0; i < e->header_count; i++)
			(void)strlen(e->headers[i]);
	}
	pushcore_pool_free(&pool);
	return 0;
}
