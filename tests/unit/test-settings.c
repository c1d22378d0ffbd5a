/* Settings into drivers: the rules every host shares (numbering, the
   legacy push_notification_backend, the first broken driver ends the
   list, a 2.4 block's options under Dovecot's own names). */
#include "unit-test.h"
#include "pushcore.h"

struct fake {
	const char *const *settings;	/* name, value, ..., NULL */
	char tried[512];
};

static const char *fake_get(void *context, const char *name)
{
	struct fake *f = context;

	for (const char *const *s = f->settings; *s != NULL; s += 2) {
		if (strcmp(*s, name) == 0)
			return s[1];
	}
	return NULL;
}

static void fake_tried(void *context, const char *name,
		       const struct pushcore_spec *spec, const char *error)
{
	struct fake *f = context;
	size_t len = strlen(f->tried);

	(void)spec;
	snprintf(f->tried + len, sizeof(f->tried) - len, "%s%s=%s", len > 0 ? ";" : "",
		 name, error == NULL ? "ok" : error);
}

static unsigned int run(const char *const *settings, struct fake *f)
{
	struct pushcore_user *user = pushcore_user_new("u", NULL, NULL);
	unsigned int n;

	f->settings = settings;
	f->tried[0] = '\0';
	n = pushcore_settings_add_drivers(user, fake_get, fake_tried, f);
	test_assert(n == pushcore_user_driver_count(user));
	pushcore_user_free(&user);
	return n;
}

static void test_numbering(void)
{
	static const char *const gap[] = {
		"push_notification_driver", "dlog",
		"push_notification_driver2", "dlog",
		"push_notification_driver4", "dlog", NULL };
	static const char *const no_first[] = {
		"push_notification_driver2", "dlog",
		"push_notification_driver1", "dlog", NULL };
	static const char *const empty_ends[] = {
		"push_notification_driver", "dlog",
		"push_notification_driver2", "",
		"push_notification_driver3", "dlog", NULL };
	struct fake f;

	test_assert(run(gap, &f) == 2);
	test_assert_str(f.tried, "push_notification_driver=ok;push_notification_driver2=ok");
	/* there is no push_notification_driver1, and nothing without the first */
	test_assert(run(no_first, &f) == 0);
	test_assert_str(f.tried, "");
	test_assert(run(empty_ends, &f) == 1);
}

static void test_first_broken_ends_the_list(void)
{
	static const char *const broken[] = {
		"push_notification_driver", "dlog",
		"push_notification_driver2", "pigeon:x=1",
		"push_notification_driver3", "dlog", NULL };
	static const char *const unparsable[] = {
		"push_notification_driver", ":x",
		"push_notification_driver2", "dlog", NULL };
	struct fake f;

	test_assert(run(broken, &f) == 1);
	test_assert_str(f.tried, "push_notification_driver=ok;push_notification_driver2="
			"push_notification_driver2: Unknown push notification driver: pigeon");
	/* nothing started from _driver: the legacy name is tried (none here) */
	test_assert(run(unparsable, &f) == 0);
	test_assert_str(f.tried, "push_notification_driver=push_notification_driver: "
			"driver name is empty (expected name:key=value ...)");
}

static void test_backend_only_without_drivers(void)
{
	static const char *const backend[] = {
		"push_notification_backend", "dlog",
		"push_notification_backend2", "dlog", NULL };
	static const char *const both[] = {
		"push_notification_driver", "dlog",
		"push_notification_backend", "dlog", NULL };
	static const char *const broken_driver[] = {
		"push_notification_driver", "pigeon",
		"push_notification_backend", "dlog", NULL };
	struct fake f;

	test_assert(run(backend, &f) == 2);
	test_assert_str(f.tried, "push_notification_backend=ok;push_notification_backend2=ok");
	test_assert(run(both, &f) == 1);
	test_assert_str(f.tried, "push_notification_driver=ok");
	/* as the reference: the legacy list when no driver started at all */
	test_assert(run(broken_driver, &f) == 1);
	test_assert_str(f.tried, "push_notification_driver=push_notification_driver: "
			"Unknown push notification driver: pigeon;push_notification_backend=ok");
}

static void test_block_dovecot_names(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	static const char *const keys[] = {
		"ox_url", "ox_user_from_metadata", "ox_cache_ttl",
		"http_client_request_timeout", "http_client_request_max_attempts",
		"batch", "header" };
	static const char *const values[] = {
		"http://h/x", "yes", "30s", "5s", "3", "no", "X-A:b c" };
	const char *error = NULL;
	struct pushcore_spec *spec = pushcore_settings_block_spec(pool, "ox", NULL,
		keys, values, 7, &error);

	test_assert(spec != NULL);
	test_assert_str(spec->name, "ox");
	test_assert_str(spec->raw_options, "url=http://h/x user_from_metadata "
			"cache_lifetime=30s timeout_msecs=5000 max_retries=2 header=X-A:b c");
	test_assert_str(pushcore_settings_block_key(pool, "ox", "url"), "ox_url");
	test_assert_str(pushcore_settings_block_key(pool, "lua", "settings"), "lua_settings");
	test_assert_str(pushcore_settings_block_key(pool, "hook", "url"), "url");
	{
		static const char *const bad_keys[] = { "user_from_metadata" };
		static const char *const bad_values[] = { "maybe" };

		test_assert(pushcore_settings_block_spec(pool, "b", "ox", bad_keys,
			    bad_values, 1, &error) == NULL);
		test_assert_str(error, "b: user_from_metadata = maybe: expected yes or no");
	}
	pushcore_pool_free(&pool);
}

/* The event names for code that can't link libpushcore (Dovecot 2.4's
   settings module) are the table's. */
static void test_event_name_list(void)
{
	static const char *const names[] = { PUSHCORE_EVENT_NAMES };
	unsigned int i;

	test_assert(sizeof(names) / sizeof(names[0]) == PUSHCORE_EVENT_COUNT);
	for (i = 0; i < PUSHCORE_EVENT_COUNT; i++)
		test_assert_str(names[i], pushcore_event_name(i));
}

int main(void)
{
	pushcore_drivers_init();
	test_run("numbering", test_numbering);
	test_run("first broken ends the list", test_first_broken_ends_the_list);
	test_run("backend only without drivers", test_backend_only_without_drivers);
	test_run("block with Dovecot's names", test_block_dovecot_names);
	test_run("event name list", test_event_name_list);
	return test_done();
}
