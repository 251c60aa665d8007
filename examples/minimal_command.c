/* Runs one command in a VM booted from the minimal image and prints its
 * output; exits with the command's exit status.
 *
 *     minimal_command uname -a
 *
 * Build the image first with `smartvm image build-minimal`. Runs under
 * QEMU's microvm machine (the minimal image's kernel is Debian's, made for
 * it). */
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	sv_base_image_bundle *image = NULL;
	sv_manager *mgr = NULL;
	sv_vm *vm = NULL;
	char *output = NULL;
	int status = 0;

	/* The image's kernel, initrd, boot args and root drive as a config. */
	sv_vm_config cfg = SV_VM_CONFIG_INIT; /* sets the version field */
	cfg.machine_config = (sv_machine_config){.vcpu_count = 1, .mem_size_mib = 256};
	sv_drive_config root;
	int rc = sv_base_image_open(&image, NULL, SV_MINIMAL_IMAGE_ID);
	if (rc == 0)
		rc = sv_base_image_vm_config(&cfg, &root, image);
	sv_manager_options mo = SV_MANAGER_OPTIONS_INIT; /* sets the version field */
	mo.vmm = SV_VMM_QEMU;
	if (rc == 0)
		rc = sv_manager_new(&mgr, &mo);
	if (rc == 0)
		rc = sv_manager_create_vm(&vm, mgr, &cfg);
	if (rc == 0)
		rc = sv_vm_set_command(vm, (const char *const *)argv + 1);
	if (rc == 0)
		rc = sv_vm_start(vm);
	if (rc == 0)
		rc = sv_vm_wait_command(vm, 120 * 1000, &output, NULL, &status);
	if (rc == 0)
		fputs(output, stdout);
	else
		fprintf(stderr, "%s: %s\n", sv_error_name(rc), sv_last_error());
	free(output);
	sv_manager_free(mgr);
	sv_base_image_bundle_free(image);
	return rc == 0 ? status : 125;
}
