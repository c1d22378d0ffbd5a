/* The driver-spec parser reads exactly the reference syntax. */
#include "unit-test.h"
#include "pushcore.h"

static void test_reference_example(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *error;
	struct pushcore_spec *spec = pushcore_spec_parse(pool,
		"ox:url=http://login:pass@host:8009/preliminary/http-notify/v1/notify "
		"user_from_metadata", &error);

	test_assert(spec != NULL);
	test_assert_str(spec->name, "ox");
	test_assert(spec->count == 2);
	test_assert_str(pushcore_spec_get(spec, "url"),
		"http://login:pass@host:8009/preliminary/http-notify/v1/notify");
	test_assert_str(pushcore_spec_get(spec, "user_from_metadata"), "");
	test_assert(pushcore_spec_has(spec, "user_from_metadata"));
	test_assert(!pushcore_spec_has(spec, "cache_lifetime"));
	pushcore_pool_free(&pool);
}

/* Dovecot 2.4's typed blocks build a spec: values keep their spaces, and a
   spec parsed from 2.3 syntax can be extended the same way. */
static void test_built(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *error, **all;
	struct pushcore_spec *spec = pushcore_spec_new(pool, "http");

	test_assert(spec->count == 0);
	test_assert_str(spec->raw_options, "");
	pushcore_spec_add(pool, spec, "url", "http://127.0.0.1:1/x");
	pushcore_spec_add(pool, spec, "header", "X-Tenant:Acme Corp");
	pushcore_spec_add(pool, spec, "batch", "");
	pushcore_spec_add(pool, spec, "header", "X-Two:2");
	test_assert(spec->count == 4);
	test_assert_str(pushcore_spec_get(spec, "header"), "X-Two:2");
	all = pushcore_spec_get_all(pool, spec, "header");
	test_assert_str(all[0], "X-Tenant:Acme Corp");
	test_assert_str(all[1], "X-Two:2");
	test_assert(all[2] == NULL);
	test_assert(pushcore_spec_has(spec, "batch"));
	test_assert_str(spec->raw_options, "url=http://127.0.0.1:1/x "
			"header=X-Tenant:Acme Corp batch header=X-Two:2");

	spec = pushcore_spec_parse(pool, "ox:user_from_metadata", &error);
	pushcore_spec_add(pool, spec, "url", "http://h/");
	test_assert(spec->count == 2);
	test_assert_str(pushcore_spec_get(spec, "url"), "http://h/");
	test_assert_str(spec->raw_options, "user_from_metadata url=http://h/");
	pushcore_pool_free(&pool);
}

static void test_tokens(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *error, **all;
	struct pushcore_spec *spec;

	/* spaces collapse, tabs are part of a value, '=' and ':' stay in values,
	   a repeated key replaces the earlier one */
	spec = pushcore_spec_parse(pool, "http:  a=1   b=x=y:z\tw  a=2 flag", &error);
	test_assert(spec != NULL);
	test_assert_str(spec->name, "http");
	test_assert(spec->count == 4);
	test_assert_str(pushcore_spec_get(spec, "a"), "2");
	test_assert_str(pushcore_spec_get(spec, "b"), "x=y:z\tw");
	test_assert_str(pushcore_spec_get(spec, "flag"), "");
	all = pushcore_spec_get_all(pool, spec, "a");
	test_assert_str(all[0], "1");
	test_assert_str(all[1], "2");
	test_assert(all[2] == NULL);
	/* keys are case-sensitive */
	test_assert(pushcore_spec_get(spec, "A") == NULL);
	pushcore_pool_free(&pool);
}

static void test_no_options(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *error;
	struct pushcore_spec *spec;

	spec = pushcore_spec_parse(pool, "dlog", &error);
	test_assert(spec != NULL && spec->count == 0);
	test_assert_str(spec->name, "dlog");
	test_assert_str(spec->raw_options, "");
	spec = pushcore_spec_parse(pool, "dlog:", &error);
	test_assert(spec != NULL && spec->count == 0);
	test_assert(pushcore_spec_parse(pool, ":url=x", &error) == NULL);
	test_assert_str(error, "driver name is empty (expected name:key=value ...)");
	test_assert(pushcore_spec_parse(pool, "", &error) == NULL);
	pushcore_pool_free(&pool);
}

static void test_numbers(void)
{
	unsigned int n;

	test_assert(pushcore_parse_uint("2000", &n) && n == 2000);
	test_assert(!pushcore_parse_uint("-1", &n));
	test_assert(!pushcore_parse_uint("12x", &n));
	test_assert(!pushcore_parse_uint("", &n));
	test_assert(!pushcore_parse_uint("99999999999", &n));
	test_assert(pushcore_parse_time_msecs("60", 1000, &n) && n == 60000);
	test_assert(pushcore_parse_time_msecs("2s", 1000, &n) && n == 2000);
	test_assert(pushcore_parse_time_msecs("500 ms", 1000, &n) && n == 500);
	test_assert(pushcore_parse_time_msecs("5mins", 1000, &n) && n == 300000);
	test_assert(pushcore_parse_time_msecs("1h", 1000, &n) && n == 3600000);
	test_assert(!pushcore_parse_time_msecs("5 fortnights", 1000, &n));
	test_assert(!pushcore_parse_time_msecs("s", 1000, &n));
	test_assert(!pushcore_parse_time_msecs("99999999d", 1000, &n));
}

int main(void)
{
	test_run("spec: reference example", test_reference_example);
	test_run("spec: built option by option", test_built);
	test_run("spec: tokens", test_tokens);
	test_run("spec: no options", test_no_options);
	test_run("spec: numbers and times", test_numbers);
	return test_done();
}
