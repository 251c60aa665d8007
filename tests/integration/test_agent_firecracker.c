/* The agent over the Firecracker transport, end to end: the library talks
 * to the VM's supervisor, which connects to the (fake) Firecracker's vsock
 * socket with the CONNECT handshake, which relays to a smartvm-agent
 * running on the host. Every case of agentcases.c but the TTY one runs;
 * then what is particular to this transport: no agent, an agent that goes
 * away mid-exec, and a hostile agent answering a copy with names and
 * symlinks that would leave the destination. */
#include "svtest.h"
#include "agentcases.h"
#include "agentfixture.h"
#include "fcmgrfixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define T 30000

typedef struct {
	svt_fcmgr m;
	char *agent_sock;
	pid_t agent;
	svag_target t;
} fixture;

static fixture fx;

static void start_host_agent(fixture *f)
{
	f->agent_sock = sv_path_join(f->m.dir, "guest-agent.sock");
	const char *argv[] = {sat_agent_path(), "--listen-unix", f->agent_sock, NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = 2, .stderr_fd = 2};
	assert_int_equal(sv_spawn(&so, &f->agent, NULL), 0);
	long long deadline = sv_now_ms() + 10000;
	while (!sv_path_exists(f->agent_sock) && sv_now_ms() < deadline)
		usleep(10000);
	assert_true(sv_path_exists(f->agent_sock));
	setenv("FAKE_FC_VSOCK_AGENT", f->agent_sock, 1);
}

static sv_vm *boot(fixture *f, const char *id)
{
	sv_drive_config d = {
	    .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true, .is_read_only = true};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = id,
			    .boot_source = {.kernel_image_path = f->m.kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 64},
			    .drives = &d,
			    .n_drives = 1};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, f->m.mgr, &cfg) || sv_vm_start(vm))
		fail_msg("booting %s: %s", id, sv_last_error());
	return vm;
}

static int group_setup(void **state)
{
	(void)state;
	svt_fcmgr_init(&fx.m);
	start_host_agent(&fx);
	fx.t.vm = boot(&fx, "agentvm");
	fx.t.runtime_dir = fx.m.runtime;
	fx.t.guest_dir = sv_path_join(fx.m.dir, "guest");
	fx.t.host_dir = sv_path_join(fx.m.dir, "host");
	mkdir(fx.t.guest_dir, 0755);
	mkdir(fx.t.host_dir, 0755);
	fx.t.tty = false;
	if (sv_vm_agent_wait(fx.t.vm, T, NULL) != 0)
		fail_msg("agent: %s", sv_last_error());
	svag_set_target(&fx.t);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	svt_fcmgr_close(&fx.m);
	if (fx.agent > 0) {
		kill(fx.agent, SIGTERM);
		sv_reap(fx.agent, 5000, NULL);
	}
	free(fx.agent_sock);
	free(fx.t.guest_dir);
	free(fx.t.host_dir);
	svt_fcmgr_free(&fx.m);
	return 0;
}

/* ---- particular to this transport ---- */

static void test_agent_socket_is_private_to_the_owner(void **state)
{
	(void)state;
	char *sock = sv_path_join(sv_vm_dir(fx.t.vm), "agent.sock");
	struct stat st;
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_uid, getuid());
	free(sock);
}

static void test_vm_without_an_agent_says_so_after_the_timeout(void **state)
{
	(void)state;
	setenv("FAKE_FC_VSOCK_AGENT", "/nonexistent/agent.sock", 1);
	sv_vm *vm = boot(&fx, "noagent");
	setenv("FAKE_FC_VSOCK_AGENT", fx.agent_sock, 1);
	long long t0 = sv_now_ms();
	assert_int_equal(sv_vm_agent_wait(vm, 1500, NULL), SV_ETIMEOUT);
	assert_string_equal(
	    sv_last_error(),
	    "VM \"noagent\": no agent answered within 1500 ms (the image has no smartvm-agent?)");
	long long took = sv_now_ms() - t0;
	assert_true(took >= 1400 && took < 10000);
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.agent_timeout_ms = 500;
	int status = -1;
	assert_int_equal(sv_vm_exec(vm, (const char *const[]){"true", NULL}, &o, 1000, &status), SV_ETIMEOUT);
	assert_string_equal(
	    sv_last_error(),
	    "VM \"noagent\": no agent answered within 500 ms (the image has no smartvm-agent?)");
	sv_vm_kill(vm);
	sv_vm_free(vm);
}

