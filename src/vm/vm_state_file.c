/* state.json: what another smartvm process needs to control a VM it did not
 * start (pids with start times, backend, state, TAPs). Written atomically by
 * whoever changes the state; read by sv_manager_attach_vm. Both it and
 * config.json are opened relative to the checked VM directory fd and never
 * through a symlink (file.h's _at helpers). */
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/file.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

json_t *sv_vm__taps_json(const sv_vm *vm)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < vm->n_taps; i++) {
		const sv_tap_device *t = &vm->taps[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "iface_id",
						     t->iface_id, "tap_name", t->tap_name, "guest_ip",
						     t->guest_ip, "gateway_ip", t->gateway_ip, "subnet_mask",
						     t->subnet_mask, "mac", t->mac));
	}
	return arr;
}

int sv_vm__save_state(const sv_vm *vm)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:I, s:b, s:s?, s:o}", "id", vm->id, "state",
		      sv_vm_state_name(vm->state), "vmm", vm->backend ? vm->backend->name : NULL, "vmm_pid",
		      (json_int_t)vm->vmm_pid, "vmm_start_time", (json_int_t)vm->vmm_start_time,
		      "supervisor_pid", (json_int_t)vm->supervisor_pid, "supervisor_start_time",
		      (json_int_t)vm->supervisor_start_time, "detached", vm->detached, "base_image",
		      vm->cfg ? vm->cfg->base_image : NULL, "network", sv_vm__taps_json(vm));
	if (o && vm->jail_root) /* a jailed VM's API socket and files live there */
		json_object_set_new(o, "jail_root", json_string(vm->jail_root));
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!text)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = vm->dir_fd < 0 ? sv_err(SV_EINVALID_STATE, "VM \"%s\": its directory is not open", vm->id)
				: sv_write_file_atomic_at(vm->dir_fd, vm->dir, SV_VM_STATE_FILE, text,
							  strlen(text), 0644);
	free(text);
	return rc;
}

int sv_vm__save_config(const sv_vm *vm)
{
	char *text = NULL;
	int rc = sv_vm_config_to_json(&text, vm->cfg);
	if (rc || !text)
		return sv_err_prefix("saving config to %s/%s", vm->dir, SV_VM_CONFIG_FILE);
	size_t len = strlen(text);
	text[len] = '\n'; /* the terminator's place: a text-tool friendly last line */
	rc = sv_write_file_atomic_at(vm->dir_fd, vm->dir, SV_VM_CONFIG_FILE, text, len + 1, 0644);
	free(text);
	return rc;
}

static void copy_str(char *dst, size_t size, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	snprintf(dst, size, "%s", s ? s : "");
}

static int load_taps(sv_vm *vm, json_t *arr)
{
	size_t n = json_array_size(arr);
	if (!n)
		return 0;
	vm->taps = calloc(n, sizeof(*vm->taps));
	if (!vm->taps)
		return sv_err(SV_ENOMEM, "out of memory");
	vm->n_taps = n;
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_array_get(arr, i);
		sv_tap_device *d = &vm->taps[i];
		copy_str(d->iface_id, sizeof(d->iface_id), t, "iface_id");
		copy_str(d->tap_name, sizeof(d->tap_name), t, "tap_name");
		copy_str(d->guest_ip, sizeof(d->guest_ip), t, "guest_ip");
		copy_str(d->gateway_ip, sizeof(d->gateway_ip), t, "gateway_ip");
		copy_str(d->subnet_mask, sizeof(d->subnet_mask), t, "subnet_mask");
		copy_str(d->mac, sizeof(d->mac), t, "mac");
	}
	return 0;
}

static sv_vm_state state_from_name(const char *name)
{
	for (int s = SV_VM_CREATED; s <= SV_VM_ERROR; s++)
		if (name && !strcmp(name, sv_vm_state_name((sv_vm_state)s)))
			return (sv_vm_state)s;
	return SV_VM_ERROR;
}

#define MAX_STATE_BYTES (1 << 20)

int sv_vm__load_state(sv_vm *vm)
{
	char *text = NULL;
	int rc = sv_read_file_at(vm->dir_fd, vm->dir, SV_VM_STATE_FILE, MAX_STATE_BYTES, &text, NULL);
	if (rc)
		return sv_err_prefix("VM \"%s\"", vm->id);
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	free(text);
	if (!o)
		return sv_err(SV_EIO, "VM \"%s\": %s/%s: %s", vm->id, vm->dir, SV_VM_STATE_FILE, jerr.text);
	vm->state = state_from_name(json_string_value(json_object_get(o, "state")));
	vm->vmm_pid = (pid_t)json_integer_value(json_object_get(o, "vmm_pid"));
	vm->vmm_start_time = (unsigned long long)json_integer_value(json_object_get(o, "vmm_start_time"));
	vm->supervisor_pid = (pid_t)json_integer_value(json_object_get(o, "supervisor_pid"));
	vm->supervisor_start_time =
	    (unsigned long long)json_integer_value(json_object_get(o, "supervisor_start_time"));
	vm->backend = sv_vm__backend_by_name(json_string_value(json_object_get(o, "vmm")));
	const char *jail_root = json_string_value(json_object_get(o, "jail_root"));
	if (jail_root && !(vm->jail_root = strdup(jail_root))) {
		json_decref(o);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	rc = load_taps(vm, json_object_get(o, "network"));
	json_decref(o);
	if (rc)
		return rc;
	sv_vm__load_config(vm);
	return 0;
}

void sv_vm__load_config(sv_vm *vm)
{
	/* The config as given, for inspect; a missing or unreadable one is not
	 * fatal (a VM killed early may not have one). */
	char *text = NULL;
	if (!vm->cfg &&
	    sv_read_file_at(vm->dir_fd, vm->dir, SV_VM_CONFIG_FILE, MAX_STATE_BYTES, &text, NULL) == 0 &&
	    sv_vm_config_from_json(&vm->cfg, SV_VM_CONFIG_VERSION, text) != 0)
		vm->cfg = NULL;
	free(text);
	sv_err_clear();
}
