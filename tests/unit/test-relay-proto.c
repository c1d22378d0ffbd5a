#define _GNU_SOURCE	/* memmem */
/* The relay socket's frames: what the plugin encodes the relay decodes,
   only trusted fields travel, and a peer's garbage is refused. */
#include "unit-test.h"
#include "pushcore.h"
#include "pushcore-relay-proto.h"

#define ID1 "0a6e1f0e-2f8e-4d2b-9d3a-1b2c3d4e5f60"
#define ID2 "11111111-2222-4333-8444-555555555555"

static void fill_entry(struct pushcore_spool_entry *e, const char *id,
		       const char *user, const char *body)
{
	static const char *headers[] = { "Authorization: Bearer s3cret", NULL };

	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, 37);
	e->created_usecs = 1795558288000123LL;
	e->next_attempt = 1795558288;
	e->user = user;
	e->driver = "push_notification_driver2";
	e->method = "POST";
	e->url = "https://user:pw@push.example.com/hook";
	e->secret_file = "/etc/shadow";
	e->tls_no_verify = true;
	e->timeout_msecs = 99999;
	e->headers = headers;
	e->header_count = 1;
	e->body = body;
	e->body_len = strlen(body);
}

static void test_submit_roundtrip(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_spool_entry e1, e2;
	const struct pushcore_spool_entry *entries[] = { &e1, &e2 };
	struct pushcore_relay_msg msg;
	struct pushcore_buf buf;
	const char *error = NULL;
	size_t size = 0;

	fill_entry(&e1, ID1, "alice", "{\"a\":1}");
	fill_entry(&e2, ID2, "bob@example.com", "line1\nline2\0binary");
	e2.body_len = 18;
	pushcore_buf_init(&buf);
	pushcore_relay_encode_submit(&buf, 7, entries, 2);
	test_assert(pushcore_relay_frame(buf.data, buf.len, &size, &error) == 1);
	test_assert(size == buf.len);
	test_assert(pushcore_relay_decode(pool, buf.data, size, &msg, &error) == 0);
	test_assert(msg.type == PUSHCORE_RELAY_SUBMIT);
	test_assert(msg.seq == 7);
	test_assert(msg.count == 2);
	test_assert_str(msg.entries[0]->id, ID1);
	test_assert_str(msg.entries[0]->user, "alice");
	test_assert_str(msg.entries[0]->driver, "push_notification_driver2");
	test_assert_str(msg.entries[0]->method, "POST");
	test_assert(msg.entries[0]->created_usecs == 1795558288000123LL);
	test_assert(msg.entries[0]->body_len == 7 &&
		    memcmp(msg.entries[0]->body, "{\"a\":1}", 7) == 0);
	test_assert_str(msg.entries[1]->user, "bob@example.com");
	test_assert(msg.entries[1]->body_len == 18 &&
		    memcmp(msg.entries[1]->body, "line1\nline2\0binary", 18) == 0);
	/* nothing that names a destination or a credential travels */
	test_assert(msg.entries[0]->header_count == 0);
	test_assert(msg.entries[0]->secret_file == NULL);
	test_assert(!msg.entries[0]->tls_no_verify);
	test_assert(msg.entries[0]->timeout_msecs == 0);
	test_assert(msg.entries[0]->url == NULL || msg.entries[0]->url[0] == '\0');
	test_assert(memmem(buf.data, buf.len, "s3cret", 6) == NULL);
	test_assert(memmem(buf.data, buf.len, "example.com/hook", 16) == NULL);
	test_assert(memmem(buf.data, buf.len, "shadow", 6) == NULL);
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
}

static void test_partial_frames(void)
{
	struct pushcore_spool_entry e;
	const struct pushcore_spool_entry *entries[] = { &e };
	struct pushcore_buf buf;
	const char *error = NULL;
	size_t size = 0, i;

	fill_entry(&e, ID1, "alice", "{}");
	pushcore_buf_init(&buf);
	pushcore_relay_encode_submit(&buf, 1, entries, 1);
	/* every prefix asks for more, never an error */
	for (i = 0; i < buf.len; i++)
		test_assert(pushcore_relay_frame(buf.data, i, &size, &error) == 0);
	/* two frames back to back: the first's size */
	pushcore_relay_encode_ack(&buf, 1, PUSHCORE_RELAY_OK, 1, NULL);
	test_assert(pushcore_relay_frame(buf.data, buf.len, &size, &error) == 1);
	test_assert(size < buf.len);
	pushcore_buf_free(&buf);
}