static void *kill_later(void *arg)
{
	usleep(500000);
	kill(*(pid_t *)arg, SIGKILL);
	return NULL;
}

static void test_vm_killed_mid_exec_is_a_clear_error(void **state)
{
	(void)state;
	sv_vm *vm = boot(&fx, "killed");
	assert_int_equal(sv_vm_agent_wait(vm, T, NULL), 0);
	sv_exec *e = NULL;
	assert_int_equal(sv_exec_start(&e, vm, (const char *const[]){"sleep", "1236.5", NULL}, NULL), 0);
	pid_t vmm = sv_vm_pid(vm);
	pthread_t th;
	pthread_create(&th, NULL, kill_later, &vmm);
	long long t0 = sv_now_ms();
	int status = -1;
	assert_int_equal(sv_exec_wait(e, T, &status), SV_EPROCESS);
	assert_string_equal(sv_last_error(),
			    "VM \"killed\": exec \"sleep\": the connection to the agent was lost (the "
			    "VM ended or its agent died)");
	assert_true(sv_now_ms() - t0 < 10000);
	pthread_join(th, NULL);
	sv_exec_free(e);
	/* The host agent ended the command with its connection. */
	long long deadline = sv_now_ms() + T;
	while (svt_count_processes_with("sleep 1236.5") && sv_now_ms() < deadline)
		usleep(20000);
	svt_assert_no_processes_with("sleep 1236.5");
	sv_vm_wait(vm, T);
	sv_vm_free(vm);
}

/* ---- the CLI's exec and cp on the same VM ---- */

/* smartvm CMD --data-dir ... --runtime-dir ... ARGS... (the directories
 * first: after exec's ID everything is the guest's command). */
static int cli(char **out, char **err, const char *cmd, ...)
{
	char data[600], runtime[600];
	snprintf(data, sizeof(data), "--data-dir=%s", fx.m.data);
	snprintf(runtime, sizeof(runtime), "--runtime-dir=%s", fx.m.runtime);
	const char *args[40] = {cmd, data, runtime};
	size_t n = 3;
	va_list ap;
	va_start(ap, cmd);
	for (const char *a; n < 39 && (a = va_arg(ap, const char *));)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	free(*out);
	free(*err);
	*out = *err = NULL;
	int code = svt_run_cli(args, NULL, out, err);
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return code;
}

static void test_cli_exec_passes_env_dir_user_and_the_status(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	int code =
	    cli(&out, &err, "exec", "-e", "GREETING=hi there", "-w", "/tmp", "-u", "65534:65533", "agentvm",
		"sh", "-c", "echo \"$GREETING|$(pwd)|$(id -u):$(id -g)\"; echo oops >&2; exit 5", NULL);
	if (code != 5)
		fail_msg("exit %d, stderr: %s", code, err);
	assert_string_equal(out, "hi there|/tmp|65534:65533\n");
	assert_string_equal(err, "oops\n");
	assert_int_equal(cli(&out, &err, "exec", "agentvm", "--", "no-such-command-xyz", NULL), 127);
	assert_string_equal(err,
			    "smartvm: VM \"agentvm\": no-such-command-xyz: No such file or directory (guest "
			    "errno 2)\n");
	assert_int_equal(cli(&out, &err, "exec", "nosuchvm", "true", NULL), 1);
	assert_string_equal(err, "smartvm: no VM with id \"nosuchvm\"\n");
	/* --ulimit reaches the command (setrlimit by the agent before exec). */
	code = cli(&out, &err, "exec", "--ulimit", "nofile=64:128", "--ulimit", "RLIMIT_CORE=0", "agentvm", "sh",
		   "-c", "ulimit -Sn; ulimit -Hn; ulimit -Sc", NULL);
	if (code != 0)
		fail_msg("exit %d, stderr: %s", code, err);
	assert_string_equal(out, "64\n128\n0\n");
	assert_int_equal(cli(&out, &err, "exec", "--ulimit", "nofiles=1", "agentvm", "true", NULL), 2);
	svt_assert_contains(err, "smartvm exec: --ulimit \"nofiles=1\": \"nofiles\" is not a resource limit "
				 "(nofile, nproc, core, stack, memlock, ...)\nUsage: smartvm exec");
	assert_int_equal(cli(&out, &err, "exec", "--ulimit", "nofile=9:8", "agentvm", "true", NULL), 2);
	svt_assert_contains(err, "smartvm exec: --ulimit \"nofile=9:8\": the soft limit is above the hard one\n");
	assert_int_equal(cli(&out, &err, "exec", "--ulimit", "nofile", "agentvm", "true", NULL), 2);
	svt_assert_contains(err,
			    "smartvm exec: --ulimit \"nofile\": expected NAME=SOFT[:HARD] (e.g. nofile=1024:2048)\n");
	free(out);
	free(err);
}

