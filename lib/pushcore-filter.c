/* events= and mailboxes=, shared by the generic drivers. */
#include "pushcore-filter.h"
#include "pushcore-driver-private.h"
#include "pushcore-mem.h"
#include "pushcore-spec.h"

#include <fnmatch.h>
#include <string.h>

const char **pushcore_split_list(struct pushcore_pool *pool, const char *str)
{
	const char **list = pushcore_palloc(pool, sizeof(*list) * (strlen(str) + 2));
	unsigned int n = 0;
	const char *end;

	for (;; str = end + 1) {
		end = strchr(str, ',');
		if (end == NULL)
			end = str + strlen(str);
		if (end > str)
			list[n++] = pushcore_pstrndup(pool, str, (size_t)(end - str));
		if (*end == '\0')
			break;
	}
	return list;
}

static int parse_events(struct pushcore_driver_instance *inst, const char *str,
			const char **error_r)
{
	const char **names = pushcore_split_list(inst->user->pool, str);
	int type;

	inst->events = 0;
	for (; *names != NULL; names++) {
		if ((type = pushcore_event_lookup(*names)) < 0) {
			*error_r = pushcore_psprintf(inst->user->pool,
				"events=: unknown event '%s' (known: MessageNew, "
				"MessageAppend, MessageRead, MessageTrash, "
				"MessageExpunge, FlagsSet, FlagsClear, MailboxCreate, "
				"MailboxDelete, MailboxRename, MailboxSubscribe, "
				"MailboxUnsubscribe)", *names);
			return -1;
		}
		inst->events |= PUSHCORE_EVENT_MASK(type);
	}
	if (inst->events == 0) {
		*error_r = "events= lists no event";
		return -1;
	}
	return 0;
}

int pushcore_filter_init(struct pushcore_driver_instance *inst,
			 struct pushcore_filter *filter_r, const char **error_r)
{
	const char *str;

	inst->events = PUSHCORE_EVENT_MASK_ALL;
	if ((str = pushcore_spec_get(inst->spec, "events")) != NULL &&
	    parse_events(inst, str, error_r) < 0)
		return -1;
	filter_r->mailboxes = NULL;
	if ((str = pushcore_spec_get(inst->spec, "mailboxes")) != NULL)
		filter_r->mailboxes = pushcore_split_list(inst->user->pool, str);
	return 0;
}

bool pushcore_filter_mailbox(const struct pushcore_filter *filter,
			     const char *mailbox)
{
	const char **p;

	if (filter->mailboxes == NULL)
		return true;
	for (p = filter->mailboxes; *p != NULL; p++) {
		if (fnmatch(*p, mailbox, 0) == 0)
			return true;
	}
	return false;
}
