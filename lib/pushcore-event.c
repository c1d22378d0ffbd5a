/* The event table and event construction. */
#include "pushcore-event.h"
#include "pushcore-mem.h"
#include "pushcore-text.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#define F(x) PUSHCORE_FIELD_##x
#define END PUSHCORE_FIELD_COUNT
#define MESSAGE_FIELDS F(FROM), F(FROM_ADDRESS), F(FROM_DISPLAY_NAME), \
	F(TO), F(TO_ADDRESS), F(TO_DISPLAY_NAME), F(SUBJECT), F(MESSAGE_ID), \
	F(DATE), F(TZ), F(SNIPPET), F(FLAGS), F(KEYWORDS)

static const struct pushcore_field_info field_table[PUSHCORE_FIELD_COUNT] = {
	[F(FROM)] = { "from", PUSHCORE_FIELD_TYPE_STRING },
	[F(FROM_ADDRESS)] = { "from_address", PUSHCORE_FIELD_TYPE_STRING },
	[F(FROM_DISPLAY_NAME)] = { "from_display_name", PUSHCORE_FIELD_TYPE_STRING },
	[F(TO)] = { "to", PUSHCORE_FIELD_TYPE_STRING },
	[F(TO_ADDRESS)] = { "to_address", PUSHCORE_FIELD_TYPE_STRING },
	[F(TO_DISPLAY_NAME)] = { "to_display_name", PUSHCORE_FIELD_TYPE_STRING },
	[F(SUBJECT)] = { "subject", PUSHCORE_FIELD_TYPE_STRING },
	[F(MESSAGE_ID)] = { "message_id", PUSHCORE_FIELD_TYPE_STRING },
	[F(DATE)] = { "date", PUSHCORE_FIELD_TYPE_INT },
	[F(TZ)] = { "tz", PUSHCORE_FIELD_TYPE_INT },
	[F(SNIPPET)] = { "snippet", PUSHCORE_FIELD_TYPE_STRING },
	[F(FLAGS)] = { "flags", PUSHCORE_FIELD_TYPE_FLAGS },
	[F(KEYWORDS)] = { "keywords", PUSHCORE_FIELD_TYPE_LIST },
	[F(FLAGS_OLD)] = { "flags_old", PUSHCORE_FIELD_TYPE_FLAGS },
	[F(KEYWORDS_SET)] = { "keywords_set", PUSHCORE_FIELD_TYPE_LIST },
	[F(KEYWORDS_CLEAR)] = { "keywords_clear", PUSHCORE_FIELD_TYPE_LIST },
	[F(KEYWORDS_OLD)] = { "keywords_old", PUSHCORE_FIELD_TYPE_LIST },
	[F(MAILBOX_OLD)] = { "mailbox_old", PUSHCORE_FIELD_TYPE_STRING },
};

static const struct pushcore_event_info event_table[PUSHCORE_EVENT_COUNT] = {
	[PUSHCORE_EVENT_MESSAGE_NEW] =
		{ "MessageNew", "message_new", true, { MESSAGE_FIELDS, END } },
	[PUSHCORE_EVENT_MESSAGE_APPEND] =
		{ "MessageAppend", "message_append", true, { MESSAGE_FIELDS, END } },
	[PUSHCORE_EVENT_MESSAGE_READ] =
		{ "MessageRead", "message_read", true, { END } },
	[PUSHCORE_EVENT_MESSAGE_TRASH] =
		{ "MessageTrash", "message_trash", true, { END } },
	[PUSHCORE_EVENT_MESSAGE_EXPUNGE] =
		{ "MessageExpunge", "message_expunge", true, { END } },
	[PUSHCORE_EVENT_FLAGS_SET] =
		{ "FlagsSet", "flags_set", true,
		  { F(FLAGS), F(KEYWORDS_SET), END } },
	[PUSHCORE_EVENT_FLAGS_CLEAR] =
		{ "FlagsClear", "flags_clear", true,
		  { F(FLAGS), F(FLAGS_OLD), F(KEYWORDS_CLEAR), F(KEYWORDS_OLD), END } },
	[PUSHCORE_EVENT_MAILBOX_CREATE] =
		{ "MailboxCreate", "mailbox_create", false, { END } },
	[PUSHCORE_EVENT_MAILBOX_DELETE] =
		{ "MailboxDelete", "mailbox_delete", false, { END } },
	[PUSHCORE_EVENT_MAILBOX_RENAME] =
		{ "MailboxRename", "mailbox_rename", false, { F(MAILBOX_OLD), END } },
	[PUSHCORE_EVENT_MAILBOX_SUBSCRIBE] =
		{ "MailboxSubscribe", "mailbox_subscribe", false, { END } },
	[PUSHCORE_EVENT_MAILBOX_UNSUBSCRIBE] =
		{ "MailboxUnsubscribe", "mailbox_unsubscribe", false, { END } },
};

static const char *const flag_names[] = {
	"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent",
	NULL
};

const struct pushcore_event_info *
pushcore_event_info(enum pushcore_event_type type)
{
	return &event_table[type];
}

const char *pushcore_event_name(enum pushcore_event_type type)
{
	return event_table[type].name;
}

const struct pushcore_field_info *pushcore_field_info(enum pushcore_field field)
{
	return &field_table[field];
}

