/* UTF-8 validation, header unfolding and log quoting. */
#include "pushcore-text.h"
#include "pushcore-mem.h"

#include <stdint.h>
#include <string.h>

static const char replacement_char[] = "\xEF\xBF\xBD";

/* Returns the length of the valid UTF-8 sequence at p, or 0 if p does not
   start one (Unicode 15, table 3-7). */
static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
	else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
	else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
	else return 0;
	if (left < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

bool pushcore_utf8_is_valid(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq_len(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

void pushcore_utf8_append_valid(struct pushcore_buf *buf,
				const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0, start = 0, n;

	while (i < len) {
		n = p[i] == '\0' ? 0 : utf8_seq_len(p + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		pushcore_buf_append(buf, p + start, i - start);
		if (p[i] != '\0')
			pushcore_buf_append_str(buf, replacement_char);
		start = ++i;
	}
	pushcore_buf_append(buf, p + start, i - start);
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

char *pushcore_header_clean(struct pushcore_pool *pool, const char *value)
{
	struct pushcore_buf unfolded, valid;
	const char *p;
	size_t start, end;
	char *ret;

	pushcore_buf_init(&unfolded);
	for (p = value; *p != '\0'; p++) {
		if (*p != '\r' && *p != '\n') {
			/* a TAB inside the value stays a TAB, as Dovecot's own
			   OX driver sends it */
			pushcore_buf_append_c(&unfolded, *p);
			continue;
		}
		/* a fold: the line break and the white space after it
		   become one space; a bare CR or LF just goes */
		while (p[1] == '\r' || p[1] == '\n')
			p++;
		if (is_wsp(p[1])) {
			pushcore_buf_append_c(&unfolded, ' ');
			p++;
		}
	}
	pushcore_buf_init(&valid);
	pushcore_utf8_append_valid(&valid, unfolded.data, unfolded.len);
	pushcore_buf_free(&unfolded);

	for (start = 0; is_wsp(valid.data[start]); start++) ;
	for (end = valid.len; end > start && is_wsp(valid.data[end - 1]); end--) ;
	ret = pushcore_pstrndup(pool, valid.data + start, end - start);
	pushcore_buf_free(&valid);
	return ret;
}

void pushcore_append_quoted(struct pushcore_buf *buf, const char *str)
{
	const unsigned char *p;

	pushcore_buf_append_c(buf, '"');
	for (p = (const unsigned char *)str; *p != '\0'; p++) {
		switch (*p) {
		case '"': pushcore_buf_append_str(buf, "\\\""); break;
		case '\\': pushcore_buf_append_str(buf, "\\\\"); break;
		case '\n': pushcore_buf_append_str(buf, "\\n"); break;
		case '\r': pushcore_buf_append_str(buf, "\\r"); break;
		case '\t': pushcore_buf_append_str(buf, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7F)
				pushcore_buf_printf(buf, "\\x%02x", *p);
			else
				pushcore_buf_append_c(buf, (char)*p);
		}
	}
	pushcore_buf_append_c(buf, '"');
}

/* Whether p starts a control character: C0 but TAB (harmless, and Lua's
   print() joins with it), DEL, or C1 (U+0080 to U+009F, 0xC2 0x80-0x9F
   in UTF-8, which some terminals obey); its length in *len_r. */
static bool is_control(const unsigned char *p, size_t *len_r)
{
	*len_r = p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F ? 2 : 1;
	return (p[0] < 0x20 && p[0] != '\t') || p[0] == 0x7F || *len_r == 2;
}

const char *pushcore_escape_controls(struct pushcore_pool *pool, const char *text)
{
	const unsigned char *p;
	struct pushcore_buf buf;
	const char *ret;
	size_t len, i;

	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (is_control(p, &len))
			break;
	}
	if (*p == '\0')
		return text;
	pushcore_buf_init(&buf);
	pushcore_buf_append(&buf, text, (size_t)(p - (const unsigned char *)text));
	for (; *p != '\0'; p += len) {
		if (!is_control(p, &len)) {
			pushcore_buf_append_c(&buf, (char)*p);
			continue;
		}
		for (i = 0; i < len; i++)
			pushcore_buf_printf(&buf, "\\x%02x", p[i]);
	}
	ret = pushcore_pstrdup(pool, buf.data);
	pushcore_buf_free(&buf);
	return ret;
}
