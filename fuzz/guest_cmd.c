/* Fuzzes the smartvm.cmd= decoder (proto/guest_cmd.c), which the guest's
 * init runs as PID 1 on its kernel command line. Oracle: whatever decodes
 * encodes back to a value that decodes to the same argument vector. */
#include "fuzz.h"

#include "guest_cmd.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	char **argv = NULL;
	if (sv_guest_cmd_decode(text, &argv) == 0) {
		FZ_CHECK(argv && argv[0]);
		char *encoded = sv_guest_cmd_encode((const char *const *)argv);
		FZ_CHECK(encoded);
		char **again = NULL;
		FZ_CHECK(sv_guest_cmd_decode(encoded, &again) == 0);
		size_t i = 0;
		for (; argv[i]; i++)
			FZ_CHECK(again[i] && strcmp(argv[i], again[i]) == 0);
		FZ_CHECK(again[i] == NULL);
		free(again);
		free(encoded);
	} else {
		FZ_CHECK(argv == NULL);
	}
	free(argv);
	free(text);
	return 0;
}
