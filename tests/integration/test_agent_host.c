/* smartvm-agent run on the host (the guest's binary, --fd on a socketpair),
 * driven frame by frame: every message of docs/agent-protocol.md, flow
 * control both ways, and what it does with a host that breaks the
 * protocol. */
#include "svtest.h"
#include "agentfixture.h"

#include "sv_build_config.h"
#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define T 10000

static uint8_t mbuf[SVA_MAX_FRAME];

static void exec_argv(sat_conn *c, uint32_t ch, const char *const *argv, sat_result *r)
{
	sat_exec(c, ch, argv, false);
	sat_expect(c, SVA_STARTED, ch, T);
	assert_true(sat_u32(c, SVA_F_STARTED_PID) > 0);
	sat_collect(c, ch, T, r);
}

static void start_session(sat_conn *c)
{
	sat_spawn_agent(c, NULL);
	assert_int_equal(sat_hello(c), SVA_DEFAULT_WINDOW);
}

static void test_hello_and_ping(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_send(&c, SVA_PING, 0, "abc", 3);
	sat_expect(&c, SVA_PONG, 0, T);
	assert_int_equal(c.f.length, 3);
	assert_memory_equal(c.f.payload, "abc", 3);
	sat_close(&c);
}

static void test_hello_ok_names_the_agent_version(void **state)
{
	(void)state;
	sat_conn c;
	sat_spawn_agent(&c, NULL);
	sat_hello(&c);
	char *v = sat_str(&c, SVA_F_HELLO_OK_AGENT);
	assert_string_equal(v, SV_VERSION);
	free(v);
	sat_close(&c);
}

static void test_no_common_version_is_an_error_and_the_end(void **state)
{
	(void)state;
	sat_conn c;
	sat_spawn_agent(&c, NULL);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_HELLO, 0);
	sva_msg_u32(&m, 1, 2);
	sva_msg_u32(&m, 2, 3);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_ERROR, 0, T);
	char *msg = sat_str(&c, SVA_F_ERROR_MESSAGE);
	assert_string_equal(msg, "no common protocol version: the host speaks 2..3, this agent 1");
	free(msg);
	assert_true(sat_wait_eof(&c, T));
	sat_close(&c);
}

static void test_frame_before_hello_ends_the_stream(void **state)
{
	(void)state;
	sat_conn c;
	sat_spawn_agent(&c, NULL);
	sat_send(&c, SVA_PING, 0, "x", 1);
	assert_true(sat_wait_eof(&c, T));
	sat_close(&c);
}

static void test_oversized_frame_ends_the_stream(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, SVA_PING, 0, SVA_MAX_PAYLOAD + 1);
	sat_send_raw(&c, h, sizeof(h));
	assert_true(sat_wait_eof(&c, T));
	sat_close(&c);
}

static void test_unknown_message_on_channel_0_ends_the_stream(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_send(&c, 0x7e, 0, NULL, 0);
	assert_true(sat_wait_eof(&c, T));
	sat_close(&c);
}

static void test_exit_codes_and_output_apart(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_result r;
	exec_argv(&c, 1, (const char *const[]){"sh", "-c", "echo out; echo err >&2; exit 5", NULL}, &r);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	assert_int_equal(r.code, 5);
	assert_int_equal(r.signal, 0);
	sat_result_free(&r);
	exec_argv(&c, 2, (const char *const[]){"true", NULL}, &r);
	assert_int_equal(r.code, 0);
	sat_result_free(&r);
	sat_close(&c);
}

static void test_signal_ends_are_reported_as_signals(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_result r;
	exec_argv(&c, 1, (const char *const[]){"sh", "-c", "kill -TERM $$", NULL}, &r);
	assert_int_equal(r.code, -1);
	assert_int_equal(r.signal, SIGTERM);
	sat_result_free(&r);
	sat_close(&c);
}

static void test_argv_bytes_arrive_exactly(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_result r;
	exec_argv(&c, 1, (const char *const[]){"printf", "[%s]", "a b", "", "'\"$x\\", "\n", NULL}, &r);
	assert_string_equal(r.out, "[a b][]['\"$x\\][\n]");
	sat_result_free(&r);
	sat_close(&c);
}

