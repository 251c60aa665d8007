/* Firecracker release naming: tag validation, "latest" resolution through the
 * releases page's redirect, asset URLs, and the CI version (vMAJOR.MINOR) of a
 * tag. Owns nothing on disk. */
#ifndef SV_IMAGES_RELEASE_H
#define SV_IMAGES_RELEASE_H

#include "images/images_defaults.h"
#include <stdbool.h>

/* True for "vX.Y.Z" with decimal X, Y, Z. */
bool sv_release_tag_valid(const char *tag);

/* Compares two valid tags numerically (<0, 0, >0). */
int sv_release_tag_cmp(const char *a, const char *b);

/* version NULL or "latest": the tag <releases_url>/latest redirects to;
 * otherwise version itself, validated. *tag_out is malloc'd. */
int sv_release_resolve(char **tag_out, const sv_dl_config *c, const char *releases_url,
		       const char *version);

/* "v1.16.1" -> "v1.16". */
int sv_release_ci_version(char **ci_out, const char *tag);

#endif
