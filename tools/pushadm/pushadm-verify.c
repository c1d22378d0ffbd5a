/* pushadm webhook verify (and its older name, verify): recomputes a Standard Webhooks signature the way a
   receiver checks it, from the secret file, the webhook-id and
   webhook-timestamp headers, and the body on stdin. */
#include "pushadm.h"
#include "pushcore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX (64 * 1024 * 1024)

static bool signature_matches(const char *computed, const char *given)
{
	char *copy = pushcore_xstrdup(given), *tok, *save = NULL;
	bool match = false;
	size_t len;

	/* both may hold several space-separated signatures (rotation) */
	for (tok = strtok_r(copy, " ", &save); tok != NULL && !match;
	     tok = strtok_r(NULL, " ", &save)) {
		const char *p = computed;

		len = strlen(tok);
		while ((p = strstr(p, tok)) != NULL && !match) {
			match = (p == computed || p[-1] == ' ') &&
				(p[len] == '\0' || p[len] == ' ');
			p += len;
		}
	}
	free(copy);
	return match;
}

#define VERIFY_USAGE \
	"-s SECRET_FILE -i WEBHOOK_ID -t WEBHOOK_TIMESTAMP [-g SIGNATURE] < BODY"
#define VERIFY_HELP \
	"Computes the webhook-signature a request with this id, timestamp and\n" \
	"body (stdin) carries under the secrets of SECRET_FILE (the http\n" \
	"driver's secret_file format), as a Standard Webhooks receiver checks\n" \
	"it. With -g, says whether the given signature header is valid (exit 0)\n" \
	"or not (exit 65). The secret is never printed."

static int cmd_verify(struct pushadm_ctx *ctx __attribute__((unused)),
		      int argc, char *argv[])
{
	const char *secret_file = NULL, *id = NULL, *ts = NULL, *given = NULL;
	const char *error, *computed;
	struct pushcore_secrets *secrets;
	struct pushcore_pool *pool;
	struct pushcore_buf body;
	char buf[65536];
	ssize_t n;
	int c, ret;

	while ((c = getopt(argc, argv, "s:i:t:g:")) != -1) {
		switch (c) {
		case 's': secret_file = optarg; break;
		case 'i': id = optarg; break;
		case 't': ts = optarg; break;
		case 'g': given = optarg; break;
		default:
			fprintf(stderr, "usage: pushadm webhook verify %s\n",
				VERIFY_USAGE);
			return PUSHADM_EXIT_USAGE;
		}
	}
	if (secret_file == NULL || id == NULL || ts == NULL || optind != argc) {
		fprintf(stderr, "usage: pushadm webhook verify %s\n", VERIFY_USAGE);
		return PUSHADM_EXIT_USAGE;
	}
	pool = pushcore_pool_new();
	if (pushcore_secrets_load(pool, secret_file, &secrets, &error) < 0) {
		fprintf(stderr, "pushadm: %s\n", error);
		pushcore_pool_free(&pool);
		return PUSHADM_EXIT_NOINPUT;
	}
	pushcore_buf_init(&body);
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0 && body.len < BODY_MAX)
		pushcore_buf_append(&body, buf, (size_t)n);
	computed = pushcore_sign(pool, secrets, id, strtoll(ts, NULL, 10),
				 body.data, body.len);
	printf("webhook-signature: %s\n", computed);
	ret = PUSHADM_EXIT_OK;
	if (given != NULL) {
		bool ok = signature_matches(computed, given);

		printf("%s\n", ok ? "valid" : "INVALID");
		ret = ok ? PUSHADM_EXIT_OK : PUSHADM_EXIT_DATAERR;
	}
	pushcore_buf_free(&body);
	pushcore_pool_free(&pool);
	return ret;
}

static const struct pushadm_cmd webhook_verify = {
	"webhook verify", VERIFY_USAGE, VERIFY_HELP,
	PUSHADM_FORMAT_FLOW, cmd_verify, NULL
};

/* the name before commands had nouns */
static const struct pushadm_cmd verify_alias = {
	"verify", VERIFY_USAGE, VERIFY_HELP,
	PUSHADM_FORMAT_FLOW, cmd_verify, "webhook verify"
};

const struct pushadm_cmd *const pushadm_cmds_webhook[] = {
	&webhook_verify, &verify_alias, NULL
};
