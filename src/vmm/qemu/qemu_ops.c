/* sv_vmm_qemu_ops: the VMM interface (vmm.h) on top of QMP.
 *
 * QEMU is launched frozen (-S, status "prelaunch") with every device already
 * on its command line, so the Firecracker-style lifecycle maps as: configure()
 * checks the VM has not started and applies what only QMP can set (balloon
 * target and statistics interval, qemu_balloon.c), start() is "cont", pause/resume are
 * "stop"/"cont", request_shutdown is "system_powerdown" (an ACPI power-button
 * press; the minimal guest's init powers off on it).
 *
 * instance_info() answers in the shape of Firecracker's InstanceInfo
 * ({"app_name":"QEMU","id","state","vmm_version"}) plus "qemu_status", QEMU's
 * raw run state. running_config() returns the config that configure() was
 * given on this connection, in Firecracker's --config-file format (the same
 * shape Firecracker's GET /vm/config answers); a connection that never
 * configured the VM (attached later, or a restore) answers the drives QEMU
 * has open (query-block, Firecracker's drive shape) and "qemu-argv", QEMU's
 * command line read from /proc through the socket's peer pid.
 *
 * Live operations: version (from the QMP greeting), snapshots
 * (qemu_snapshot.c) and the balloon (qemu_balloon.c). MMDS, drive and
 * interface updates and metrics have no QEMU counterpart: NULL ops.
 *
 * Never kills or waits for the QEMU process: that is the VM layer's job.
 */
#include "vmm/qemu/qemu.h"
#include "vmm/qemu/qemu_internal.h"

#include "config/config_json.h"
#include "util/error.h"
#include "util/escape.h"
#include "util/file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sv_qemu_from_vmm(sv_vmm *vmm, sv_qemu_vmm **out)
{
	if (!vmm || vmm->ops != &sv_vmm_qemu_ops)
		return sv_err(SV_EINVAL, "not a qemu backend connection");
	*out = (sv_qemu_vmm *)vmm;
	return 0;
}

static int qemu_connect(sv_vmm **out, const char *socket_path, int api_timeout_ms)
{
	*out = NULL;
	sv_qemu_vmm *q = calloc(1, sizeof(*q));
	if (!q)
		return sv_err(SV_ENOMEM, "out of memory");
	q->base.ops = &sv_vmm_qemu_ops;
	q->api_timeout_ms = api_timeout_ms > 0 ? api_timeout_ms : 5000;
	int rc = sv_qmp_connect(&q->qmp, socket_path, api_timeout_ms);
	if (rc) {
		free(q);
		return rc;
	}
	*out = &q->base;
	return 0;
}

static void qemu_release(sv_vmm *vmm)
{
	if (vmm)
		sv_qmp_release(((sv_qemu_vmm *)vmm)->qmp);
}

static void qemu_disconnect(sv_vmm *vmm)
{
	if (!vmm)
		return;
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	sv_qmp_close(q->qmp);
	free(q->config_json);
	free(q);
}

int sv_qemu_status(sv_vmm *vmm, char **status_out)
{
	*status_out = NULL;
	sv_qemu_vmm *q;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc)
		return rc;
	json_t *ret = NULL;
	rc = sv_qmp_execute(q->qmp, "query-status", NULL, &ret);
	if (rc)
		return rc;
	const char *status = json_string_value(json_object_get(ret, "status"));
	*status_out = status ? strdup(status) : NULL;
	json_decref(ret);
	if (!status)
		return sv_err(SV_EVMM, "QMP query-status: reply has no status");
	return *status_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

/* SV_EINVALID_STATE "<what>: ..." unless QEMU's status is (or is not) want. */
static int require_status(sv_vmm *vmm, const char *what, const char *want, bool negate)
{
	char *status = NULL;
	int rc = sv_qemu_status(vmm, &status);
	if (rc)
		return sv_err_prefix("%s", what);
	bool match = strcmp(status, want) == 0;
	if (match == negate) {
		char *quoted = sv_escape_text(status, strlen(status), NULL); /* QEMU's word */
		rc = negate ? sv_err(SV_EINVALID_STATE, "%s: the VM has not been started", what)
			    : sv_err(SV_EINVALID_STATE, "%s: the VM is not in state %s (QEMU status %s)", what,
				     want, quoted ? quoted : "?");
		free(quoted);
	}
	free(status);
	return rc;
}

static bool put(json_t *obj, const char *key, json_t *val)
{
	return val && json_object_set_new(obj, key, val) == 0;
}

