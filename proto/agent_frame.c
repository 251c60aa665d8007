/* Frames and TLV fields of the agent protocol (agent_proto.h): building
 * them into a caller's buffer and parsing them against a message's spec.
 * Every length read from the wire is checked against what is left before
 * anything is read behind it. */
#include "agent_proto.h"

#include <string.h>

uint32_t sva_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t sva_get_u64(const uint8_t *p)
{
	return (uint64_t)sva_get_u32(p) | (uint64_t)sva_get_u32(p + 4) << 32;
}

void sva_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void sva_put_u64(uint8_t *p, uint64_t v)
{
	sva_put_u32(p, (uint32_t)v);
	sva_put_u32(p + 4, (uint32_t)(v >> 32));
}

static const char *const type_names[SVA_MOUNT + 1] = {
    [SVA_HELLO] = "HELLO",
    [SVA_HELLO_OK] = "HELLO_OK",
    [SVA_PING] = "PING",
    [SVA_PONG] = "PONG",
    [SVA_ERROR] = "ERROR",
    [SVA_EXEC] = "EXEC",
    [SVA_STARTED] = "STARTED",
    [SVA_STDIN] = "STDIN",
    [SVA_STDIN_EOF] = "STDIN_EOF",
    [SVA_STDOUT] = "STDOUT",
    [SVA_STDERR] = "STDERR",
    [SVA_SIGNAL] = "SIGNAL",
    [SVA_RESIZE] = "RESIZE",
    [SVA_EXIT] = "EXIT",
    [SVA_WINDOW] = "WINDOW",
    [SVA_PUT] = "PUT",
    [SVA_GET] = "GET",
    [SVA_FILE_INFO] = "FILE_INFO",
    [SVA_FILE_DATA] = "FILE_DATA",
    [SVA_FILE_END] = "FILE_END",
    [SVA_OK] = "OK",
    [SVA_STAT] = "STAT",
    [SVA_MKDIR] = "MKDIR",
    [SVA_READDIR] = "READDIR",
    [SVA_DIRENT] = "DIRENT",
    [SVA_SYMLINK] = "SYMLINK",
    [SVA_MOUNT] = "MOUNT",
};

const char *sva_type_name(uint8_t type)
{
	return type < sizeof(type_names) / sizeof(*type_names) ? type_names[type] : NULL;
}

bool sva_type_opens_channel(uint8_t type)
{
	switch (type) {
	case SVA_EXEC:
	case SVA_PUT:
	case SVA_GET:
	case SVA_STAT:
	case SVA_MKDIR:
	case SVA_READDIR:
	case SVA_SYMLINK:
	case SVA_MOUNT:
		return true;
	default:
		return false;
	}
}

bool sva_type_is_data(uint8_t type)
{
	return type == SVA_STDIN || type == SVA_STDOUT || type == SVA_STDERR || type == SVA_FILE_DATA;
}

void sva_header_put(uint8_t *out, uint8_t type, uint32_t channel, uint32_t length)
{
	sva_put_u32(out, length);
	out[4] = type;
	out[5] = 0;
	out[6] = out[7] = 0;
	sva_put_u32(out + 8, channel);
}

int sva_header_get(const uint8_t *in, sva_frame *f)
{
	f->length = sva_get_u32(in);
	f->type = in[4];
	f->flags = in[5];
	f->channel = sva_get_u32(in + 8);
	f->payload = NULL;
	if (f->length > SVA_MAX_PAYLOAD || in[6] || in[7])
		return -1;
	return 0;
}

/* ---- building ---- */

void sva_msg_begin(sva_msg *m, uint8_t *buf, size_t cap, uint8_t type, uint32_t channel)
{
	m->buf = buf;
	m->cap = cap;
	m->len = SVA_HEADER_SIZE;
	m->overflow = cap < SVA_HEADER_SIZE;
	if (!m->overflow)
		sva_header_put(buf, type, channel, 0);
}

/* Room for n more bytes, else overflow. */
static uint8_t *reserve(sva_msg *m, size_t n)
{
	if (m->overflow || n > m->cap - m->len || m->len + n - SVA_HEADER_SIZE > SVA_MAX_PAYLOAD) {
		m->overflow = true;
		return NULL;
	}
	uint8_t *p = m->buf + m->len;
	m->len += n;
	return p;
}

