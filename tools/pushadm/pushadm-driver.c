/* pushadm driver list|test: the configured drivers, and a synthetic event
   through the real driver code to the real endpoint. */
#include "pushadm.h"
#include "pushcore.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_START_MAX 200

/* pushadm has no mailbox: it says the user opted in (for ox) and knows no
   unseen count (ox then leaves "unseen" out, as the reference does when it
   can't tell). */
static int adm_metadata_get(void *host_ctx, const char *key __attribute__((unused)),
			    const char **value_r, const char **error_r __attribute__((unused)))
{
	*value_r = host_ctx;
	return 1;
}

static const struct pushcore_host pushadm_host = {
	.metadata_get = adm_metadata_get,
};

struct pushcore_user *pushadm_user_new(struct pushcore_pool *pool,
				       const char *username)
{
	return pushcore_user_new(username, &pushadm_host,
				 pushcore_psprintf(pool, "user=%s", username));
}

/* The synthetic event of `driver test` (and the base of `event send`). */
struct pushcore_event *pushadm_event_add(struct pushcore_txn *txn,
					 enum pushcore_event_type type,
					 const char *mailbox)
{
	static const char *const no_keywords[] = { NULL };
	struct pushcore_event *ev = pushcore_txn_add(txn, type, mailbox);
	struct pushcore_pool *pool = pushcore_txn_pool(txn);

	if (!pushcore_event_info(type)->is_message) {
		if (type == PUSHCORE_EVENT_MAILBOX_RENAME)
			pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_MAILBOX_OLD, "Old");
		return ev;
	}
	ev->uid = 1;
	ev->uidvalidity = 1;
	if (type == PUSHCORE_EVENT_MESSAGE_NEW || type == PUSHCORE_EVENT_MESSAGE_APPEND) {
		pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_FROM, "pushadm <pushadm@localhost>");
		pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_FROM_ADDRESS, "pushadm@localhost");
		pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_FROM_DISPLAY_NAME, "pushadm");
		pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_SUBJECT, "pushadm test notification");
		pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_SNIPPET,
				       "This is a test notification sent by pushadm.");
		pushcore_event_set_int(ev, PUSHCORE_FIELD_DATE, ev->time_usecs / 1000000);
		pushcore_event_set_int(ev, PUSHCORE_FIELD_TZ, 0);
		pushcore_event_set_int(ev, PUSHCORE_FIELD_FLAGS, 0);
		pushcore_event_set_list(pool, ev, PUSHCORE_FIELD_KEYWORDS, no_keywords);
	} else if (type == PUSHCORE_EVENT_FLAGS_SET || type == PUSHCORE_EVENT_FLAGS_CLEAR) {
		pushcore_event_set_int(ev, PUSHCORE_FIELD_FLAGS, PUSHCORE_FLAG_SEEN);
	}
	return ev;
}

/* --- results ----------------------------------------------------------- */

struct send_report {
	struct pushadm_ctx *ctx;
	struct pushcore_pool *pool;
	unsigned int sent, failed;
	int exit_code;
};

static const char *masked(struct send_report *rep, const char *value)
{
	return rep->ctx->show_secrets ? value : pushcore_redact(rep->pool, value);
}

/* One line naming why a send failed. */
static const char *failure_cause(struct pushcore_pool *pool,
				 const struct pushcore_http_result *r)
{
	if (r->status == 401 || r->status == 403)
		return pushcore_psprintf(pool, "HTTP %d: the endpoint rejected the "
			"credentials (URL user:password, bearer_file or secret)", r->status);
	if (r->status >= 500)
		return pushcore_psprintf(pool, "HTTP %d: the endpoint failed", r->status);
	return r->error;
}

static void print_secs(struct send_report *rep, double secs)
{
	pushadm_print(pushcore_psprintf(rep->pool, "%.3fs", secs));
}

/* The start of the endpoint's answer. An echoing endpoint returns the
   request's X-Api-Key or Authorization, so it is masked like the URL;
   masked whole before it is cut, so a cut inside a URL's userinfo or a
   quoted value can't leave a piece that no longer looks like one. Its
   control characters are written out: a line break would forge a line
   of the report, an escape sequence would drive the terminal. */
static const char *body_start(struct send_report *rep,
			      const struct pushcore_http_result *r)
{
	const char *body = masked(rep, pushcore_pstrndup(rep->pool, r->body,
							 r->body_len));
	size_t len = strlen(body);

	body = pushcore_pstrndup(rep->pool, body,
				 len < BODY_START_MAX ? len : BODY_START_MAX);
	return pushcore_escape_controls(rep->pool, body);
}

