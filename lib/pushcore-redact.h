#ifndef PUSHCORE_REDACT_H
#define PUSHCORE_REDACT_H

#include "pushcore-api.h"

/* Secrets are hidden the way doveconf hides them, so an administrator sees
   the same marker everywhere. */

#include <stdbool.h>

struct pushcore_pool;

#define PUSHCORE_REDACTED "#hidden_use-P_to_show#"

/* Returns text with the userinfo of every URL ("scheme://user:pass@", up
   to the URL's last '@', so a password with an unescaped , ' / ? # or @
   is hidden whole) and the value of every key=value, "key = value",
   "key": "value" or ?key[]=value whose name is a secret's
   (pushcore_key_is_secret, after %XX decoding) replaced by
   PUSHCORE_REDACTED. A quoted value ends at its closing quote; a URL
   query parameter's at '&', '#' or white space; a setting's also at ','
   or ';'; a "Name: value" header's at the end of the line. Returns text
   itself when nothing needed hiding. */
PUSHCORE_API const char *pushcore_redact(struct pushcore_pool *pool, const char *text);

/* True if a setting, header or query parameter named key holds a secret:
   its name contains token, key, secret, auth, password, passwd, signature,
   credential, nonce or bearer in any case and with any separators
   (X-Api-Key, X-Auth-Token, access_token, apiKey), or is pass or pwd;
   names starting with keyword, and author, are not. */
PUSHCORE_API bool pushcore_key_is_secret(const char *key, unsigned int key_len);

#endif