static void field_header(uint8_t *p, uint16_t tag, uint32_t len)
{
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	sva_put_u32(p + 2, len);
}

void sva_msg_u32(sva_msg *m, uint16_t tag, uint32_t v)
{
	uint8_t *p = reserve(m, 6 + 4);
	if (p) {
		field_header(p, tag, 4);
		sva_put_u32(p + 6, v);
	}
}

void sva_msg_u64(sva_msg *m, uint16_t tag, uint64_t v)
{
	uint8_t *p = reserve(m, 6 + 8);
	if (p) {
		field_header(p, tag, 8);
		sva_put_u64(p + 6, v);
	}
}

void sva_msg_bytes(sva_msg *m, uint16_t tag, const void *data, size_t len)
{
	if (len > SVA_MAX_PAYLOAD) {
		m->overflow = true;
		return;
	}
	uint8_t *p = reserve(m, 6 + len);
	if (p) {
		field_header(p, tag, (uint32_t)len);
		if (len)
			memcpy(p + 6, data, len);
	}
}

void sva_msg_str(sva_msg *m, uint16_t tag, const char *s) { sva_msg_bytes(m, tag, s, strlen(s)); }

void sva_msg_raw(sva_msg *m, const void *data, size_t len)
{
	uint8_t *p = reserve(m, len);
	if (p && len)
		memcpy(p, data, len);
}

void sva_msg_hello(sva_msg *m, uint8_t *buf, size_t cap, const char *name)
{
	sva_msg_begin(m, buf, cap, SVA_HELLO, 0);
	sva_msg_u32(m, 1, SVA_VERSION);
	sva_msg_u32(m, 2, SVA_VERSION);
	sva_msg_str(m, 3, name);
}

long sva_msg_end(sva_msg *m)
{
	if (m->overflow)
		return -1;
	sva_put_u32(m->buf, (uint32_t)(m->len - SVA_HEADER_SIZE));
	return (long)m->len;
}

/* ---- parsing ---- */

/* The next field at *pos: 1 with it, 0 at the end, -1 when it runs past
 * the payload. */
static int next_field(const uint8_t *payload, size_t len, size_t *pos, uint16_t *tag, const uint8_t **value,
		      uint32_t *value_len)
{
	if (*pos == len)
		return 0;
	if (len - *pos < 6)
		return -1;
	const uint8_t *p = payload + *pos;
	*tag = (uint16_t)(p[0] | p[1] << 8);
	*value_len = sva_get_u32(p + 2);
	if (*value_len > len - *pos - 6)
		return -1;
	*value = p + 6;
	*pos += 6 + (size_t)*value_len;
	return 1;
}

int sva_tlv_parse(const uint8_t *payload, size_t len, const sva_spec *spec, size_t n, sva_field *out)
{
	memset(out, 0, n * sizeof(*out));
	size_t pos = 0;
	uint16_t tag;
	const uint8_t *value;
	uint32_t vlen;
	int rc;
	while ((rc = next_field(payload, len, &pos, &tag, &value, &vlen)) == 1) {
		size_t i = 0;
		while (i < n && spec[i].tag != tag)
			i++;
		if (i == n)
			continue; /* a later version's field */
		if (out[i].present && !spec[i].repeated)
			return -1;
		if (spec[i].kind == SVA_KIND_U32 && vlen != 4)
			return -1;
		if (spec[i].kind == SVA_KIND_U64 && vlen != 8)
			return -1;
		out[i].count++;
		if (out[i].present)
			continue;
		out[i].present = true;
		out[i].bytes = value;
		out[i].len = vlen;
		if (spec[i].kind == SVA_KIND_U32)
			out[i].num = sva_get_u32(value);
		else if (spec[i].kind == SVA_KIND_U64)
			out[i].num = sva_get_u64(value);
	}
	return rc;
}

