/* The running microVM as clients see it: actions, pause/resume, the
 * read-only views (GET /, /version, /vm/config) and the guest model.
 *
 * The guest model is the smallest one that keeps clients honest: after
 * InstanceStart the guest "runs"; Ctrl+Alt+Del makes it power off, and since
 * Firecracker exits when the guest resets, the process exits 0 about 50 ms
 * later (FAKE_FC_POWEROFF_DELAY_MS). A paused guest acts on it only once resumed. Fault injection
 * (FAKE_FC_IGNORE_CTRL_ALT_DEL, FAKE_FC_CRASH_AFTER_START_MS) bends it.
 */
#include "fake_fc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* FAKE_FC_POWEROFF_DELAY_MS overrides the 50 ms (benchmarks want an instant guest). */
static long long poweroff_delay_ms(void)
{
	const char *v = getenv("FAKE_FC_POWEROFF_DELAY_MS");
	return v && *v ? strtoll(v, NULL, 10) : 50;
}
#define POWEROFF_DELAY_MS poweroff_delay_ms()

static const char *state_name(fc_vm_state s)
{
	switch (s) {
	case VM_NOT_STARTED: return "Not started";
	case VM_RUNNING: return "Running";
	case VM_PAUSED: return "Paused";
	}
	return "Not started";
}

void fc_get_instance_info(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	fc_ok_json(r, json_pack("{s:s, s:s, s:s, s:s}", "id", fc->id, "state", state_name(fc->state),
				"vmm_version", FAKE_FC_VERSION, "app_name", "Firecracker"));
}

void fc_get_version(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)fc;
	(void)id;
	(void)body;
	fc_ok_json(r, json_pack("{s:s}", "firecracker_version", FAKE_FC_VERSION));
}

static json_t *copy_or_null(json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

/* Firecracker builds this view from its VM resources: logger and metrics are
 * process-wide, not VM resources, so they always read null here. */
void fc_get_vm_config(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	json_t *cfg = json_object();
	json_object_set_new(cfg, "balloon", copy_or_null(fc->balloon));
	json_object_set_new(cfg, "drives", json_deep_copy(fc->drives));
	json_object_set_new(cfg, "boot-source", copy_or_null(fc->boot_source));
	json_object_set_new(cfg, "cpu-config", copy_or_null(fc->cpu_config));
	json_object_set_new(cfg, "logger", json_null());
	json_object_set_new(cfg, "machine-config", json_deep_copy(fc->machine_config));
	json_object_set_new(cfg, "metrics", json_null());
	json_object_set_new(cfg, "mmds-config", copy_or_null(fc->mmds_config));
	json_object_set_new(cfg, "network-interfaces", json_deep_copy(fc->net_ifaces));
	json_object_set_new(cfg, "vsock", copy_or_null(fc->vsock));
	json_object_set_new(cfg, "entropy", copy_or_null(fc->entropy));
	json_object_set_new(cfg, "pmem", json_deep_copy(fc->pmem));
	json_object_set_new(cfg, "memory-hotplug", copy_or_null(fc->memory_hotplug));
	fc_ok_json(r, cfg);
}

static void start_instance(fake_fc *fc, fc_reply *r)
{
	if (fc->state != VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_AFTER_START);
		return;
	}
	if (!fc->boot_source) {
		fc_fail(r, "Cannot start microvm without kernel configuration.");
		return;
	}
	/* The kernel is loaded at start: it may have gone since PUT /boot-source. */
	char *kernel = fc_host_path(fc, json_string_value(json_object_get(fc->boot_source, "kernel_image_path")));
	bool loadable = kernel && access(kernel, R_OK) == 0;
	free(kernel);
	if (!loadable) {
		fc_fail(r, "Cannot load kernel due to invalid memory configuration or invalid kernel image: "
			   "Kernel Loader: failed to load ELF kernel image");
		return;
	}
	fc->state = VM_RUNNING;
	if (fc->crash_after_ms >= 0)
		fc->crash_at_ms = fc_now_ms() + fc->crash_after_ms;
	const char *args = json_string_value(json_object_get(fc->boot_source, "boot_args"));
	if (fc->guest_exit >= 0 && args && strstr(args, "smartvm.cmd=")) {
		const char *ms = getenv("FAKE_FC_GUEST_EXIT_MS");
		fc->command_at_ms = fc_now_ms() + (ms ? atoll(ms) : 100);
	}
	if (fc->from_file)
		fc_log(fc, "main", "Successfully started microvm that was configured from one single json");
	else
		fc_log(fc, "fc_api", "Successfully started microvm that was configured from the API");
}

