/* Fuzzes the S3 ListObjectsV2 reader (src/images/ci_listing.c): the listing
 * comes from the network. Every page is parsed, then the kernel and root
 * filesystem are picked from what it listed; picked indexes must be in range. */
#include "fuzz.h"

#include "images/ci_listing.h"

#define PREFIX "firecracker-ci/v1.16/x86_64/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sv_ci_objects objs = {0};
	char *token = NULL;
	const char *url = "https://s3.fuzz.invalid/?list-type=2&prefix=" PREFIX;
	if (sv_ci_parse_page(&objs, &token, (const char *)data, size, url) == 0) {
		size_t kernel = 0, rootfs = 0;
		sv_rootfs_type type;
		if (sv_ci_pick(&kernel, &rootfs, &type, &objs, PREFIX, url) == 0) {
			FZ_CHECK(kernel < objs.n);
			FZ_CHECK(rootfs < objs.n);
		}
	}
	free(token);
	sv_ci_objects_clear(&objs);
	return 0;
}
