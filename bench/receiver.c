/* An HTTP endpoint for the benchmark, in a process of its own and cheap per
   request: on the 2-core machines the benchmark runs on, a Python endpoint
   spent as much CPU per notification as a delivery does, so every row with
   an endpoint measured the endpoint more than the plugin.

     receiver PORT LOGFILE [delay-msecs | hang]

   One thread per connection, keep-alive, HTTP/1.1 requests with a
   Content-Length. Every request gets 200 (after the delay) or, with
   "hang", no answer. One line per request is appended to LOGFILE:
   "<unix time> <subject tag>", the tag being the benchmark's
   "bench-W-N-" or "warmup-W-N-" found in the body, "-" if none. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_REQUEST (1024 * 1024)

static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static long delay_msecs;
static int hang;

/* The subject tag in body, copied into tag (or "-"). */
static void find_tag(const char *body, size_t len, char *tag, size_t size)
{
	static const char *const prefixes[] = { "bench-", "warmup-" };
	size_t i, p, n;

	snprintf(tag, size, "-");
	for (i = 0; i < len; i++) {
		for (p = 0; p < 2; p++) {
			size_t plen = strlen(prefixes[p]);

			if (len - i < plen || memcmp(body + i, prefixes[p], plen) != 0)
				continue;
			/* prefix, digits, '-', digits, '-' */
			n = i + plen;
			while (n < len && body[n] >= '0' && body[n] <= '9') n++;
			if (n >= len || body[n] != '-') continue;
			n++;
			while (n < len && body[n] >= '0' && body[n] <= '9') n++;
			if (n >= len || body[n] != '-' || n + 1 - i >= size) continue;
			memcpy(tag, body + i, n + 1 - i);
			tag[n + 1 - i] = '\0';
			return;
		}
	}
}

static void record(const char *body, size_t len)
{
	struct timeval tv;
	char tag[64];

	find_tag(body, len, tag, sizeof(tag));
	gettimeofday(&tv, NULL);
	pthread_mutex_lock(&log_lock);
	fprintf(log_file, "%ld.%06ld %s\n", (long)tv.tv_sec, (long)tv.tv_usec, tag);
	fflush(log_file);
	pthread_mutex_unlock(&log_lock);
}

static size_t content_length(const char *head)
{
	const char *p = head;

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return strtoul(p + 15, NULL, 10);
	}
	return 0;
}

static void *serve(void *arg)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	int fd = (int)(long)arg;
	char *buf = malloc(MAX_REQUEST + 1), *end;
	size_t have = 0, need;
	ssize_t ret;

	while (buf != NULL) {
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			need = (size_t)(end + 4 - buf) + content_length(buf);
			if (need <= have) {
				record(end + 4, need - (size_t)(end + 4 - buf));
				if (hang)
					pause();
				if (delay_msecs > 0)
					usleep((useconds_t)delay_msecs * 1000);
				if (write(fd, ok, sizeof(ok) - 1) < 0)
					break;
				memmove(buf, buf + need, have - need);
				have -= need;
				continue;
			}
		}
		if (have == MAX_REQUEST)
			break;
		ret = read(fd, buf + have, MAX_REQUEST - have);
		if (ret <= 0)
			break;
		have += (size_t)ret;
	}
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char *argv[])
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, lfd, fd;
	pthread_t t;

	if (argc < 3) {
		fprintf(stderr, "usage: receiver PORT LOGFILE [delay-msecs | hang]\n");
		return 64;
	}
	if ((log_file = fopen(argv[2], "a")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	if (argc > 3) {
		hang = strcmp(argv[3], "hang") == 0;
		delay_msecs = hang ? 0 : atol(argv[3]);
	}
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 128) < 0) {
		perror("bind/listen");
		return 1;
	}
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}
