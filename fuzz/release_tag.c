/* Fuzzes Firecracker release tags (src/images/release.c): "latest" resolves
 * to the last path segment of a redirect the network chose, and a valid tag
 * becomes a directory name (<data-dir>/bin/<tag>). Oracles: a valid tag is a
 * plain file name and compares equal to itself; its CI version is one too.
 * (Leading zeros are accepted: "v01.7.0" is release v1.7.0, CI version v1.7.) */
#include "fuzz.h"

#include "images/release.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tag = fz_cstr(data, size);
	if (sv_release_tag_valid(tag)) {
		FZ_CHECK(!strchr(tag, '/') && strcmp(tag, ".") && strcmp(tag, ".."));
		FZ_CHECK(sv_release_tag_cmp(tag, tag) == 0);
		FZ_CHECK(sv_release_tag_cmp(tag, "v1.7.0") == -sv_release_tag_cmp("v1.7.0", tag));
		char *ci = NULL;
		FZ_CHECK(sv_release_ci_version(&ci, tag) == 0);
		FZ_CHECK(ci && ci[0] == 'v' && !strchr(ci, '/'));
		free(ci);
	}
	free(tag);
	return 0;
}
