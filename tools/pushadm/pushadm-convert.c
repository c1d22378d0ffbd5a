/* pushadm config convert: the push notification settings in Dovecot 2.4's
   form (push_notify blocks and push_notify_* settings), from Dovecot 2.3's
   plugin {} settings (through doveconf, or read from a 2.3 file that
   Dovecot 2.4 can't parse any more) or from Dovecot 2.4's own
   push_notification blocks. The Debian package's migration and an
   administrator run this same code. */
#include "pushadm.h"
#include "pushcore.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONVERT_BLOCKS_MAX PUSHADM_DRIVERS_MAX
#define CONVERT_LINES_MAX 64
#define CONVERT_SETTINGS_MAX 256
#define CONVERT_FILE_MAX (1024 * 1024)

/* One 2.3 setting, with the line it came from (0: doveconf). */
struct setting23 {
	const char *key, *value;
	unsigned int line;
};

struct out_block {
	const char *name, *driver;
	unsigned int count;
	const char *keys[CONVERT_LINES_MAX], *values[CONVERT_LINES_MAX];
};

struct convert {
	struct pushadm_ctx *ctx;
	struct pushcore_pool *pool;
	const char *source;	/* FILE, or NULL: doveconf */
	unsigned int global_count, block_count;
	const char *global_keys[16], *global_values[16];
	struct out_block blocks[CONVERT_BLOCKS_MAX];
	unsigned int errors;
	bool hidden;
};

/* The 2.3 global settings and their 2.4 names. */
static const char *const globals[][2] = {
	{ "push_notification_max_delay", "push_notify_max_delay" },
	{ "push_notification_spool_dir", "push_notify_spool_dir" },
	{ "push_notification_spool_only", "push_notify_spool_only" },
	{ "push_notification_relay_socket", "push_notify_relay_socket" },
	{ "push_notification_relay_timeout", "push_notify_relay_timeout" },
	{ "push_notification_module_dir", "push_notify_module_dir" },
};

/* Options 2.3 %-expanded and 2.4 expands as %{...} (the typed settings
   that are not STR_NOVARS); the others are taken as written on 2.4. */
static const char *const expanded_options[] = {
	"stream", "file", "secret_file", "bearer_file", "tls_ca_file",
};

static void convert_error(struct convert *c, unsigned int line,
			  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void convert_error(struct convert *c, unsigned int line,
			  const char *fmt, ...)
{
	struct pushcore_buf buf;
	va_list args;

	pushcore_buf_init(&buf);
	va_start(args, fmt);
	pushcore_buf_vprintf(&buf, fmt, args);
	va_end(args);
	if (c->source != NULL && line > 0)
		fprintf(stderr, "pushadm: %s line %u: %s\n", c->source, line,
			c->ctx->show_secrets ? buf.data : pushcore_redact(c->pool, buf.data));
	else
		fprintf(stderr, "pushadm: %s\n", c->ctx->show_secrets ? buf.data :
			pushcore_redact(c->pool, buf.data));
	pushcore_buf_free(&buf);
	c->errors++;
}

static bool in_list(const char *const *list, size_t count, const char *word)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(list[i], word) == 0)
			return true;
	}
	return false;
}

static struct out_block *block_new(struct convert *c, const char *name,
				   const char *driver)
{
	struct out_block *b;

	for (unsigned int i = 0; i < c->block_count; i++) {
		if (strcmp(c->blocks[i].name, name) == 0) {
			convert_error(c, 0, "two blocks are named %s (push_notify "
				      "and push_notification): rename one", name);
			return NULL;
		}
	}
	if (c->block_count == CONVERT_BLOCKS_MAX) {
		convert_error(c, 0, "more than %u drivers", CONVERT_BLOCKS_MAX);
		return NULL;
	}
	b = &c->blocks[c->block_count++];
	memset(b, 0, sizeof(*b));
	b->name = pushcore_pstrdup(c->pool, name);
	b->driver = pushcore_pstrdup(c->pool, driver);
	return b;
}

