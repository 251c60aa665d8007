/* Lists the VMs in the runtime directory (those of any process, running or
 * not) with their state and VMM pid, like `smartvm ps`.
 *
 *     list_vms
 *
 * SMARTVM_RUNTIME_DIR chooses the runtime directory, as for smartvm. */
#include <smartvm/smartvm.h>
#include <stdio.h>

int main(void)
{
	sv_manager *mgr = NULL;
	char **ids = NULL;
	int rc = sv_manager_new(&mgr, NULL);
	if (rc == 0)
		rc = sv_manager_list_vm_ids(mgr, &ids);
	for (size_t i = 0; rc == 0 && ids[i]; i++) {
		/* Attaching only reads the VM's directory: a VM another
		 * process started keeps running when we are done. */
		sv_vm *vm = NULL;
		if (sv_manager_attach_vm(&vm, mgr, ids[i]) != 0) {
			printf("%-24s (%s)\n", ids[i], sv_last_error());
			continue;
		}
		printf("%-24s %-10s %d\n", ids[i], sv_vm_state_name(sv_vm_get_state(vm)), (int)sv_vm_pid(vm));
		sv_vm_free(vm);
	}
	if (rc == 0 && !ids[0])
		printf("no VMs in %s\n", sv_manager_runtime_dir(mgr));
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", sv_error_name(rc), sv_last_error());
	sv_strv_free(ids);
	sv_manager_free(mgr);
	return rc == 0 ? 0 : 1;
}
