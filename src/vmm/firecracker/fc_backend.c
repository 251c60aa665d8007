/* The Firecracker backend: sv_vmm_firecracker_ops (see vmm/vmm.h).
 *
 * Maps smartvm's VMM operations onto Firecracker's API: the command line,
 * the order of pre-boot PUTs, actions and PATCH /vm. Bodies come only from
 * the section builders in config/config_json.h (the same objects the
 * --config-file writer emits); this file never spells a JSON field.
 * Process management is the VM layer's job: nothing here waits or signals.
 */
#include "config/config_json.h"
#include "util/curl_lib.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/strv.h"
#include "vmm/firecracker/fc_api.h"
#include "vmm/firecracker/fc_live.h"
#include <stdlib.h>
#include <string.h>

#define API_SOCKET_NAME "firecracker.sock"

/* Firecracker's --id allows only [A-Za-z0-9-] (1-64 chars); smartvm ids may
 * also hold '_'. The instance id only labels Firecracker's logs and metrics,
 * so '_' becomes '-' rather than refusing the VM. Anything else is refused
 * before spawning, as Firecracker itself would refuse to start. */
static int instance_id(const char *vm_id, char **out)
{
	size_t len = strlen(vm_id);
	if (len < 1 || len > 64)
		return sv_err(SV_EINVAL, "VM id \"%s\": Firecracker's --id must be 1 to 64 characters", vm_id);
	char *id = strdup(vm_id);
	if (!id)
		return sv_err(SV_ENOMEM, "out of memory");
	for (char *p = id; *p; p++) {
		if (*p == '_')
			*p = '-';
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-';
		if (!ok) {
			int rc = sv_err(SV_EINVAL, "VM id \"%s\": Firecracker's --id allows only letters, digits and '-' (found '%c')",
					vm_id, *p);
			free(id);
			return rc;
		}
	}
	*out = id;
	return 0;
}

/* The jailer's command line (its argument contract, docs/jailer.md); it
 * passes --id to Firecracker itself, and everything after "--". */
static void push_jailer(sv_strv_builder *b, const sv_vmm_launch *launch, const char *id)
{
	const sv_vmm_jail *j = launch->jail;
	sv_strv_push(b, j->jailer);
	sv_strv_push(b, "--id");
	sv_strv_push(b, j->id ? j->id : id);
	sv_strv_push(b, "--exec-file");
	sv_strv_push(b, launch->binary);
	sv_strv_push(b, "--uid");
	sv_strv_pushf(b, "%u", j->uid);
	sv_strv_push(b, "--gid");
	sv_strv_pushf(b, "%u", j->gid);
	sv_strv_push(b, "--chroot-base-dir");
	sv_strv_push(b, j->chroot_base);
	sv_strv_push(b, "--cgroup-version");
	sv_strv_pushf(b, "%d", j->cgroup_version);
	for (size_t i = 0; j->cgroups && j->cgroups[i]; i++) {
		sv_strv_push(b, "--cgroup");
		sv_strv_push(b, j->cgroups[i]);
	}
	if (j->netns) {
		sv_strv_push(b, "--netns");
		sv_strv_push(b, j->netns);
	}
	if (j->new_pid_ns)
		sv_strv_push(b, "--new-pid-ns");
	if (j->daemonize)
		sv_strv_push(b, "--daemonize");
	sv_strv_push(b, "--");
}

static int fc_build_argv(const sv_vmm_launch *launch, char ***argv_out)
{
	*argv_out = NULL;
	char *id = NULL;
	int rc = instance_id(launch->vm_id, &id);
	if (rc)
		return rc;
	sv_strv_builder b = { 0 };
	if (launch->jail)
		push_jailer(&b, launch, id);
	else
		sv_strv_push(&b, launch->binary);
	sv_strv_push(&b, "--api-sock");
	if (launch->api_socket)
		sv_strv_push(&b, launch->api_socket);
	else
		sv_strv_pushf(&b, "%s/%s", launch->vm_dir, API_SOCKET_NAME);
	if (!launch->jail) {
		sv_strv_push(&b, "--id");
		sv_strv_push(&b, id);
	}
	if (launch->config_file) {
		sv_strv_push(&b, "--config-file");
		sv_strv_push(&b, launch->config_file);
	}
	free(id);
	rc = sv_strv_finish(&b, argv_out);
	if (rc)
		return sv_err(rc, "building the Firecracker command line: out of memory");
	return 0;
}