const char *pushcore_flag_name(unsigned int bit)
{
	return bit < sizeof(flag_names) / sizeof(flag_names[0]) ?
		flag_names[bit] : NULL;
}

int pushcore_event_lookup(const char *name)
{
	int i;

	for (i = 0; i < PUSHCORE_EVENT_COUNT; i++) {
		if (strcasecmp(pushcore_event_info(i)->name, name) == 0)
			return i;
	}
	return -1;
}

bool pushcore_event_has_field(enum pushcore_event_type type,
			      enum pushcore_field field)
{
	const enum pushcore_field *f;

	for (f = pushcore_event_info(type)->fields; *f != END; f++) {
		if (*f == field)
			return true;
	}
	return false;
}

void pushcore_uuid(char buf[37])
{
	unsigned char r[16];
	size_t got = 0;
	ssize_t ret;

	while (got < sizeof(r)) {
		ret = getrandom(r + got, sizeof(r) - got, 0);
		if (ret <= 0)
			break;
		got += (size_t)ret;
	}
	if (got < sizeof(r)) {
		/* no entropy source at all: still unique enough per process */
		struct timeval tv;

		gettimeofday(&tv, NULL);
		memcpy(r, &tv, sizeof(tv) < sizeof(r) ? sizeof(tv) : sizeof(r));
		r[15] ^= (unsigned char)getpid();
	}
	r[6] = (r[6] & 0x0F) | 0x40;
	r[8] = (r[8] & 0x3F) | 0x80;
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
		 r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

struct pushcore_event *
pushcore_event_new(struct pushcore_pool *pool, enum pushcore_event_type type,
		   const char *mailbox)
{
	struct pushcore_event *ev = pushcore_palloc(pool, sizeof(*ev));
	struct timeval tv;

	ev->type = type;
	ev->mailbox = pushcore_pstrdup(pool, mailbox);
	pushcore_uuid(ev->id);
	gettimeofday(&tv, NULL);
	ev->time_usecs = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	return ev;
}

void pushcore_event_set_str(struct pushcore_pool *pool, struct pushcore_event *ev,
			    enum pushcore_field field, const char *value)
{
	ev->fields[field].set = value != NULL;
	ev->fields[field].str = pushcore_pstrdup(pool, value);
}

void pushcore_event_set_int(struct pushcore_event *ev,
			    enum pushcore_field field, int64_t value)
{
	ev->fields[field].set = true;
	ev->fields[field].num = value;
}

void pushcore_event_set_list(struct pushcore_pool *pool, struct pushcore_event *ev,
			     enum pushcore_field field, const char *const *list)
{
	unsigned int i, count = 0;
	const char **copy;

	while (list != NULL && list[count] != NULL)
		count++;
	copy = pushcore_palloc(pool, sizeof(*copy) * (count + 1));
	for (i = 0; i < count; i++)
		copy[i] = pushcore_pstrdup(pool, list[i]);
	ev->fields[field].set = true;
	ev->fields[field].list = copy;
}

static void append_flags(struct pushcore_buf *buf, int64_t flags)
{
	unsigned int i;
	bool first = true;

	pushcore_buf_append_c(buf, '(');
	for (i = 0; pushcore_flag_name(i) != NULL; i++) {
		if ((flags & (1 << i)) == 0)
			continue;
		if (!first)
			pushcore_buf_append_c(buf, ' ');
		pushcore_buf_append_str(buf, pushcore_flag_name(i));
		first = false;
	}
	pushcore_buf_append_c(buf, ')');
}

static void append_list(struct pushcore_buf *buf, const char *const *list)
{
	pushcore_buf_append_c(buf, '(');
	for (; list != NULL && *list != NULL; list++) {
		pushcore_append_quoted(buf, *list);
		if (list[1] != NULL)
			pushcore_buf_append_c(buf, ' ');
	}
	pushcore_buf_append_c(buf, ')');
}

void pushcore_event_append_line(struct pushcore_buf *buf,
				const struct pushcore_event *ev)
{
	const struct pushcore_event_info *info = pushcore_event_info(ev->type);
	const enum pushcore_field *f;
	const struct pushcore_value *val;

	pushcore_buf_append_str(buf, info->name);
	pushcore_buf_append_str(buf, " mailbox=");
	pushcore_append_quoted(buf, ev->mailbox);
	if (info->is_message)
		pushcore_buf_printf(buf, " uid=%u", ev->uid);
	if (info->is_message || ev->uidvalidity != 0)
		pushcore_buf_printf(buf, " uidvalidity=%u", ev->uidvalidity);
	for (f = info->fields; *f != PUSHCORE_FIELD_COUNT; f++) {
		val = &ev->fields[*f];
		if (!val->set)
			continue;
		pushcore_buf_printf(buf, " %s=", pushcore_field_info(*f)->name);
		switch (pushcore_field_info(*f)->type) {
		case PUSHCORE_FIELD_TYPE_STRING:
			pushcore_append_quoted(buf, val->str);
			break;
		case PUSHCORE_FIELD_TYPE_INT:
			pushcore_buf_printf(buf, "%lld", (long long)val->num);
			break;
		case PUSHCORE_FIELD_TYPE_FLAGS:
			append_flags(buf, val->num);
			break;
		case PUSHCORE_FIELD_TYPE_LIST:
			append_list(buf, val->list);
			break;
		}
	}
	pushcore_buf_printf(buf, " id=%s", ev->id);
}
