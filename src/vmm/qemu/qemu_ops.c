/* sv_vmm_qemu_ops: the VMM interface (vmm.h) on top of QMP.
 *
 * QEMU is launched frozen (-S, status "prelaunch") with every device already
 * on its command line, so the Firecracker-style lifecycle maps as: configure()
 * checks the VM has not started and applies what only QMP can set (balloon
 * target and statistics interval), start() is "cont", pause/resume are
 * "stop"/"cont", request_shutdown is "system_powerdown" (an ACPI power-button
 * press; the minimal guest's init powers off on it).
 *
 * instance_info() answers in the shape of Firecracker's InstanceInfo
 * ({"app_name":"QEMU","id","state","vmm_version"}) plus "qemu_status", QEMU's
 * raw run state. running_config() returns the config that configure() was
 * given on this connection, in Firecracker's --config-file format (the same
 * shape Firecracker's GET /vm/config answers); a connection that never
 * configured the VM answers {"qemu-argv": [...]}, QEMU's command line read
 * from /proc through the socket's peer pid.
 *
 * Never kills or waits for the QEMU process: that is the VM layer's job.
 */
#include "vmm/qemu/qemu.h"
#include "vmm/qemu/qemu_internal.h"

#include "config/config_json.h"
#include "util/error.h"
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
	int rc = sv_qmp_connect(&q->qmp, socket_path, api_timeout_ms);
	if (rc) {
		free(q);
		return rc;
	}
	*out = &q->base;
	return 0;
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
		rc = negate ? sv_err(SV_EINVALID_STATE, "%s: the VM has not been started", what)
			    : sv_err(SV_EINVALID_STATE, "%s: the VM is not in state %s (QEMU status %s)", what,
				     want, status);
	}
	free(status);
	return rc;
}

static int apply_balloon(sv_qemu_vmm *q, const sv_vm_config *cfg)
{
	const sv_balloon_config *b = cfg->balloon;
	if (b->amount_mib >= cfg->machine_config.mem_size_mib)
		return sv_err(SV_EINVAL, "balloon.amount_mib: must be less than machine_config.mem_size_mib");
	int rc = 0;
	if (b->amount_mib) {
		json_int_t target = ((json_int_t)cfg->machine_config.mem_size_mib - b->amount_mib) << 20;
		json_t *args = json_pack("{s:I}", "value", target);
		rc = args ? sv_qmp_execute(q->qmp, "balloon", args, NULL) : sv_err(SV_ENOMEM, "out of memory");
		json_decref(args);
		if (rc)
			return sv_err_prefix("balloon.amount_mib");
	}
	if (b->stats_polling_interval_s) {
		json_t *args = json_pack("{s:s,s:s,s:I}", "path", "/machine/peripheral/balloon0", "property",
					 "guest-stats-polling-interval", "value",
					 (json_int_t)b->stats_polling_interval_s);
		rc = args ? sv_qmp_execute(q->qmp, "qom-set", args, NULL) : sv_err(SV_ENOMEM, "out of memory");
		json_decref(args);
		if (rc)
			return sv_err_prefix("balloon.stats_polling_interval_s");
	}
	return 0;
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
		rc = apply_balloon(q, cfg);
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
	const json_t *v = json_object_get(sv_qmp_greeting_version(q->qmp), "qemu");
	char version[64];
	snprintf(version, sizeof(version), "%lld.%lld.%lld",
		 (long long)json_integer_value(json_object_get(v, "major")),
		 (long long)json_integer_value(json_object_get(v, "minor")),
		 (long long)json_integer_value(json_object_get(v, "micro")));
	const char *id = json_string_value(json_object_get(name, "name"));
	json_t *info = json_pack("{s:s,s:s,s:s,s:s,s:s}", "app_name", "QEMU", "id", id ? id : "", "state",
				 firecracker_state(status), "vmm_version", version, "qemu_status", status);
	json_decref(name);
	free(status);
	*json_out = info ? json_dumps(info, JSON_COMPACT) : NULL;
	json_decref(info);
	return *json_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

/* {"qemu-argv": [...]} from /proc/<peer>/cmdline. */
static int argv_of_peer(sv_qemu_vmm *q, char **json_out)
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
	json_t *o = arr ? json_pack("{s:o}", "qemu-argv", arr) : NULL;
	*json_out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return *json_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

static int qemu_running_config(sv_vmm *vmm, char **json_out)
{
	sv_qemu_vmm *q = (sv_qemu_vmm *)vmm;
	*json_out = NULL;
	if (!q->config_json)
		return argv_of_peer(q, json_out);
	*json_out = strdup(q->config_json);
	return *json_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

static int qemu_build_argv(const sv_vmm_launch *launch, char ***argv_out)
{
	return sv_qemu_argv(launch, false, argv_out);
}

const sv_vmm_ops sv_vmm_qemu_ops = {
	.name = "qemu",
	.api_socket_name = "qmp.sock",
	.default_boot_args = SV_QEMU_DEFAULT_BOOT_ARGS,
	.build_argv = qemu_build_argv,
	.connect = qemu_connect,
	.disconnect = qemu_disconnect,
	.configure = qemu_configure,
	.start = qemu_start,
	.pause = qemu_pause,
	.resume = qemu_resume,
	.request_shutdown = qemu_request_shutdown,
	.instance_info = qemu_instance_info,
	.running_config = qemu_running_config,
};
