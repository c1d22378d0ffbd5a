#ifndef PUSHCORE_JSON_H
#define PUSHCORE_JSON_H

#include "pushcore-api.h"

/* JSON generation, the only place that knows the JSON library (yajl), so it
   can be swapped here alone. Strings are made valid UTF-8 on the way in:
   untrusted text can never produce invalid JSON. */

#include <stddef.h>
#include <stdint.h>

struct pushcore_event;
struct pushcore_json;

PUSHCORE_API struct pushcore_json *pushcore_json_new(void);
PUSHCORE_API void pushcore_json_free(struct pushcore_json **json);

PUSHCORE_API void pushcore_json_object_open(struct pushcore_json *json);
PUSHCORE_API void pushcore_json_object_close(struct pushcore_json *json);
PUSHCORE_API void pushcore_json_array_open(struct pushcore_json *json);
PUSHCORE_API void pushcore_json_array_close(struct pushcore_json *json);
PUSHCORE_API void pushcore_json_key(struct pushcore_json *json, const char *key);
PUSHCORE_API void pushcore_json_string(struct pushcore_json *json, const char *str);
PUSHCORE_API void pushcore_json_int(struct pushcore_json *json, int64_t num);

/* Writes "key": value for every field the event carries, in the order of
   the event table. */
PUSHCORE_API
void pushcore_json_event_fields(struct pushcore_json *json,
				const struct pushcore_event *ev);

/* The document so far; valid until the next call on json. */
PUSHCORE_API const char *pushcore_json_result(struct pushcore_json *json, size_t *len_r);

#endif
