/* Reading Dovecot's effective configuration through doveconf, the way an
   administrator would (`doveconf -c FILE -h plugin/NAME`). */
#include "pushadm.h"
#include "pushcore.h"
#include "pushcore-unix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define DOVECONF_OUTPUT_MAX (1024 * 1024)

/* Reads fd to its end, keeping the first DOVECONF_OUTPUT_MAX bytes; -1 if
   that took longer than timeout_msecs. */
static int read_bounded(int fd, struct pushcore_buf *out,
			unsigned int timeout_msecs)
{
	long long deadline = pushcore_mono_msecs() + timeout_msecs;
	char buf[4096];
	ssize_t ret;

	/* a child that writes nothing, or without pause, is cut off at the
	   deadline alike */
	while ((ret = pushcore_unix_read(fd, buf, sizeof(buf), deadline)) != 0) {
		if (ret < 0)
			return -1;
		if (out->len < DOVECONF_OUTPUT_MAX)
			pushcore_buf_append(out, buf, (size_t)ret);
	}
	return 0;
}

/* What doveconf said on stderr, at most DOVECONF_ERROR_MAX bytes: an
   unlinked temporary file, read after it exited (no second pipe to
   juggle). */
#define DOVECONF_ERROR_MAX 4096
static void keep_stderr(struct pushadm_ctx *ctx, FILE *err)
{
	char buf[DOVECONF_ERROR_MAX + 1];
	size_t len;

	free(ctx->doveconf_error);
	ctx->doveconf_error = NULL;
	if (err == NULL)
		return;
	rewind(err);
	len = fread(buf, 1, DOVECONF_ERROR_MAX, err);
	buf[len] = '\0';
	fclose(err);
	if (len > 0)
		ctx->doveconf_error = strdup(buf);
}

/* Runs program (doveconf or doveadm) with -c and args; returns its stdout
   and exit status, NULL if it couldn't run. doveconf's stderr is kept in
   ctx->doveconf_error unless quiet. */
static char *program_run(struct pushadm_ctx *ctx, const char *program,
			 const char *const *args, bool quiet, int *status_r)
{
	const char *argv[16];
	struct pushcore_buf out;
	bool doveconf = strcmp(program, "doveconf") == 0;
	unsigned int n = 0;
	int fds[2], fd, status;
	FILE *err = NULL;
	char *ret_data;
	pid_t pid;

	*status_r = -1;
	argv[n++] = program;
	if (ctx->config_path != NULL) {
		argv[n++] = "-c";
		argv[n++] = ctx->config_path;
	}
	while (*args != NULL && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (doveconf)
		ctx->doveconf_timed_out = false;
	if (!quiet && doveconf)
		err = tmpfile();
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		if (err != NULL)
			fclose(err);
		return NULL;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		if (quiet && (fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, STDERR_FILENO);
		if (err != NULL)
			dup2(fileno(err), STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(program, (char **)argv);
		_exit(127);
	}
	close(fds[1]);
	pushcore_buf_init(&out);
	/* bounded: a hanging auth service or doveconf must not hang the
	   relay; output past the cap is read and dropped so the child can
	   finish */
	if (read_bounded(fds[0], &out, PUSHADM_CHILD_TIMEOUT_SECS * 1000) < 0) {
		if (errno == ETIMEDOUT && doveconf)
			ctx->doveconf_timed_out = true;
		(void)kill(pid, SIGKILL);
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 127) {
		if (err != NULL)
			fclose(err);
		pushcore_buf_free(&out);
		return NULL;
	}
	*status_r = WEXITSTATUS(status);
	if (err != NULL)
		keep_stderr(ctx, err);
	/* the buffer steal leaves behind is freed too */
	ret_data = pushcore_buf_steal(&out);
	pushcore_buf_free(&out);
	return ret_data;
}

char *pushadm_doveconf_run(struct pushadm_ctx *ctx, const char *const *args)
{
	int status;
	char *out = program_run(ctx, "doveconf", args, false, &status);

	if (out != NULL && status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

char *pushadm_doveadm_run(struct pushadm_ctx *ctx, const char *const *args,
			  int *status_r)
{
	return program_run(ctx, "doveadm", args, false, status_r);
}

/* When the configuration does not parse (a 2.3 file left for 2.4 after a
   distribution upgrade), doveconf can't say which it is: dovecot
   --version, which reads no configuration, can. */
static int dovecot_binary_version(struct pushadm_ctx *ctx)
{
	const char *args[] = { "--version", NULL }, *config_path = ctx->config_path;
	int status, version;
	char *out;

	ctx->config_path = NULL;
	out = program_run(ctx, "dovecot", args, true, &status);
	ctx->config_path = config_path;
	version = out != NULL && status == 0 && strncmp(out, "2.3", 3) != 0 &&
		out[0] >= '2' && out[0] <= '9' ? 24 : 23;
	free(out);
	return version;
}

char *pushadm_doveadm_run_quiet(struct pushadm_ctx *ctx, const char *const *args,
				int *status_r)
{
	return program_run(ctx, "doveadm", args, true, status_r);
}

bool pushadm_doveconf_is_24(struct pushadm_ctx *ctx)
{
	/* only 2.4 has a value for it (2.3 prints nothing or complains, and
	   its complaint is not for the user) */
	const char *args[] = { "-h", "dovecot_storage_version", NULL };
	int status;
	char *out;

	/* asked once per command: config load and spool both want it */
	if (ctx->dovecot_version == 0) {
		out = program_run(ctx, "doveconf", args, true, &status);
		ctx->dovecot_version = out != NULL && status == 0 &&
			out[0] >= '0' && out[0] <= '9' ? 24 : 23;
		if (out == NULL || status != 0)
			ctx->dovecot_version = dovecot_binary_version(ctx);
		free(out);
	}
	return ctx->dovecot_version == 24;
}

char *pushadm_doveconf_get(struct pushadm_ctx *ctx, const char *key)
{
	const char *args[] = { "-h", key, NULL };
	char *value = pushadm_doveconf_run(ctx, args);
	size_t len;

	if (value == NULL)
		return NULL;
	len = strlen(value);
	while (len > 0 && value[len - 1] == '\n')
		value[--len] = '\0';
	return value;
}

char *pushadm_module_dir_get(struct pushadm_ctx *ctx)
{
	char *value = pushadm_doveconf_get(ctx, pushadm_doveconf_is_24(ctx) ?
					   "push_notify_module_dir" :
					   "plugin/push_notification_module_dir");

	if (value != NULL && value[0] == '\0') {
		free(value);
		value = NULL;
	}
	return value;
}
