/* The driver-spec parser and small value parsers. */
#include "pushcore-spec.h"
#include "pushcore-mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct pushcore_spec *pushcore_spec_parse(struct pushcore_pool *pool,
					  const char *str, const char **error_r)
{
	struct pushcore_spec *spec = pushcore_palloc(pool, sizeof(*spec));
	const char *colon = strchr(str, ':'), *p, *end, *eq;
	unsigned int n = 0;

	spec->name = colon == NULL ? pushcore_pstrdup(pool, str) :
		pushcore_pstrndup(pool, str, (size_t)(colon - str));
	if (spec->name[0] == '\0') {
		*error_r = "driver name is empty (expected name:key=value ...)";
		return NULL;
	}
	spec->raw_options = pushcore_pstrdup(pool, colon == NULL ? "" : colon + 1);
	/* worst case every other character starts a token */
	spec->options = pushcore_palloc(pool, sizeof(*spec->options) *
					(strlen(spec->raw_options) / 2 + 1));
	for (p = spec->raw_options; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL) {
			spec->options[n].key = pushcore_pstrndup(pool, p, (size_t)(end - p));
			spec->options[n].value = "";
		} else {
			spec->options[n].key = pushcore_pstrndup(pool, p, (size_t)(eq - p));
			spec->options[n].value = pushcore_pstrndup(pool, eq + 1,
								   (size_t)(end - eq - 1));
		}
		n++;
	}
	spec->count = n;
	return spec;
}

struct pushcore_spec *pushcore_spec_new(struct pushcore_pool *pool,
					const char *name)
{
	struct pushcore_spec *spec = pushcore_palloc(pool, sizeof(*spec));

	spec->name = pushcore_pstrdup(pool, name);
	spec->raw_options = "";
	return spec;
}

void pushcore_spec_add(struct pushcore_pool *pool, struct pushcore_spec *spec,
		       const char *key, const char *value)
{
	struct pushcore_spec_option *options =
		pushcore_palloc(pool, sizeof(*options) * (spec->count + 1));

	if (spec->count > 0)
		memcpy(options, spec->options, sizeof(*options) * spec->count);
	options[spec->count].key = pushcore_pstrdup(pool, key);
	options[spec->count].value = pushcore_pstrdup(pool, value);
	spec->options = options;
	spec->count++;
	/* kept for display (pushadm, logs): the options as a spec would say */
	spec->raw_options = value[0] == '\0' ?
		pushcore_psprintf(pool, "%s%s%s", spec->raw_options,
				  spec->raw_options[0] == '\0' ? "" : " ", key) :
		pushcore_psprintf(pool, "%s%s%s=%s", spec->raw_options,
				  spec->raw_options[0] == '\0' ? "" : " ", key, value);
}

const char *pushcore_spec_get(const struct pushcore_spec *spec, const char *key)
{
	unsigned int i = spec->count;

	while (i-- > 0) {
		if (strcmp(spec->options[i].key, key) == 0)
			return spec->options[i].value;
	}
	return NULL;
}

bool pushcore_spec_has(const struct pushcore_spec *spec, const char *key)
{
	return pushcore_spec_get(spec, key) != NULL;
}

const char **pushcore_spec_get_all(struct pushcore_pool *pool,
				   const struct pushcore_spec *spec,
				   const char *key)
{
	const char **ret = pushcore_palloc(pool, sizeof(*ret) * (spec->count + 1));
	unsigned int i, n = 0;

	for (i = 0; i < spec->count; i++) {
		if (strcmp(spec->options[i].key, key) == 0)
			ret[n++] = spec->options[i].value;
	}
	return ret;
}

bool pushcore_parse_uint(const char *str, unsigned int *num_r)
{
	unsigned long val;
	char *end;

	if (!isdigit((unsigned char)str[0]))
		return false;
	errno = 0;
	val = strtoul(str, &end, 10);
	if (errno != 0 || *end != '\0' || val > 0xFFFFFFFFUL)
		return false;
	*num_r = (unsigned int)val;
	return true;
}

static const struct {
	const char *name;
	unsigned long long msecs;
} time_units[] = {
	{ "ms", 1 }, { "msec", 1 }, { "msecs", 1 }, { "millisecs", 1 },
	{ "milliseconds", 1 },
	{ "s", 1000 }, { "sec", 1000 }, { "secs", 1000 }, { "second", 1000 },
	{ "seconds", 1000 },
	{ "m", 60000 }, { "min", 60000 }, { "mins", 60000 }, { "minute", 60000 },
	{ "minutes", 60000 },
	{ "h", 3600000 }, { "hour", 3600000 }, { "hours", 3600000 },
	{ "d", 86400000 }, { "day", 86400000 }, { "days", 86400000 },
};

bool pushcore_parse_time_msecs(const char *str, unsigned int default_unit_msecs,
			       unsigned int *msecs_r)
{
	unsigned long long val, unit = default_unit_msecs;
	unsigned int i;
	char *end;

	if (!isdigit((unsigned char)str[0]))
		return false;
	errno = 0;
	val = strtoull(str, &end, 10);
	if (errno != 0)
		return false;
	while (*end == ' ')
		end++;
	if (*end != '\0') {
		for (i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++) {
			if (strcasecmp(end, time_units[i].name) == 0)
				break;
		}
		if (i == sizeof(time_units) / sizeof(time_units[0]))
			return false;
		unit = time_units[i].msecs;
	}
	if (val > 0xFFFFFFFFULL / unit)
		return false;
	*msecs_r = (unsigned int)(val * unit);
	return true;
}