static void send_ctrl_alt_del(fake_fc *fc, fc_reply *r)
{
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_BEFORE_START);
		return;
	}
	if (fc->ignore_ctrl_alt_del)
		return;
	if (fc->state == VM_PAUSED)
		fc->poweroff_pending = true;
	else if (fc->poweroff_at_ms < 0)
		fc->poweroff_at_ms = fc_now_ms() + POWEROFF_DELAY_MS;
}

static void flush_metrics(fake_fc *fc)
{
	if (fc->metrics_fd < 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *m = json_pack("{s:I, s:{s:i}, s:{s:s}}", "utc_timestamp_ms",
			      (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "api_server",
			      "process_startup_time_us", 0, "vmm", "state", state_name(fc->state));
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!text)
		return;
	size_t len = strlen(text);
	text[len] = '\n';
	if (write(fc->metrics_fd, text, len + 1) < 0)
		fc_log(fc, "fc_api", "Failed to write metrics");
	free(text);
}

void fc_put_actions(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	const char *action = json_string_value(json_object_get(body, "action_type"));
	if (!strcmp(action, "InstanceStart"))
		start_instance(fc, r);
	else if (!strcmp(action, "SendCtrlAltDel"))
		send_ctrl_alt_del(fc, r);
	else
		flush_metrics(fc);
}

void fc_patch_vm(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_BEFORE_START);
		return;
	}
	const char *state = json_string_value(json_object_get(body, "state"));
	if (!strcmp(state, "Paused")) {
		fc->state = VM_PAUSED;
		/* A power-off already under way is frozen with the vCPUs. */
		if (fc->poweroff_at_ms >= 0) {
			fc->poweroff_at_ms = -1;
			fc->poweroff_pending = true;
		}
		fc_log(fc, "fc_api", "Vm paused");
		return;
	}
	fc->state = VM_RUNNING;
	if (fc->poweroff_pending) {
		fc->poweroff_pending = false;
		fc->poweroff_at_ms = fc_now_ms() + POWEROFF_DELAY_MS;
	}
	fc_log(fc, "fc_api", "Vm resumed");
}

static void crash(fake_fc *fc)
{
	fprintf(stderr,
		"thread 'fc_vcpu 0' panicked at src/vmm/src/vstate/vcpu.rs:1: "
		"injected crash (FAKE_FC_CRASH_AFTER_START_MS=%lld) in microVM %s\n"
		"note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
		fc->crash_after_ms, fc->id);
	fflush(stderr);
	/* Die by SIGABRT like a panicking Firecracker, without leaving a core file. */
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	abort();
}

void fc_guest_tick(fake_fc *fc)
{
	long long now = fc_now_ms();
	if (fc->exit_at_ms >= 0 && now >= fc->exit_at_ms) {
		fc_log(fc, "main", "Firecracker exiting after a fatal API error.");
		fc_exit(fc, 1);
	}
	if (fc->crash_at_ms >= 0 && now >= fc->crash_at_ms)
		crash(fc);
	if (fc->command_at_ms >= 0 && now >= fc->command_at_ms) {
		/* The guest init's command protocol (smartvm/command.h), then the
		 * kernel's power-off: nothing else may follow the exit line. */
		printf("=== smartvm: command start ===\nfake guest command\n\n=== smartvm: exit status %lld ===\n"
		       "reboot: Power down\n",
		       fc->guest_exit);
		fflush(stdout);
		fc_exit(fc, 0);
	}
	if (fc->poweroff_at_ms >= 0 && now >= fc->poweroff_at_ms) {
		fc_log(fc, "fc_vcpu 0", "Received KVM_EXIT_SHUTDOWN signal");
		fc_log(fc, "main", "Vmm is stopping.");
		fc_exit(fc, 0);
	}
}

int fc_guest_next_timeout(fake_fc *fc)
{
	long long next = -1;
	if (fc->crash_at_ms >= 0)
		next = fc->crash_at_ms;
	if (fc->poweroff_at_ms >= 0 && (next < 0 || fc->poweroff_at_ms < next))
		next = fc->poweroff_at_ms;
	if (fc->command_at_ms >= 0 && (next < 0 || fc->command_at_ms < next))
		next = fc->command_at_ms;
	if (fc->exit_at_ms >= 0 && (next < 0 || fc->exit_at_ms < next))
		next = fc->exit_at_ms;
	if (next < 0)
		return -1;
	long long left = next - fc_now_ms();
	return left < 0 ? 0 : (int)left;
}
