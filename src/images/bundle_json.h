/* bundle.json: the seed's IBaseImageBundle as JSON (same keys), plus the
 * initrd fields. Reading trusts the directory the file is in over the paths
 * recorded in it, so a moved cache still resolves. Pure apart from the file
 * read/write. */
#ifndef SV_IMAGES_BUNDLE_JSON_H
#define SV_IMAGES_BUNDLE_JSON_H

#include <smartvm/images.h>

/* JSON text of b (malloc'd). */
int sv_bundle_to_json(char **out, const sv_base_image_bundle *b);

/* Reads <bundle_dir>/bundle.json. SV_ENOTFOUND if absent, SV_EINVAL if
 * malformed or if a file it names is missing. */
int sv_bundle_load(sv_base_image_bundle **out, const char *bundle_dir);

/* Writes <bundle_dir>/bundle.json atomically. */
int sv_bundle_save(const sv_base_image_bundle *b, const char *bundle_dir);

#endif