static void block_line(struct convert *c, struct out_block *b, const char *key,
		       const char *value)
{
	if (b->count == CONVERT_LINES_MAX) {
		convert_error(c, 0, "%s: too many options", b->name);
		return;
	}
	b->keys[b->count] = pushcore_pstrdup(c->pool, key);
	b->values[b->count++] = pushcore_pstrdup(c->pool, value);
}

static void global_line(struct convert *c, const char *key, const char *value)
{
	if (c->global_count < sizeof(c->global_keys) / sizeof(c->global_keys[0])) {
		c->global_keys[c->global_count] = key;
		c->global_values[c->global_count++] = pushcore_pstrdup(c->pool, value);
	}
}

/* --- 2.3 settings -------------------------------------------------------- */

/* 2.3's %u, %n, %d as 2.4 writes them; -1 for a variable 2.4 has no
   name for here. */
static int expand_vars_24(struct convert *c, const char *value,
			  const char **result_r)
{
	struct pushcore_buf buf;
	const char *p;
	int ret = 0;

	pushcore_buf_init(&buf);
	for (p = value; *p != '\0'; p++) {
		if (*p != '%') {
			pushcore_buf_append_c(&buf, *p);
			continue;
		}
		switch (p[1]) {
		case '%': pushcore_buf_append_str(&buf, "%%"); break;
		case 'u': pushcore_buf_append_str(&buf, "%{user}"); break;
		case 'n': pushcore_buf_append_str(&buf, "%{user|username}"); break;
		case 'd': pushcore_buf_append_str(&buf, "%{user|domain}"); break;
		default: ret = -1; break;
		}
		if (ret < 0 || p[1] == '\0')
			break;
		p++;
	}
	*result_r = pushcore_pstrdup(c->pool, buf.data == NULL ? "" : buf.data);
	pushcore_buf_free(&buf);
	return ret;
}

/* For the options 2.4 takes as written: 2.3's %% is a plain %, any
   other %-variable (which 2.3 expanded per user) has no 2.4 form. */
static int literal_24(struct convert *c, const char *value, const char **result_r)
{
	struct pushcore_buf buf;
	const char *p;
	int ret = 0;

	pushcore_buf_init(&buf);
	for (p = value; *p != '\0' && ret == 0; p++) {
		if (*p == '%' && p[1] == '%')
			p++;
		else if (*p == '%')
			ret = -1;
		pushcore_buf_append_c(&buf, *p);
	}
	*result_r = pushcore_pstrdup(c->pool, buf.data);
	pushcore_buf_free(&buf);
	return ret;
}

static const struct setting23 *
find23(const struct setting23 *set, unsigned int count, const char *key)
{
	for (unsigned int i = 0; i < count; i++) {
		if (strcmp(set[i].key, key) == 0)
			return set[i].value[0] == '\0' ? NULL : &set[i];
	}
	return NULL;
}

/* One driver option in a block, in 2.4 terms. */
static void convert_option(struct convert *c, struct out_block *b,
			   const struct setting23 *s, const char *key,
			   const char *value)
{
	const char *expanded;

	if (strcmp(key, "setting") != 0 && (!pushcore_settings_is_block_key(key) ||
					     strcmp(key, "driver") == 0)) {
		convert_error(c, s->line, "%s: option '%s' has no push_notify "
			      "setting", s->key, key);
		return;
	}
	if (pushcore_settings_option_is_flag(key))
		block_line(c, b, key, "yes");
	else if (strcmp(key, "header") == 0 || strcmp(key, "setting") == 0) {
		if (strchr(value, ':') == NULL || value[0] == ':')
			convert_error(c, s->line, "%s: %s=%s: expected %s=Name:Value",
				      s->key, key, value, key);
		else
			block_line(c, b, strcmp(key, "header") == 0 ? "header" :
				   "lua_settings", value);
	} else if (in_list(expanded_options, sizeof(expanded_options) /
			   sizeof(expanded_options[0]), key)) {
		if (expand_vars_24(c, value, &expanded) < 0)
			convert_error(c, s->line, "%s: %s=%s: a %%-variable other "
				      "than %%u, %%n, %%d has no Dovecot 2.4 form "
				      "here", s->key, key, value);
		else
			block_line(c, b, key, expanded);
	} else if (literal_24(c, value, &expanded) < 0) {
		convert_error(c, s->line, "%s: %s=%s: Dovecot 2.3 expanded this "
			      "%%-variable; Dovecot 2.4 takes %s as written",
			      s->key, key, value, key);
	} else {
		block_line(c, b, key, expanded);
	}
}