static void test_command_not_found_is_enoent_without_started(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"no-such-command-here", NULL}, false);
	sat_expect(&c, SVA_ERROR, 1, T);
	assert_int_equal(sat_u32(&c, SVA_F_ERROR_ERRNO), ENOENT);
	char *msg = sat_str(&c, SVA_F_ERROR_MESSAGE);
	assert_string_equal(msg, "no-such-command-here: No such file or directory");
	free(msg);
	sat_close(&c);
}

static void test_not_executable_is_eacces(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *file = svt_write(dir, "script", "echo hi\n");
	chmod(file, 0644);
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){file, NULL}, false);
	sat_expect(&c, SVA_ERROR, 1, T);
	assert_int_equal(sat_u32(&c, SVA_F_ERROR_ERRNO), EACCES);
	sat_close(&c);
	free(file);
	svt_rm_tmpdir(dir);
}

static void test_env_cwd_and_user_are_applied(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_EXEC, 3);
	sva_msg_str(&m, SVA_T_EXEC_ARG, "sh");
	sva_msg_str(&m, SVA_T_EXEC_ARG, "-c");
	sva_msg_str(&m, SVA_T_EXEC_ARG,
		    "echo \"$FOO|$HOME|$(pwd)|$(id -u):$(id -g)|$(id -G)\"; env | sort | tr '\\n' ' '");
	sva_msg_str(&m, SVA_T_EXEC_ENV, "FOO=bar baz");
	sva_msg_str(&m, SVA_T_EXEC_CWD, "/tmp");
	sva_msg_u32(&m, SVA_T_EXEC_UID, 65534);
	sva_msg_u32(&m, SVA_T_EXEC_GID, 65534);
	sva_msg_u32(&m, SVA_T_EXEC_GROUPS, 65533);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_STARTED, 3, T);
	sat_result r;
	sat_collect(&c, 3, T, &r);
	svt_assert_contains(r.out, "bar baz|/|/tmp|65534:65534|65534 65533\n");
	/* Exactly the given variables, PATH and HOME added, nothing of ours. */
	svt_assert_contains(
	    r.out,
	    "FOO=bar baz HOME=/ PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PWD=/tmp");
	assert_null(strstr(r.out, "SMARTVM"));
	sat_result_free(&r);
	sat_close(&c);
}

static void test_bad_cwd_says_so(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_EXEC, 1);
	sva_msg_str(&m, SVA_T_EXEC_ARG, "true");
	sva_msg_str(&m, SVA_T_EXEC_CWD, "/no/such/dir");
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_ERROR, 1, T);
	char *msg = sat_str(&c, SVA_F_ERROR_MESSAGE);
	assert_string_equal(msg, "cwd /no/such/dir: No such file or directory");
	free(msg);
	sat_close(&c);
}

static void test_stdin_reaches_the_command_and_eof_ends_it(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"sh", "-c", "tr a-z A-Z; echo done", NULL}, true);
	sat_expect(&c, SVA_STARTED, 1, T);
	sat_send(&c, SVA_STDIN, 1, "hello ", 6);
	sat_send(&c, SVA_STDIN, 1, "world\n", 6);
	sat_send(&c, SVA_STDIN_EOF, 1, NULL, 0);
	sat_result r;
	sat_collect(&c, 1, T, &r);
	assert_string_equal(r.out, "HELLO WORLD\ndone\n");
	assert_int_equal(r.code, 0);
	sat_result_free(&r);
	sat_close(&c);
}

static void test_output_stops_at_the_window_until_granted(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"head", "-c", "3000000", "/dev/zero", NULL}, false);
	sat_expect(&c, SVA_STARTED, 1, T);
	size_t got = 0;
	while (sat_recv(&c, 500, NULL)) {
		assert_int_equal(c.f.type, SVA_STDOUT);
		got += c.f.length;
	}
	/* Not a byte beyond the window while nothing is granted. */
	assert_int_equal(got, SVA_DEFAULT_WINDOW);
	sat_result r;
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_WINDOW, 1);
	sva_msg_u32(&m, 1, (uint32_t)got);
	sat_send_msg(&c, &m);
	sat_collect(&c, 1, T, &r);
	assert_int_equal(got + r.out_len, 3000000);
	assert_int_equal(r.code, 0);
	sat_result_free(&r);
	sat_close(&c);
}

