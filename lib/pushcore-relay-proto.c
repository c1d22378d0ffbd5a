/* The relay socket's frames: encoding, and decoding of untrusted input. */
#include "pushcore-relay-proto.h"
#include "pushcore-mem.h"
#include "pushcore-spool.h"

#include <string.h>

/* length, type, sequence number */
#define FRAME_HEADER_SIZE (4 + 1 + 4)

static void put_u32(struct pushcore_buf *buf, uint32_t num)
{
	unsigned char b[4] = { num >> 24, num >> 16, num >> 8, num };

	pushcore_buf_append(buf, b, sizeof(b));
}

static uint32_t get_u32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
		((uint32_t)p[2] << 8) | p[3];
}

/* Starts a frame; frame_end() fills in its length. */
static size_t frame_begin(struct pushcore_buf *buf, enum pushcore_relay_type type,
			  uint32_t seq)
{
	size_t start = buf->len;

	put_u32(buf, 0);
	pushcore_buf_append_c(buf, (char)type);
	put_u32(buf, seq);
	return start;
}

static void frame_end(struct pushcore_buf *buf, size_t start)
{
	uint32_t len = (uint32_t)(buf->len - start - 4);
	unsigned char *p = (unsigned char *)buf->data + start;

	p[0] = len >> 24; p[1] = len >> 16; p[2] = len >> 8; p[3] = len;
}

static void put_blob(struct pushcore_buf *buf, const void *data, size_t len)
{
	put_u32(buf, (uint32_t)len);
	pushcore_buf_append(buf, data, len);
}

void pushcore_relay_encode_submit(struct pushcore_buf *buf, uint32_t seq,
				  const struct pushcore_spool_entry *const *entries,
				  unsigned int count)
{
	size_t start = frame_begin(buf, PUSHCORE_RELAY_SUBMIT, seq);
	struct pushcore_spool_entry trusted;
	struct pushcore_buf rec;
	unsigned int i;

	put_u32(buf, count);
	for (i = 0; i < count; i++) {
		/* what the relay may believe, nothing that names a
		   destination or a credential */
		memset(&trusted, 0, sizeof(trusted));
		memcpy(trusted.id, entries[i]->id, sizeof(trusted.id));
		trusted.created_usecs = entries[i]->created_usecs;
		trusted.attempts = entries[i]->attempts;
		trusted.next_attempt = entries[i]->next_attempt;
		trusted.user = entries[i]->user;
		trusted.driver = entries[i]->driver;
		trusted.method = entries[i]->method;
		trusted.url = "";
		trusted.body = entries[i]->body;
		trusted.body_len = entries[i]->body_len;
		pushcore_buf_init(&rec);
		pushcore_spool_serialize(&rec, &trusted);
		put_blob(buf, rec.data, rec.len);
		pushcore_buf_free(&rec);
	}
	frame_end(buf, start);
}

void pushcore_relay_encode_retry(struct pushcore_buf *buf, uint32_t seq,
				 const char *const *ids, unsigned int count)
{
	size_t start = frame_begin(buf, PUSHCORE_RELAY_RETRY, seq);
	unsigned int i;

	put_u32(buf, count);
	for (i = 0; i < count; i++)
		put_blob(buf, ids[i], strlen(ids[i]));
	frame_end(buf, start);
}

void pushcore_relay_encode_ack(struct pushcore_buf *buf, uint32_t seq,
			       enum pushcore_relay_status status,
			       unsigned int count, const char *text)
{
	size_t start = frame_begin(buf, PUSHCORE_RELAY_ACK, seq);

	pushcore_buf_append_c(buf, (char)status);
	put_u32(buf, count);
	if (text != NULL)
		pushcore_buf_append_str(buf, text);
	frame_end(buf, start);
}

int pushcore_relay_frame(const void *data, size_t size, size_t *size_r,
			 const char **error_r)
{
	uint32_t len;

	if (size < 4)
		return 0;
	len = get_u32(data);
	if (len < FRAME_HEADER_SIZE - 4 || len > PUSHCORE_RELAY_MAX_FRAME) {
		*error_r = "frame length out of bounds";
		return -1;
	}
	if (size < (size_t)len + 4)
		return 0;
	*size_r = (size_t)len + 4;
	return 1;
}

