/* Fuzzes the VM config reader (src/config/config_json_read.c): a config file
 * is the user's, but it is also what a snapshot's manifest carries. Oracles:
 * whatever parses also copies, validates without crashing, and survives a
 * write/read round trip unchanged. */
#include "fuzz.h"

#include <smartvm/config.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	sv_vm_config *cfg = NULL;
	if (sv_vm_config_from_json(&cfg, SV_VM_CONFIG_VERSION, text) == 0) {
		FZ_CHECK(cfg != NULL);
		sv_vm_config_validate(cfg);
		sv_vm_config *copy = NULL;
		FZ_CHECK(sv_vm_config_copy(&copy, cfg) == 0);
		char *once = NULL, *twice = NULL;
		FZ_CHECK(sv_vm_config_to_json(&once, copy) == 0);
		sv_vm_config *again = NULL;
		FZ_CHECK(sv_vm_config_from_json(&again, SV_VM_CONFIG_VERSION, once) == 0);
		FZ_CHECK(sv_vm_config_to_json(&twice, again) == 0);
		FZ_CHECK(strcmp(once, twice) == 0);
		free(once);
		free(twice);
		sv_vm_config_free(again);
		sv_vm_config_free(copy);
	} else {
		FZ_CHECK(cfg == NULL);
	}
	sv_vm_config_free(cfg);
	free(text);
	return 0;
}
