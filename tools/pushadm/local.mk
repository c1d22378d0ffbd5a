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
	tools/pushadm/pushadm-spool.c \
	tools/pushadm/pushadm-verify.c
tools_pushadm_pushadm_CPPFLAGS = -I$(top_srcdir)/lib
tools_pushadm_pushadm_CFLAGS = $(AM_CFLAGS)
tools_pushadm_pushadm_LDADD = lib/libpushcore.la