/* cfg in Firecracker's --config-file format (as GET /vm/config answers). */
static char *config_to_firecracker_json(const sv_vm_config *cfg)
{
	json_t *o = json_object(), *drives = json_array(), *nets = json_array();
	bool ok = o && drives && nets;
	for (size_t i = 0; ok && i < cfg->n_drives; i++)
		ok = json_array_append_new(drives, sv_json_drive(&cfg->drives[i])) == 0;
	for (size_t i = 0; ok && i < cfg->n_network_interfaces; i++)
		ok = json_array_append_new(nets, sv_json_net_iface(&cfg->network_interfaces[i])) == 0;
	ok = ok && put(o, "boot-source", sv_json_boot_source(&cfg->boot_source)) &&
	     put(o, "machine-config", sv_json_machine_config(&cfg->machine_config)) &&
	     put(o, "drives", json_incref(drives)) && put(o, "network-interfaces", json_incref(nets)) &&
	     (!cfg->balloon || put(o, "balloon", sv_json_balloon(cfg->balloon))) &&
	     (!cfg->entropy || put(o, "entropy", sv_json_entropy(cfg->entropy)));
	char *text = ok ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(drives);
	json_decref(nets);
	json_decref(o);
	return text;
}

static int qemu_configure(sv_vmm *vmm, const sv_vm_config *cfg)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	int rc = require_status(vmm, "configure", "prelaunch", false);
	if (rc)
		return rc;
	if (cfg->balloon) {
		rc = sv_qemu_balloon_configure(q, cfg);
		if (rc)
			return sv_err_prefix("configure");
	}
	char *text = config_to_firecracker_json(cfg);
	if (!text)
		return sv_err(SV_ENOMEM, "out of memory");
	free(q->config_json);
	q->config_json = text;
	return 0;
}

static int qemu_start(sv_vmm *vmm)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	int rc = require_status(vmm, "start", "prelaunch", false);
	if (rc)
		return rc;
	return sv_qmp_execute(q->qmp, "cont", NULL, NULL);
}

static int qemu_pause(sv_vmm *vmm)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	int rc = require_status(vmm, "pause", "prelaunch", true);
	if (rc)
		return rc;
	return sv_qmp_execute(q->qmp, "stop", NULL, NULL);
}

static int qemu_resume(sv_vmm *vmm)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	int rc = require_status(vmm, "resume", "prelaunch", true);
	if (rc)
		return rc;
	return sv_qmp_execute(q->qmp, "cont", NULL, NULL);
}

static int qemu_request_shutdown(sv_vmm *vmm)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	return sv_qmp_execute(q->qmp, "system_powerdown", NULL, NULL);
}

int sv_qemu_quit(sv_vmm *vmm)
{
	sv_qemu_vmm *q;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc)
		return rc;
	rc = sv_qmp_execute(q->qmp, "quit", NULL, NULL);
	/* QEMU may close the socket before its reply gets through. */
	if (rc == SV_EPROCESS) {
		sv_err_clear();
		return 0;
	}
	return rc;
}

/* Firecracker's InstanceInfo.state for a QEMU run state. */
static const char *firecracker_state(const char *status)
{
	if (strcmp(status, "prelaunch") == 0 || strcmp(status, "inmigrate") == 0)
		return "Not started";
	if (strcmp(status, "running") == 0)
		return "Running";
	return "Paused";
}

/* "major.minor.micro" from QEMU's greeting. */
static void greeting_version(sv_qemu_vmm *q, char *buf, size_t size)
{
	const json_t *v = json_object_get(sv_qmp_greeting_version(q->qmp), "qemu");
	snprintf(buf, size, "%lld.%lld.%lld", (long long)json_integer_value(json_object_get(v, "major")),
		 (long long)json_integer_value(json_object_get(v, "minor")),
		 (long long)json_integer_value(json_object_get(v, "micro")));
}