static void test_stdin_beyond_the_window_ends_the_stream(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"sleep", "30", NULL}, true);
	sat_expect(&c, SVA_STARTED, 1, T);
	/* The pipe takes 64 KiB (and that much is granted back); twice the
	 * window is more than the agent ever allowed. */
	static uint8_t frame[SVA_MAX_FRAME];
	sva_header_put(frame, SVA_STDIN, 1, SVA_MAX_PAYLOAD);
	/* The agent may close the stream while this is still writing. */
	for (size_t sent = 0; sent < 2 * SVA_DEFAULT_WINDOW; sent += SVA_MAX_PAYLOAD)
		if (send(c.fd, frame, sizeof(frame), MSG_NOSIGNAL) != (ssize_t)sizeof(frame))
			break;
	assert_true(sat_wait_eof(&c, T));
	sat_close(&c);
}

static void test_stdin_window_is_granted_as_the_command_reads(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"sh", "-c", "wc -c", NULL}, true);
	sat_expect(&c, SVA_STARTED, 1, T);
	static uint8_t chunk[SVA_MAX_PAYLOAD];
	uint64_t credit = SVA_DEFAULT_WINDOW, sent = 0, total = 4u << 20;
	while (sent < total) {
		while (credit >= sizeof(chunk) && sent < total) {
			sat_send(&c, SVA_STDIN, 1, chunk, sizeof(chunk));
			credit -= sizeof(chunk);
			sent += sizeof(chunk);
		}
		if (sent < total) {
			sat_expect(&c, SVA_WINDOW, 1, T);
			credit += sat_u32(&c, SVA_F_WINDOW_BYTES);
		}
	}
	sat_send(&c, SVA_STDIN_EOF, 1, NULL, 0);
	sat_result r;
	sat_collect(&c, 1, T, &r);
	assert_string_equal(r.out, "4194304\n");
	sat_result_free(&r);
	sat_close(&c);
}

static void test_signal_message_reaches_the_process_group(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"sh", "-c", "sleep 30; echo not reached", NULL}, false);
	sat_expect(&c, SVA_STARTED, 1, T);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_SIGNAL, 1);
	sva_msg_u32(&m, 1, SIGKILL);
	sat_send_msg(&c, &m);
	sat_result r;
	sat_collect(&c, 1, T, &r);
	assert_int_equal(r.signal, SIGKILL);
	assert_string_equal(r.out, "");
	sat_result_free(&r);
	sat_close(&c);
}

static void test_timeout_kills_and_says_so(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_EXEC, 1);
	sva_msg_str(&m, SVA_T_EXEC_ARG, "sleep");
	sva_msg_str(&m, SVA_T_EXEC_ARG, "30");
	sva_msg_u32(&m, SVA_T_EXEC_TIMEOUT, 200);
	sat_send_msg(&c, &m);
	long long t0 = sv_now_ms();
	sat_expect(&c, SVA_STARTED, 1, T);
	sat_result r;
	sat_collect(&c, 1, T, &r);
	assert_int_equal(r.signal, SIGKILL);
	assert_true(r.timed_out);
	assert_true(sv_now_ms() - t0 < 5000);
	sat_result_free(&r);
	sat_close(&c);
}

static void test_background_child_holding_stdout_does_not_hold_exit(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	long long t0 = sv_now_ms();
	sat_result r;
	exec_argv(&c, 1, (const char *const[]){"sh", "-c", "sleep 20 & echo bg", NULL}, &r);
	assert_string_equal(r.out, "bg\n");
	assert_int_equal(r.code, 0);
	assert_true(sv_now_ms() - t0 < 5000);
	sat_result_free(&r);
	sat_close(&c);
}

static void test_tty_exec_has_a_terminal_and_sees_resizes(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_EXEC, 1);
	sva_msg_str(&m, SVA_T_EXEC_ARG, "sh");
	sva_msg_str(&m, SVA_T_EXEC_ARG, "-c");
	sva_msg_str(&m, SVA_T_EXEC_ARG, "tty; stty size; read x; stty size; echo \"got $x\"");
	sva_msg_u32(&m, SVA_T_EXEC_TTY_ROWS, 30);
	sva_msg_u32(&m, SVA_T_EXEC_TTY_COLS, 100);
	sva_msg_u32(&m, SVA_T_EXEC_STDIN, 1);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_STARTED, 1, T);
	/* Wait for the first size before resizing. */
	char seen[4096] = "";
	while (!strstr(seen, "30 100")) {
		sat_expect(&c, SVA_STDOUT, 1, T);
		strncat(seen, (const char *)c.f.payload, c.f.length < 1000 ? c.f.length : 1000);
	}
	svt_assert_contains(seen, "/dev/pts/");
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_RESIZE, 1);
	sva_msg_u32(&m, 1, 40);
	sva_msg_u32(&m, 2, 120);
	sat_send_msg(&c, &m);
	sat_send(&c, SVA_STDIN, 1, "line\n", 5);
	sat_result r;
	sat_collect(&c, 1, T, &r);
	svt_assert_contains(r.out, "40 120");
	svt_assert_contains(r.out, "got line");
	assert_int_equal(r.code, 0);
	sat_result_free(&r);
	sat_close(&c);
}

