/* The agent protocol module (proto/agent_proto.h): frames, TLV fields, the
 * incremental reader, windows. */
#include "svtest.h"

#include "agent_proto.h"
#include <stdlib.h>
#include <string.h>

static uint8_t buf[SVA_MAX_FRAME];

static void test_header_round_trips(void **state)
{
	(void)state;
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, SVA_STDOUT, 0x01020304, 65536);
	sva_frame f;
	assert_int_equal(sva_header_get(h, &f), 0);
	assert_int_equal(f.type, SVA_STDOUT);
	assert_int_equal(f.channel, 0x01020304);
	assert_int_equal(f.length, 65536);
	/* Little-endian on the wire. */
	assert_int_equal(h[0], 0x00);
	assert_int_equal(h[2], 0x01);
	assert_int_equal(h[8], 0x04);
}

static void test_header_over_max_length_is_refused(void **state)
{
	(void)state;
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, SVA_STDOUT, 1, 65537);
	sva_frame f;
	assert_int_equal(sva_header_get(h, &f), -1);
}

static void test_header_with_reserved_bytes_is_refused(void **state)
{
	(void)state;
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, SVA_PING, 0, 1);
	h[7] = 1;
	sva_frame f;
	assert_int_equal(sva_header_get(h, &f), -1);
}

static void test_unknown_flags_are_ignored(void **state)
{
	(void)state;
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, SVA_PING, 0, 1);
	h[5] = 0x80;
	sva_frame f;
	assert_int_equal(sva_header_get(h, &f), 0);
	assert_int_equal(f.flags, 0x80);
}

static long build_exec(void)
{
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_EXEC, 7);
	sva_msg_bytes(&m, SVA_T_EXEC_ARG, "sh", 2);
	sva_msg_bytes(&m, SVA_T_EXEC_ARG, "", 0);
	sva_msg_bytes(&m, SVA_T_EXEC_ARG, "a\0b", 3);
	sva_msg_u32(&m, 99, 5); /* a later version's field */
	sva_msg_u32(&m, SVA_T_EXEC_UID, 1000);
	sva_msg_str(&m, SVA_T_EXEC_CWD, "/tmp");
	return sva_msg_end(&m);
}

static void test_exec_fields_parse_with_repeats_and_unknown_tags(void **state)
{
	(void)state;
	long n = build_exec();
	assert_true(n > SVA_HEADER_SIZE);
	sva_frame f;
	assert_int_equal(sva_header_get(buf, &f), 0);
	assert_int_equal(f.length, n - SVA_HEADER_SIZE);
	const uint8_t *p = buf + SVA_HEADER_SIZE;
	sva_field v[SVA_F_EXEC_N];
	assert_int_equal(sva_tlv_parse(p, f.length, sva_spec_exec, sva_spec_exec_n, v), 0);
	assert_int_equal(v[SVA_F_EXEC_ARG].count, 3);
	assert_int_equal(v[SVA_F_EXEC_UID].num, 1000);
	assert_false(v[SVA_F_EXEC_GID].present);
	assert_int_equal(v[SVA_F_EXEC_CWD].len, 4);
	assert_memory_equal(v[SVA_F_EXEC_CWD].bytes, "/tmp", 4);
	size_t pos = 0;
	const uint8_t *val;
	uint32_t len;
	const char *want[] = {"sh", "", "a\0b"};
	size_t want_len[] = {2, 0, 3};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sva_tlv_next(p, f.length, SVA_T_EXEC_ARG, &pos, &val, &len), 1);
		assert_int_equal(len, want_len[i]);
		assert_memory_equal(val, want[i], len);
	}
	assert_int_equal(sva_tlv_next(p, f.length, SVA_T_EXEC_ARG, &pos, &val, &len), 0);
}

static void test_integer_field_with_wrong_length_is_refused(void **state)
{
	(void)state;
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_SIGNAL, 1);
	sva_msg_bytes(&m, 1, "abc", 3);
	long n = sva_msg_end(&m);
	sva_field v[SVA_F_SIGNAL_N];
	assert_int_equal(sva_tlv_parse(buf + SVA_HEADER_SIZE, (size_t)n - SVA_HEADER_SIZE, sva_spec_signal,
				       sva_spec_signal_n, v),
			 -1);
}