static void test_cli_cp_both_ways(void **state)
{
	(void)state;
	char *src = svt_write(fx.t.host_dir, "cli-src.txt", "through the cli\n");
	char *guest = NULL, *back = sv_path_join(fx.t.host_dir, "cli-back.txt"), *to = NULL, *from = NULL;
	assert_true(asprintf(&guest, "%s/cli.txt", fx.t.guest_dir) > 0);
	assert_true(asprintf(&to, "agentvm:%s", guest) > 0);
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(&out, &err, "cp", src, to, NULL), 0);
	assert_int_equal(cli(&out, &err, "cp", to, back, NULL), 0);
	char *text = NULL;
	assert_int_equal(sv_read_file(back, 100, &text, NULL), 0);
	assert_string_equal(text, "through the cli\n");
	assert_int_equal(cli(&out, &err, "cp", src, back, NULL), 2);
	svt_assert_contains(err, "smartvm cp: exactly one of SRC and DST is ID:PATH");
	free(text);
	free(out);
	free(err);
	free(src);
	free(guest);
	free(back);
	free(to);
	free(from);
}

/* ---- a hostile agent ---- */

typedef struct {
	int listen_fd;
	/* what to answer to the GET of the top directory's entries */
	const char *entry_name;
	uint32_t entry_type;
	const char *link_target;
} hostile;

static void answer_info(sat_conn *c, uint32_t ch, uint32_t type, const char *link)
{
	uint8_t buf[512];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_FILE_INFO, ch);
	sva_msg_u32(&m, 1, type);
	sva_msg_u32(&m, 2, 0755);
	sva_msg_u64(&m, 5, 0);
	if (link)
		sva_msg_str(&m, 8, link);
	sat_send_msg(c, &m);
	uint8_t empty_sha[32] = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
				 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
				 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
	sva_msg_begin(&m, buf, sizeof(buf), SVA_FILE_END, ch);
	sva_msg_bytes(&m, 1, empty_sha, 32);
	sat_send_msg(c, &m);
}

/* Plays the agent for one connection: HELLO, PINGs, then a directory /d
 * whose one entry is what h says. */
static void *hostile_agent(void *arg)
{
	hostile *h = arg;
	int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	sat_conn c;
	sat_adopt(&c, fd);
	while (sat_recv(&c, 20000, NULL)) {
		sva_frame f = c.f;
		uint8_t buf[512];
		sva_msg m;
		if (f.type == SVA_HELLO) {
			sva_msg_begin(&m, buf, sizeof(buf), SVA_HELLO_OK, 0);
			sva_msg_u32(&m, 1, 1);
			sva_msg_str(&m, 4, "hostile");
			sva_msg_u32(&m, 5, 262144);
			sat_send_msg(&c, &m);
		} else if (f.type == SVA_PING) {
			sat_send(&c, SVA_PONG, 0, f.payload, f.length);
		} else if (f.type == SVA_GET) {
			char *path = sat_str(&c, SVA_F_PATH_PATH);
			if (!strcmp(path, "/d"))
				answer_info(&c, f.channel, SVA_FT_DIR, NULL);
			else
				answer_info(&c, f.channel, h->entry_type, h->link_target);
			free(path);
		} else if (f.type == SVA_READDIR) {
			sva_msg_begin(&m, buf, sizeof(buf), SVA_DIRENT, f.channel);
			sva_msg_str(&m, 1, h->entry_name);
			sva_msg_u32(&m, 2, h->entry_type);
			sat_send_msg(&c, &m);
			sat_send(&c, SVA_OK, f.channel, NULL, 0);
		}
	}
	sat_close(&c);
	return NULL;
}

