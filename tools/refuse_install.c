/* Run by `meson install` in a build tree configured with fault injection
 * (meson.build): such a tree installs nothing, and this says why. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr,
		"smartvm: this build tree has fault injection on (-Dfault_injection; test hooks that make\n"
		"any step fail or stop on request), so it installs nothing. Install from a tree configured\n"
		"with -Dfault_injection=disabled, as `make install` does.\n");
	return 1;
}