int pushcore_relay_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
			return 0;
	}
	return i == 36;
}

/* Reads the next length-prefixed blob of the payload. */
static int get_blob(const unsigned char **p, const unsigned char *end,
		    const unsigned char **blob_r, size_t *len_r)
{
	uint32_t len;

	if (end - *p < 4)
		return -1;
	len = get_u32(*p);
	*p += 4;
	if ((size_t)(end - *p) < len)
		return -1;
	*blob_r = *p;
	*len_r = len;
	*p += len;
	return 0;
}

static int decode_submit(struct pushcore_pool *pool, const unsigned char *p,
			 const unsigned char *end, struct pushcore_relay_msg *msg,
			 const char **error_r)
{
	const unsigned char *blob;
	const char *error;
	unsigned int i;
	size_t len;

	msg->entries = pushcore_palloc(pool, sizeof(*msg->entries) * (msg->count + 1));
	for (i = 0; i < msg->count; i++) {
		if (get_blob(&p, end, &blob, &len) < 0) {
			*error_r = "truncated record";
			return -1;
		}
		if (pushcore_spool_parse(pool, (const char *)blob, len,
					 &msg->entries[i], &error) < 0) {
			*error_r = pushcore_psprintf(pool, "record %u: %s", i + 1, error);
			return -1;
		}
		if (!pushcore_relay_id_valid(msg->entries[i]->id) ||
		    msg->entries[i]->driver == NULL) {
			*error_r = pushcore_psprintf(pool,
				"record %u: invalid id or no driver", i + 1);
			return -1;
		}
	}
	if (p != end) {
		*error_r = "trailing bytes after the records";
		return -1;
	}
	return 0;
}

static int decode_retry(struct pushcore_pool *pool, const unsigned char *p,
			const unsigned char *end, struct pushcore_relay_msg *msg,
			const char **error_r)
{
	const unsigned char *blob;
	unsigned int i;
	size_t len;

	msg->ids = pushcore_palloc(pool, sizeof(*msg->ids) * (msg->count + 1));
	for (i = 0; i < msg->count; i++) {
		if (get_blob(&p, end, &blob, &len) < 0 || len > 64) {
			*error_r = "invalid id";
			return -1;
		}
		msg->ids[i] = pushcore_pstrndup(pool, blob, len);
		if (!pushcore_relay_id_valid(msg->ids[i])) {
			*error_r = "invalid id";
			return -1;
		}
	}
	if (p != end) {
		*error_r = "trailing bytes after the ids";
		return -1;
	}
	return 0;
}

int pushcore_relay_decode(struct pushcore_pool *pool, const void *frame,
			  size_t size, struct pushcore_relay_msg *msg_r,
			  const char **error_r)
{
	const unsigned char *p = frame, *end = p + size;

	memset(msg_r, 0, sizeof(*msg_r));
	if (size < FRAME_HEADER_SIZE || get_u32(p) != size - 4) {
		*error_r = "bad frame length";
		return -1;
	}
	msg_r->type = (enum pushcore_relay_type)p[4];
	msg_r->seq = get_u32(p + 5);
	p += FRAME_HEADER_SIZE;
	if (msg_r->type == PUSHCORE_RELAY_ACK) {
		if (end - p < 5 || p[0] > PUSHCORE_RELAY_FAILED) {
			*error_r = "bad acknowledgement";
			return -1;
		}
		msg_r->status = (enum pushcore_relay_status)p[0];
		msg_r->count = get_u32(p + 1);
		msg_r->text = pushcore_pstrndup(pool, p + 5, (size_t)(end - p - 5));
		return 0;
	}
	if (msg_r->type != PUSHCORE_RELAY_SUBMIT && msg_r->type != PUSHCORE_RELAY_RETRY) {
		*error_r = "unknown message type";
		return -1;
	}
	if (end - p < 4 || (msg_r->count = get_u32(p)) > PUSHCORE_RELAY_MAX_ENTRIES) {
		*error_r = "too many entries in one message";
		return -1;
	}
	p += 4;
	return msg_r->type == PUSHCORE_RELAY_SUBMIT ?
		decode_submit(pool, p, end, msg_r, error_r) :
		decode_retry(pool, p, end, msg_r, error_r);
}
