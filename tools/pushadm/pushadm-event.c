/* pushadm event send: any synthetic event through a user's configured
   drivers, as a delivery would send it (spooled when it fails). */
#include "pushadm.h"
#include "pushcore.h"

#include <getopt.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>


/* field=value: strings as given, numbers, flags and lists comma-separated */
static int set_field(struct pushcore_pool *pool, struct pushcore_event *ev,
		     const char *arg)
{
	const char *eq = strchr(arg, '='), *value, **list, *p;
	unsigned int i, n = 0, flags = 0;
	int f;

	if (eq == NULL)
		return -1;
	value = eq + 1;
	if (strncmp(arg, "uid=", 4) == 0 || strncmp(arg, "uidvalidity=", 12) == 0) {
		*(arg[3] == '=' ? &ev->uid : &ev->uidvalidity) =
			(uint32_t)strtoul(value, NULL, 10);
		return 0;
	}
	for (f = 0; f < PUSHCORE_FIELD_COUNT; f++) {
		if (strlen(pushcore_field_info(f)->name) == (size_t)(eq - arg) &&
		    strncmp(pushcore_field_info(f)->name, arg, (size_t)(eq - arg)) == 0)
			break;
	}
	if (f == PUSHCORE_FIELD_COUNT || !pushcore_event_has_field(ev->type, f)) {
		fprintf(stderr, "pushadm: %s has no field '%.*s'\n",
			pushcore_event_info(ev->type)->name, (int)(eq - arg), arg);
		return -1;
	}
	list = pushcore_palloc(pool, sizeof(*list) * (strlen(value) + 2));
	for (p = value; *p != '\0';) {
		size_t len = strcspn(p, ",");
		list[n++] = pushcore_pstrndup(pool, p, len);
		p += len + (p[len] == ',' ? 1 : 0);
	}
	switch (pushcore_field_info(f)->type) {
	case PUSHCORE_FIELD_TYPE_STRING:
		pushcore_event_set_str(pool, ev, f, value);
		break;
	case PUSHCORE_FIELD_TYPE_INT:
		pushcore_event_set_int(ev, f, strtoll(value, NULL, 10));
		break;
	case PUSHCORE_FIELD_TYPE_LIST:
		pushcore_event_set_list(pool, ev, f, list);
		break;
	case PUSHCORE_FIELD_TYPE_FLAGS:
		for (i = 0; i < n; i++) {
			unsigned int bit;

			for (bit = 0; pushcore_flag_name(bit) != NULL; bit++) {
				if (strcasecmp(pushcore_flag_name(bit), list[i]) == 0 ||
				    strcasecmp(pushcore_flag_name(bit) + 1, list[i]) == 0)
					break;
			}
			if (pushcore_flag_name(bit) == NULL) {
				fprintf(stderr, "pushadm: unknown flag '%s'\n", list[i]);
				return -1;
			}
			flags |= 1U << bit;
		}
		pushcore_event_set_int(ev, f, flags);
		break;
	}
	return 0;
}

static void print_failed(void *context, const char *name __attribute__((unused)),
			 const struct pushcore_spec *spec __attribute__((unused)),
			 const char *error)
{
	struct pushadm_ctx *ctx = context;
	struct pushcore_pool *pool;

	if (error == NULL)
		return;
	pool = pushcore_pool_new();
	fprintf(stderr, "pushadm: %s - this and later drivers are disabled, "
		"as in a delivery\n", ctx->show_secrets ? error :
		pushcore_redact(pool, error));
	pushcore_pool_free(&pool);
}

static int cmd_event_send(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct pushadm_config cfg;
	const char *user = NULL, *event = NULL, *mailbox = "INBOX";
	const char *dir;
	struct pushcore_user *puser;
	struct pushcore_txn *txn;
	struct pushcore_event *ev;
	unsigned int i;
	int c, type, ret;

	while ((c = getopt(argc, argv, "u:e:m:")) != -1) {
		switch (c) {
		case 'u': user = optarg; break;
		case 'e': event = optarg; break;
		case 'm': mailbox = optarg; break;
		default: return PUSHADM_EXIT_USAGE;
		}
	}
	if (user == NULL || event == NULL)
		return PUSHADM_EXIT_USAGE;
	if ((type = pushcore_event_lookup(event)) < 0) {
		fprintf(stderr, "pushadm: unknown event '%s'\n", event);
		return PUSHADM_EXIT_USAGE;
	}
	if ((ret = pushadm_config_load(ctx, user, &cfg)) != 0)
		return ret;
	puser = pushadm_user_new(cfg.pool, user);
	if ((dir = pushadm_config_get(&cfg, "push_notification_spool_dir")) != NULL)
		pushcore_user_set_spool_dir(puser, dir);
	/* the drivers a delivery would use: it stops at a broken one too */
	(void)pushadm_config_start_drivers(&cfg, puser, print_failed, ctx);
	txn = pushcore_txn_begin(puser);
	ev = pushadm_event_add(txn, type, mailbox);
	for (i = (unsigned int)optind; i < (unsigned int)argc; i++) {
		if (set_field(pushcore_txn_pool(txn), ev, argv[i]) < 0) {
			pushcore_txn_rollback(&txn);
			pushcore_user_free(&puser);
			pushadm_config_free(&cfg);
			return PUSHADM_EXIT_USAGE;
		}
	}
	ret = pushadm_txn_send(ctx, &txn, false);
	pushcore_user_free(&puser);
	pushadm_config_free(&cfg);
	return ret;
}

static const struct pushadm_cmd event_send = {
	"event send", "-u USER -e EVENT [-m MAILBOX] [FIELD=VALUE ...]",
	"Sends a synthetic event through the user's configured drivers, as a\n"
	"delivery would (a failed send is spooled). Fields are those of\n"
	"docs/events.md: subject=Hello flags=Seen,Flagged keywords=a,b uid=7.\n"
	"Prints the result per endpoint like driver test.",
	PUSHADM_FORMAT_PAGER, cmd_event_send, NULL
};

const struct pushadm_cmd *const pushadm_cmds_event[] = {
	&event_send, NULL
};