/* PUTs body (stolen) to path; a NULL body means its builder ran out of memory. */
static int put(sv_vmm *vmm, const char *path, json_t *body)
{
	if (!body)
		return sv_err(SV_ENOMEM, "PUT %s: building the body: out of memory", path);
	int rc = sv_fc_request(vmm, "PUT", path, body, NULL);
	json_decref(body);
	return rc;
}

/* PUT <collection>/<id>; ids are escaped although config validation already
 * restricts them to URL-safe characters. */
static int put_by_id(sv_vmm *vmm, const char *collection, const char *id, json_t *body)
{
	int rc = sv_curl_load();
	if (rc) {
		json_decref(body);
		return rc;
	}
	const sv_curl_api *curl = sv_curl();
	char *escaped = curl->easy_escape(NULL, id ? id : "", 0);
	char *path = NULL;
	if (!escaped || asprintf(&path, "%s/%s", collection, escaped) < 0) {
		curl->free(escaped);
		json_decref(body);
		return sv_err(SV_ENOMEM, "PUT %s/%s: out of memory", collection, id);
	}
	curl->free(escaped);
	rc = put(vmm, path, body);
	free(path);
	return rc;
}

static int fc_configure(sv_vmm *vmm, const sv_vm_config *cfg)
{
	int rc;
	/* Logger and metrics first, as Firecracker recommends, so that the
	 * rest of the configuration is logged. */
	if (cfg->logger && ((rc = SV_FAULT_POINT("launch.api.logger")) ||
			    (rc = put(vmm, "/logger", sv_json_logger(cfg->logger)))))
		return rc;
	if (cfg->metrics && ((rc = SV_FAULT_POINT("launch.api.metrics")) ||
			     (rc = put(vmm, "/metrics", sv_json_metrics(cfg->metrics)))))
		return rc;
	if ((rc = SV_FAULT_POINT("launch.api.machine_config")) ||
	    (rc = put(vmm, "/machine-config", sv_json_machine_config(&cfg->machine_config))))
		return rc;
	/* The custom CPU template is the caller's JSON object, passed as written. */
	if (cfg->cpu_config && ((rc = SV_FAULT_POINT("launch.api.cpu_config")) ||
				(rc = put(vmm, "/cpu-config", json_loads(cfg->cpu_config, JSON_REJECT_DUPLICATES, NULL)))))
		return rc;
	if (cfg->memory_hotplug && ((rc = SV_FAULT_POINT("launch.api.memory_hotplug")) ||
				    (rc = put(vmm, "/hotplug/memory", sv_json_memory_hotplug(cfg->memory_hotplug)))))
		return rc;
	if (cfg->serial &&
	    ((rc = SV_FAULT_POINT("launch.api.serial")) || (rc = put(vmm, "/serial", sv_json_serial(cfg->serial)))))
		return rc;
	if ((rc = SV_FAULT_POINT("launch.api.boot_source")) ||
	    (rc = put(vmm, "/boot-source", sv_json_boot_source(&cfg->boot_source))))
		return rc;
	for (size_t i = 0; i < cfg->n_drives; i++) {
		const sv_drive_config *d = &cfg->drives[i];
		if ((rc = SV_FAULT_POINT("launch.api.drive")) ||
		    (rc = put_by_id(vmm, "/drives", d->drive_id, sv_json_drive(d))))
			return rc;
	}
	for (size_t i = 0; i < cfg->n_pmem; i++)
		if ((rc = SV_FAULT_POINT("launch.api.pmem")) ||
		    (rc = put_by_id(vmm, "/pmem", cfg->pmem[i].id, sv_json_pmem(&cfg->pmem[i]))))
			return rc;
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		const sv_net_iface_config *n = &cfg->network_interfaces[i];
		if ((rc = SV_FAULT_POINT("launch.api.network_interface")) ||
		    (rc = put_by_id(vmm, "/network-interfaces", n->iface_id, sv_json_net_iface(n))))
			return rc;
	}
	if (cfg->vsock && ((rc = SV_FAULT_POINT("launch.api.vsock")) ||
			   (rc = put(vmm, "/vsock", sv_json_vsock(cfg->vsock)))))
		return rc;
	if (cfg->balloon && ((rc = SV_FAULT_POINT("launch.api.balloon")) ||
			     (rc = put(vmm, "/balloon", sv_json_balloon(cfg->balloon)))))
		return rc;
	/* MMDS names interfaces, which must exist by now. */
	if (cfg->mmds && ((rc = SV_FAULT_POINT("launch.api.mmds")) ||
			  (rc = put(vmm, "/mmds/config", sv_json_mmds_config(cfg->mmds)))))
		return rc;
	if (cfg->entropy && ((rc = SV_FAULT_POINT("launch.api.entropy")) ||
			     (rc = put(vmm, "/entropy", sv_json_entropy(cfg->entropy)))))
		return rc;
	return 0;
}

