/* Fuzzes the agent protocol decoder (proto/): the incremental frame reader
 * and the TLV parser, which read every byte a guest agent (or a client of
 * a VM's agent.sock) sends. The input is a byte stream, fed in chunks whose
 * sizes come from the input itself, once as a stream and once hunting for
 * a HELLO as the agent does on virtio-serial. Oracles: a frame is never
 * longer than the protocol allows and lies inside the reader's buffer;
 * every field a parse accepts lies inside its payload, and a message built
 * again from the parsed fields parses to the same values. */
#include "fuzz.h"

#include "agent_proto.h"
#include <string.h>

static uint8_t rbuf[SVA_MAX_FRAME];
static uint8_t out[SVA_MAX_FRAME];

static void rebuild_and_compare(uint8_t type, const sva_spec *spec, size_t n, const sva_field *v,
				const uint8_t *payload, size_t len)
{
	sva_msg m;
	sva_msg_begin(&m, out, sizeof(out), type, 1);
	for (size_t i = 0; i < n; i++) {
		if (!v[i].present)
			continue;
		size_t pos = 0;
		const uint8_t *val;
		uint32_t vlen;
		/* Every occurrence, in order (repeated fields). */
		while (sva_tlv_next(payload, len, spec[i].tag, &pos, &val, &vlen) == 1) {
			FZ_CHECK(val >= payload && val + vlen <= payload + len);
			if (spec[i].kind == SVA_KIND_U32)
				sva_msg_u32(&m, spec[i].tag, sva_get_u32(val));
			else if (spec[i].kind == SVA_KIND_U64)
				sva_msg_u64(&m, spec[i].tag, sva_get_u64(val));
			else
				sva_msg_bytes(&m, spec[i].tag, val, vlen);
			if (!spec[i].repeated)
				break;
		}
	}
	long total = sva_msg_end(&m);
	FZ_CHECK(total >= SVA_HEADER_SIZE); /* known fields never exceed the original payload */
	sva_field again[32];
	FZ_CHECK(n <= 32);
	FZ_CHECK(sva_tlv_parse(out + SVA_HEADER_SIZE, (size_t)total - SVA_HEADER_SIZE, spec, n, again) == 0);
	for (size_t i = 0; i < n; i++) {
		FZ_CHECK(again[i].present == v[i].present);
		FZ_CHECK(again[i].count == v[i].count);
		FZ_CHECK(again[i].num == v[i].num);
		FZ_CHECK(again[i].len == v[i].len);
		if (v[i].len)
			FZ_CHECK(memcmp(again[i].bytes, v[i].bytes, v[i].len) == 0);
	}
}

static void check_frame(const sva_frame *f)
{
	FZ_CHECK(f->length <= SVA_MAX_PAYLOAD);
	FZ_CHECK(f->payload >= rbuf && f->payload + f->length <= rbuf + sizeof(rbuf));
	size_t n = 0;
	const sva_spec *spec = sva_spec_for(f->type, &n);
	if (!spec)
		return;
	sva_field v[32];
	FZ_CHECK(n <= 32);
	if (sva_tlv_parse(f->payload, f->length, spec, n, v) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].present)
			continue;
		FZ_CHECK(v[i].count >= 1);
		FZ_CHECK(v[i].bytes >= f->payload && v[i].bytes + v[i].len <= f->payload + f->length);
		if (spec[i].kind == SVA_KIND_U32)
			FZ_CHECK(v[i].len == 4 && v[i].num <= UINT32_MAX);
		if (spec[i].kind == SVA_KIND_U64)
			FZ_CHECK(v[i].len == 8);
		if (spec[i].kind == SVA_KIND_BYTES && f->type == SVA_DIRENT && i == SVA_F_DIRENT_NAME &&
		    sva_name_is_safe(v[i].bytes, v[i].len))
			FZ_CHECK(!memchr(v[i].bytes, '/', v[i].len));
	}
	rebuild_and_compare(f->type, spec, n, v, f->payload, f->length);
}

static void run(const uint8_t *data, size_t size, bool hunt)
{
	sva_reader r;
	sva_reader_init(&r, rbuf, sizeof(rbuf));
	if (hunt)
		sva_reader_hunt(&r);
	/* The first byte picks the chunk size, so the corpus steers how the
	 * stream is cut. */
	size_t chunk = size ? (size_t)data[0] % 97 + 1 : 1;
	size_t off = 0;
	int frames = 0;
	while (off < size) {
		size_t want = size - off < chunk ? size - off : chunk;
		size_t took = sva_reader_feed(&r, data + off, want);
		/* Once its whole frames are taken out, the reader always has room. */
		FZ_CHECK(took > 0);
		off += took;
		sva_frame f;
		int rc;
		while ((rc = sva_reader_next(&r, &f)) == 1) {
			check_frame(&f);
			frames++;
		}
		if (rc < 0) {
			if (!hunt)
				return; /* a stream ends at its first bad header */
			sva_reader_hunt(&r);
			continue;
		}
	}
	(void)frames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, false);
	run(data, size, true);
	return 0;
}
