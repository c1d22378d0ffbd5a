/* Hiding credentials from every log line and every printed setting. */
#include "pushcore-redact.h"
#include "pushcore-mem.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const secret_suffixes[] = {
	"_password", "_secret", "_key", "_nonce", "_key_file", NULL
};
static const char *const secret_names[] = {
	"password", "secret", "authorization", "bearer", "pass", NULL
};

bool pushcore_key_is_secret(const char *key, unsigned int key_len)
{
	unsigned int i, slen;

	for (i = 0; secret_names[i] != NULL; i++) {
		if (strlen(secret_names[i]) == key_len &&
		    strncasecmp(key, secret_names[i], key_len) == 0)
			return true;
	}
	for (i = 0; secret_suffixes[i] != NULL; i++) {
		slen = strlen(secret_suffixes[i]);
		if (key_len > slen &&
		    strncasecmp(key + key_len - slen, secret_suffixes[i], slen) == 0)
			return true;
	}
	return false;
}

static bool is_value_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == ',' ||
		c == '"' || c == '\'';
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
			/* "Authorization: Basic xyz" hides the scheme too */
			n = v;
			while (!is_value_end(text[n]) ||
			       (text[n] == ' ' && text[i] == ':' &&
				!is_value_end(text[n + 1])))
				n++;
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
