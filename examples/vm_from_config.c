/* Boots a VM from a Firecracker config file (the JSON of firecracker
 * --config-file), pauses and resumes it, then stops it.
 *
 *     vm_from_config vm.json
 *
 * The VMM is the Firecracker binary `smartvm binary ensure` installed (or
 * QEMU's microvm machine when there is none); paths in vm.json are taken
 * from vm.json's own directory. */
#include <smartvm/smartvm.h>
#include <stdio.h>

static void print_log(sv_log_severity severity, const char *message, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "%s: %s\n", sv_log_severity_name(severity), message);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s vm.json\n", argv[0]);
		return 2;
	}
	/* The library prints nothing; show its warnings. */
	sv_set_log_callback(print_log, NULL, SV_LOG_WARN);

	sv_vm_config *cfg = NULL;
	sv_manager *mgr = NULL;
	sv_vm *vm = NULL;
	int rc = sv_vm_config_load(&cfg, SV_VM_CONFIG_VERSION, argv[1]);
	if (rc == 0)
		rc = sv_manager_new(&mgr, NULL); /* NULL: every option at its default */
	if (rc == 0)
		rc = sv_manager_create_vm(&vm, mgr, cfg);
	if (rc == 0)
		rc = sv_vm_start(vm);
	if (rc == 0) {
		printf("VM %s is %s, VMM pid %d\n", sv_vm_id(vm), sv_vm_state_name(sv_vm_get_state(vm)),
		       (int)sv_vm_pid(vm));
		rc = sv_vm_pause(vm);
	}
	if (rc == 0)
		rc = sv_vm_resume(vm);
	if (rc == 0)
		rc = sv_vm_stop(vm, -1); /* graceful; -1 = the manager's default wait (10 s) */
	if (rc == 0)
		printf("VM %s is %s\n", sv_vm_id(vm), sv_vm_state_name(sv_vm_get_state(vm)));
	else /* the message names the field, endpoint or syscall */
		fprintf(stderr, "%s: %s\n", sv_error_name(rc), sv_last_error());
	sv_manager_free(mgr); /* stops and cleans up whatever still runs */
	sv_vm_config_free(cfg);
	return rc == 0 ? 0 : 1;
}
