#ifndef PUSHCORE_SIGN_H
#define PUSHCORE_SIGN_H

#include "pushcore-api.h"

/* Request signing as the Standard Webhooks specification defines it:
     webhook-signature: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>
   with one signature per secret, space-separated, so that a receiver keeps
   verifying while secrets are rotated. */

#include <stddef.h>

struct pushcore_pool;

struct pushcore_secret {
	unsigned char *key;
	size_t key_len;
};

struct pushcore_secrets {
	unsigned int count;
	struct pushcore_secret *secrets;
};

/* Reads a secret file: one secret per line (empty lines and lines starting
   with '#' are skipped); "whsec_<base64>" is the Standard Webhooks form and
   is base64-decoded, any other line is used as it is. Errors name the path
   and line number, never a secret. */
PUSHCORE_API
int pushcore_secrets_load(struct pushcore_pool *pool, const char *path,
			  struct pushcore_secrets **secrets_r,
			  const char **error_r);

/* The webhook-signature header value for this request. */
PUSHCORE_API
const char *pushcore_sign(struct pushcore_pool *pool,
			  const struct pushcore_secrets *secrets,
			  const char *id, long long timestamp,
			  const void *body, size_t body_len);

#endif