static void test_sixteen_execs_at_once(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	for (uint32_t ch = 1; ch <= 16; ch++) {
		char script[64];
		snprintf(script, sizeof(script), "sleep 0.3; echo %u", ch);
		sat_exec(&c, ch, (const char *const[]){"sh", "-c", script, NULL}, false);
	}
	int exits = 0;
	char outs[17][16] = {{0}};
	while (exits < 16) {
		if (!sat_recv(&c, T, NULL))
			fail_msg("only %d of 16 execs ended", exits);
		assert_true(c.f.channel >= 1 && c.f.channel <= 16);
		if (c.f.type == SVA_STDOUT)
			strncat(outs[c.f.channel], (const char *)c.f.payload, c.f.length);
		else if (c.f.type == SVA_EXIT)
			exits++;
	}
	for (int ch = 1; ch <= 16; ch++) {
		char want[16];
		snprintf(want, sizeof(want), "%d\n", ch);
		assert_string_equal(outs[ch], want);
	}
	sat_close(&c);
}

static void test_closing_the_stream_kills_the_commands(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"sleep", "1234.5", NULL}, false);
	sat_expect(&c, SVA_STARTED, 1, T);
	pid_t pid = (pid_t)sat_u32(&c, SVA_F_STARTED_PID);
	assert_int_equal(kill(pid, 0), 0);
	sat_close(&c); /* waits for the agent to exit */
	svt_assert_no_processes_with("sleep 1234.5");
}

static void test_host_error_cancels_an_exec(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sat_exec(&c, 1, (const char *const[]){"sleep", "1235.5", NULL}, false);
	sat_expect(&c, SVA_STARTED, 1, T);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_ERROR, 1);
	sva_msg_u32(&m, 1, ECANCELED);
	sat_send_msg(&c, &m);
	/* Nothing more comes on the channel; the process is gone. */
	sat_send(&c, SVA_PING, 0, "p", 1);
	sat_expect(&c, SVA_PONG, 0, T);
	long long deadline = sv_now_ms() + T;
	while (svt_count_processes_with("sleep 1235.5") && sv_now_ms() < deadline)
		usleep(20000);
	svt_assert_no_processes_with("sleep 1235.5");
	sat_close(&c);
}

/* ---- files ---- */

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;
	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
}

static void put(sat_conn *c, uint32_t ch, const char *path, const void *data, size_t len, uint32_t mode,
		const uint8_t *digest)
{
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_PUT, ch);
	sva_msg_str(&m, 1, path);
	sva_msg_u32(&m, 2, mode);
	sva_msg_u32(&m, 3, 65534);
	sva_msg_u32(&m, 4, 65533);
	sva_msg_u64(&m, 5, 1000000000);
	sva_msg_u32(&m, 6, 5);
	sva_msg_u64(&m, 7, len);
	sat_send_msg(c, &m);
	for (size_t off = 0; off < len; off += SVA_MAX_PAYLOAD)
		sat_send(c, SVA_FILE_DATA, ch, (const uint8_t *)data + off,
			 len - off < SVA_MAX_PAYLOAD ? len - off : SVA_MAX_PAYLOAD);
	uint8_t d[32];
	sha256(data, len, d);
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_FILE_END, ch);
	sva_msg_bytes(&m, 1, digest ? digest : d, 32);
	sat_send_msg(c, &m);
}