static int qemu_version(sv_vmm *vmm, char **version_out)
{
	char version[64];
	greeting_version((sv_qemu_vmm *)vmm, version, sizeof(version));
	*version_out = strdup(version);
	return *version_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

static int qemu_instance_info(sv_vmm *vmm, char **json_out)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	*json_out = NULL;
	char *status = NULL;
	int rc = sv_qemu_status(vmm, &status);
	if (rc)
		return rc;
	json_t *name = NULL;
	rc = sv_qmp_execute(q->qmp, "query-name", NULL, &name);
	if (rc) {
		free(status);
		return rc;
	}
	char version[64];
	greeting_version(q, version, sizeof(version));
	const char *id = json_string_value(json_object_get(name, "name"));
	json_t *info = json_pack("{s:s,s:s,s:s,s:s,s:s}", "app_name", "QEMU", "id", id ? id : "", "state",
				 firecracker_state(status), "vmm_version", version, "qemu_status", status);
	json_decref(name);
	free(status);
	*json_out = info ? json_dumps(info, JSON_COMPACT) : NULL;
	json_decref(info);
	return *json_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

/* QEMU's command line, from /proc/<peer>/cmdline. */
static int argv_of_peer(sv_qemu_vmm *q, json_t **out)
{
	int pid = sv_qmp_peer_pid(q->qmp);
	if (pid <= 0)
		return sv_err(SV_EUNSUPPORTED, "running config: QEMU's pid is unknown on this connection");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	char *text = NULL;
	size_t len = 0;
	int rc = sv_read_file(path, 1 << 20, &text, &len);
	if (rc)
		return sv_err_prefix("running config");
	json_t *arr = json_array();
	for (size_t off = 0; arr && off < len; off += strlen(text + off) + 1)
		if (json_array_append_new(arr, json_string(text + off))) {
			json_decref(arr);
			arr = NULL;
		}
	free(text);
	*out = arr;
	return arr ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

/* The drives QEMU has open (query-block), in Firecracker's shape: the paths
 * are QEMU's own view, as GET /vm/config gives Firecracker's. */
static int drives_of_qemu(sv_qemu_vmm *q, json_t **out)
{
	json_t *blocks = NULL, *b;
	int rc = sv_qmp_execute(q->qmp, "query-block", NULL, &blocks);
	if (rc)
		return sv_err_prefix("running config");
	json_t *drives = json_array();
	size_t i;
	json_array_foreach(blocks, i, b) {
		const char *dev = json_string_value(json_object_get(b, "device"));
		json_t *ins = json_object_get(b, "inserted");
		const char *file = json_string_value(json_object_get(ins, "file"));
		if (!drives || !dev || !file || strncmp(dev, "drive-", 6) != 0)
			continue;
		if (json_array_append_new(drives, json_pack("{s:s, s:s, s:b}", "drive_id", dev + 6, "path_on_host", file,
							    "is_read_only", json_is_true(json_object_get(ins, "ro"))))) {
			json_decref(drives);
			drives = NULL;
		}
	}
	json_decref(blocks);
	*out = drives;
	return drives ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

/* A connection that did not configure the VM (attached later, or restored):
 * {"drives": [...], "qemu-argv": [...]}. */
static int running_config_from_qemu(sv_qemu_vmm *q, char **json_out)
{
	json_t *drives = NULL, *argv = NULL;
	int rc = drives_of_qemu(q, &drives);
	if (!rc)
		rc = argv_of_peer(q, &argv);
	json_t *o = rc ? NULL : json_pack("{s:o, s:o}", "drives", drives, "qemu-argv", argv);
	if (rc) {
		json_decref(drives);
		json_decref(argv);
		return rc;
	}
	*json_out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return *json_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

static int qemu_running_config(sv_vmm *vmm, char **json_out)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	*json_out = NULL;
	if (!q->config_json)
		return running_config_from_qemu(q, json_out);
	*json_out = strdup(q->config_json);
	return *json_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

const sv_vmm_ops sv_vmm_qemu_ops = {
	.name = "qemu",
	.api_socket_name = "qmp.sock",
	.default_boot_args = SV_QEMU_DEFAULT_BOOT_ARGS,
	.build_argv = sv_qemu_argv,
	.connect = qemu_connect,
	.resolve = sv_qemu_resolve,
	.disconnect = qemu_disconnect,
	.release = qemu_release,
	.configure = qemu_configure,
	.start = qemu_start,
	.pause = qemu_pause,
	.resume = qemu_resume,
	.request_shutdown = qemu_request_shutdown,
	.instance_info = qemu_instance_info,
	.running_config = qemu_running_config,
	/* Live operations QEMU has; the rest stay NULL (vmm.h). */
	.snapshot_memory_in_state = true,
	.version = qemu_version,
	.snapshot_create = sv_qemu_snapshot_create,
	.snapshot_load = sv_qemu_snapshot_load,
	.balloon_set = sv_qemu_balloon_set,
	.balloon_stats_interval = sv_qemu_balloon_stats_interval,
	.balloon_stats = sv_qemu_balloon_stats,
};
