# Unit tests of libpushcore: one program per concern, each ending with
# "N passed, M failed".
unit_tests = \
	tests/unit/test-spool \
	tests/unit/test-spec \
	tests/unit/test-settings \
	tests/unit/test-text \
	tests/unit/test-outcome \
	tests/unit/test-sign \
	tests/unit/test-http \
	tests/unit/test-relay-proto \
	tests/unit/test-relay-queue \
	tests/unit/test-unix

check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

unit_cppflags = -DPUSHCORE_INTERNAL -I$(top_srcdir)/lib -I$(top_srcdir)/tests/unit
unit_common = tests/unit/unit-test.h tests/unit/unit-test.c

tests_unit_test_spool_SOURCES = $(unit_common) tests/unit/test-spool.c
tests_unit_test_spool_CPPFLAGS = $(unit_cppflags)
tests_unit_test_spool_LDADD = lib/libpushcore-internal.la

tests_unit_test_spec_SOURCES = $(unit_common) tests/unit/test-spec.c
tests_unit_test_spec_CPPFLAGS = $(unit_cppflags)
tests_unit_test_spec_LDADD = lib/libpushcore-internal.la

tests_unit_test_text_SOURCES = $(unit_common) tests/unit/test-text.c
tests_unit_test_text_CPPFLAGS = $(unit_cppflags)
tests_unit_test_text_LDADD = lib/libpushcore-internal.la

tests_unit_test_outcome_SOURCES = $(unit_common) tests/unit/test-outcome.c
tests_unit_test_outcome_CPPFLAGS = $(unit_cppflags)
tests_unit_test_outcome_LDADD = lib/libpushcore-internal.la

tests_unit_test_http_SOURCES = $(unit_common) tests/unit/test-http.c
tests_unit_test_http_CPPFLAGS = $(unit_cppflags)
tests_unit_test_http_LDADD = lib/libpushcore-internal.la -lpthread

tests_unit_test_sign_SOURCES = $(unit_common) tests/unit/test-sign.c
tests_unit_test_sign_CPPFLAGS = $(unit_cppflags)
tests_unit_test_sign_LDADD = lib/libpushcore-internal.la

tests_unit_test_settings_SOURCES = $(unit_common) tests/unit/test-settings.c
tests_unit_test_settings_CPPFLAGS = $(unit_cppflags)
tests_unit_test_settings_LDADD = lib/libpushcore-internal.la
tests_unit_test_relay_proto_SOURCES = $(unit_common) tests/unit/test-relay-proto.c
tests_unit_test_relay_proto_CPPFLAGS = $(unit_cppflags)
tests_unit_test_relay_proto_LDADD = lib/libpushcore-internal.la

# the relay's sending engine, with a resolver of its own
# (and the redis module, for the relay's resend batches)
tests_unit_test_relay_queue_SOURCES = $(unit_common) tests/unit/test-relay-queue.c \
	tools/pushadm/pushadm-relay-queue.h tools/pushadm/pushadm-relay-queue.c \
	tools/pushadm/pushadm-relay-resend.h tools/pushadm/pushadm-relay-resend.c \
	lib/push-driver-redis.c lib/pushcore-redis.c lib/pushcore-redis-conn.c
tests_unit_test_relay_queue_CPPFLAGS = $(unit_cppflags) -I$(top_srcdir)/tools/pushadm
tests_unit_test_relay_queue_CFLAGS = $(AM_CFLAGS) -pthread $(CURL_CFLAGS) $(HIREDIS_CFLAGS) $(SSL_CFLAGS)
tests_unit_test_relay_queue_LDADD = lib/libpushcore-internal.la $(CURL_LIBS) $(HIREDIS_LIBS) $(SSL_LIBS) -lpthread

tests_unit_test_unix_SOURCES = $(unit_common) tests/unit/test-unix.c
tests_unit_test_unix_CPPFLAGS = $(unit_cppflags)
tests_unit_test_unix_LDADD = lib/libpushcore-internal.la -lpthread