/* The lua driver's script as the 2.3 plugin picks it, and the settings
   the script reads with user:plugin_getenv(). */
static void convert_lua(struct convert *c, struct out_block *b,
			const struct pushcore_spec *spec,
			const struct setting23 *set, unsigned int count)
{
	const struct setting23 *file = find23(set, count,
					      "push_notification_lua_script_file");

	if (file == NULL && !pushcore_spec_has(spec, "file"))
		file = find23(set, count, "mail_lua_script");
	if (file != NULL)
		block_line(c, b, "file", file->value);
	for (unsigned int i = 0; i < count; i++) {
		if (strncmp(set[i].key, "push_", 5) == 0 &&
		    strncmp(set[i].key, "push_notification_", 18) != 0)
			block_line(c, b, "lua_settings", pushcore_psprintf(c->pool,
				   "%s:%s", set[i].key, set[i].value));
	}
}

static void convert_driver(struct convert *c, const struct setting23 *s,
			   const struct setting23 *set, unsigned int count)
{
	const struct pushcore_spec *spec;
	const char *error;
	struct out_block *b;
	bool lua, has_file_setting;

	if ((spec = pushcore_spec_parse(c->pool, s->value, &error)) == NULL) {
		convert_error(c, s->line, "%s: %s", s->key, error);
		return;
	}
	/* the block is named after the setting: log lines, pushadm and
	   notifications spooled under 2.3 keep naming the same driver */
	if ((b = block_new(c, s->key, spec->name)) == NULL)
		return;
	lua = strcasecmp(spec->name, "lua") == 0;
	has_file_setting = lua &&
		find23(set, count, "push_notification_lua_script_file") != NULL;
	for (unsigned int i = 0; i < spec->count; i++) {
		/* the setting wins over file=, as in the 2.3 plugin */
		if (has_file_setting && strcmp(spec->options[i].key, "file") == 0)
			continue;
		convert_option(c, b, s, spec->options[i].key, spec->options[i].value);
	}
	if (lua)
		convert_lua(c, b, spec, set, count);
}

/* push_notification_driver, _driver2, ... as the plugin reads them (the
   first gap ends the list; push_notification_backend* only without any
   push_notification_driver). */
static void convert_drivers(struct convert *c, const struct setting23 *set,
			    unsigned int count)
{
	const char *base = PUSHCORE_SETTING_DRIVER, *name, *gap = NULL;
	const struct setting23 *s;
	unsigned int n;

	if (find23(set, count, base) == NULL &&
	    find23(set, count, PUSHCORE_SETTING_BACKEND) != NULL)
		base = PUSHCORE_SETTING_BACKEND;
	for (n = 1; n < 100; n++) {
		name = pushcore_setting_numbered(c->pool, base, n);
		s = find23(set, count, name);
		if (s == NULL) {
			if (gap == NULL)
				gap = name;
		} else if (gap == NULL) {
			convert_driver(c, s, set, count);
		} else {
			/* 2.3 never read it: converting it would start
			   sending what never was sent */
			fprintf(stderr, "pushadm: %s%s%s%s is not converted: "
				"Dovecot 2.3 ignored it too (%s is not set)\n",
				c->source == NULL ? "" : c->source,
				c->source == NULL ? "" : pushcore_psprintf(c->pool,
					" line %u", s->line),
				c->source == NULL ? "" : ": ", name, gap);
		}
	}
}

