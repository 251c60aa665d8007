/* ended.json: how a detached VM ended, kept in its directory (with its lock,
 * console log and config, nothing else) after everything else is cleaned up, until
 * sv_vm_remove (`smartvm rm`). The Docker habit: a container started in the
 * background stays in `ps -a` with its exit status until `docker rm`.
 *
 * Who writes it: the supervisor, when the VMM of a detached VM has ended
 * (with the status it saw); the cleanup of a dead detached VM whose
 * supervisor was killed before it could (status unknown). Nobody else. It is
 * written atomically through the checked directory fd, and read the same
 * way, never through a symlink. Only VMs that were detached get one: a VM
 * owned by a process (a foreground `run`) ends in front of its owner. */
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/file.h"
#include "util/timestamp.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RECORD_BYTES (1 << 20)

static json_t *signal_name(int sig)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (!abbrev)
		return json_null();
	char name[32];
	snprintf(name, sizeof(name), "SIG%s", abbrev);
	return json_string(name);
}

int sv_vm__write_end_record(int dfd, const char *dir, const sv_vm_end *e)
{
	char when[SV_TIMESTAMP_LEN];
	sv_utc_timestamp(when);
	json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s?, s:O?, s:s?}", "id", e->id, "status",
			      e->exit_code >= 0 ? "exited" : "unknown", "exit_code",
			      e->exit_code >= 0 ? json_integer(e->exit_code) : json_null(), "signal",
			      signal_name(e->signal), "ended_at", when, "vmm", e->vmm, "command", e->command,
			      "reason", e->reason);
	if (o && e->command)
		json_object_set_new(o, "command_finished", json_boolean(e->command_finished));
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	int rc = text ? sv_write_file_atomic_at(dfd, dir, SV_VM_END_RECORD_FILE, text, strlen(text), 0644)
		      : sv_err(SV_ENOMEM, "out of memory");
	free(text);
	return rc ? sv_err_prefix("keeping the end record of VM \"%s\"", e->id) : 0;
}

json_t *sv_vm__read_end_record(int dfd, const char *dir)
{
	char *text = NULL;
	json_t *o = NULL;
	if (sv_read_file_at(dfd, dir, SV_VM_END_RECORD_FILE, MAX_RECORD_BYTES, &text, NULL) == 0)
		o = json_loads(text, 0, NULL);
	free(text);
	sv_err_clear();
	if (o && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

bool sv_vm__has_end_record(int dfd)
{
	struct stat st;
	return fstatat(dfd, SV_VM_END_RECORD_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* state.json parsed, or NULL. */
static json_t *read_state(int dfd, const char *dir)
{
	char *text = NULL;
	json_t *o = NULL;
	if (sv_read_file_at(dfd, dir, SV_VM_STATE_FILE, MAX_RECORD_BYTES, &text, NULL) == 0)
		o = json_loads(text, 0, NULL);
	free(text);
	sv_err_clear();
	return o;
}

bool sv_vm__keep_end_record_at(int dfd, const char *dir)
{
	bool keep = sv_vm__has_end_record(dfd);
	json_t *state = keep ? NULL : read_state(dfd, dir);
	if (!keep && json_is_true(json_object_get(state, "detached"))) {
		/* Its supervisor died before it could say how the VM ended. */
		const char *slash = strrchr(dir, '/');
		sv_vm_end e = {.id = slash ? slash + 1 : dir,
			       .exit_code = -1,
			       .vmm = json_string_value(json_object_get(state, "vmm")),
			       .reason = "its supervisor was killed before it could record how the VM "
					 "ended"};
		keep = sv_vm__write_end_record(dfd, dir, &e) == 0;
		if (!keep)
			sv_err_clear();
	}
	json_decref(state);
	return keep;
}

void sv_vm__load_end_record(sv_vm *vm)
{
	if (vm->dir_fd >= 0 && !vm->end_record)
		vm->end_record = sv_vm__read_end_record(vm->dir_fd, vm->dir);
	const char *reason = json_string_value(json_object_get(vm->end_record, "reason"));
	if (reason && (!vm->end_reason || !*vm->end_reason)) {
		free(vm->end_reason);
		vm->end_reason = strdup(reason);
	}
}
