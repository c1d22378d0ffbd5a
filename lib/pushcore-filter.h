#ifndef PUSHCORE_FILTER_H
#define PUSHCORE_FILTER_H

#include "pushcore-api.h"

/* The events= and mailboxes= options every generic driver (http, redis)
   takes: comma-separated event names (case-insensitive) and mailbox names
   or shell wildcard patterns. */

#include <stdbool.h>
#include <stdint.h>

struct pushcore_driver_instance;
struct pushcore_pool;

struct pushcore_filter {
	const char **mailboxes;		/* NULL: every mailbox */
};

/* Sets the instance's events from events= (all if absent) and filter_r from
   mailboxes=. Returns -1 with *error_r naming a bad value. */
PUSHCORE_API
int pushcore_filter_init(struct pushcore_driver_instance *inst,
			 struct pushcore_filter *filter_r, const char **error_r);
PUSHCORE_API
bool pushcore_filter_mailbox(const struct pushcore_filter *filter,
			     const char *mailbox);

/* Splits a comma-separated list into inst's pool, NULL-terminated. */
PUSHCORE_API const char **pushcore_split_list(struct pushcore_pool *pool, const char *str);

#endif