/* A setting of plugin {} that is neither a driver nor a global. */
static bool other_setting_ok(struct convert *c, const struct setting23 *s)
{
	if (strncmp(s->key, "push_notification_driver", 24) == 0 ||
	    strncmp(s->key, "push_notification_backend", 25) == 0 ||
	    strcmp(s->key, "push_notification_lua_script_file") == 0 ||
	    strcmp(s->key, "mail_lua_script") == 0)
		return true;
	if (strncmp(s->key, "push_notification_", 18) == 0) {
		convert_error(c, s->line, "%s: not a setting of push_notify", s->key);
		return false;
	}
	/* a script's settings (push_lua_url) go to its lua block; anything
	   else in a file given to convert is not ours to move */
	if (strncmp(s->key, "push_", 5) == 0 || c->source == NULL)
		return true;
	convert_error(c, s->line, "%s is not a push notification setting: move "
		      "it to Dovecot 2.4 as its upgrade notes say", s->key);
	return false;
}

static void convert23(struct convert *c, const struct setting23 *set,
		      unsigned int count)
{
	unsigned int i, g;

	for (g = 0; g < sizeof(globals) / sizeof(globals[0]); g++) {
		const struct setting23 *s = find23(set, count, globals[g][0]);

		if (s != NULL)
			global_line(c, globals[g][1], s->value);
	}
	for (i = 0; i < count; i++) {
		for (g = 0; g < sizeof(globals) / sizeof(globals[0]); g++) {
			if (strcmp(set[i].key, globals[g][0]) == 0)
				break;
		}
		if (g == sizeof(globals) / sizeof(globals[0]))
			(void)other_setting_ok(c, &set[i]);
	}
	convert_drivers(c, set, count);
}

/* --- Dovecot 2.4's own push_notification blocks ----------------------- */

/* A 2.4 block's settings as push_notify writes them, through libpushcore's
   reading of a block (ox_url -> url, http_client_request_timeout ->
   timeout_msecs, ...). dovecot: a block of Dovecot's own plugin, whose
   settings outside what push_notify understands can't be moved. */
static void convert_block24(struct convert *c, const struct pushadm_block *d,
			    bool dovecot)
{
	const char *kind = dovecot ? "push_notification" : "push_notify";
	struct out_block *b = block_new(c, d->name, d->driver != NULL ?
					d->driver : d->name);
	const char *option, *value, *error;

	if (b == NULL)
		return;
	if (d->unreadable != NULL)
		convert_error(c, 0, "%s %s: %s { } has no push_notify form", kind,
			      d->name, d->unreadable);
	for (unsigned int i = 0; i < d->count; i++) {
		if (dovecot && !pushcore_settings_is_block_key(d->keys[i])) {
			convert_error(c, 0, "%s %s: %s = %s has no push_notify form",
				      kind, d->name, d->keys[i], d->values[i]);
			continue;
		}
		if (pushcore_settings_block_option(c->pool, d->keys[i], d->values[i],
						   &option, &value, &error) < 0) {
			convert_error(c, 0, "%s %s: %s", kind, d->name, error);
			continue;
		}
		if (option == NULL)
			continue;
		if (strcmp(option, "setting") == 0)
			option = "lua_settings";
		block_line(c, b, option, pushcore_settings_option_is_flag(option) ?
			   "yes" : value);
	}
}

/* 2.4: our own blocks, then Dovecot's converted. */
static void convert24(struct convert *c, const struct pushadm_config *cfg)
{
	unsigned int i, g;
	const char *value;

	for (g = 0; g < sizeof(globals) / sizeof(globals[0]); g++) {
		if ((value = pushadm_config_get(cfg, globals[g][0])) != NULL)
			global_line(c, globals[g][1], value);
	}
	for (i = 0; i < cfg->block_count; i++)
		convert_block24(c, &cfg->blocks[i], false);
	for (i = 0; i < cfg->dovecot_block_count; i++)
		convert_block24(c, &cfg->dovecot_blocks[i], true);
	/* Dovecot 2.4 reads none of them either: nothing to carry over */
	for (i = 0; i < cfg->dovecot_setting_count; i++) {
		fprintf(stderr, "pushadm: %s is not converted: outside a block "
			"Dovecot 2.4 does not read it either\n", c->ctx->show_secrets ?
			cfg->dovecot_settings[i] :
			pushcore_redact(c->pool, cfg->dovecot_settings[i]));
	}
}