static void report_result(const struct pushcore_driver_instance *inst,
			  const struct pushcore_spool_entry *req,
			  const struct pushcore_http_result *r, void *context)
{
	struct send_report *rep = context;

	pushadm_print(pushcore_inst_setting_name(inst));
	pushadm_print(pushcore_inst_driver(inst)->name);
	pushadm_print(req->id);
	pushadm_print(masked(rep, req->url));
	pushadm_print(r->status == 0 ? "-" : pushcore_psprintf(rep->pool, "%d", r->status));
	pushadm_print(pushcore_psprintf(rep->pool, "%u", r->attempts));
	print_secs(rep, r->connect_secs);
	print_secs(rep, r->tls_secs);
	print_secs(rep, r->first_byte_secs);
	print_secs(rep, r->total_secs);
	pushadm_print(r->tls_subject != NULL ?
		      pushcore_escape_controls(rep->pool, r->tls_subject) : "-");
	pushadm_print(r->tls_expiry != NULL ? r->tls_expiry : "-");
	pushadm_print(body_start(rep, r));
	pushadm_print(r->outcome == PUSHCORE_HTTP_OK ? "ok" :
		      masked(rep, failure_cause(rep->pool, r)));
	if (r->outcome == PUSHCORE_HTTP_OK) {
		rep->sent++;
		return;
	}
	rep->failed++;
	fprintf(stderr, "pushadm: %s (%s) to %s failed: %s\n", pushcore_inst_setting_name(inst),
		pushcore_inst_driver(inst)->name, masked(rep, req->url),
		masked(rep, failure_cause(rep->pool, r)));
	if (rep->exit_code == 0)
		rep->exit_code = r->outcome == PUSHCORE_HTTP_TEMPFAIL ?
			PUSHADM_EXIT_TEMPFAIL : PUSHADM_EXIT_UNAVAILABLE;
}

static void report_dry_run(const struct pushcore_driver_instance *inst,
			   const struct pushcore_spool_entry *req,
			   const struct pushcore_http_result *r __attribute__((unused)),
			   void *context)
{
	struct send_report *rep = context;
	unsigned int i;

	printf("# %s (%s)\n%s %s\n", pushcore_inst_setting_name(inst), pushcore_inst_driver(inst)->name,
	       req->method, masked(rep, req->url));
	for (i = 0; i < req->header_count; i++)
		printf("%s\n", masked(rep, req->headers[i]));
	printf("\n%.*s\n", (int)req->body_len, req->body);
	rep->sent++;
}

static void pushadm_report_begin(struct pushadm_ctx *ctx,
				 struct send_report **rep_r, bool dry_run)
{
	struct send_report *rep = calloc(1, sizeof(*rep));

	rep->ctx = ctx;
	rep->pool = pushcore_pool_new();
	*rep_r = rep;
	/* the report says what failed; the drivers' own lines only with -D */
	pushadm_log_quiet = !ctx->debug;
	pushcore_http_set_certinfo(true);
	pushcore_set_send_observer(dry_run ? report_dry_run : report_result, rep, dry_run);
	if (dry_run)
		return;
	pushadm_print_init(ctx, PUSHADM_FORMAT_PAGER);
	pushadm_print_header("setting", "Setting");
	pushadm_print_header("driver", "Driver");
	pushadm_print_header("id", "Notification");
	pushadm_print_header("url", "URL");
	pushadm_print_header("status", "Status");
	pushadm_print_header("attempts", "Attempts");
	pushadm_print_header("connect", "Connect");
	pushadm_print_header("tls", "TLS");
	pushadm_print_header("first_byte", "First byte");
	pushadm_print_header("total", "Total");
	pushadm_print_header("tls_subject", "TLS subject");
	pushadm_print_header("tls_expiry", "TLS expiry");
	pushadm_print_header("response", "Response");
	pushadm_print_header("result", "Result");
}

static int pushadm_report_end(struct send_report *rep, bool dry_run)
{
	int ret;

	if (!dry_run)
		pushadm_print_flush();
	pushcore_set_send_observer(NULL, NULL, false);
	pushadm_log_quiet = false;
	ret = rep->exit_code;
	if (ret == 0 && rep->sent == 0) {
		fprintf(stderr, "pushadm: no driver sent anything for this event "
			"(filtered out by events= or mailboxes=, or a driver that "
			"doesn't speak HTTP)\n");
		ret = PUSHADM_EXIT_UNAVAILABLE;
	}
	pushcore_pool_free(&rep->pool);
	free(rep);
	return ret;
}

int pushadm_txn_send(struct pushadm_ctx *ctx, struct pushcore_txn **txn,
		     bool dry_run)
{
	struct send_report *rep;

	pushadm_report_begin(ctx, &rep, dry_run);
	pushcore_txn_commit(txn);
	return pushadm_report_end(rep, dry_run);
}