static void test_field_running_past_the_payload_is_refused(void **state)
{
	(void)state;
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_GET, 1);
	sva_msg_str(&m, 1, "/etc/passwd");
	long n = sva_msg_end(&m);
	sva_field v[SVA_F_PATH_N];
	/* One byte short, and a header cut in half. */
	assert_int_equal(sva_tlv_parse(buf + SVA_HEADER_SIZE, (size_t)n - SVA_HEADER_SIZE - 1, sva_spec_path,
				       sva_spec_path_n, v),
			 -1);
	assert_int_equal(sva_tlv_parse(buf + SVA_HEADER_SIZE, 3, sva_spec_path, sva_spec_path_n, v), -1);
	/* A length near 2^32 must not wrap. */
	sva_put_u32(buf + SVA_HEADER_SIZE + 2, 0xfffffffa);
	assert_int_equal(sva_tlv_parse(buf + SVA_HEADER_SIZE, (size_t)n - SVA_HEADER_SIZE, sva_spec_path,
				       sva_spec_path_n, v),
			 -1);
}

static void test_repeated_single_field_is_refused(void **state)
{
	(void)state;
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_GET, 1);
	sva_msg_str(&m, 1, "/a");
	sva_msg_str(&m, 1, "/b");
	long n = sva_msg_end(&m);
	sva_field v[SVA_F_PATH_N];
	assert_int_equal(sva_tlv_parse(buf + SVA_HEADER_SIZE, (size_t)n - SVA_HEADER_SIZE, sva_spec_path,
				       sva_spec_path_n, v),
			 -1);
}

static void test_message_over_max_payload_fails_to_build(void **state)
{
	(void)state;
	static uint8_t big[SVA_MAX_FRAME + 100], data[SVA_MAX_PAYLOAD];
	sva_msg m;
	sva_msg_begin(&m, big, sizeof(big), SVA_STDOUT, 1);
	sva_msg_raw(&m, data, SVA_MAX_PAYLOAD);
	assert_int_equal(sva_msg_end(&m), SVA_MAX_FRAME);
	sva_msg_begin(&m, big, sizeof(big), SVA_STDOUT, 1);
	sva_msg_raw(&m, data, SVA_MAX_PAYLOAD);
	sva_msg_raw(&m, data, 1);
	assert_int_equal(sva_msg_end(&m), -1);
	/* And past the caller's buffer. */
	uint8_t small[20];
	sva_msg_begin(&m, small, sizeof(small), SVA_PING, 0);
	sva_msg_raw(&m, "123456789", 9);
	assert_int_equal(sva_msg_end(&m), -1);
}

static void test_reader_assembles_frames_fed_byte_by_byte(void **state)
{
	(void)state;
	static uint8_t rbuf[SVA_MAX_FRAME];
	sva_reader r;
	sva_reader_init(&r, rbuf, sizeof(rbuf));
	long n = build_exec();
	uint8_t copy[512];
	memcpy(copy, buf, (size_t)n);
	sva_frame f;
	for (long i = 0; i < n - 1; i++) {
		assert_int_equal(sva_reader_feed(&r, copy + i, 1), 1);
		assert_int_equal(sva_reader_next(&r, &f), 0);
	}
	assert_int_equal(sva_reader_feed(&r, copy + n - 1, 1), 1);
	assert_int_equal(sva_reader_next(&r, &f), 1);
	assert_int_equal(f.type, SVA_EXEC);
	assert_int_equal(f.channel, 7);
	assert_memory_equal(f.payload, copy + SVA_HEADER_SIZE, f.length);
	assert_int_equal(sva_reader_next(&r, &f), 0);
}