/* --- a 2.3 file, read without Dovecot ---------------------------------- */

struct file23 {
	struct convert *c;
	struct setting23 set[CONVERT_SETTINGS_MAX];
	unsigned int count;
};

/* A value as Dovecot 2.3 reads it: "quoted" (backslash escapes) or
   'quoted', else up to a '#' (a comment), trailing blanks dropped. NULL
   with *error_r for what 2.3 would read differently than we can say. */
static const char *value23(struct pushcore_pool *pool, const char *p,
			   const char **error_r)
{
	struct pushcore_buf buf;
	const char *ret, *end;
	char quote = *p;

	if (quote == '"' || quote == '\'') {
		pushcore_buf_init(&buf);
		for (p++; *p != '\0' && *p != quote; p++) {
			if (*p == '\\' && quote == '"' && p[1] != '\0')
				p++;
			pushcore_buf_append_c(&buf, *p);
		}
		ret = pushcore_pstrdup(pool, buf.data == NULL ? "" : buf.data);
		pushcore_buf_free(&buf);
		if (*p != quote) {
			*error_r = "the quoted value does not end";
			return NULL;
		}
		p += 1 + strspn(p + 1, " \t");
		if (*p != '\0' && *p != '#') {
			*error_r = "text after the quoted value";
			return NULL;
		}
		return ret;
	}
	if (*p == '<' || *p == '$') {
		*error_r = *p == '<' ? "a value read from a file (<FILE) can't be "
			"converted" : "a $variable value can't be converted";
		return NULL;
	}
	end = p + strcspn(p, "#");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return pushcore_pstrndup(pool, p, (size_t)(end - p));
}

static bool plugin_words_ok(const char *value)
{
	static const char *const ours[] = {
		"$mail_plugins", "notify", "push_notify", "push_notify_lua", "mail_lua",
	};
	char *copy = strdup(value), *word, *save = NULL;
	bool ok = true;

	for (word = strtok_r(copy, " \t", &save); word != NULL && ok;
	     word = strtok_r(NULL, " \t", &save))
		ok = in_list(ours, sizeof(ours) / sizeof(ours[0]), word);
	free(copy);
	return ok;
}

