# pushadm: the admin command, built on libpushcore only.
bin_PROGRAMS += tools/pushadm/pushadm

tools_pushadm_pushadm_SOURCES = \
	tools/pushadm/pushadm.h \
	tools/pushadm/pushadm.c \
	tools/pushadm/pushadm-print.c \
	tools/pushadm/pushadm-doveconf.c \
	tools/pushadm/pushadm-config.c \
	tools/pushadm/pushadm-check.c \
	tools/pushadm/pushadm-convert.c \
	tools/pushadm/pushadm-driver.c \
	tools/pushadm/pushadm-event.c \
	tools/pushadm/pushadm-lua.c \
	tools/pushadm/pushadm-relay.h \
	tools/pushadm/pushadm-relay.c \
	tools/pushadm/pushadm-relay-conf.c \
	tools/pushadm/pushadm-relay-journal.c \
	tools/pushadm/pushadm-relay-listen.c \
	tools/pushadm/pushadm-relay-server.h \
	tools/pushadm/pushadm-relay-server.c \
	tools/pushadm/pushadm-relay-queue.h \
	tools/pushadm/pushadm-relay-queue.c \
	tools/pushadm/pushadm-relay-resend.h \
	tools/pushadm/pushadm-relay-resend.c \
	tools/pushadm/pushadm-relay-metrics.h \
	tools/pushadm/pushadm-relay-metrics.c \
	tools/pushadm/pushadm-resolve.h \
	tools/pushadm/pushadm-resolve.c \
	tools/pushadm/pushadm-spool.h \
	tools/pushadm/pushadm-spool.c \
	tools/pushadm/pushadm-spool-dir.c \
	tools/pushadm/pushadm-trust.h \
	tools/pushadm/pushadm-trust.c \
	tools/pushadm/pushadm-userdb.h \
	tools/pushadm/pushadm-userdb.c \
	tools/pushadm/pushadm-verify.c \
	lib/pushcore-unix.h \
	lib/pushcore-unix.c
tools_pushadm_pushadm_CPPFLAGS = -I$(top_srcdir)/lib
tools_pushadm_pushadm_CFLAGS = $(AM_CFLAGS) -pthread $(CONFUSE_CFLAGS) $(SQLITE_CFLAGS)
tools_pushadm_pushadm_LDADD = lib/libpushcore.la $(CONFUSE_LIBS) $(SQLITE_LIBS) -lpthread

# the journal store measurement (docs/spool.md), built by hand
EXTRA_DIST += bench/journal-store.c
