#ifndef PUSHCORE_EVENT_H
#define PUSHCORE_EVENT_H

#include "pushcore-api.h"

/* The mail events (RFC 5423 names) and their fields. One table describes
   them; the JSON builders, dlog, the Lua bridge and the docs all read it. */

#include <stdbool.h>
#include <stdint.h>

struct pushcore_pool;

enum pushcore_event_type {
	PUSHCORE_EVENT_MESSAGE_NEW,
	PUSHCORE_EVENT_MESSAGE_APPEND,
	PUSHCORE_EVENT_MESSAGE_READ,
	PUSHCORE_EVENT_MESSAGE_TRASH,
	PUSHCORE_EVENT_MESSAGE_EXPUNGE,
	PUSHCORE_EVENT_FLAGS_SET,
	PUSHCORE_EVENT_FLAGS_CLEAR,
	PUSHCORE_EVENT_MAILBOX_CREATE,
	PUSHCORE_EVENT_MAILBOX_DELETE,
	PUSHCORE_EVENT_MAILBOX_RENAME,
	PUSHCORE_EVENT_MAILBOX_SUBSCRIBE,
	PUSHCORE_EVENT_MAILBOX_UNSUBSCRIBE,
	PUSHCORE_EVENT_COUNT
};
#define PUSHCORE_EVENT_MASK(type) (1U << (type))
#define PUSHCORE_EVENT_MASK_ALL ((1U << PUSHCORE_EVENT_COUNT) - 1)

enum pushcore_field_type {
	PUSHCORE_FIELD_TYPE_STRING,
	PUSHCORE_FIELD_TYPE_INT,
	PUSHCORE_FIELD_TYPE_FLAGS,	/* system flags: array of "\Seen"... */
	PUSHCORE_FIELD_TYPE_LIST,	/* keywords: array of strings */
};

enum pushcore_field {
	PUSHCORE_FIELD_FROM,
	PUSHCORE_FIELD_FROM_ADDRESS,
	PUSHCORE_FIELD_FROM_DISPLAY_NAME,
	PUSHCORE_FIELD_TO,
	PUSHCORE_FIELD_TO_ADDRESS,
	PUSHCORE_FIELD_TO_DISPLAY_NAME,
	PUSHCORE_FIELD_SUBJECT,
	PUSHCORE_FIELD_MESSAGE_ID,
	PUSHCORE_FIELD_DATE,
	PUSHCORE_FIELD_TZ,
	PUSHCORE_FIELD_SNIPPET,
	PUSHCORE_FIELD_FLAGS,
	PUSHCORE_FIELD_KEYWORDS,
	PUSHCORE_FIELD_FLAGS_OLD,
	PUSHCORE_FIELD_KEYWORDS_SET,
	PUSHCORE_FIELD_KEYWORDS_CLEAR,
	PUSHCORE_FIELD_KEYWORDS_OLD,
	PUSHCORE_FIELD_MAILBOX_OLD,
	PUSHCORE_FIELD_COUNT
};

/* System flags, the values of Dovecot's enum mail_flags. */
enum pushcore_flag {
	PUSHCORE_FLAG_ANSWERED = 0x01,
	PUSHCORE_FLAG_FLAGGED = 0x02,
	PUSHCORE_FLAG_DELETED = 0x04,
	PUSHCORE_FLAG_SEEN = 0x08,
	PUSHCORE_FLAG_DRAFT = 0x10,
	PUSHCORE_FLAG_RECENT = 0x20,
};

struct pushcore_field_info {
	const char *name;	/* JSON key and Lua field */
	enum pushcore_field_type type;
};

struct pushcore_event_info {
	const char *name;	/* "MessageNew" */
	const char *lua_name;	/* "message_new" */
	bool is_message;	/* carries uid and uidvalidity */
	/* the fields this event may carry, in this order, ending with
	   PUSHCORE_FIELD_COUNT */
	enum pushcore_field fields[PUSHCORE_FIELD_COUNT + 1];
};

struct pushcore_value {
	bool set;
	const char *str;
	int64_t num;			/* INT; FLAGS as bitmask */
	const char *const *list;	/* NULL-terminated */
};

struct pushcore_event {
	struct pushcore_event *next;
	enum pushcore_event_type type;
	/* unique id of this notification (UUID v4), stable across retries */
	char id[37];
	/* when it happened, microseconds since the epoch */
	int64_t time_usecs;
	const char *mailbox;
	uint32_t uid, uidvalidity;
	struct pushcore_value fields[PUSHCORE_FIELD_COUNT];
};

/* The names of pushcore_events[] in the same order, for code that checks
   names without linking libpushcore (Dovecot 2.4's settings module, which
   the config process loads); tests/unit/test-settings.c keeps them equal. */
#define PUSHCORE_EVENT_NAMES \
	"MessageNew", "MessageAppend", "MessageRead", "MessageTrash", \
	"MessageExpunge", "FlagsSet", "FlagsClear", "MailboxCreate", \
	"MailboxDelete", "MailboxRename", "MailboxSubscribe", \
	"MailboxUnsubscribe"

/* The event table, the field table and the flag names. Accessors, not
   arrays: adding an event or a field changes no exported symbol's size. */
PUSHCORE_API
const struct pushcore_event_info *
pushcore_event_info(enum pushcore_event_type type);
/* "MessageNew" */
PUSHCORE_API const char *pushcore_event_name(enum pushcore_event_type type);
PUSHCORE_API const struct pushcore_field_info *pushcore_field_info(enum pushcore_field field);
/* bit i of PUSHCORE_FLAG_* -> "\Answered"...; NULL past the last */
PUSHCORE_API const char *pushcore_flag_name(unsigned int bit);

/* Case-insensitive, like the reference. Returns -1 if unknown. */
PUSHCORE_API int pushcore_event_lookup(const char *name);

/* A new event with a fresh id and the current time. */
PUSHCORE_API
struct pushcore_event *
pushcore_event_new(struct pushcore_pool *pool, enum pushcore_event_type type,
		   const char *mailbox);

/* Setters copy into pool. Strings are stored as given; whoever builds the
   event from untrusted input cleans it first (pushcore_header_clean). */
PUSHCORE_API
void pushcore_event_set_str(struct pushcore_pool *pool, struct pushcore_event *ev,
			    enum pushcore_field field, const char *value);
PUSHCORE_API
void pushcore_event_set_int(struct pushcore_event *ev,
			    enum pushcore_field field, int64_t value);
PUSHCORE_API
void pushcore_event_set_list(struct pushcore_pool *pool, struct pushcore_event *ev,
			     enum pushcore_field field, const char *const *list);

PUSHCORE_API
bool pushcore_event_has_field(enum pushcore_event_type type,
			      enum pushcore_field field);

/* Fills buf (37 bytes) with a random UUID v4. */
PUSHCORE_API void pushcore_uuid(char buf[37]);

struct pushcore_buf;
/* Appends the event as one line of key=value pairs, strings quoted and
   escaped: "MessageNew mailbox=\"INBOX\" uid=1 ... subject=\"Hi\"". */
PUSHCORE_API
void pushcore_event_append_line(struct pushcore_buf *buf,
				const struct pushcore_event *ev);

#endif