/* One logical line (continuations joined, leading blanks gone). */
static void file_line(struct file23 *f, char *line, unsigned int lineno,
		      unsigned int *depth, bool *in_plugin, bool *in_protocol)
{
	struct convert *c = f->c;
	const char *value, *error = NULL;
	char *eq, *key;
	size_t len;

	len = strlen(line);
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
			   line[len - 1] == '\r'))
		line[--len] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return;
	if (strncmp(line, "!include", 8) == 0) {
		/* the packages' own mail_plugins snippets: the 2.4 build
		   installs its own */
		if (strstr(line, "/usr/share/dovecot-push-notify") == NULL)
			convert_error(c, lineno, "%s: convert the included file on "
				      "its own", line);
		return;
	}
	if (strcmp(line, "}") == 0) {
		if (*depth == 0)
			convert_error(c, lineno, "'}' without a section");
		else if (--*depth == 0)
			*in_plugin = *in_protocol = false;
		return;
	}
	if (len > 0 && line[len - 1] == '{') {
		if (*depth == 0 && strcmp(line, "plugin {") == 0)
			*in_plugin = true;
		else if (*depth == 0 && strncmp(line, "protocol ", 9) == 0)
			*in_protocol = true;
		else
			convert_error(c, lineno, "%s: only plugin { } settings can "
				      "be converted", line);
		++*depth;
		return;
	}
	if ((eq = strchr(line, '=')) == NULL) {
		convert_error(c, lineno, "%s: expected key = value", line);
		return;
	}
	key = line;
	*eq = '\0';
	for (char *k = eq; k > key && (k[-1] == ' ' || k[-1] == '\t'); k--)
		k[-1] = '\0';
	if (*in_protocol && *depth == 1 && strcmp(key, "mail_plugins") == 0) {
		/* the package's 2.4 snippet loads ours */
		if (!plugin_words_ok(pushcore_pstrndup(c->pool, eq + 1,
						       strcspn(eq + 1, "#"))))
			convert_error(c, lineno, "mail_plugins: only a line adding "
				      "notify, push_notify, push_notify_lua or mail_lua "
				      "to $mail_plugins is left out; move the others to "
				      "Dovecot 2.4 as its upgrade notes say");
		return;
	}
	value = value23(c->pool, eq + 1 + strspn(eq + 1, " \t"), &error);
	if (value == NULL) {
		convert_error(c, lineno, "%s: %s", key, error);
		return;
	}
	if (!*in_plugin || *depth != 1) {
		convert_error(c, lineno, "%s: only plugin { } settings can be "
			      "converted", key);
		return;
	}
	if (f->count == CONVERT_SETTINGS_MAX) {
		convert_error(c, lineno, "too many settings");
		return;
	}
	/* a repeated key replaces the earlier one, as in Dovecot */
	for (unsigned int i = 0; i < f->count; i++) {
		if (strcmp(f->set[i].key, key) == 0) {
			f->set[i].value = value;
			f->set[i].line = lineno;
			return;
		}
	}
	f->set[f->count].key = pushcore_pstrdup(c->pool, key);
	f->set[f->count].value = value;
	f->set[f->count++].line = lineno;
}

static int read_file23(struct file23 *f, const char *path)
{
	struct convert *c = f->c;
	struct pushcore_buf logical;
	unsigned int lineno = 0, start = 0, depth = 0;
	bool in_plugin = false, in_protocol = false;
	char *data, *line, *next;
	const char *error;
	size_t size;

	if (pushcore_file_read(c->pool, path, CONVERT_FILE_MAX, &data, &size,
			       &error) < 0) {
		fprintf(stderr, "pushadm: %s\n", error);
		return PUSHADM_EXIT_NOINPUT;
	}
	if (memchr(data, '\0', size) != NULL) {
		fprintf(stderr, "pushadm: %s: not a text file\n", path);
		return PUSHADM_EXIT_DATAERR;
	}
	pushcore_buf_init(&logical);
	for (line = data; line != NULL && *line != '\0'; line = next) {
		size_t len;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (logical.len == 0) {
			start = lineno;
			line += strspn(line, " \t");
		}
		len = strlen(line);
		/* a backslash at the end continues the line */
		if (len > 0 && line[len - 1] == '\\') {
			pushcore_buf_append(&logical, line, len - 1);
			continue;
		}
		pushcore_buf_append_str(&logical, line);
		file_line(f, logical.data, start, &depth, &in_plugin, &in_protocol);
		pushcore_buf_free(&logical);
		pushcore_buf_init(&logical);
	}
	if (logical.len > 0)
		file_line(f, logical.data, start, &depth, &in_plugin, &in_protocol);
	pushcore_buf_free(&logical);
	if (depth != 0)
		convert_error(c, lineno, "a section is not closed with '}'");
	return 0;
}

/* --- output ---------------------------------------------------------- */

