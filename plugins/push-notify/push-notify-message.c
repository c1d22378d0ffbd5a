/* The fields of a new or appended message, read while it is saved (as the
   reference does): headers decoded to UTF-8 and unfolded, the snippet
   Dovecot builds, date, flags and keywords. */
#include "lib.h"
#include "str.h"
#include "message-address.h"
#include "charset-utf8.h"
#include "message-header-decode.h"
#include "mail-storage.h"
#include "pushcore.h"
#include "push-notify-plugin.h"

static void set_clean(struct pushcore_txn *txn, struct pushcore_event *ev,
		      enum pushcore_field field, const char *value)
{
	if (value != NULL)
		pushcore_event_set_str(pushcore_txn_pool(txn), ev, field,
				       pushcore_header_clean(pushcore_txn_pool(txn), value));
}

static bool decode_part(const unsigned char *data, size_t size,
			const char *charset, void *context)
{
	string_t *str = context;
	enum charset_result result;

	/* Text outside encoded words is kept as it is: pushcore_header_clean
	   then turns each invalid byte into U+FFFD, as the reference's JSON
	   escaping does (Dovecot's own decoder would merge runs of them). */
	if (charset == NULL ||
	    charset_to_utf8_str(charset, NULL, t_strndup(data, size), str,
				&result) < 0)
		str_append_data(str, data, size);
	return TRUE;
}

/* RFC 2047 encoded words decoded to UTF-8. */
static const char *decode_utf8(const char *value)
{
	string_t *str = t_str_new(128);

	message_header_decode((const unsigned char *)value, strlen(value),
			      decode_part, str);
	return str_c(str);
}

/* from/to (the whole header, decoded), plus <field>_address and
   <field>_display_name of its first address, parsed before decoding. */
static void fill_address(struct pushcore_txn *txn, struct pushcore_event *ev,
			 struct mail *mail, const char *header,
			 enum pushcore_field field)
{
	struct message_address *addr;
	const char *value;

	if (mail_get_first_header(mail, header, &value) <= 0)
		return;
	set_clean(txn, ev, field, decode_utf8(value));

	addr = message_address_parse(pool_datastack_create(),
				     (const unsigned char *)value, strlen(value),
				     1, 0);
	if (addr == NULL)
		return;
	if (addr->mailbox != NULL && addr->domain != NULL && addr->domain[0] != '\0')
		set_clean(txn, ev, field + 1,
			  t_strconcat(addr->mailbox, "@", addr->domain, NULL));
	else if (addr->mailbox != NULL)	/* a group or a bare local part */
		set_clean(txn, ev, field + 1, addr->mailbox);
	if (addr->name != NULL)
		set_clean(txn, ev, field + 2, decode_utf8(addr->name));
}

void push_notify_message_fill(struct pushcore_txn *txn,
			      struct pushcore_event *ev, struct mail *mail)
{
	const char *value;
	time_t date;
	int tz;

	T_BEGIN {
		fill_address(txn, ev, mail, "From", PUSHCORE_FIELD_FROM);
		fill_address(txn, ev, mail, "To", PUSHCORE_FIELD_TO);
		if (mail_get_first_header(mail, "Subject", &value) > 0)
			set_clean(txn, ev, PUSHCORE_FIELD_SUBJECT, decode_utf8(value));
		if (mail_get_first_header(mail, "Message-ID", &value) > 0)
			set_clean(txn, ev, PUSHCORE_FIELD_MESSAGE_ID, value);
		if (mail_get_date(mail, &date, &tz) == 0) {
			pushcore_event_set_int(ev, PUSHCORE_FIELD_DATE, date);
			pushcore_event_set_int(ev, PUSHCORE_FIELD_TZ, tz);
		}
		/* the first byte is the snippet algorithm's version */
		if (mail_get_special(mail, MAIL_FETCH_BODY_SNIPPET, &value) == 0)
			pushcore_event_set_str(pushcore_txn_pool(txn), ev, PUSHCORE_FIELD_SNIPPET,
					       value[0] == '\0' ? "" : value + 1);
		pushcore_event_set_int(ev, PUSHCORE_FIELD_FLAGS, mail_get_flags(mail));
		pushcore_event_set_list(pushcore_txn_pool(txn), ev, PUSHCORE_FIELD_KEYWORDS,
					mail_get_keywords(mail));
	} T_END;
}
