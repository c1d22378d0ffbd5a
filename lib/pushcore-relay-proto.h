#ifndef PUSHCORE_RELAY_PROTO_H
#define PUSHCORE_RELAY_PROTO_H

#include "pushcore-api.h"

/* The relay socket's wire format, shared by the plugin's client
   (pushcore-relay-client.c) and the relay (pushadm relay run). docs/spool.md
   "The relay socket" describes it.

   Every message is a frame: a 4-byte big-endian length of what follows,
   one type byte, a 4-byte sequence number the answer repeats, and the
   payload:

     SUBMIT 'S'  u32 count, count x (u32 length, record)
     RETRY  'R'  u32 count, count x (u32 length, id)   (count 0: all)
     ACK    'A'  u8 status, u32 count, text (the rest of the frame)

   A record is a notification in the spool file format
   (pushcore_spool_serialize) holding only the fields a relay may trust:
   id, created, attempts, next, user, driver, method and body. Destinations,
   headers, credentials and TLS options never travel: the relay takes them
   from Dovecot's configuration. */

#include <stddef.h>
#include <stdint.h>

struct pushcore_buf;
struct pushcore_pool;
struct pushcore_spool_entry;

/* bounds a peer can't raise: a frame larger than this, or with more
   entries, is garbage and ends the connection */
#define PUSHCORE_RELAY_MAX_FRAME (4 * 1024 * 1024)
#define PUSHCORE_RELAY_MAX_ENTRIES 1000

enum pushcore_relay_type {
	PUSHCORE_RELAY_SUBMIT = 'S',
	PUSHCORE_RELAY_RETRY = 'R',
	PUSHCORE_RELAY_ACK = 'A',
};

enum pushcore_relay_status {
	/* SUBMIT: journaled (durable); RETRY: done */
	PUSHCORE_RELAY_OK = 0,
	/* this peer may not submit for a user in the message: nothing of it
	   was taken */
	PUSHCORE_RELAY_REFUSED = 1,
	/* the relay could not take it (a journal error, or a user with as
	   much waiting as relay.conf allows): nothing was taken */
	PUSHCORE_RELAY_FAILED = 2,
};

struct pushcore_relay_msg {
	enum pushcore_relay_type type;
	uint32_t seq;
	unsigned int count;
	/* SUBMIT */
	struct pushcore_spool_entry **entries;
	/* RETRY */
	const char **ids;
	/* ACK */
	enum pushcore_relay_status status;
	const char *text;
};

/* A SUBMIT frame appended to buf: only the trusted fields of entries. */
void pushcore_relay_encode_submit(struct pushcore_buf *buf, uint32_t seq,
				  const struct pushcore_spool_entry *const *entries,
				  unsigned int count);
PUSHCORE_API
void pushcore_relay_encode_retry(struct pushcore_buf *buf, uint32_t seq,
				 const char *const *ids, unsigned int count);
PUSHCORE_API
void pushcore_relay_encode_ack(struct pushcore_buf *buf, uint32_t seq,
			       enum pushcore_relay_status status,
			       unsigned int count, const char *text);

/* The size of the first frame in data: 1 and *size_r when it is complete,
   0 when more bytes are needed, -1 with *error_r when its length is out of
   bounds (the peer is not speaking this protocol). */
PUSHCORE_API
int pushcore_relay_frame(const void *data, size_t size, size_t *size_r,
			 const char **error_r);
/* Decodes one complete frame (untrusted input). -1 with *error_r. */
PUSHCORE_API
int pushcore_relay_decode(struct pushcore_pool *pool, const void *frame,
			  size_t size, struct pushcore_relay_msg *msg_r,
			  const char **error_r);

/* Whether id is a notification id as pushcore makes them (36 characters
   of lowercase hex and dashes): safe in a file name or a log line. */
PUSHCORE_API int pushcore_relay_id_valid(const char *id);

#endif