/* Quoted when Dovecot 2.4 would read it otherwise. */
static const char *quote24(struct convert *c, const char *key, const char *value)
{
	struct pushcore_buf buf;
	const char *ret, *p;

	if (!c->ctx->show_secrets) {
		ret = pushcore_key_is_secret(key, strlen(key)) ? PUSHCORE_REDACTED :
			pushcore_redact(c->pool, value);
		if (ret != value)
			c->hidden = true;
		value = ret;
	}
	if (value[0] != '\0' && strpbrk(value, " \t\"'\\#{}$<") == NULL)
		return value;
	pushcore_buf_init(&buf);
	pushcore_buf_append_c(&buf, '"');
	for (p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			pushcore_buf_append_c(&buf, '\\');
		pushcore_buf_append_c(&buf, *p);
	}
	pushcore_buf_append_c(&buf, '"');
	ret = pushcore_pstrdup(c->pool, buf.data);
	pushcore_buf_free(&buf);
	return ret;
}

static void print_list(struct convert *c, const struct out_block *b,
		       const char *list)
{
	bool open = false;

	for (unsigned int i = 0; i < b->count; i++) {
		const char *colon;

		if (strcmp(b->keys[i], list) != 0)
			continue;
		if (!open) {
			printf("  %s {\n", list);
			open = true;
		}
		colon = strchr(b->values[i], ':');
		printf("    %.*s = %s\n", (int)(colon - b->values[i]), b->values[i],
		       quote24(c, pushcore_pstrndup(c->pool, b->values[i],
				(size_t)(colon - b->values[i])), colon + 1));
	}
	if (open)
		printf("  }\n");
}

/* One order for every source (2.3 specs keep the order written, doveconf
   prints blocks in its own), so the output of equal settings is equal:
   where, what, how, then the driver's own. */
static const char *const option_order[] = {
	"url", "events", "mailboxes", "bearer_file", "secret_file", "tls_ca_file",
	"tls_no_verify", "timeout_msecs", "max_retries", "user_from_metadata",
	"cache_lifetime", "stream", "maxlen", "file", "batch",
};

static unsigned int option_rank(const char *key)
{
	unsigned int i, n = sizeof(option_order) / sizeof(option_order[0]);

	for (i = 0; i < n; i++) {
		if (strcmp(key, option_order[i]) == 0)
			break;
	}
	return i;
}

static void print_block(struct convert *c, const struct out_block *b)
{
	unsigned int rank, i, n = sizeof(option_order) / sizeof(option_order[0]);

	printf("push_notify %s {\n", b->name);
	printf("  driver = %s\n", quote24(c, "driver", b->driver));
	for (rank = 0; rank <= n; rank++) {
		for (i = 0; i < b->count; i++) {
			if (option_rank(b->keys[i]) != rank ||
			    strcmp(b->keys[i], "header") == 0 ||
			    strcmp(b->keys[i], "lua_settings") == 0)
				continue;
			/* a 2.4 time has a unit; the 2.3 spec's bare
			   cache_lifetime is seconds */
			if (strcmp(b->keys[i], "cache_lifetime") == 0 &&
			    b->values[i][0] != '\0' &&
			    strspn(b->values[i], "0123456789") == strlen(b->values[i]))
				printf("  %s = %ss\n", b->keys[i], b->values[i]);
			else
				printf("  %s = %s\n", b->keys[i],
				       quote24(c, b->keys[i], b->values[i]));
		}
	}
	print_list(c, b, "header");
	print_list(c, b, "lua_settings");
	printf("}\n");
}

static int convert_print(struct convert *c)
{
	unsigned int i;

	if (c->errors > 0) {
		fprintf(stderr, "pushadm: nothing converted: %u setting%s can't be "
			"converted\n", c->errors, c->errors == 1 ? "" : "s");
		return PUSHADM_EXIT_DATAERR;
	}
	for (i = 0; i < c->global_count; i++) {
		printf("%s = %s\n", c->global_keys[i],
		       quote24(c, c->global_keys[i], c->global_values[i]));
	}
	for (i = 0; i < c->block_count; i++)
		print_block(c, &c->blocks[i]);
	if (c->hidden)
		fprintf(stderr, "pushadm: credentials are hidden (%s): pushadm -P "
			"config convert prints them\n", PUSHCORE_REDACTED);
	if (c->block_count == 0)
		fprintf(stderr, "pushadm: no push notification driver is configured\n");
	return PUSHADM_EXIT_OK;
}

