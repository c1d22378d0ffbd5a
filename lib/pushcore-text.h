#ifndef PUSHCORE_TEXT_H
#define PUSHCORE_TEXT_H

#include "pushcore-api.h"

/* Text from messages is untrusted: these turn it into something safe to put
   into JSON, a log line or a Lua string. */

#include <stdbool.h>
#include <stddef.h>

struct pushcore_pool;
struct pushcore_buf;

#ifdef PUSHCORE_INTERNAL	/* libpushcore's own (not exported) */
/* Appends data as valid UTF-8: every byte of an invalid or overlong sequence,
   surrogate or code point above U+10FFFF becomes U+FFFD; NUL bytes are
   dropped. */
void pushcore_utf8_append_valid(struct pushcore_buf *buf,
				const void *data, size_t len);
bool pushcore_utf8_is_valid(const void *data, size_t len);
#endif

/* A header value as one clean line: valid UTF-8, folding undone (a line
   break and the white space character after it become one space, RFC 5322
   2.2.3; a bare CR or LF is dropped), a TAB inside the value kept (as
   Dovecot's own OX driver sends it), NUL dropped, leading and trailing
   white space trimmed. */
PUSHCORE_API char *pushcore_header_clean(struct pushcore_pool *pool, const char *value);

/* Text from the network (an endpoint's answer, curl's error quoting a
   certificate's subject, a Redis error) for a log line or a terminal:
   every control character (C0 but TAB, DEL, and C1 as UTF-8) is written
   as \xNN,
   so it can neither start a new line nor drive a terminal; everything else
   is kept. Returns text itself when there was none. */
PUSHCORE_API const char *pushcore_escape_controls(struct pushcore_pool *pool,
						  const char *text);

#ifdef PUSHCORE_INTERNAL	/* libpushcore's own (not exported) */
/* Appends str for a one-line log: printable text as is, quotes, backslashes
   and control characters escaped, surrounded by double quotes. A hostile
   value can never start a new log line. */
void pushcore_append_quoted(struct pushcore_buf *buf, const char *str);
#endif

#endif
