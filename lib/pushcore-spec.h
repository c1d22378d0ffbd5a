#ifndef PUSHCORE_SPEC_H
#define PUSHCORE_SPEC_H

#include "pushcore-api.h"

/* A driver spec as the reference plugin reads it:
     name[:key=value flag key2=value2 ...]
   The name ends at the first ':'; options are separated by spaces only (runs
   collapse); a token's key ends at its first '=' and the value is the rest
   (it may hold '=' and ':'); a token without '=' is a flag with value "".
   Keys are case-sensitive and a repeated key replaces the earlier value,
   except for keys the caller asks for with pushcore_spec_get_all(). */

#include <stdbool.h>

struct pushcore_pool;

struct pushcore_spec_option {
	const char *key;
	const char *value;
};

struct pushcore_spec {
	const char *name;
	const char *raw_options;	/* everything after the ':' */
	unsigned int count;
	struct pushcore_spec_option *options;	/* in the order written */
};

/* Returns NULL and sets *error_r for an empty name. */
PUSHCORE_API
struct pushcore_spec *pushcore_spec_parse(struct pushcore_pool *pool,
					  const char *str, const char **error_r);

/* A spec built option by option, for hosts whose configuration is typed
   (Dovecot 2.4's named blocks): values may hold spaces. A flag has value "". */
PUSHCORE_API
struct pushcore_spec *pushcore_spec_new(struct pushcore_pool *pool,
					const char *name);
PUSHCORE_API
void pushcore_spec_add(struct pushcore_pool *pool, struct pushcore_spec *spec,
		       const char *key, const char *value);

/* The last value given for key, or NULL. */
PUSHCORE_API const char *pushcore_spec_get(const struct pushcore_spec *spec, const char *key);
PUSHCORE_API bool pushcore_spec_has(const struct pushcore_spec *spec, const char *key);
/* Every value given for key (for repeatable options), NULL-terminated. */
PUSHCORE_API
const char **pushcore_spec_get_all(struct pushcore_pool *pool,
				   const struct pushcore_spec *spec,
				   const char *key);

/* Parses an unsigned decimal number; false on anything else. */
PUSHCORE_API bool pushcore_parse_uint(const char *str, unsigned int *num_r);
/* Parses a time the way Dovecot does: a number with an optional unit
   (ms, msecs, s, secs, m, mins, h, hours, d, days); a bare number means
   default_unit_msecs (1000 for seconds). */
PUSHCORE_API
bool pushcore_parse_time_msecs(const char *str, unsigned int default_unit_msecs,
			       unsigned int *msecs_r);

#endif
