#ifndef PUSH_NOTIFY_SETTINGS_H
#define PUSH_NOTIFY_SETTINGS_H

/* Dovecot 2.4's typed settings of push_notify (docs/upgrading.md):

     push_notify_max_delay = 5s
     push_notify_spool_dir = /var/spool/dovecot-push-notify
     push_notify_spool_only = no
     push_notify_relay_socket = /run/dovecot-push-notify/relay.sock
     push_notify_relay_timeout = 250ms
     push_notify NAME {
       driver = ox | http | redis | lua | dlog    (default: NAME)
       url = ...                                  (one setting per option
       user_from_metadata = yes                    of the 2.3 driver spec,
       timeout_msecs = 2000                        typed: numbers, times,
       cache_lifetime = 60s                        booleans)
       header {
         X-Tenant = acme
       }
     }

   Inside a block, Dovecot 2.4's own key names (ox_url, ox_cache_ttl,
   ox_user_from_metadata, lua_file, lua_settings { }) work too.

   The block and prefix are push_notify, not Dovecot's push_notification:
   Dovecot registers push_notification_* itself (its plugin ships with
   dovecot-core), and one setting name can have only one definition. The
   config process learns these from libpush_notify_settings.so; the plugin
   reads them with the same definitions. */

#include "settings-parser.h"

#define PUSH_NOTIFY_FILTER_NAME "push_notify"
#define PUSH_NOTIFY_OPTION_PREFIX "push_notify_"

struct push_notify_settings {
	pool_t pool;

	/* global */
	unsigned int max_delay;
	const char *spool_dir;
	bool spool_only;
	const char *relay_socket;
	unsigned int relay_timeout;
	const char *module_dir;
	ARRAY_TYPE(const_string) push_notifies;

	/* one named block */
	const char *name;
	const char *driver;
	/* the options of the 2.3 driver spec, typed: a string is key=value,
	   a yes bool is a flag, a list is key=name:value each, a number or a
	   time is key=value when it is not the default (which means "the
	   driver's default") */
	const char *url;
	const char *events;
	const char *mailboxes;
	const char *bearer_file;
	const char *secret_file;
	const char *tls_ca_file;
	/* a number of milliseconds, as the name says and the 2.3 spec has it
	   (a time with a unit: http_client_request_timeout) */
	unsigned int timeout_msecs;
	unsigned int max_retries;
	unsigned int cache_lifetime;	/* seconds (SET_TIME) */
	const char *stream;
	unsigned int maxlen;
	const char *file;
	bool batch;
	bool tls_no_verify;
	bool user_from_metadata;
	ARRAY_TYPE(const_string) header;
	/* Dovecot 2.4's own names for url, cache_lifetime,
	   user_from_metadata and file */
	const char *ox_url;
	unsigned int ox_cache_ttl;	/* msecs, as Dovecot's */
	bool ox_user_from_metadata;
	const char *lua_file;
	/* what the script reads with user:plugin_getenv(), as Dovecot 2.4's
	   lua driver passes lua_settings to its script */
	ARRAY_TYPE(const_string) lua_settings;
	/* what Dovecot's ox driver takes for timeout_msecs and
	   max_retries + 1 */
	unsigned int http_client_request_timeout;	/* msecs */
	unsigned int http_client_request_max_attempts;
};

extern const struct setting_parser_info push_notify_setting_parser_info;


#endif