static void test_put_writes_the_file_with_owner_mode_and_mtime(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = sv_path_join(dir, "f");
	sat_conn c;
	start_session(&c);
	static char data[200000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	put(&c, 1, path, data, sizeof(data), 0640, NULL);
	sat_expect(&c, SVA_OK, 1, T);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(data));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65533);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	char *back = NULL;
	size_t len = 0;
	assert_int_equal(sv_read_file(path, 1 << 20, &back, &len), 0);
	assert_memory_equal(back, data, sizeof(data));
	free(back);
	assert_int_equal(svt_dir_entries(dir), 1);
	sat_close(&c);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_put_with_a_wrong_digest_leaves_nothing(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write(dir, "f", "old");
	sat_conn c;
	start_session(&c);
	uint8_t wrong[32] = {1};
	put(&c, 1, path, "new data", 8, 0644, wrong);
	sat_expect(&c, SVA_ERROR, 1, T);
	assert_int_equal(sat_u32(&c, SVA_F_ERROR_ERRNO), EBADMSG);
	char *msg = sat_str(&c, SVA_F_ERROR_MESSAGE);
	char *want = NULL;
	assert_true(asprintf(&want, "SHA-256 mismatch for %s: Bad message", path) > 0);
	assert_string_equal(msg, want);
	free(want);
	free(msg);
	char *text = NULL;
	assert_int_equal(sv_read_file(path, 100, &text, NULL), 0);
	assert_string_equal(text, "old");
	free(text);
	assert_int_equal(svt_dir_entries(dir), 1); /* no temporary file left */
	sat_close(&c);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_get_sends_info_data_and_digest(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write(dir, "f", "some content\n");
	chmod(path, 0600);
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_GET, 9);
	sva_msg_str(&m, 1, path);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_FILE_INFO, 9, T);
	assert_int_equal(sat_u32(&c, SVA_F_INFO_TYPE), SVA_FT_REGULAR);
	assert_int_equal(sat_u32(&c, SVA_F_INFO_MODE), 0600);
	assert_int_equal(sat_u64(&c, SVA_F_INFO_SIZE), 13);
	sat_expect(&c, SVA_FILE_DATA, 9, T);
	assert_int_equal(c.f.length, 13);
	assert_memory_equal(c.f.payload, "some content\n", 13);
	sat_expect(&c, SVA_FILE_END, 9, T);
	uint8_t d[32];
	sha256("some content\n", 13, d);
	sva_field v[SVA_F_END_N];
	assert_int_equal(sva_tlv_parse(c.f.payload, c.f.length, sva_spec_file_end, sva_spec_file_end_n, v),
			 0);
	assert_memory_equal(v[0].bytes, d, 32);
	sat_close(&c);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_get_of_a_missing_file_is_enoent(void **state)
{
	(void)state;
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_GET, 2);
	sva_msg_str(&m, 1, "/no/such/file");
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_ERROR, 2, T);
	assert_int_equal(sat_u32(&c, SVA_F_ERROR_ERRNO), ENOENT);
	char *msg = sat_str(&c, SVA_F_ERROR_MESSAGE);
	assert_string_equal(msg, "/no/such/file: No such file or directory");
	free(msg);
	sat_close(&c);
}

static void test_mkdir_symlink_stat_and_readdir(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *sub = sv_path_join(dir, "a/b/c");
	char *link = sv_path_join(dir, "a/l");
	char *a = sv_path_join(dir, "a");
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_MKDIR, 1);
	sva_msg_str(&m, 1, sub);
	sva_msg_u32(&m, 2, 0700);
	sva_msg_u32(&m, 5, 1);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_OK, 1, T);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Without parents, an existing one is an error. */
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_MKDIR, 2);
	sva_msg_str(&m, 1, sub);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_ERROR, 2, T);
	assert_int_equal(sat_u32(&c, SVA_F_ERROR_ERRNO), EEXIST);
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_SYMLINK, 3);
	sva_msg_str(&m, 1, link);
	sva_msg_str(&m, 2, "b/c");
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_OK, 3, T);
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_STAT, 4);
	sva_msg_str(&m, 1, link);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_FILE_INFO, 4, T);
	assert_int_equal(sat_u32(&c, SVA_F_INFO_TYPE), SVA_FT_SYMLINK);
	char *target = sat_str(&c, SVA_F_INFO_LINK);
	assert_string_equal(target, "b/c");
	free(target);
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_STAT, 5);
	sva_msg_str(&m, 1, link);
	sva_msg_u32(&m, 2, 1);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_FILE_INFO, 5, T);
	assert_int_equal(sat_u32(&c, SVA_F_INFO_TYPE), SVA_FT_DIR);
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_READDIR, 6);
	sva_msg_str(&m, 1, a);
	sat_send_msg(&c, &m);
	int seen = 0;
	for (;;) {
		assert_true(sat_recv(&c, T, NULL));
		if (c.f.type == SVA_OK)
			break;
		assert_int_equal(c.f.type, SVA_DIRENT);
		char *name = sat_str(&c, SVA_F_DIRENT_NAME);
		uint32_t type = sat_u32(&c, SVA_F_DIRENT_TYPE);
		if (!strcmp(name, "b"))
			seen += type == SVA_FT_DIR ? 1 : 100;
		else if (!strcmp(name, "l"))
			seen += type == SVA_FT_SYMLINK ? 10 : 100;
		else
			fail_msg("unexpected entry %s", name);
		free(name);
	}
	assert_int_equal(seen, 11);
	sat_close(&c);
	free(sub);
	free(link);
	free(a);
	svt_rm_tmpdir(dir);
}

