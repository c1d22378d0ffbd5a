#ifndef PUSHCORE_PAYLOAD_H
#define PUSHCORE_PAYLOAD_H

#include "pushcore-api.h"

/* The versioned JSON document of one event, the one schema every generic
   driver (http, redis) sends: docs/webhook.md and docs/webhook.schema.json
   describe it. */

#define PUSHCORE_PAYLOAD_SCHEMA_VERSION 1

struct pushcore_json;
struct pushcore_event;

/* Writes the event as one JSON object. */
PUSHCORE_API
void pushcore_payload_event(struct pushcore_json *json, const char *user,
			    const struct pushcore_event *ev);

/* Writes {"schema_version":1,"id":ID,"events":[...]} for several events. */
PUSHCORE_API
void pushcore_payload_batch(struct pushcore_json *json, const char *id,
			    const char *user,
			    const struct pushcore_event *const *events,
			    unsigned int count);

#ifdef PUSHCORE_INTERNAL	/* libpushcore's own (not exported) */
/* ISO 8601 UTC with microseconds: "2026-11-24T22:55:36.123456Z". */
void pushcore_payload_time(char buf[64], long long time_usecs);
#endif

#endif