/* --- driver list -------------------------------------------------------- */

static const char *events_of(struct pushcore_pool *pool, uint32_t mask)
{
	struct pushcore_buf buf;
	const char *ret;
	int i;

	if (mask == PUSHCORE_EVENT_MASK_ALL)
		return "all";
	pushcore_buf_init(&buf);
	for (i = 0; i < PUSHCORE_EVENT_COUNT; i++) {
		if ((mask & PUSHCORE_EVENT_MASK(i)) != 0)
			pushcore_buf_printf(&buf, "%s%s", buf.len == 0 ? "" : ",",
					    pushcore_event_info(i)->name);
	}
	ret = pushcore_pstrdup(pool, buf.data);
	pushcore_buf_free(&buf);
	return ret;
}

static int user_option(int argc, char *argv[], const char **user_r, bool *dry_run_r,
		       const char **event_r, const char **mailbox_r)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' }, { NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "u:e:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'u': *user_r = optarg; break;
		case 'e': if (event_r == NULL) return -1; *event_r = optarg; break;
		case 'm': if (mailbox_r == NULL) return -1; *mailbox_r = optarg; break;
		case 'n': if (dry_run_r == NULL) return -1; *dry_run_r = true; break;
		default: return -1;
		}
	}
	return 0;
}

struct list_ctx {
	struct pushadm_ctx *ctx;
	struct pushcore_pool *pool;
	struct pushcore_user *puser;
};

/* One row per driver the plugin would try, in its order: the ones after
   a broken driver are not tried by the plugin, so not listed. */
static void list_row(void *context, const char *name,
		     const struct pushcore_spec *spec, const char *error)
{
	struct list_ctx *lc = context;
	struct pushadm_ctx *ctx = lc->ctx;
	struct pushcore_user *puser = lc->puser;
	const char *str;

	pushadm_print(name);
	pushadm_print(spec == NULL ? "?" : spec->name);
	str = spec == NULL ? NULL : pushcore_spec_get(spec, "url");
	pushadm_print(str == NULL ? "-" : ctx->show_secrets ? str :
		      pushcore_redact(lc->pool, str));
	pushadm_print(error == NULL ? events_of(lc->pool,
		pushcore_inst_events(pushcore_user_driver(puser,
			pushcore_user_driver_count(puser) - 1))) : "-");
	str = spec == NULL ? NULL : pushcore_spec_get(spec, "mailboxes");
	pushadm_print(str != NULL ? str : spec != NULL &&
		      strcasecmp(spec->name, "ox") == 0 ? "INBOX" : "all");
	pushadm_print(spec != NULL && pushcore_spec_has(spec, "tls_no_verify") ?
		      "OFF" : "on");
	pushadm_print(spec == NULL ? "" : ctx->show_secrets ? spec->raw_options :
		      pushcore_redact(lc->pool, spec->raw_options));
	pushadm_print(error == NULL ? "ok" : ctx->show_secrets ? error :
		      pushcore_redact(lc->pool, error));
}

static int cmd_driver_list(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct pushadm_config cfg;
	const char *user = NULL;
	struct list_ctx lc;
	int ret;

	if (user_option(argc, argv, &user, NULL, NULL, NULL) < 0 || optind != argc)
		return PUSHADM_EXIT_USAGE;
	if ((ret = pushadm_config_load(ctx, user, &cfg)) != 0)
		return ret;
	lc.ctx = ctx;
	lc.pool = cfg.pool;
	lc.puser = pushadm_user_new(cfg.pool, user == NULL ? "-" : user);
	pushadm_print_init(ctx, PUSHADM_FORMAT_TABLE);
	pushadm_print_header("setting", "Setting");
	pushadm_print_header("driver", "Driver");
	pushadm_print_header("endpoint", "Endpoint");
	pushadm_print_header("events", "Events");
	pushadm_print_header("mailboxes", "Mailboxes");
	pushadm_print_header("tls_verify", "TLS verify");
	pushadm_print_header("options", "Options");
	pushadm_print_header("status", "Status");
	(void)pushadm_config_start_drivers(&cfg, lc.puser, list_row, &lc);
	pushadm_print_flush();
	pushcore_user_free(&lc.puser);
	pushadm_config_free(&cfg);
	return PUSHADM_EXIT_OK;
}

/* --- driver test -------------------------------------------------------- */

struct test_ctx {
	struct pushadm_ctx *ctx;
	struct pushcore_pool *pool;
	const char *failed;
};

static void test_tried(void *context, const char *name __attribute__((unused)),
		       const struct pushcore_spec *spec __attribute__((unused)),
		       const char *error)
{
	struct test_ctx *tc = context;

	if (error != NULL)
		tc->failed = tc->ctx->show_secrets ? error :
			pushcore_redact(tc->pool, error);
}

