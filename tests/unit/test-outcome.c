/* The hooks a host routes libpushcore's lines and outcomes with: the
   origin of a line, the text a plain handler gets, and an outcome's fields
   (host without credentials, error redacted). */
#include "unit-test.h"
#include "pushcore.h"
#include "pushcore-spool.h"
/* the test builds driver instances itself */
#include "pushcore-driver-private.h"

#include <stdlib.h>
#include <time.h>

static char last_text[1024];
static enum pushcore_log_level last_level;

static void text_handler(enum pushcore_log_level level,
			 void *host_ctx __attribute__((unused)),
			 const char *line)
{
	last_level = level;
	snprintf(last_text, sizeof(last_text), "%s", line);
}

static struct pushcore_log_origin last_origin;
static char last_origin_line[1024];

static void origin_handler(enum pushcore_log_level level,
			   const struct pushcore_log_origin *origin,
			   const char *line)
{
	last_level = level;
	last_origin = *origin;
	snprintf(last_origin_line, sizeof(last_origin_line), "%s", line);
}

static struct pushcore_outcome last_outcome;
static char outcome_host[256], outcome_error[512], outcome_line[1024];

static void outcome_handler(const struct pushcore_outcome *o,
			    enum pushcore_log_level level,
			    const struct pushcore_log_origin *origin,
			    const char *line)
{
	last_outcome = *o;
	last_level = level;
	last_origin = *origin;
	snprintf(outcome_host, sizeof(outcome_host), "%s", o->host == NULL ? "(null)" : o->host);
	snprintf(outcome_error, sizeof(outcome_error), "%s", o->error == NULL ? "(null)" : o->error);
	snprintf(outcome_line, sizeof(outcome_line), "%s", line);
	last_outcome.host = outcome_host;
	last_outcome.error = outcome_error;
}

static void test_url_host(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();

	test_assert_str(pushcore_url_host(pool, "https://u:p@example.com:8443/x?a=b"),
			"example.com:8443");
	test_assert_str(pushcore_url_host(pool, "http://127.0.0.1/hook"), "127.0.0.1");
	test_assert_str(pushcore_url_host(pool, "http://a:b@c@host"), "host");
	test_assert_str(pushcore_url_host(pool, "redis://:pw@[::1]:6379/0"), "[::1]:6379");
	test_assert_str(pushcore_url_host(pool, "unix:/run/redis.sock?db=2"),
			"unix:/run/redis.sock");
	test_assert(pushcore_url_host(pool, NULL) == NULL);
	pushcore_pool_free(&pool);
}

static struct pushcore_driver fake_driver = { .name = "http" };

static void test_origin(void)
{
	struct pushcore_user *user = pushcore_user_new("alice", NULL, (void *)1);
	struct pushcore_driver_instance inst = {
		.driver = &fake_driver, .user = user, .setting_name = "webhook",
	};

	pushcore_log_set_handler(text_handler);
	/* a plain text log: the instance in the text */
	pushcore_driver_log(&inst, PUSHCORE_LOG_WARNING, "hi %d", 1);
	test_assert_str(last_text, "webhook (http): hi 1");
	test_assert(last_level == PUSHCORE_LOG_WARNING);
	/* a dlog line is the driver's own output */
	pushcore_driver_log(&inst, PUSHCORE_LOG_DLOG, "dlog: x");
	test_assert_str(last_text, "dlog: x");
	/* an origin handler: the instance beside the text, redacted */
	pushcore_log_set_origin_handler(origin_handler);
	pushcore_driver_log(&inst, PUSHCORE_LOG_ERROR, "to http://u:pw@h/x");
	test_assert_str(last_origin_line, "to http://" PUSHCORE_REDACTED "@h/x");
	test_assert_str(last_origin.driver, "http");
	test_assert_str(last_origin.setting, "webhook");
	test_assert(last_origin.host_ctx == (void *)1);
	pushcore_log(PUSHCORE_LOG_INFO, NULL, "about nobody");
	test_assert(last_origin.driver == NULL && last_origin.host_ctx == NULL);
	test_assert_str(last_origin_line, "about nobody");
	pushcore_log_set_origin_handler(NULL);
	pushcore_user_free(&user);
}

