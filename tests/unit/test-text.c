/* Untrusted text becomes valid UTF-8, one line, quoted safely; secrets are
   hidden; events serialise to valid JSON. */
#include "unit-test.h"
#include "pushcore.h"

#include <stdlib.h>

static void test_utf8(void)
{
	struct pushcore_buf buf;

	test_assert(pushcore_utf8_is_valid("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	test_assert(!pushcore_utf8_is_valid("\xc0\xaf", 2));	/* overlong */
	test_assert(!pushcore_utf8_is_valid("\xed\xa0\x80", 3));	/* surrogate */
	test_assert(!pushcore_utf8_is_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	test_assert(!pushcore_utf8_is_valid("\xe2\x82", 2));	/* truncated */

	pushcore_buf_init(&buf);
	pushcore_utf8_append_valid(&buf, "a\xff" "b\0c\xe2\x82", 7);
	test_assert_str(buf.data, "a\xef\xbf\xbd" "bc\xef\xbf\xbd\xef\xbf\xbd");
	pushcore_buf_free(&buf);
}

static void test_header_clean(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();

	test_assert_str(pushcore_header_clean(pool, "  Hello\r\n world  "),
			"Hello world");
	test_assert_str(pushcore_header_clean(pool, "a\r\n\tb"), "a b");
	/* a TAB inside the value is kept (as Dovecot's OX driver sends it);
	   a fold's own TAB is the one white space character it becomes */
	test_assert_str(pushcore_header_clean(pool, "a\tb\r\n\tc\r\n  d"),
			"a\tb c  d");
	test_assert_str(pushcore_header_clean(pool, "\ta\t"), "a");
	/* a bare CR or LF can't start a new line anywhere downstream */
	test_assert_str(pushcore_header_clean(pool, "x\rInjected: 1\ny"),
			"xInjected: 1y");
	test_assert_str(pushcore_header_clean(pool, "bad \xff byte"),
			"bad \xef\xbf\xbd byte");
	test_assert_str(pushcore_header_clean(pool, ""), "");
	pushcore_pool_free(&pool);
}

static void test_quoted(void)
{
	struct pushcore_buf buf;

	pushcore_buf_init(&buf);
	pushcore_append_quoted(&buf, "a\"b\\c\nd\x01" "e");
	test_assert_str(buf.data, "\"a\\\"b\\\\c\\nd\\x01e\"");
	pushcore_buf_free(&buf);
}

static void test_redact(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();

	test_assert_str(pushcore_redact(pool,
		"url=http://login:pass@host:8009/notify failed"),
		"url=http://#hidden_use-P_to_show#@host:8009/notify failed");
	test_assert_str(pushcore_redact(pool, "https://user@h/x https://u:p@h2"),
		"https://#hidden_use-P_to_show#@h/x https://#hidden_use-P_to_show#@h2");
	test_assert_str(pushcore_redact(pool, "http://host/a@b"),
		"http://host/a@b");
	test_assert_str(pushcore_redact(pool, "ldap_password=s3cret x=1"),
		"ldap_password=#hidden_use-P_to_show# x=1");
	test_assert_str(pushcore_redact(pool, "Authorization: Basic Zm9vOmJhcg=="),
		"Authorization: #hidden_use-P_to_show#");
	test_assert_str(pushcore_redact(pool, "webhook_secret=abc,next"),
		"webhook_secret=#hidden_use-P_to_show#,next");
	test_assert_str(pushcore_redact(pool, "nothing to hide: here"),
		"nothing to hide: here");
	test_assert(pushcore_key_is_secret("ssl_key", 7));
	test_assert(pushcore_key_is_secret("PASSWORD", 8));
	test_assert(!pushcore_key_is_secret("keywords", 8));
	pushcore_pool_free(&pool);
}

/* Names that carry credentials, in any case and with any separator. */
static void test_redact_names(void)
{
	static const char *const secret[] = {
		"X-Api-Key", "X-Auth-Token", "Api-Key", "access_token", "apiKey",
		"APIKEY", "x.api.key", "webhook-signature", "Signature",
		"client_secret", "ldap_password", "Proxy-Authorization", "pass",
		"refresh-TOKEN", "X_AUTH", "sessionToken", "tls_key_file", NULL
	};
	static const char *const harmless[] = {
		"keywords", "keywords_set", "Keywords-Old", "author", "Content-Type",
		"User-Agent", "webhook-id", "webhook-timestamp", "url", "events",
		"mailboxes", "stream", "maxlen", "passage", NULL
	};
	unsigned int i;

	for (i = 0; secret[i] != NULL; i++) {
		if (!pushcore_key_is_secret(secret[i], strlen(secret[i])))
			printf("  not secret: %s\n", secret[i]);
		test_assert(pushcore_key_is_secret(secret[i], strlen(secret[i])));
	}
	for (i = 0; harmless[i] != NULL; i++) {
		if (pushcore_key_is_secret(harmless[i], strlen(harmless[i])))
			printf("  secret: %s\n", harmless[i]);
		test_assert(!pushcore_key_is_secret(harmless[i], strlen(harmless[i])));
	}
}

/* Header values, whole, and URL query parameters, one by one. */
static void test_redact_headers_and_queries(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
#define H "#hidden_use-P_to_show#"

	test_assert_str(pushcore_redact(pool, "X-Api-Key: abc123"), "X-Api-Key: " H);
	test_assert_str(pushcore_redact(pool, "x-auth-token:abc def"), "x-auth-token:" H);
	test_assert_str(pushcore_redact(pool, "Api-Key: k1"), "Api-Key: " H);
	test_assert_str(pushcore_redact(pool, "webhook-signature: v1,AAA= v1,BBB="),
			"webhook-signature: " H);
	test_assert_str(pushcore_redact(pool, "Content-Type: application/json"),
			"Content-Type: application/json");
	test_assert_str(pushcore_redact(pool, "webhook-id: 1234"), "webhook-id: 1234");
	test_assert_str(pushcore_redact(pool,
		"Notification 1 to https://h/hook?access_token=s3cr3t&x=1 failed: HTTP 503"),
		"Notification 1 to https://h/hook?access_token=" H "&x=1 failed: HTTP 503");
	test_assert_str(pushcore_redact(pool, "https://h/p?apiKey=abc;v=2&SIGNATURE=zz"),
		"https://h/p?apiKey=" H ";v=2&SIGNATURE=" H);
	test_assert_str(pushcore_redact(pool, "https://h/p?page=2&user=bob"),
		"https://h/p?page=2&user=bob");
	test_assert_str(pushcore_redact(pool, "http:url=http://h/x header=X-Auth-Token:t0k"),
		"http:url=http://h/x header=X-Auth-Token:" H);
	/* every line of a block is looked at */
	test_assert_str(pushcore_redact(pool, "a: 1\nauth: x\nb: 2"),
			"a: 1\nauth: " H "\nb: 2");
	pushcore_pool_free(&pool);
#undef H
}

/* A password with a character a URL should have escaped (, ' / ? # or
   another @) is hidden whole, alone, in a request line and before text. */
static void test_redact_url_passwords(void)
{
	static const char *const urls[][2] = {
		{ "https://hook:pa,ss@push.example/x", "pa,ss" },
		{ "redis://:it's@r", "it's" },
		{ "https://user:p/ss@h", "p/ss" },
		{ "redis://:p#w@h", "p#w" },
		{ "https://me@corp.com:pw@h", "pw" },
		{ "https://u:p?w@h/x?token=1", "p?w" },
	};
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *text, *out;
	unsigned int i, j;
#define H "#hidden_use-P_to_show#"

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		for (j = 0; j < 3; j++) {
			text = j == 0 ? urls[i][0] : j == 1 ?
				pushcore_psprintf(pool, "POST %s", urls[i][0]) :
				pushcore_psprintf(pool, "%s more text", urls[i][0]);
			out = pushcore_redact(pool, text);
			if (strstr(out, urls[i][1]) != NULL)
				printf("  leaked %s: %s\n", urls[i][1], out);
			test_assert(strstr(out, urls[i][1]) == NULL);
			test_assert(strstr(out, "://" H "@") != NULL);
		}
	}
	test_assert_str(pushcore_redact(pool, "POST https://me@corp.com:pw@h/x more"),
			"POST https://" H "@h/x more");
	test_assert_str(pushcore_redact(pool, "{\"url\":\"redis://:p#w@h\",\"a\":\"b@c\"}"),
			"{\"url\":\"redis://" H "@h\",\"a\":\"b@c\"}");
	/* an @ in the path of a URL without userinfo is not one */
	test_assert_str(pushcore_redact(pool, "https://h/hook?mail=a@b.c x"),
			"https://h/hook?mail=a@b.c x");
	pushcore_pool_free(&pool);
#undef H
}

/* "name, then value" as settings, JSON and PHP/Rails-style queries write
   it; the value, and only it, hidden. */
static void test_redact_name_value_shapes(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
#define H "#hidden_use-P_to_show#"

	test_assert_str(pushcore_redact(pool, "api_key = S3CR3T x"), "api_key = " H " x");
	test_assert_str(pushcore_redact(pool, "{\"X-Api-Key\":\"S3CR3T\",\"a\":1}"),
			"{\"X-Api-Key\":\"" H "\",\"a\":1}");
	test_assert_str(pushcore_redact(pool, "{\"X-Api-Key\": \"S3CR3T\"}"),
			"{\"X-Api-Key\": \"" H "\"}");
	test_assert_str(pushcore_redact(pool, "{'token': 'S3 CR3T'}"), "{'token': '" H "'}");
	test_assert_str(pushcore_redact(pool, "token=\"S3 CR3T\" x=1"), "token=\"" H "\" x=1");
	test_assert_str(pushcore_redact(pool, "https://h/?token[]=S3CR3T&a=1"),
			"https://h/?token[]=" H "&a=1");
	test_assert_str(pushcore_redact(pool, "https://h/?api_key%5B0%5D=S3CR3T"),
			"https://h/?api_key%5B0%5D=" H);
	test_assert_str(pushcore_redact(pool, "https://h/?%74oken=S3CR3T"),
			"https://h/?%74oken=" H);
	test_assert_str(pushcore_redact(pool, "https://h/?token=ab,cd&a=1"),
			"https://h/?token=" H "&a=1");
	test_assert_str(pushcore_redact(pool, "https://h/?token=ab;cd#f"),
			"https://h/?token=" H "#f");
	test_assert_str(pushcore_redact(pool, "https://h/cb#access_token=ab,cd&s=1"),
			"https://h/cb#access_token=" H "&s=1");
	/* ordinary text stays as it is */
	test_assert_str(pushcore_redact(pool, "subject: hello"), "subject: hello");
	test_assert_str(pushcore_redact(pool, "{\"subject\":\"key points\"}"),
			"{\"subject\":\"key points\"}");
	test_assert_str(pushcore_redact(pool, "{\"subject\": \"token = x\"}"),
			"{\"subject\": \"token = " H "\"}");
	test_assert_str(pushcore_redact(pool, "a = b, c: d, \"e\": \"f\""),
			"a = b, c: d, \"e\": \"f\"");
	pushcore_pool_free(&pool);
#undef H
}

/* A buffer given back (pushcore_buf_free) takes appends again: the
   relay frees an idle connection's large input buffer and reads into it
   later. */
static void test_buf_reuse_after_free(void)
{
	struct pushcore_buf buf;
	char big[100000];

	memset(big, 'x', sizeof(big));
	pushcore_buf_init(&buf);
	pushcore_buf_append(&buf, big, sizeof(big));
	pushcore_buf_free(&buf);
	test_assert(buf.data == NULL && buf.len == 0 && buf.size == 0);
	pushcore_buf_append(&buf, "abc", 3);
	test_assert(buf.len == 3 && strcmp(buf.data, "abc") == 0);
	pushcore_buf_free(&buf);
	pushcore_buf_append(&buf, big, sizeof(big));
	test_assert(buf.len == sizeof(big) && buf.data[sizeof(big)] == '\0');
	pushcore_buf_free(&buf);
}

static void test_event_json(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_event *ev;
	struct pushcore_json *json = pushcore_json_new();
	const char *const kws[] = { "$Label1", "x\"y", NULL };
	const char *out;
	size_t len;

	ev = pushcore_event_new(pool, PUSHCORE_EVENT_FLAGS_CLEAR, "INBOX");
	test_assert(strlen(ev->id) == 36 && ev->id[14] == '4');
	pushcore_event_set_int(ev, PUSHCORE_FIELD_FLAGS,
			       PUSHCORE_FLAG_SEEN | PUSHCORE_FLAG_FLAGGED);
	pushcore_event_set_list(pool, ev, PUSHCORE_FIELD_KEYWORDS_CLEAR, kws);
	/* a field the event doesn't carry is never written */
	pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_SUBJECT, "ignored");
	pushcore_json_object_open(json);
	pushcore_json_event_fields(json, ev);
	pushcore_json_key(json, "s");
	pushcore_json_string(json, "\xff\x01/\xe2\x80\xa8");
	pushcore_json_object_close(json);
	out = pushcore_json_result(json, &len);
	test_assert_str(out, "{\"flags\":[\"\\\\Flagged\",\"\\\\Seen\"],"
			"\"keywords_clear\":[\"$Label1\",\"x\\\"y\"],"
			"\"s\":\"\xef\xbf\xbd\\u0001/\xe2\x80\xa8\"}");
	pushcore_json_free(&json);
	pushcore_pool_free(&pool);
}

static void test_event_table(void)
{
	test_assert(pushcore_event_lookup("messagenew") == PUSHCORE_EVENT_MESSAGE_NEW);
	test_assert(pushcore_event_lookup("MailboxUnsubscribe") ==
		    PUSHCORE_EVENT_MAILBOX_UNSUBSCRIBE);
	test_assert(pushcore_event_lookup("Login") == -1);
	test_assert_str(pushcore_event_info(PUSHCORE_EVENT_FLAGS_SET)->lua_name, "flags_set");
	test_assert(pushcore_event_has_field(PUSHCORE_EVENT_MESSAGE_NEW,
					     PUSHCORE_FIELD_SNIPPET));
	test_assert(!pushcore_event_has_field(PUSHCORE_EVENT_MESSAGE_READ,
					      PUSHCORE_FIELD_SNIPPET));
}

static void test_event_line(void)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_event *ev;
	struct pushcore_buf buf;

	ev = pushcore_event_new(pool, PUSHCORE_EVENT_MAILBOX_RENAME, "New\nName");
	pushcore_event_set_str(pool, ev, PUSHCORE_FIELD_MAILBOX_OLD, "Old");
	pushcore_buf_init(&buf);
	pushcore_event_append_line(&buf, ev);
	test_assert(strncmp(buf.data, "MailboxRename mailbox=\"New\\nName\" "
			    "mailbox_old=\"Old\" id=", 53) == 0);
	test_assert(strchr(buf.data, '\n') == NULL);
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
}

int main(void)
{
	test_run("text: utf8", test_utf8);
	test_run("text: header clean", test_header_clean);
	test_run("text: quoted", test_quoted);
	test_run("redact", test_redact);
	test_run("redact_names", test_redact_names);
	test_run("redact_headers_and_queries", test_redact_headers_and_queries);
	test_run("redact_url_passwords", test_redact_url_passwords);
	test_run("redact_name_value_shapes", test_redact_name_value_shapes);
	test_run("buffer: appends after it was given back", test_buf_reuse_after_free);
	test_run("event: json fields", test_event_json);
	test_run("event: table", test_event_table);
	test_run("event: log line", test_event_line);
	return test_done();
}
