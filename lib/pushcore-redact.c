/* Hiding credentials from every log line and every printed setting. */
#include "pushcore-redact.h"
#include "pushcore-mem.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* A name holding one of these, in any case and with any separators
   (X-Api-Key, X-Auth-Token, access_token, apiKey, webhook-signature,
   ldap_password...), names a credential. */
static const char *const secret_words[] = {
	"token", "key", "secret", "auth", "password", "passwd", "signature",
	"credential", "nonce", "bearer", NULL
};
static const char *const secret_names[] = { "pass", "pwd", NULL };
/* ...unless it is one of these mail words that merely contain one */
static const char *const harmless_prefixes[] = { "keyword", NULL };
static const char *const harmless_names[] = { "author", "authors", NULL };

bool pushcore_key_is_secret(const char *key, unsigned int key_len)
{
	char name[128];
	unsigned int i, n = 0;

	/* lowercase, separators dropped: "X-Api-Key" is "xapikey" */
	for (i = 0; i < key_len && n < sizeof(name) - 1; i++) {
		if (isalnum((unsigned char)key[i]))
			name[n++] = (char)tolower((unsigned char)key[i]);
	}
	name[n] = '\0';
	for (i = 0; harmless_prefixes[i] != NULL; i++) {
		if (strncmp(name, harmless_prefixes[i], strlen(harmless_prefixes[i])) == 0)
			return false;
	}
	for (i = 0; harmless_names[i] != NULL; i++) {
		if (strcmp(name, harmless_names[i]) == 0)
			return false;
	}
	for (i = 0; secret_names[i] != NULL; i++) {
		if (strcmp(name, secret_names[i]) == 0)
			return true;
	}
	for (i = 0; secret_words[i] != NULL; i++) {
		if (strstr(name, secret_words[i]) != NULL)
			return true;
	}
	return false;
}

static bool is_value_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == ',' ||
		c == '"' || c == '\'';
}

/* Where the value after a secret name ends: a key=value (a setting, a
   URL query parameter) at a separator or '&'; a "Name: value" header at
   the end of the line, so "webhook-signature: v1,a v1,b" and
   "Authorization: Basic xyz" are hidden whole. */
static size_t value_end(const char *text, size_t v, char sep)
{
	size_t n = v;

	if (sep == ':') {
		while (text[n] != '\0' && text[n] != '\n' && text[n] != '"' &&
		       text[n] != '\'')
			n++;
		return n;
	}
	while (!is_value_end(text[n]) && text[n] != '&' && text[n] != ';')
		n++;
	return n;
}

/* At text[i] == '@' or ':' ... finds the userinfo of a URL that starts at
   "://" (p points just after it). Returns its length, 0 if none. */
static size_t userinfo_len(const char *p)
{
	size_t i;

	for (i = 0; !is_value_end(p[i]) && p[i] != '/' && p[i] != '?' &&
		    p[i] != '#'; i++) {
		if (p[i] == '@')
			return i;
	}
	return 0;
}

/* If a secret key ends right before p[0] ('=' or ':'), returns the length
   of the key, else 0. */
static size_t secret_key_before(const char *text, size_t pos)
{
	size_t start = pos;

	while (start > 0 && (isalnum((unsigned char)text[start - 1]) ||
			     text[start - 1] == '_' || text[start - 1] == '-'))
		start--;
	if (start == pos || !pushcore_key_is_secret(text + start, pos - start))
		return 0;
	return pos - start;
}

const char *pushcore_redact(struct pushcore_pool *pool, const char *text)
{
	struct pushcore_buf out;
	size_t i = 0, n;
	bool changed = false;
	const char *ret;

	pushcore_buf_init(&out);
	while (text[i] != '\0') {
		if (strncmp(text + i, "://", 3) == 0 &&
		    (n = userinfo_len(text + i + 3)) > 0) {
			pushcore_buf_append(&out, text + i, 3);
			pushcore_buf_append_str(&out, PUSHCORE_REDACTED);
			i += 3 + n;
			changed = true;
			continue;
		}
		if ((text[i] == '=' || text[i] == ':') &&
		    secret_key_before(text, i) > 0) {
			size_t v = i + 1;

			pushcore_buf_append_c(&out, text[i]);
			while (text[v] == ' ' && text[i] == ':')
				pushcore_buf_append_c(&out, text[v++]);
			n = value_end(text, v, text[i]);
			if (n > v) {
				pushcore_buf_append_str(&out, PUSHCORE_REDACTED);
				changed = true;
			}
			i = n;
			continue;
		}
		pushcore_buf_append_c(&out, text[i++]);
	}
	ret = changed ? pushcore_pstrndup(pool, out.data, out.len) : text;
	pushcore_buf_free(&out);
	return ret;
}