/* Keeps only the instance named name (driver test SETTING): the others
   started as in a delivery, so a broken earlier driver fails the test as
   it would fail the delivery. */
static unsigned int keep_only(struct pushcore_user *puser, const char *name)
{
	return pushcore_user_keep_driver(puser, name);
}

static int cmd_driver_test(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct pushadm_config cfg;
	const char *user = NULL, *event = "MessageNew", *mailbox = "INBOX", *error;
	const char *chosen = NULL;
	struct test_ctx tc = { .ctx = ctx };
	struct pushcore_user *puser;
	struct pushcore_txn *txn;
	bool dry_run = false;
	int type, ret = PUSHADM_EXIT_OK;

	if (user_option(argc, argv, &user, &dry_run, &event, &mailbox) < 0 ||
	    argc - optind > 1)
		return PUSHADM_EXIT_USAGE;
	if ((type = pushcore_event_lookup(event)) < 0) {
		fprintf(stderr, "pushadm: unknown event '%s'\n", event);
		return PUSHADM_EXIT_USAGE;
	}
	if ((ret = pushadm_config_load(ctx, user, &cfg)) != 0)
		return ret;
	tc.pool = cfg.pool;
	puser = pushadm_user_new(cfg.pool, user == NULL ? "pushadm-test" : user);
	pushcore_user_set_spool_dir(puser, NULL);	/* a test is never retried later */
	if (optind < argc && strchr(argv[optind], ':') != NULL) {
		/* a driver spec given on the command line; its module from
		   where the configuration says (as configured drivers') */
		pushcore_user_set_module_dir(puser,
			pushadm_config_get(&cfg, PUSHCORE_SETTING_MODULE_DIR));
		if (pushadm_driver_add_spec(puser, "command line", argv[optind],
					    &error) < 0)
			tc.failed = ctx->show_secrets ? error :
				pushcore_redact(cfg.pool, error);
	} else {
		(void)pushadm_config_start_drivers(&cfg, puser, test_tried, &tc);
		chosen = optind < argc ? argv[optind] : NULL;
	}
	if (chosen != NULL && keep_only(puser, chosen) > 0) {
		/* it started: a broken driver after it does not matter */
	} else if (chosen != NULL && tc.failed == NULL) {
		fprintf(stderr, "pushadm: no driver %s configured\n", chosen);
		ret = PUSHADM_EXIT_CONFIG;
	} else if (tc.failed != NULL) {
		fprintf(stderr, "pushadm: %s\n", tc.failed);
		ret = PUSHADM_EXIT_CONFIG;
	} else if (pushcore_user_driver_count(puser) == 0) {
		fprintf(stderr, "pushadm: no driver is configured\n");
		ret = PUSHADM_EXIT_CONFIG;
	}
	if (ret != PUSHADM_EXIT_OK) {
		pushcore_user_free(&puser);
		pushadm_config_free(&cfg);
		return ret;
	}
	txn = pushcore_txn_begin(puser);
	pushadm_event_add(txn, type, mailbox);
	ret = pushadm_txn_send(ctx, &txn, dry_run);
	pushcore_user_free(&puser);
	pushadm_config_free(&cfg);
	return ret;
}

static const struct pushadm_cmd driver_list = {
	"driver list", "[-u USER]",
	"Lists the configured drivers (push_notification_driver, ...2, ... on\n"
	"Dovecot 2.3; the push_notify blocks on Dovecot 2.4) with\n"
	"their endpoint (credentials hidden unless -P), the events and mailboxes\n"
	"they send, whether TLS is verified, and whether they start.",
	PUSHADM_FORMAT_TABLE, cmd_driver_list, NULL
};
static const struct pushadm_cmd driver_test = {
	"driver test", "[-u USER] [-e EVENT] [-m MAILBOX] [--dry-run] [SETTING | DRIVER-SPEC]",
	"Sends a synthetic event (default MessageNew in INBOX) through the real\n"
	"driver code to the real endpoint of every configured driver, or of the\n"
	"one setting named, or of a driver spec given on the command line, and\n"
	"prints per endpoint the URL, HTTP status, attempts, connect / TLS /\n"
	"first byte / total times, the TLS peer certificate's subject and expiry\n"
	"and the start of the response. --dry-run prints the exact requests\n"
	"instead (signature shown, credentials hidden unless -P). Exit 75 on a\n"
	"temporary failure, 69 on a permanent one, 78 on a configuration error.",
	PUSHADM_FORMAT_PAGER, cmd_driver_test, NULL
};

const struct pushadm_cmd *const pushadm_cmds_driver[] = {
	&driver_list, &driver_test, NULL
};
