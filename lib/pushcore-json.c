/* JSON built with yajl's generator. */
#include "pushcore-json.h"
#include "pushcore-event.h"
#include "pushcore-mem.h"
#include "pushcore-text.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

struct pushcore_json {
	yajl_gen gen;
	struct pushcore_buf scratch;
};

struct pushcore_json *pushcore_json_new(void)
{
	struct pushcore_json *json = pushcore_xmalloc(sizeof(*json));

	json->gen = yajl_gen_alloc(NULL);
	if (json->gen == NULL)
		abort();
	/* we make strings valid ourselves: an invalid byte becomes U+FFFD
	   instead of failing the whole notification */
	yajl_gen_config(json->gen, yajl_gen_validate_utf8, 0);
	pushcore_buf_init(&json->scratch);
	return json;
}

void pushcore_json_free(struct pushcore_json **_json)
{
	struct pushcore_json *json = *_json;

	if (json == NULL)
		return;
	*_json = NULL;
	yajl_gen_free(json->gen);
	pushcore_buf_free(&json->scratch);
	free(json);
}

void pushcore_json_object_open(struct pushcore_json *json)
{
	yajl_gen_map_open(json->gen);
}

void pushcore_json_object_close(struct pushcore_json *json)
{
	yajl_gen_map_close(json->gen);
}

void pushcore_json_array_open(struct pushcore_json *json)
{
	yajl_gen_array_open(json->gen);
}

void pushcore_json_array_close(struct pushcore_json *json)
{
	yajl_gen_array_close(json->gen);
}

void pushcore_json_string(struct pushcore_json *json, const char *str)
{
	size_t len = strlen(str);

	if (pushcore_utf8_is_valid(str, len)) {
		yajl_gen_string(json->gen, (const unsigned char *)str, len);
		return;
	}
	json->scratch.len = 0;
	pushcore_utf8_append_valid(&json->scratch, str, len);
	yajl_gen_string(json->gen, (const unsigned char *)json->scratch.data,
			json->scratch.len);
}

void pushcore_json_key(struct pushcore_json *json, const char *key)
{
	pushcore_json_string(json, key);
}

void pushcore_json_int(struct pushcore_json *json, int64_t num)
{
	yajl_gen_integer(json->gen, (long long)num);
}

static void json_flags(struct pushcore_json *json, int64_t flags)
{
	unsigned int i;

	pushcore_json_array_open(json);
	for (i = 0; pushcore_flag_name(i) != NULL; i++) {
		if ((flags & (1 << i)) != 0)
			pushcore_json_string(json, pushcore_flag_name(i));
	}
	pushcore_json_array_close(json);
}

static void json_list(struct pushcore_json *json, const char *const *list)
{
	pushcore_json_array_open(json);
	for (; list != NULL && *list != NULL; list++)
		pushcore_json_string(json, *list);
	pushcore_json_array_close(json);
}

void pushcore_json_event_fields(struct pushcore_json *json,
				const struct pushcore_event *ev)
{
	const enum pushcore_field *f;
	const struct pushcore_value *val;

	for (f = pushcore_event_info(ev->type)->fields; *f != PUSHCORE_FIELD_COUNT; f++) {
		val = &ev->fields[*f];
		if (!val->set)
			continue;
		pushcore_json_key(json, pushcore_field_info(*f)->name);
		switch (pushcore_field_info(*f)->type) {
		case PUSHCORE_FIELD_TYPE_STRING:
			pushcore_json_string(json, val->str);
			break;
		case PUSHCORE_FIELD_TYPE_INT:
			pushcore_json_int(json, val->num);
			break;
		case PUSHCORE_FIELD_TYPE_FLAGS:
			json_flags(json, val->num);
			break;
		case PUSHCORE_FIELD_TYPE_LIST:
			json_list(json, val->list);
			break;
		}
	}
}

const char *pushcore_json_result(struct pushcore_json *json, size_t *len_r)
{
	const unsigned char *buf;

	yajl_gen_get_buf(json->gen, &buf, len_r);
	return (const char *)buf;
}
