/* Standard Webhooks signing, checked against the specification's published
   example and a vector computed with Python's hmac; the event document. */
#include "unit-test.h"
#include "pushcore.h"

#include <stdlib.h>
#include <unistd.h>

static const char *write_file(const char *content)
{
	static char path[] = "/tmp/pushcore-test-XXXXXX";
	int fd;

	strcpy(path, "/tmp/pushcore-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		abort();
	close(fd);
	return path;
}

static void test_spec_example(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_secrets *secrets;
	const char *error, *path, *body = "{\"test\": 2432232314}";

	path = write_file("# the example of the Standard Webhooks specification\n"
			  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
	test_assert(pushcore_secrets_load(pool, path, &secrets, &error) == 0);
	unlink(path);
	test_assert(secrets->count == 1 && secrets->secrets[0].key_len == 24);
	test_assert_str(pushcore_sign(pool, secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek",
				      1614265330, body, strlen(body)),
			"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	pushcore_pool_free(&pool);
}

static void test_rotation_and_plain_secrets(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_secrets *secrets;
	const char *error, *path;

	path = write_file("plain-secret  \r\n\nwhsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
	test_assert(pushcore_secrets_load(pool, path, &secrets, &error) == 0);
	unlink(path);
	test_assert(secrets->count == 2);
	test_assert_str(pushcore_sign(pool, secrets, "id1", 1700000000, "{}", 2),
			"v1,kgaJhCJe4jpwq7JLSW8elj2j5d7sUjxvhJpxFexLqU8= "
			"v1,YJE3SUXYnCavHqqAzf4/VG8tqErYz/H+dfcLjjzViXM=");
	pushcore_pool_free(&pool);
}

static void test_bad_secret_files(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_secrets *secrets;
	const char *error, *path;

	test_assert(pushcore_secrets_load(pool, "/nonexistent/secret", &secrets,
					  &error) < 0);
	test_assert_str(error, "open(/nonexistent/secret) failed: No such file or directory");
	path = write_file("# nothing\n\n");
	test_assert(pushcore_secrets_load(pool, path, &secrets, &error) < 0);
	test_assert(strstr(error, "holds no secret") != NULL);
	unlink(path);
	path = write_file("whsec_not*base64!\n");
	test_assert(pushcore_secrets_load(pool, path, &secrets, &error) < 0);
	test_assert(strstr(error, "line 1: invalid whsec_ secret") != NULL);
	test_assert(strstr(error, "not*base64") == NULL);	/* never the secret */
	unlink(path);
	pushcore_pool_free(&pool);
}

static void test_payload(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_json *json = pushcore_json_new();
	struct pushcore_event *ev;
	const struct pushcore_event *evs[2];
	const char *prefix;
	size_t len;
	char expect[512];

	ev = pushcore_event_new(pool, PUSHCORE_EVENT_MESSAGE_EXPUNGE, "INBOX");
	ev->uid = 7;
	ev->uidvalidity = 1234;
	ev->time_usecs = 1795558288123456LL;
	pushcore_payload_event(json, "alice", ev);
	snprintf(expect, sizeof(expect), "{\"schema_version\":1,\"id\":\"%s\","
		 "\"time\":\"2026-11-24T22:11:28.123456Z\",\"event\":\"MessageExpunge\","
		 "\"user\":\"alice\",\"mailbox\":\"INBOX\",\"uid\":7,"
		 "\"uidvalidity\":1234}", ev->id);
	test_assert_str(pushcore_json_result(json, &len), expect);
	pushcore_json_free(&json);

	json = pushcore_json_new();
	evs[0] = ev;
	evs[1] = pushcore_event_new(pool, PUSHCORE_EVENT_MAILBOX_DELETE, "Old");
	pushcore_payload_batch(json, "batch-1", "alice", evs, 2);
	prefix = "{\"schema_version\":1,\"id\":\"batch-1\",\"events\":[{\"id\":";
	test_assert(strncmp(pushcore_json_result(json, &len), prefix,
			    strlen(prefix)) == 0);
	test_assert(strstr(pushcore_json_result(json, &len),
			   "\"event\":\"MailboxDelete\",\"user\":\"alice\",\"mailbox\":\"Old\"}]}") != NULL);
	pushcore_json_free(&json);
	pushcore_pool_free(&pool);
}

int main(void)
{
	test_run("sign: specification example", test_spec_example);
	test_run("sign: rotation, plain secrets", test_rotation_and_plain_secrets);
	test_run("sign: bad secret files", test_bad_secret_files);
	test_run("payload: event and batch documents", test_payload);
	return test_done();
}