int sva_tlv_next(const uint8_t *payload, size_t len, uint16_t tag, size_t *pos, const uint8_t **value,
		 uint32_t *value_len)
{
	uint16_t t;
	while (next_field(payload, len, pos, &t, value, value_len) == 1)
		if (t == tag)
			return 1;
	return 0;
}

bool sva_name_is_safe(const uint8_t *name, size_t len)
{
	if (len == 0 || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	return !memchr(name, '/', len) && !memchr(name, '\0', len);
}

/* ---- the specs ---- */

#define U32(t)                                                                                               \
	{                                                                                                    \
		(t), SVA_KIND_U32, false                                                                     \
	}
#define U64(t)                                                                                               \
	{                                                                                                    \
		(t), SVA_KIND_U64, false                                                                     \
	}
#define BYTES(t)                                                                                             \
	{                                                                                                    \
		(t), SVA_KIND_BYTES, false                                                                   \
	}
#define DEFINE_SPEC(name, ...)                                                                               \
	const sva_spec sva_spec_##name[] = {__VA_ARGS__};                                                    \
	const size_t sva_spec_##name##_n = sizeof(sva_spec_##name) / sizeof(sva_spec)

DEFINE_SPEC(hello, U32(1), U32(2), BYTES(3));
DEFINE_SPEC(hello_ok, U32(1), BYTES(4), U32(5), U32(6));
DEFINE_SPEC(error, U32(1), BYTES(2));
DEFINE_SPEC(exec, {1, SVA_KIND_BYTES, true}, {2, SVA_KIND_BYTES, true}, BYTES(3), U32(4), U32(5),
	    {6, SVA_KIND_U32, true}, U32(7), U32(8), U32(9), U32(10), {11, SVA_KIND_BYTES, true}, U32(12),
	    BYTES(13), BYTES(14));
DEFINE_SPEC(started, U32(1));
DEFINE_SPEC(signal, U32(1));
DEFINE_SPEC(resize, U32(1), U32(2));
DEFINE_SPEC(exit, U32(1), U32(2), U32(3));
DEFINE_SPEC(window, U32(1));
DEFINE_SPEC(put, BYTES(1), U32(2), U32(3), U32(4), U64(5), U32(6), U64(7));
DEFINE_SPEC(path, BYTES(1));
DEFINE_SPEC(file_info, U32(1), U32(2), U32(3), U32(4), U64(5), U64(6), U32(7), BYTES(8));
DEFINE_SPEC(file_end, BYTES(1));
DEFINE_SPEC(stat, BYTES(1), U32(2));
DEFINE_SPEC(mkdir, BYTES(1), U32(2), U32(3), U32(4), U32(5));
DEFINE_SPEC(dirent, BYTES(1), U32(2));
DEFINE_SPEC(symlink, BYTES(1), BYTES(2), U32(3), U32(4));
DEFINE_SPEC(mount, BYTES(1), BYTES(2), BYTES(3), U32(4), BYTES(5), BYTES(6), U32(7), BYTES(8));

const sva_spec *sva_spec_for(uint8_t type, size_t *n)
{
#define CASE(t, name)                                                                                        \
	case t:                                                                                              \
		*n = sva_spec_##name##_n;                                                                    \
		return sva_spec_##name
	switch (type) {
		CASE(SVA_HELLO, hello);
		CASE(SVA_HELLO_OK, hello_ok);
		CASE(SVA_ERROR, error);
		CASE(SVA_EXEC, exec);
		CASE(SVA_STARTED, started);
		CASE(SVA_SIGNAL, signal);
		CASE(SVA_RESIZE, resize);
		CASE(SVA_EXIT, exit);
		CASE(SVA_WINDOW, window);
		CASE(SVA_PUT, put);
		CASE(SVA_GET, path);
		CASE(SVA_READDIR, path);
		CASE(SVA_FILE_INFO, file_info);
		CASE(SVA_FILE_END, file_end);
		CASE(SVA_STAT, stat);
		CASE(SVA_MKDIR, mkdir);
		CASE(SVA_DIRENT, dirent);
		CASE(SVA_SYMLINK, symlink);
		CASE(SVA_MOUNT, mount);
	default:
		*n = 0;
		return NULL;
	}
#undef CASE
}
