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

/* What follows a secret's name, and so where its value ends. */
enum value_kind {
	VALUE_NONE,	/* not a secret's name */
	VALUE_SETTING,	/* key=value, "key": value */
	VALUE_QUERY,	/* ?key=value, &key=value: a URL's query or fragment */
	VALUE_HEADER	/* Name: value */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_quote(char c)
{
	return c == '"' || c == '\'';
}

/* A URL ends at white space or a double quote (it may sit in JSON);
   a single quote is no end: "redis://:it's@r" */
static bool is_url_end(char c)
{
	return c == '\0' || c == '"' || isspace((unsigned char)c);
}

/* A host name alone, then a path, query or fragment: an '@' after it is
   in those ("http://host/a@b"), not the end of a userinfo. A ':' or any
   other character before the '/' could be a password's ("user:p/ss@h"),
   so a port is not allowed here: hiding a host beats leaking. */
static bool starts_with_plain_host(const char *p)
{
	size_t i = 0;

	while (isalnum((unsigned char)p[i]) || p[i] == '.' || p[i] == '-' ||
	       p[i] == '_' || p[i] == '~' || p[i] == '%')
		i++;
	return i > 0 && (p[i] == '/' || p[i] == '?' || p[i] == '#');
}

/* The userinfo of a URL that starts at "://" (p points just after it):
   up to the URL's last '@', as a password with an unescaped , ' / ? # or
   @ ("https://me@corp.com:pw@h") would otherwise end it early. Returns
   its length, 0 if none. */
static size_t userinfo_len(const char *p)
{
	size_t i, at = 0;

	for (i = 0; !is_url_end(p[i]); i++) {
		if (p[i] == '@')
			at = i;
	}
	return at == 0 || starts_with_plain_host(p) ? 0 : at;
}

static bool is_name_char(char c)
{
	/* '%' as names are sent URL-encoded, brackets as in token[] */
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '%' ||
		c == '[' || c == ']';
}

static int hex_digit(char c)
{
	return isdigit((unsigned char)c) ? c - '0' :
		tolower((unsigned char)c) - 'a' + 10;
}

/* The name as the endpoint reads it: "%74oken" is token; the brackets of
   "api_key%5B0%5D" are dropped with the other separators. */
static bool name_is_secret(const char *name, size_t len)
{
	char buf[128];
	size_t i, n = 0;

	for (i = 0; i < len && n < sizeof(buf); i++) {
		if (name[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)name[i + 1]) &&
		    isxdigit((unsigned char)name[i + 2])) {
			buf[n++] = (char)(hex_digit(name[i + 1]) * 16 +
					  hex_digit(name[i + 2]));
			i += 2;
		} else {
			buf[n++] = name[i];
		}
	}
	return pushcore_key_is_secret(buf, n);
}

/* Whether a secret's name ends before text[pos] ('=' or ':'), in any of
   "key=", "key = ", "key:", "\"key\": " or "?key[]=", and which kind of
   value follows it. */
static enum value_kind secret_before(const char *text, size_t pos)
{
	size_t start, end = pos;
	bool quoted = false;

	while (end > 0 && is_blank(text[end - 1]))
		end--;
	if (end > 0 && is_quote(text[end - 1])) {
		end--;
		quoted = true;
	}
	start = end;
	while (start > 0 && is_name_char(text[start - 1]))
		start--;
	if (start == end || !name_is_secret(text + start, end - start))
		return VALUE_NONE;
	if (text[pos] == ':' && !quoted)
		return VALUE_HEADER;
	if (start > 0 && strchr("?&;#", text[start - 1]) != NULL)
		return VALUE_QUERY;
	return VALUE_SETTING;
}

/* After a ';' in a query: another parameter ("abc;v=2"), or more of the
   same value ("ab;cd")? */
static bool starts_parameter(const char *p)
{
	size_t i = 0;

	while (is_name_char(p[i]))
		i++;
	return i > 0 && p[i] == '=';
}

static bool is_unquoted_end(const char *p, enum value_kind kind)
{
	switch (kind) {
	case VALUE_HEADER:
		/* the whole line: "webhook-signature: v1,a v1,b" and
		   "Authorization: Basic xyz" */
		return *p == '\0' || *p == '\n' || *p == '"';
	case VALUE_QUERY:
		/* ',' and ';' are a value's own ("?token=ab,cd") */
		return is_url_end(*p) || *p == '&' || *p == '#' ||
			(*p == ';' && starts_parameter(p + 1));
	case VALUE_SETTING:
	case VALUE_NONE:
		break;
	}
	/* a setting list: "webhook_secret=abc,next" */
	return is_url_end(*p) || *p == '&' || *p == ',' || *p == ';';
}

/* Where the value starting at text[v] ends: a quoted one (quote is its
   opening quote) at its closing quote, or at the end of the text when
   cut off before it; an unquoted one as its kind says. */
static size_t value_end(const char *text, size_t v, char quote,
			enum value_kind kind)
{
	size_t n = v;

	if (quote == '\0') {
		while (!is_unquoted_end(text + n, kind))
			n++;
		return n;
	}
	while (text[n] != '\0' && text[n] != quote) {
		/* JSON's \" is no closing quote */
		if (text[n] == '\\' && quote == '"' && text[n + 1] != '\0')
			n++;
		n++;
	}
	return n;
}

const char *pushcore_redact(struct pushcore_pool *pool, const char *text)
{
	struct pushcore_buf out;
	enum value_kind kind;
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
		    (kind = secret_before(text, i)) != VALUE_NONE) {
			size_t v = i + 1;
			char quote = '\0';

			while (is_blank(text[v]))
				v++;
			if (is_quote(text[v]))
				quote = text[v++];
			pushcore_buf_append(&out, text + i, v - i);
			n = value_end(text, v, quote, kind);
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
