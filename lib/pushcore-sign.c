/* Standard Webhooks signatures with OpenSSL's HMAC and base64. */
#include "pushcore-sign.h"
#include "pushcore-file.h"
#include "pushcore-mem.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define SECRET_FILE_MAX (64 * 1024)
#define WHSEC_PREFIX "whsec_"

static bool secret_decode(struct pushcore_pool *pool, const char *line,
			  size_t len, struct pushcore_secret *secret_r)
{
	size_t plen = strlen(WHSEC_PREFIX), b64_len;
	int out_len;

	if (len <= plen || strncmp(line, WHSEC_PREFIX, plen) != 0) {
		secret_r->key = (unsigned char *)pushcore_pstrndup(pool, line, len);
		secret_r->key_len = len;
		return true;
	}
	b64_len = len - plen;
	if (b64_len % 4 != 0)
		return false;
	secret_r->key = pushcore_palloc(pool, b64_len / 4 * 3 + 1);
	out_len = EVP_DecodeBlock(secret_r->key, (const unsigned char *)line + plen,
				  (int)b64_len);
	if (out_len < 0)
		return false;
	/* EVP_DecodeBlock counts the padding as data */
	if (line[len - 1] == '=') out_len--;
	if (line[len - 2] == '=') out_len--;
	secret_r->key_len = (size_t)out_len;
	return out_len > 0;
}

int pushcore_secrets_load(struct pushcore_pool *pool, const char *path,
			  struct pushcore_secrets **secrets_r,
			  const char **error_r)
{
	struct pushcore_secrets *secrets = pushcore_palloc(pool, sizeof(*secrets));
	char *content, *line, *end;
	size_t size, len;
	unsigned int lineno = 0;

	if (pushcore_file_read(pool, path, SECRET_FILE_MAX, &content, &size,
			       error_r) < 0)
		return -1;
	secrets->secrets = pushcore_palloc(pool, sizeof(*secrets->secrets) *
					   (size / 2 + 1));
	for (line = content; line < content + size; line = end + 1) {
		lineno++;
		if ((end = strchr(line, '\n')) == NULL)
			end = content + size;
		len = (size_t)(end - line);
		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
				   line[len - 1] == '\t'))
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		if (!secret_decode(pool, line, len,
				   &secrets->secrets[secrets->count])) {
			*error_r = pushcore_psprintf(pool, "%s line %u: invalid "
				"whsec_ secret (expected whsec_ and base64)", path, lineno);
			return -1;
		}
		secrets->count++;
	}
	if (secrets->count == 0) {
		*error_r = pushcore_psprintf(pool, "%s holds no secret", path);
		return -1;
	}
	*secrets_r = secrets;
	return 0;
}

const char *pushcore_sign(struct pushcore_pool *pool,
			  const struct pushcore_secrets *secrets,
			  const char *id, long long timestamp,
			  const void *body, size_t body_len)
{
	struct pushcore_buf msg, out;
	unsigned char mac[EVP_MAX_MD_SIZE], b64[EVP_MAX_MD_SIZE * 2];
	unsigned int i, mac_len;
	const char *ret;

	pushcore_buf_init(&msg);
	pushcore_buf_printf(&msg, "%s.%lld.", id, timestamp);
	pushcore_buf_append(&msg, body, body_len);
	pushcore_buf_init(&out);
	for (i = 0; i < secrets->count; i++) {
		HMAC(EVP_sha256(), secrets->secrets[i].key,
		     (int)secrets->secrets[i].key_len,
		     (const unsigned char *)msg.data, msg.len, mac, &mac_len);
		EVP_EncodeBlock(b64, mac, (int)mac_len);
		pushcore_buf_printf(&out, "%sv1,%s", i == 0 ? "" : " ", b64);
	}
	ret = pushcore_pstrndup(pool, out.data, out.len);
	pushcore_buf_free(&msg);
	pushcore_buf_free(&out);
	return ret;
}
