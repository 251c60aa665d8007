/* sv_vm_describe: one JSON object with everything known about a VM, for
 * `smartvm inspect` and `ps --json`. Reads, never changes, the VM. */
#include "vm/vm_internal.h"

#include "util/error.h"
#include <jansson.h>
#include <stdlib.h>

static json_t *config_json(const sv_vm *vm)
{
	char *text = NULL;
	if (!vm->cfg || sv_vm_config_to_json(&text, vm->cfg) != 0)
		return json_null();
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	return o ? o : json_null();
}

int sv_vm_describe(sv_vm *vm, char **out)
{
	*out = NULL;
	sv_vm_state state = sv_vm_get_state(vm);
	bool live = sv_vm__is_live(vm);
	json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s?, s:s?, s:b, s:o, s:o}", "id", vm->id, "state",
			      sv_vm_state_name(state), "pid", (json_int_t)(live ? vm->vmm_pid : 0), "dir", vm->dir,
			      "console", vm->console_path, "vmm", vm->backend ? vm->backend->name : NULL,
			      "base_image", vm->cfg ? vm->cfg->base_image : NULL, "detached", vm->detached,
			      "config", config_json(vm), "network", sv_vm__taps_json(vm));
	if (o && vm->end_reason && !live)
		json_object_set_new(o, "end_reason", json_string(vm->end_reason));
	/* A VM that ended detached: its end record (exit_code, signal, ended_at,
	 * command, ...) until sv_vm_remove. */
	if (o && vm->end_record)
		json_object_set(o, "ended", vm->end_record);
	*out = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}