/* --- the command -------------------------------------------------------- */

static int convert_doveconf(struct convert *c)
{
	struct setting23 set[PUSHADM_CONFIG_MAX];
	struct pushadm_config cfg;
	int ret;

	if ((ret = pushadm_config_load(c->ctx, NULL, &cfg)) != 0)
		return ret;
	if (cfg.dovecot24)
		convert24(c, &cfg);
	else {
		for (unsigned int i = 0; i < cfg.count; i++) {
			set[i].key = pushcore_pstrdup(c->pool, cfg.keys[i]);
			set[i].value = pushcore_pstrdup(c->pool, cfg.values[i]);
			set[i].line = 0;
		}
		convert23(c, set, cfg.count);
	}
	pushadm_config_free(&cfg);
	return 0;
}

static int cmd_config_convert(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct convert *c;
	struct file23 *f = NULL;
	int ret;

	if (argc == 3 && strcmp(argv[1], "--from-2.3") == 0) {
		f = calloc(1, sizeof(*f));
	} else if (argc != 1) {
		return PUSHADM_EXIT_USAGE;
	}
	c = calloc(1, sizeof(*c));
	c->ctx = ctx;
	c->pool = pushcore_pool_new();
	if (f == NULL) {
		ret = convert_doveconf(c);
	} else {
		f->c = c;
		c->source = argv[2];
		if ((ret = read_file23(f, argv[2])) == 0)
			convert23(c, f->set, f->count);
	}
	if (ret == 0)
		ret = convert_print(c);
	pushcore_pool_free(&c->pool);
	free(c);
	free(f);
	return ret;
}

static const struct pushadm_cmd config_convert = {
	"config convert", "[--from-2.3 FILE]",
	"Prints the push notification settings in Dovecot 2.4's form: push_notify\n"
	"blocks (one per driver, named after its 2.3 setting) and push_notify_*\n"
	"settings. Reads the configuration through doveconf: Dovecot 2.3's\n"
	"plugin { } settings, or on Dovecot 2.4 the push_notify blocks and\n"
	"Dovecot's own push_notification blocks. --from-2.3 FILE reads a Dovecot\n"
	"2.3 file itself (for Dovecot 2.4, which refuses 2.3 syntax); anything in\n"
	"it that can't be converted is an error naming its line, and nothing is\n"
	"printed. Credentials are hidden unless -P. Exit 0, 65 when something\n"
	"can't be converted, 66 when FILE can't be read.",
	PUSHADM_FORMAT_FLOW, cmd_config_convert, NULL
};

const struct pushadm_cmd *const pushadm_cmds_convert[] = {
	&config_convert, NULL
};

/* --- is the plugin there? ------------------------------------------------ */

static bool has_bytes(const char *data, size_t size, const char *str)
{
	size_t len = strlen(str);

	for (size_t i = 0; i + len <= size; i++) {
		if (data[i] == str[0] && memcmp(data + i, str, len) == 0)
			return true;
	}
	return false;
}

/* The module file in mail_plugin_dir, built for this Dovecot: its ABI
   version string ("2.4.ABIv1", "2.3.ABIv19(...)") names the series. */
bool pushadm_plugin_installed(struct pushadm_ctx *ctx)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	char *dir = pushadm_doveconf_get(ctx, "mail_plugin_dir");
	const char *path, *abi = pushadm_doveconf_is_24(ctx) ? "2.4.ABIv" : "2.3.ABIv";
	const char *error;
	char *data;
	size_t size;
	bool ok;

	path = pushcore_psprintf(pool, "%s/lib20_push_notify_plugin.so",
				 dir != NULL && dir[0] != '\0' ? dir :
				 "/usr/lib/dovecot/modules");
	ok = pushcore_file_read(pool, path, 64 * 1024 * 1024, &data, &size, &error) == 0 &&
		has_bytes(data, size, abi);
	free(dir);
	pushcore_pool_free(&pool);
	return ok;
}
