/* libFuzzer target: the relay (root) reads frames from every mail uid's
   processes; framing and decoding must reject garbage cleanly, and what
   they accept must re-encode to a frame that decodes to the same. */
#include "pushcore.h"
#include "pushcore-relay-proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(struct pushcore_pool *pool,
			    const struct pushcore_relay_msg *msg)
{
	struct pushcore_relay_msg again;
	struct pushcore_buf buf;
	const char *error;
	unsigned int i;

	pushcore_buf_init(&buf);
	if (msg->type == PUSHCORE_RELAY_SUBMIT)
		pushcore_relay_encode_submit(&buf, msg->seq,
			(const struct pushcore_spool_entry *const *)msg->entries,
			msg->count);
	else if (msg->type == PUSHCORE_RELAY_RETRY)
		pushcore_relay_encode_retry(&buf, msg->seq, msg->ids, msg->count);
	else
		pushcore_relay_encode_ack(&buf, msg->seq, msg->status, msg->count,
					  msg->text);
	if (pushcore_relay_decode(pool, buf.data, buf.len, &again, &error) < 0 ||
	    again.type != msg->type || again.seq != msg->seq ||
	    again.count != msg->count)
		abort();
	for (i = 0; msg->type == PUSHCORE_RELAY_SUBMIT && i < msg->count; i++) {
		if (strcmp(again.entries[i]->id, msg->entries[i]->id) != 0 ||
		    again.entries[i]->body_len != msg->entries[i]->body_len ||
		    memcmp(again.entries[i]->body, msg->entries[i]->body,
			   msg->entries[i]->body_len) != 0)
			abort();
	}
	pushcore_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_relay_msg msg;
	const char *error;
	size_t frame_size;

	if (pushcore_relay_frame(data, size, &frame_size, &error) == 1) {
		if (frame_size > size)
			abort();
		if (pushcore_relay_decode(pool, data, frame_size, &msg, &error) == 0)
			check_roundtrip(pool, &msg);
	}
	pushcore_pool_free(&pool);
	return 0;
}