static void test_reader_hands_out_several_frames_of_one_chunk(void **state)
{
	(void)state;
	static uint8_t rbuf[SVA_MAX_FRAME];
	sva_reader r;
	sva_reader_init(&r, rbuf, sizeof(rbuf));
	uint8_t chunk[3 * (SVA_HEADER_SIZE + 1)];
	for (int i = 0; i < 3; i++) {
		sva_header_put(chunk + i * 13, SVA_PING, 0, 1);
		chunk[i * 13 + 12] = (uint8_t)('a' + i);
	}
	size_t avail;
	uint8_t *space = sva_reader_space(&r, &avail);
	assert_true(avail >= sizeof(chunk));
	memcpy(space, chunk, sizeof(chunk));
	sva_reader_commit(&r, sizeof(chunk));
	sva_frame f;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sva_reader_next(&r, &f), 1);
		assert_int_equal(f.payload[0], 'a' + i);
	}
	assert_int_equal(sva_reader_next(&r, &f), 0);
}

static void test_reader_refuses_an_oversized_header_without_waiting_for_its_payload(void **state)
{
	(void)state;
	static uint8_t rbuf[SVA_MAX_FRAME];
	sva_reader r;
	sva_reader_init(&r, rbuf, sizeof(rbuf));
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, SVA_STDOUT, 1, 0x7fffffff);
	sva_reader_feed(&r, h, sizeof(h));
	sva_frame f;
	assert_int_equal(sva_reader_next(&r, &f), -1);
	assert_int_equal(sva_reader_next(&r, &f), -1);
}

