# libpushcore: no Dovecot code in here. Its objects are a convenience
# library, which the unit tests link whole (internals included);
# libpushcore.so exports what lib/pushcore.map announces, nothing else.
lib_LTLIBRARIES += lib/libpushcore.la
noinst_LTLIBRARIES += lib/libpushcore-internal.la

pushcore_headers = \
	lib/pushcore.h \
	lib/pushcore-api.h \
	lib/pushcore-driver.h \
	lib/pushcore-event.h \
	lib/pushcore-file.h \
	lib/pushcore-filter.h \
	lib/pushcore-http.h \
	lib/pushcore-json.h \
	lib/pushcore-log.h \
	lib/pushcore-mem.h \
	lib/pushcore-outcome.h \
	lib/pushcore-payload.h \
	lib/pushcore-redact.h \
	lib/pushcore-settings.h \
	lib/pushcore-sign.h \
	lib/pushcore-spec.h \
	lib/pushcore-spool.h \
	lib/pushcore-text.h

lib_libpushcore_internal_la_SOURCES = \
	$(pushcore_headers) \
	lib/pushcore-driver.c \
	lib/pushcore-event.c \
	lib/pushcore-file.c \
	lib/pushcore-filter.c \
	lib/pushcore-http.c \
	lib/pushcore-json.c \
	lib/pushcore-log.c \
	lib/pushcore-mem.c \
	lib/pushcore-outcome.c \
	lib/pushcore-payload.c \
	lib/pushcore-redact.c \
	lib/pushcore-driver-private.h \
	lib/pushcore-module.c \
	lib/pushcore-settings.c \
	lib/pushcore-relay-client.h \
	lib/pushcore-relay-client.c \
	lib/pushcore-relay-proto.h \
	lib/pushcore-relay-proto.c \
	lib/pushcore-sign.c \
	lib/pushcore-spec.c \
	lib/pushcore-spool.c \
	lib/pushcore-text.c \
	lib/pushcore-unix.h \
	lib/pushcore-unix.c \
	lib/push-driver-dlog.c \
	lib/push-driver-http.c \
	lib/push-driver-ox.c

# driver modules: $(pkglibdir)/drivers/push_driver_NAME.so, loaded when a
# configuration names the driver (lib/pushcore-module.c)
pushdriverdir = $(pkglibdir)/drivers

lib_libpushcore_internal_la_CPPFLAGS = -DPUSHCORE_INTERNAL -DPUSHCORE_MODULE_DIR='"$(pushdriverdir)"'
# hidden: only what the headers mark PUSHCORE_API is exported
lib_libpushcore_internal_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(YAJL_CFLAGS) $(CRYPTO_CFLAGS) \
	-fvisibility=hidden
lib_libpushcore_internal_la_LIBADD = $(CURL_LIBS) $(YAJL_LIBS) $(CRYPTO_LIBS) $(DL_LIBS)

lib_libpushcore_la_SOURCES =
lib_libpushcore_la_LIBADD = lib/libpushcore-internal.la
lib_libpushcore_la_LDFLAGS = -version-info $(PUSHCORE_LT_VERSION) -no-undefined \
	-Wl,--version-script=$(srcdir)/lib/pushcore.map -Wl,--no-undefined-version
EXTRA_lib_libpushcore_la_DEPENDENCIES = lib/pushcore.map

# The ABI check (build-aux/abi-check.sh): the build fails when the
# library's exports, lib/pushcore.map, the headers' PUSHCORE_API
# declarations and debian/libpushcore0.symbols disagree.
pushcore_private_headers = lib/pushcore-relay-client.h lib/pushcore-relay-proto.h \
	lib/pushcore-unix.h
EXTRA_DIST += lib/pushcore.map build-aux/abi-check.sh build-aux/abi-decls.py \
	build-aux/abi-symbols.sh
all-local: lib/abi-check.stamp
lib/abi-check.stamp: lib/libpushcore.la $(srcdir)/lib/pushcore.map $(pushcore_headers) \
		$(srcdir)/build-aux/abi-check.sh $(srcdir)/build-aux/abi-decls.py
	$(AM_V_GEN)(cd $(srcdir) && $(SHELL) build-aux/abi-check.sh lib/pushcore.map \
		$(abs_builddir)/lib/.libs/libpushcore.so debian/libpushcore0.symbols \
		$(PUSHCORE_DRIVER_ABI_VERSION) -- $(pushcore_headers) -- \
		$(pushcore_private_headers)) >/dev/null && touch $@
CLEANFILES += lib/abi-check.stamp

# the modules: each links libpushcore and its own libraries, nothing more
pushdriver_LTLIBRARIES = lib/drivers/push_driver_lua.la lib/drivers/push_driver_redis.la
pushdriver_ldflags = -module -avoid-version -shared -no-undefined

lib_drivers_push_driver_lua_la_SOURCES = lib/push-driver-lua.c
lib_drivers_push_driver_lua_la_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS) -fvisibility=hidden
lib_drivers_push_driver_lua_la_LIBADD = lib/libpushcore.la $(LUA_LIBS)
lib_drivers_push_driver_lua_la_LDFLAGS = $(pushdriver_ldflags)

lib_drivers_push_driver_redis_la_SOURCES = \
	lib/push-driver-redis.c \
	lib/pushcore-redis.h \
	lib/pushcore-redis.c \
	lib/pushcore-redis-conn.h \
	lib/pushcore-redis-conn.c
lib_drivers_push_driver_redis_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(HIREDIS_CFLAGS) $(SSL_CFLAGS) \
	-fvisibility=hidden
lib_drivers_push_driver_redis_la_LIBADD = lib/libpushcore.la $(CURL_LIBS) $(HIREDIS_LIBS) $(SSL_LIBS)
lib_drivers_push_driver_redis_la_LDFLAGS = $(pushdriver_ldflags)

pushcoreincludedir = $(includedir)/pushcore
pushcoreinclude_HEADERS = $(pushcore_headers)

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/pushcore.pc
