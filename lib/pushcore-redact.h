#ifndef PUSHCORE_REDACT_H
#define PUSHCORE_REDACT_H

/* Secrets are hidden the way doveconf hides them, so an administrator sees
   the same marker everywhere. */

#include <stdbool.h>

struct pushcore_pool;

#define PUSHCORE_REDACTED "#hidden_use-P_to_show#"

/* Returns text with the userinfo of every URL ("scheme://user:pass@") and
   the value of every key=value or key: value whose key ends in _password,
   _secret, _key, _nonce or _key_file, or is "password", "secret",
   "authorization" or "bearer", replaced by PUSHCORE_REDACTED. Returns text
   itself when nothing needed hiding. */
const char *pushcore_redact(struct pushcore_pool *pool, const char *text);

/* True if a driver option or setting named key holds a secret. */
bool pushcore_key_is_secret(const char *key, unsigned int key_len);

#endif