static void hostile_copy(const char *name, uint32_t type, const char *link, const char *want_error)
{
	char *sock = sv_path_join(fx.m.dir, "hostile.sock");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, sock);
	unlink(sock);
	hostile h = {.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
		     .entry_name = name,
		     .entry_type = type,
		     .link_target = link};
	assert_int_equal(bind(h.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(h.listen_fd, 4), 0);
	pthread_t th;
	pthread_create(&th, NULL, hostile_agent, &h);
	setenv("FAKE_FC_VSOCK_AGENT", sock, 1);
	sv_vm *vm = boot(&fx, "hostile");
	setenv("FAKE_FC_VSOCK_AGENT", fx.agent_sock, 1);
	char *dest = sv_path_join(fx.m.dir, "dest");
	char *outside = sv_path_join(fx.m.dir, "x");
	mkdir(dest, 0700);
	assert_int_equal(sv_vm_copy_from(vm, "/d", dest, NULL), SV_EUNSAFE);
	char *want = NULL;
	assert_true(asprintf(&want, "VM \"hostile\": copying the guest's /d to %s: %s", dest, want_error) >
		    0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	/* Nothing outside the destination, nothing half made inside. */
	assert_false(sv_path_exists(outside));
	char *d = sv_path_join(dest, "d");
	assert_int_equal(svt_dir_entries(d), 0);
	sv_vm_kill(vm);
	sv_vm_free(vm);
	pthread_join(th, NULL);
	close(h.listen_fd);
	sv_rm_rf(dest);
	unlink(sock);
	free(d);
	free(dest);
	free(outside);
	free(sock);
}

static void test_hostile_dirent_climbing_out_is_refused(void **state)
{
	(void)state;
	hostile_copy("../x", SVA_FT_REGULAR, NULL,
		     "the guest listed an entry \"../x\" in /d: names must be one path component");
}

static void test_hostile_symlink_pointing_outside_is_refused(void **state)
{
	(void)state;
	hostile_copy("evil", SVA_FT_SYMLINK, "../../x",
		     "/d/evil: a symlink pointing outside the copied tree (to ../../x) is refused");
}

int main(void)
{
	if (!svt_is_root()) {
		fprintf(stderr, "skipped: needs root (the host agent runs commands as other users)\n");
		return 77;
	}
	struct CMUnitTest tests[32];
	size_t n = 0;
	/* The host agent has no terminal to give: TTY runs only against a real
	 * guest (realvm_agent), as the issue asks. */
	for (size_t i = 0; i < svag_n_cases; i++)
		if (!strstr(svag_cases[i].name, "_tty_"))
			tests[n++] = svag_cases[i];
	const struct CMUnitTest own[] = {
	    cmocka_unit_test(test_agent_socket_is_private_to_the_owner),
	    cmocka_unit_test(test_cli_exec_passes_env_dir_user_and_the_status),
	    cmocka_unit_test(test_cli_cp_both_ways),
	    cmocka_unit_test(test_vm_without_an_agent_says_so_after_the_timeout),
	    cmocka_unit_test(test_vm_killed_mid_exec_is_a_clear_error),
	    cmocka_unit_test(test_hostile_dirent_climbing_out_is_refused),
	    cmocka_unit_test(test_hostile_symlink_pointing_outside_is_refused),
	};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		tests[n++] = own[i];
	return svt__run_group("agent_firecracker", tests, n, group_setup, group_teardown);
}