static void test_reader_fills_its_whole_buffer_with_max_frames(void **state)
{
	(void)state;
	static uint8_t rbuf[SVA_MAX_FRAME];
	static uint8_t two[2 * SVA_MAX_FRAME];
	sva_reader r;
	sva_reader_init(&r, rbuf, sizeof(rbuf));
	for (int i = 0; i < 2; i++) {
		sva_header_put(two + i * SVA_MAX_FRAME, SVA_FILE_DATA, 1, SVA_MAX_PAYLOAD);
		memset(two + i * SVA_MAX_FRAME + SVA_HEADER_SIZE, 'x' + i, SVA_MAX_PAYLOAD);
	}
	/* Start mid-buffer so the second frame needs compaction. */
	size_t off = 0;
	sva_frame f;
	int got = 0;
	while (got < 2) {
		off += sva_reader_feed(&r, two + off, sizeof(two) - off);
		int rc;
		while ((rc = sva_reader_next(&r, &f)) == 1) {
			assert_int_equal(f.length, SVA_MAX_PAYLOAD);
			assert_int_equal(f.payload[0], 'x' + got);
			assert_int_equal(f.payload[SVA_MAX_PAYLOAD - 1], 'x' + got);
			got++;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(off, sizeof(two));
}

static void test_hunting_reader_skips_garbage_to_the_next_hello(void **state)
{
	(void)state;
	static uint8_t rbuf[SVA_MAX_FRAME];
	sva_reader r;
	sva_reader_init(&r, rbuf, sizeof(rbuf));
	sva_reader_hunt(&r);
	uint8_t garbage[40];
	memset(garbage, 0xff, sizeof(garbage));
	/* A STDOUT header is not a HELLO either. */
	sva_header_put(garbage + 10, SVA_STDOUT, 0, 4);
	sva_reader_feed(&r, garbage, sizeof(garbage));
	sva_frame f;
	assert_int_equal(sva_reader_next(&r, &f), 0);
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_HELLO, 0);
	sva_msg_u32(&m, 1, 1);
	sva_msg_u32(&m, 2, 1);
	long n = sva_msg_end(&m);
	sva_reader_feed(&r, buf, (size_t)n);
	assert_int_equal(sva_reader_next(&r, &f), 1);
	assert_int_equal(f.type, SVA_HELLO);
	assert_int_equal(r.discarded, sizeof(garbage));
	assert_false(r.hunting);
}

static void test_send_window_limits_and_refuses_runaway_grants(void **state)
{
	(void)state;
	sva_send_window w = {.credit = 10};
	assert_int_equal(sva_send_take(&w, 4), 4);
	assert_int_equal(sva_send_take(&w, 100), 6);
	assert_int_equal(sva_send_take(&w, 1), 0);
	assert_int_equal(sva_send_grant(&w, 5), 0);
	assert_int_equal(sva_send_take(&w, 100), 5);
	assert_int_equal(sva_send_grant(&w, SVA_MAX_WINDOW), 0);
	assert_int_equal(sva_send_grant(&w, 1), -1);
}

static void test_recv_window_refuses_data_beyond_the_window_and_batches_grants(void **state)
{
	(void)state;
	sva_recv_window w;
	sva_recv_init(&w, 1000);
	assert_int_equal(sva_recv_arrived(&w, 600), 0);
	assert_int_equal(sva_recv_arrived(&w, 401), -1);
	assert_int_equal(sva_recv_arrived(&w, 400), 0);
	assert_int_equal(sva_recv_arrived(&w, 1), -1);
	assert_int_equal(sva_recv_consumed(&w, 100), 0);   /* below a quarter */
	assert_int_equal(sva_recv_consumed(&w, 200), 300); /* grant what was handed on */
	assert_int_equal(sva_recv_arrived(&w, 300), 0);
	assert_int_equal(sva_recv_arrived(&w, 1), -1);
}

static void test_names_from_the_peer_are_one_component(void **state)
{
	(void)state;
	assert_true(sva_name_is_safe((const uint8_t *)"a", 1));
	assert_true(sva_name_is_safe((const uint8_t *)"...", 3));
	assert_true(sva_name_is_safe((const uint8_t *)".x", 2));
	assert_false(sva_name_is_safe((const uint8_t *)"", 0));
	assert_false(sva_name_is_safe((const uint8_t *)".", 1));
	assert_false(sva_name_is_safe((const uint8_t *)"..", 2));
	assert_false(sva_name_is_safe((const uint8_t *)"../x", 4));
	assert_false(sva_name_is_safe((const uint8_t *)"a/b", 3));
	assert_false(sva_name_is_safe((const uint8_t *)"a\0b", 3));
}

static void test_every_structured_type_has_a_spec(void **state)
{
	(void)state;
	size_t n;
	for (int t = 0; t < 256; t++) {
		const char *name = sva_type_name((uint8_t)t);
		bool raw = t == SVA_PING || t == SVA_PONG || sva_type_is_data((uint8_t)t) ||
			   t == SVA_STDIN_EOF || t == SVA_OK;
		if (name && !raw)
			assert_non_null(sva_spec_for((uint8_t)t, &n));
		if (!name)
			assert_null(sva_spec_for((uint8_t)t, &n));
	}
	assert_true(sva_type_opens_channel(SVA_EXEC));
	assert_false(sva_type_opens_channel(SVA_STDIN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_round_trips),
	    cmocka_unit_test(test_header_over_max_length_is_refused),
	    cmocka_unit_test(test_header_with_reserved_bytes_is_refused),
	    cmocka_unit_test(test_unknown_flags_are_ignored),
	    cmocka_unit_test(test_exec_fields_parse_with_repeats_and_unknown_tags),
	    cmocka_unit_test(test_integer_field_with_wrong_length_is_refused),
	    cmocka_unit_test(test_field_running_past_the_payload_is_refused),
	    cmocka_unit_test(test_repeated_single_field_is_refused),
	    cmocka_unit_test(test_message_over_max_payload_fails_to_build),
	    cmocka_unit_test(test_reader_assembles_frames_fed_byte_by_byte),
	    cmocka_unit_test(test_reader_hands_out_several_frames_of_one_chunk),
	    cmocka_unit_test(test_reader_refuses_an_oversized_header_without_waiting_for_its_payload),
	    cmocka_unit_test(test_reader_fills_its_whole_buffer_with_max_frames),
	    cmocka_unit_test(test_hunting_reader_skips_garbage_to_the_next_hello),
	    cmocka_unit_test(test_send_window_limits_and_refuses_runaway_grants),
	    cmocka_unit_test(test_recv_window_refuses_data_beyond_the_window_and_batches_grants),
	    cmocka_unit_test(test_names_from_the_peer_are_one_component),
	    cmocka_unit_test(test_every_structured_type_has_a_spec),
	};
	return svt_run_group(tests, NULL, NULL);
}