static void test_ack_and_retry(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *ids[] = { ID1, ID2 };
	struct pushcore_relay_msg msg;
	struct pushcore_buf buf;
	const char *error = NULL;

	pushcore_buf_init(&buf);
	pushcore_relay_encode_ack(&buf, 42, PUSHCORE_RELAY_REFUSED, 0,
				  "uid 65534 may not submit for user alice");
	test_assert(pushcore_relay_decode(pool, buf.data, buf.len, &msg, &error) == 0);
	test_assert(msg.type == PUSHCORE_RELAY_ACK && msg.seq == 42);
	test_assert(msg.status == PUSHCORE_RELAY_REFUSED);
	test_assert_str(msg.text, "uid 65534 may not submit for user alice");
	buf.len = 0;
	pushcore_relay_encode_retry(&buf, 3, ids, 2);
	test_assert(pushcore_relay_decode(pool, buf.data, buf.len, &msg, &error) == 0);
	test_assert(msg.type == PUSHCORE_RELAY_RETRY && msg.count == 2);
	test_assert_str(msg.ids[1], ID2);
	buf.len = 0;
	pushcore_relay_encode_retry(&buf, 4, NULL, 0);
	test_assert(pushcore_relay_decode(pool, buf.data, buf.len, &msg, &error) == 0);
	test_assert(msg.type == PUSHCORE_RELAY_RETRY && msg.count == 0);
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
}

static int decode_bytes(const void *data, size_t size, const char **error_r)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_relay_msg msg;
	int ret = pushcore_relay_decode(pool, data, size, &msg, error_r);

	pushcore_pool_free(&pool);
	return ret;
}

static void test_garbage(void)
{
	struct pushcore_spool_entry e;
	const struct pushcore_spool_entry *entries[] = { &e };
	const char *ids[] = { "../../etc/passwd" };
	struct pushcore_buf buf;
	const char *error = NULL;
	size_t size;
	unsigned char huge[] = { 0x7f, 0xff, 0xff, 0xff, 'S' };
	unsigned char tiny[] = { 0, 0, 0, 1, 'S' };
	unsigned char many[] = { 0, 0, 0, 9, 'S', 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff };
	unsigned char type[] = { 0, 0, 0, 9, 'X', 0, 0, 0, 1, 0, 0, 0, 0 };

	/* lengths beyond the bound or below a header end the connection */
	test_assert(pushcore_relay_frame(huge, sizeof(huge), &size, &error) == -1);
	test_assert(pushcore_relay_frame(tiny, sizeof(tiny), &size, &error) == -1);
	test_assert(decode_bytes(many, sizeof(many), &error) == -1);
	test_assert(decode_bytes(type, sizeof(type), &error) == -1);
	/* a traversing id, in a retry or in a record */
	pushcore_buf_init(&buf);
	pushcore_relay_encode_retry(&buf, 1, ids, 1);
	test_assert(decode_bytes(buf.data, buf.len, &error) == -1);
	buf.len = 0;
	fill_entry(&e, "../../../../../../../../../etc/passwd", "alice", "{}");
	pushcore_relay_encode_submit(&buf, 1, entries, 1);
	test_assert(decode_bytes(buf.data, buf.len, &error) == -1);
	/* a record cut short, and bytes after the last record */
	buf.len = 0;
	fill_entry(&e, ID1, "alice", "{}");
	pushcore_relay_encode_submit(&buf, 1, entries, 1);
	buf.data[3] -= 1;
	test_assert(decode_bytes(buf.data, buf.len - 1, &error) == -1);
	buf.data[3] += 2;
	pushcore_buf_append_c(&buf, 'x');
	test_assert(decode_bytes(buf.data, buf.len, &error) == -1);
	pushcore_buf_free(&buf);
}

static void test_id_valid(void)
{
	test_assert(pushcore_relay_id_valid(ID1));
	test_assert(!pushcore_relay_id_valid(""));
	test_assert(!pushcore_relay_id_valid("0A6E1F0E-2F8E-4D2B-9D3A-1B2C3D4E5F60"));
	test_assert(!pushcore_relay_id_valid(ID1 "0"));
	test_assert(!pushcore_relay_id_valid("0a6e1f0e/2f8e-4d2b-9d3a-1b2c3d4e5f60"));
}

int main(void)
{
	test_run("submit round trip, trusted fields only", test_submit_roundtrip);
	test_run("partial and back-to-back frames", test_partial_frames);
	test_run("ack and retry", test_ack_and_retry);
	test_run("garbage is refused", test_garbage);
	test_run("id validation", test_id_valid);
	return test_done();
}