static void test_outcome(void)
{
	struct pushcore_user *user = pushcore_user_new("alice", NULL, NULL);
	struct pushcore_driver_instance inst = {
		.driver = &fake_driver, .user = user, .setting_name = "webhook",
	};
	struct pushcore_spool_entry e = {
		.id = "3b241101-e2bb-4255-8caf-4136c566a962",
		.url = "https://user:s3cret@example.com:8443/hook",
		.event = "MessageNew", .mailbox = "INBOX",
	};

	/* no outcome handler: just the log line */
	pushcore_log_set_handler(text_handler);
	pushcore_outcome_report(&inst, &e, PUSHCORE_RESULT_SENT, 200, NULL, 1,
				PUSHCORE_LOG_DEBUG, "sent %s", e.id);
	test_assert_str(last_text, "webhook (http): sent 3b241101-e2bb-4255-8caf-4136c566a962");

	pushcore_outcome_set_handler(outcome_handler);
	e.created_usecs = 1;	/* long ago */
	pushcore_outcome_report(&inst, &e, PUSHCORE_RESULT_SPOOLED, 503,
				"HTTP 503 from https://user:s3cret@example.com", 3,
				PUSHCORE_LOG_ERROR, "failed: %s", e.url);
	test_assert(last_outcome.result == PUSHCORE_RESULT_SPOOLED);
	test_assert_str(pushcore_result_name(last_outcome.result), "spooled");
	test_assert_str(last_outcome.driver, "http");
	test_assert_str(last_outcome.setting, "webhook");
	test_assert_str(last_outcome.user, "alice");
	test_assert_str(last_outcome.event, "MessageNew");
	test_assert_str(last_outcome.mailbox, "INBOX");
	test_assert_str(last_outcome.host, "example.com:8443");
	test_assert(last_outcome.status_code == 503);
	test_assert(last_outcome.attempts == 3);
	test_assert(last_outcome.duration_usecs > 0);
	test_assert(strstr(outcome_error, "s3cret") == NULL);
	test_assert(strstr(outcome_line, "s3cret") == NULL);
	test_assert(strstr(outcome_line, "failed: ") == outcome_line);
	test_assert(last_level == PUSHCORE_LOG_ERROR);
	test_assert_str(pushcore_result_name(PUSHCORE_RESULT_RELAYED), "relayed");
	pushcore_outcome_set_handler(NULL);
	pushcore_user_free(&user);
}

/* Text from an endpoint (curl's error quotes a certificate's subject, a
   Redis error is the server's) can't put a terminal escape or a line
   break into a log line, an outcome's line or its error. */
static void test_controls_escaped(void)
{
	struct pushcore_user *user = pushcore_user_new("alice", NULL, NULL);
	struct pushcore_driver_instance inst = {
		.driver = &fake_driver, .user = user, .setting_name = "webhook",
	};
	struct pushcore_spool_entry e = {
		.id = "3b241101-e2bb-4255-8caf-4136c566a962",
		.url = "https://example.com/hook",
	};
	const char *evil = "name\t(evil\x1b[31mRED\x1b]0;t\x07\r\nError: forged "
		"\xc2\x9b" "2J\x7f) \xc3\xa9t\xc3\xa9";
	const char *safe = "name\t(evil\\x1b[31mRED\\x1b]0;t\\x07\\x0d\\x0aError: "
		"forged \\xc2\\x9b2J\\x7f) \xc3\xa9t\xc3\xa9";

	pushcore_log_set_handler(text_handler);
	pushcore_log(PUSHCORE_LOG_ERROR, NULL, "%s", evil);
	test_assert_str(last_text, safe);
	pushcore_log_set_origin_handler(origin_handler);
	pushcore_driver_log(&inst, PUSHCORE_LOG_ERROR, "%s", evil);
	test_assert_str(last_origin_line, safe);
	pushcore_log_set_origin_handler(NULL);
	pushcore_outcome_set_handler(outcome_handler);
	pushcore_outcome_report(&inst, &e, PUSHCORE_RESULT_SPOOLED, 0, evil, 1,
				PUSHCORE_LOG_ERROR, "%s", evil);
	test_assert_str(outcome_error, safe);
	test_assert_str(outcome_line, safe);
	pushcore_outcome_set_handler(NULL);
	pushcore_user_free(&user);
}

/* A temporary failure with a Retry-After of a day is spooled due within
   the dispatcher's longest backoff (an hour), not a day or years later. */
static void test_spooled_retry_after(void)
{
	struct pushcore_user *user = pushcore_user_new("alice", NULL, NULL);
	struct pushcore_driver_instance inst = {
		.driver = &fake_driver, .user = user, .setting_name = "webhook",
	};
	struct pushcore_spool_entry e = {
		.id = "3b241101-e2bb-4255-8caf-4136c566a963", .user = "alice",
		.driver = "webhook", .method = "POST", .body = "{}", .body_len = 2,
		.created_usecs = 1,
	};
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry *read;
	char dir[] = "/tmp/test-outcome.XXXXXX", cmd[64];
	const char *error, *path;
	time_t now = time(NULL);

	pushcore_log_set_handler(text_handler);
	test_assert(mkdtemp(dir) != NULL);
	pushcore_user_set_spool_dir(user, dir);
	pushcore_driver_failed(&inst, &e, "HTTP 503", 1, true, 86400);
	path = pushcore_psprintf(pool, "%s/new/%s", dir, pushcore_spool_file_name(pool, &e));
	test_assert(pushcore_spool_read(pool, path, &read, &error) == 0);
	if (read != NULL) {
		test_assert(read->next_attempt >= (long long)now + 3600 - 5);
		test_assert(read->next_attempt <= (long long)now + 3600 + 5);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	test_assert(system(cmd) == 0);
	pushcore_pool_free(&pool);
	pushcore_user_free(&user);
}

int main(void)
{
	test_run("outcome: url host", test_url_host);
	test_run("log: origin", test_origin);
	test_run("outcome: fields", test_outcome);
	test_run("outcome: a spooled Retry-After is bounded", test_spooled_retry_after);
	test_run("log: control characters escaped", test_controls_escaped);
	return test_done();
}