/* The whole configuration as Firecracker's --config-file: the VMM then
 * configures and boots itself before it answers its first request, without
 * a request, a response and a log line per section. PUT /serial has no key
 * in that file, and its "cpu-config" is a file's path where smartvm holds
 * the template itself: such configs go through the API. */
static int fc_config_document(const sv_vm_config *cfg, char **text_out)
{
	*text_out = NULL;
	if (cfg->serial || cfg->cpu_config)
		return 0;
	json_t *doc = sv_json_vm_sections(cfg);
	*text_out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return *text_out ? 0 : sv_err(SV_ENOMEM, "building Firecracker's config file: out of memory");
}

/* Firecracker's API thread queues requests until the VMM thread has built
 * the VM from the file, so GET / answers only then; a file it refused ends
 * the process instead (the VM layer reports its last words). */
static int fc_boot_wait(sv_vmm *vmm)
{
	json_t *info = NULL;
	int rc = sv_fc_request(vmm, "GET", "/", NULL, &info);
	if (rc)
		return rc;
	const char *state = json_string_value(json_object_get(info, "state"));
	if (!state || strcmp(state, "Running"))
		rc = sv_err(SV_EVMM, "GET /: the VM booted from its config file is %s, not Running",
			    state ? state : "in no state");
	json_decref(info);
	return rc;
}

static int action(sv_vmm *vmm, const char *type)
{
	return put(vmm, "/actions", json_pack("{s:s}", "action_type", type));
}

static int fc_start(sv_vmm *vmm)
{
	return action(vmm, "InstanceStart");
}

static int fc_request_shutdown(sv_vmm *vmm)
{
	return action(vmm, "SendCtrlAltDel");
}

static int set_vm_state(sv_vmm *vmm, const char *state)
{
	json_t *body = json_pack("{s:s}", "state", state);
	if (!body)
		return sv_err(SV_ENOMEM, "PATCH /vm: out of memory");
	int rc = sv_fc_request(vmm, "PATCH", "/vm", body, NULL);
	json_decref(body);
	return rc;
}

static int fc_pause(sv_vmm *vmm)
{
	return set_vm_state(vmm, "Paused");
}

static int fc_resume(sv_vmm *vmm)
{
	return set_vm_state(vmm, "Resumed");
}

static int fc_instance_info(sv_vmm *vmm, char **json_out)
{
	return sv_fc_request_text(vmm, "GET", "/", NULL, json_out);
}

static int fc_running_config(sv_vmm *vmm, char **json_out)
{
	return sv_fc_request_text(vmm, "GET", "/vm/config", NULL, json_out);
}

const sv_vmm_ops sv_vmm_firecracker_ops = {
	.name = "firecracker",
	.api_socket_name = API_SOCKET_NAME,
	/* Firecracker's DEFAULT_KERNEL_CMDLINE. */
	.default_boot_args = "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
			     "i8042.nopnp i8042.dumbkbd",
	.build_argv = fc_build_argv,
	.client_load = sv_curl_load,
	.connect = sv_fc_connect,
	.disconnect = sv_fc_disconnect,
	.configure = fc_configure,
	.start = fc_start,
	.config_document = fc_config_document,
	.boot_wait = fc_boot_wait,
	.pause = fc_pause,
	.resume = fc_resume,
	.request_shutdown = fc_request_shutdown,
	.instance_info = fc_instance_info,
	.running_config = fc_running_config,
	.version = sv_fc_version,
	.snapshot_create = sv_fc_snapshot_create,
	.snapshot_load = sv_fc_snapshot_load,
	.mmds_put = sv_fc_mmds_put,
	.mmds_patch = sv_fc_mmds_patch,
	.mmds_get = sv_fc_mmds_get,
	.balloon_set = sv_fc_balloon_set,
	.balloon_stats_interval = sv_fc_balloon_stats_interval,
	.balloon_stats = sv_fc_balloon_stats,
	.balloon_hinting_start = sv_fc_balloon_hinting_start,
	.balloon_hinting_stop = sv_fc_balloon_hinting_stop,
	.balloon_hinting_status = sv_fc_balloon_hinting_status,
	.memory_hotplug_set = sv_fc_memory_hotplug_set,
	.memory_hotplug_status = sv_fc_memory_hotplug_status,
	.drive_update = sv_fc_drive_update,
	.iface_update = sv_fc_iface_update,
	.pmem_update = sv_fc_pmem_update,
	.flush_metrics = sv_fc_flush_metrics,
};
