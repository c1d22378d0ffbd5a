/* Spool records: format 2 carries no request, format 1 is read without
   one, ids, names and users are validated. */
#include "unit-test.h"
#include "pushcore-mem.h"
#include "pushcore-spool.h"

#include <stdlib.h>
#include <unistd.h>

#define ID "0a6e1f0e-2f8e-4d2b-9d3a-1b2c3d4e5f60"
#define HEAD "id: " ID "\ncreated: 1795558288000000\nattempts: 1\nnext: 1795558288\n" \
	"user: alice\n"

static int parse(struct pushcore_pool *pool, const char *text,
		 struct pushcore_spool_entry **e_r, const char **error_r)
{
	return pushcore_spool_parse(pool, text, strlen(text), e_r, error_r);
}

static void test_format2(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry *e;
	const char *error;

	test_assert(parse(pool, "PUSHSPOOL 2\n" HEAD "driver: push_notification_driver2\n"
			  "method: POST\nbody: 2\n\n{}", &e, &error) == 0);
	test_assert_str(e->driver, "push_notification_driver2");
	test_assert(e->url == NULL && e->header_count == 0 && e->body_len == 2);
	/* a request in a format 2 file: refused */
	test_assert(parse(pool, "PUSHSPOOL 2\n" HEAD "driver: d\nmethod: POST\n"
			  "url: http://evil/\nbody: 0\n\n", &e, &error) < 0);
	test_assert_str(error, "invalid field 'url'");
	test_assert(parse(pool, "PUSHSPOOL 2\n" HEAD "driver: d\nmethod: GET\nbody: 0\n\n",
			  &e, &error) < 0);
	test_assert(parse(pool, "PUSHSPOOL 2\n" HEAD "driver: d\ndriver: e\nmethod: POST\n"
			  "body: 0\n\n", &e, &error) < 0);
	test_assert(parse(pool, "PUSHSPOOL 2\n" HEAD "method: POST\nbody: 0\n\n",
			  &e, &error) < 0);
	pushcore_pool_free(&pool);
}

static void test_format1(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry *e;
	const char *error;

	test_assert(parse(pool, "PUSHSPOOL 1\n" HEAD "driver: push_notification_driver (http)\n"
			  "method: POST\nurl: http://evil/\ntls_ca_file: /etc/shadow\n"
			  "secret_file: /etc/shadow\ntls_no_verify: 1\ntimeout_msecs: 4000000000\n"
			  "header: X-Evil: 1\nbody: 2\n\n{}", &e, &error) == 0);
	test_assert_str(e->driver, "push_notification_driver");
	test_assert(e->url == NULL && e->secret_file == NULL && e->tls_ca_file == NULL &&
		    !e->tls_no_verify && e->timeout_msecs == 0 && e->header_count == 0);
	pushcore_pool_free(&pool);
}

static void test_names(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry *e;
	const char *error;

	test_assert(pushcore_spool_id_valid(ID));
	test_assert(!pushcore_spool_id_valid("0A6E1F0E-2F8E-4D2B-9D3A-1B2C3D4E5F60"));
	test_assert(!pushcore_spool_id_valid("/../../../../../../../tmp/ptrust-x"));
	test_assert(!pushcore_spool_id_valid(ID "0"));
	test_assert(pushcore_spool_name_valid("1795558288000000-" ID ".spool"));
	test_assert(!pushcore_spool_name_valid("1-" ID ".spool"));
	test_assert(!pushcore_spool_name_valid("1795558288000000-" ID ".spool.bak"));
	test_assert(!pushcore_spool_name_valid("x.spool"));
	test_assert(!pushcore_spool_name_valid("1795558288000000-../" ID ".spool"));
	test_assert(parse(pool, "PUSHSPOOL 2\nid: /../../../../../../../tmp/ptrust-x\n",
			  &e, &error) < 0);
	test_assert(pushcore_spool_user_name_valid("alice@example.org"));
	test_assert(!pushcore_spool_user_name_valid("-A"));
	test_assert(!pushcore_spool_user_name_valid("a*"));
	test_assert(!pushcore_spool_user_name_valid("a b"));
	test_assert(!pushcore_spool_user_name_valid("a\x1b"));
	test_assert(!pushcore_spool_user_name_valid(""));
	pushcore_pool_free(&pool);
}

/* Written and read back: the record, and nothing of the request. */
static void test_round_trip(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry in, *out;
	const char *headers[] = { "Authorization: Bearer x" }, *error, *path;
	char dir[] = "/tmp/test-spool-XXXXXX";

	test_assert(mkdtemp(dir) != NULL);
	memset(&in, 0, sizeof(in));
	memcpy(in.id, ID, 37);
	in.created_usecs = 1795558288000000LL;
	in.user = "alice";
	in.driver = "hook";
	in.method = "XADD";
	in.url = "redis://u:p@h/";
	in.headers = headers;
	in.header_count = 1;
	in.secret_file = "/etc/k";
	in.body = "{}";
	in.body_len = 2;
	/* a name is never a path */
	memcpy(in.id, "/../../../../../../../tmp/ptrust-xx", 36);
	test_assert(pushcore_spool_write(dir, PUSHCORE_SPOOL_NEW, &in, &error) < 0);
	memcpy(in.id, ID, 37);
	test_assert(pushcore_spool_write(dir, PUSHCORE_SPOOL_NEW, &in, &error) == 0);
	path = pushcore_psprintf(pool, "%s/new/%s", dir, pushcore_spool_file_name(pool, &in));
	test_assert(pushcore_spool_read(pool, path, &out, &error) == 0);
	test_assert_str(out->driver, "hook");
	test_assert_str(out->method, "XADD");
	test_assert(out->url == NULL && out->header_count == 0 && out->secret_file == NULL);
	unlink(path);
	rmdir(pushcore_psprintf(pool, "%s/new", dir));
	rmdir(pushcore_psprintf(pool, "%s/tmp", dir));
	rmdir(pushcore_psprintf(pool, "%s/failed", dir));
	rmdir(pushcore_psprintf(pool, "%s/quarantine", dir));
	rmdir(dir);
	pushcore_pool_free(&pool);
}

int main(void)
{
	test_run("spool: format 2", test_format2);
	test_run("spool: format 1", test_format1);
	test_run("spool: ids, names, users", test_names);
	test_run("spool: round trip", test_round_trip);
	return test_done();
}