static void test_big_get_stops_at_the_window(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write_data(dir, "big", 4u << 20);
	sat_conn c;
	start_session(&c);
	sva_msg m;
	sva_msg_begin(&m, mbuf, sizeof(mbuf), SVA_GET, 1);
	sva_msg_str(&m, 1, path);
	sat_send_msg(&c, &m);
	sat_expect(&c, SVA_FILE_INFO, 1, T);
	size_t got = 0;
	while (sat_recv(&c, 500, NULL)) {
		assert_int_equal(c.f.type, SVA_FILE_DATA);
		got += c.f.length;
	}
	assert_int_equal(got, SVA_DEFAULT_WINDOW);
	sat_close(&c);
	free(path);
	svt_rm_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_and_ping),
	    cmocka_unit_test(test_hello_ok_names_the_agent_version),
	    cmocka_unit_test(test_no_common_version_is_an_error_and_the_end),
	    cmocka_unit_test(test_frame_before_hello_ends_the_stream),
	    cmocka_unit_test(test_oversized_frame_ends_the_stream),
	    cmocka_unit_test(test_unknown_message_on_channel_0_ends_the_stream),
	    cmocka_unit_test(test_exit_codes_and_output_apart),
	    cmocka_unit_test(test_signal_ends_are_reported_as_signals),
	    cmocka_unit_test(test_argv_bytes_arrive_exactly),
	    cmocka_unit_test(test_command_not_found_is_enoent_without_started),
	    cmocka_unit_test(test_not_executable_is_eacces),
	    cmocka_unit_test(test_env_cwd_and_user_are_applied),
	    cmocka_unit_test(test_bad_cwd_says_so),
	    cmocka_unit_test(test_stdin_reaches_the_command_and_eof_ends_it),
	    cmocka_unit_test(test_output_stops_at_the_window_until_granted),
	    cmocka_unit_test(test_stdin_beyond_the_window_ends_the_stream),
	    cmocka_unit_test(test_stdin_window_is_granted_as_the_command_reads),
	    cmocka_unit_test(test_signal_message_reaches_the_process_group),
	    cmocka_unit_test(test_timeout_kills_and_says_so),
	    cmocka_unit_test(test_background_child_holding_stdout_does_not_hold_exit),
	    cmocka_unit_test(test_tty_exec_has_a_terminal_and_sees_resizes),
	    cmocka_unit_test(test_sixteen_execs_at_once),
	    cmocka_unit_test(test_closing_the_stream_kills_the_commands),
	    cmocka_unit_test(test_host_error_cancels_an_exec),
	    cmocka_unit_test(test_put_writes_the_file_with_owner_mode_and_mtime),
	    cmocka_unit_test(test_put_with_a_wrong_digest_leaves_nothing),
	    cmocka_unit_test(test_get_sends_info_data_and_digest),
	    cmocka_unit_test(test_get_of_a_missing_file_is_enoent),
	    cmocka_unit_test(test_mkdir_symlink_stat_and_readdir),
	    cmocka_unit_test(test_big_get_stops_at_the_window),
	};
	if (!svt_is_root()) {
		fprintf(stderr, "skipped: needs root (the agent runs commands as other users)\n");
		return 77;
	}
	return svt_run_group(tests, NULL, NULL);
}
