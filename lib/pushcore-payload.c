/* The versioned event document. */
#include "pushcore-payload.h"
#include "pushcore-event.h"
#include "pushcore-json.h"

#include <stdio.h>
#include <time.h>

void pushcore_payload_time(char buf[64], long long time_usecs)
{
	time_t secs = (time_t)(time_usecs / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, time_usecs % 1000000);
}

static void payload_body(struct pushcore_json *json, const char *user,
			 const struct pushcore_event *ev)
{
	const struct pushcore_event_info *info = pushcore_event_info(ev->type);
	char time_str[64];

	pushcore_payload_time(time_str, ev->time_usecs);
	pushcore_json_key(json, "id");
	pushcore_json_string(json, ev->id);
	pushcore_json_key(json, "time");
	pushcore_json_string(json, time_str);
	pushcore_json_key(json, "event");
	pushcore_json_string(json, info->name);
	pushcore_json_key(json, "user");
	pushcore_json_string(json, user);
	pushcore_json_key(json, "mailbox");
	pushcore_json_string(json, ev->mailbox);
	if (info->is_message) {
		pushcore_json_key(json, "uid");
		pushcore_json_int(json, ev->uid);
	}
	if (info->is_message || ev->uidvalidity != 0) {
		pushcore_json_key(json, "uidvalidity");
		pushcore_json_int(json, ev->uidvalidity);
	}
	pushcore_json_event_fields(json, ev);
}

void pushcore_payload_event(struct pushcore_json *json, const char *user,
			    const struct pushcore_event *ev)
{
	pushcore_json_object_open(json);
	pushcore_json_key(json, "schema_version");
	pushcore_json_int(json, PUSHCORE_PAYLOAD_SCHEMA_VERSION);
	payload_body(json, user, ev);
	pushcore_json_object_close(json);
}

void pushcore_payload_batch(struct pushcore_json *json, const char *id,
			    const char *user,
			    const struct pushcore_event *const *events,
			    unsigned int count)
{
	unsigned int i;

	pushcore_json_object_open(json);
	pushcore_json_key(json, "schema_version");
	pushcore_json_int(json, PUSHCORE_PAYLOAD_SCHEMA_VERSION);
	pushcore_json_key(json, "id");
	pushcore_json_string(json, id);
	pushcore_json_key(json, "events");
	pushcore_json_array_open(json);
	for (i = 0; i < count; i++) {
		pushcore_json_object_open(json);
		payload_body(json, user, events[i]);
		pushcore_json_object_close(json);
	}
	pushcore_json_array_close(json);
	pushcore_json_object_close(json);
}
