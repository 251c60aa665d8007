/* HTTP(S) transfers for the images module, over libcurl: retries with
 * exponential backoff on 5xx, dropped connections and timeouts; connect and
 * low-speed timeouts; bounded redirects; TLS verification always on; http and
 * https only. Progress of file downloads goes to the config's callback.
 *
 * Errors read "downloading <url>: <why>". Never leaves a partial file: file
 * downloads go through the verifier (verify.h). */
#ifndef SV_IMAGES_DOWNLOAD_H
#define SV_IMAGES_DOWNLOAD_H

#include "images/images_defaults.h"
#include <stddef.h>
#include <stdint.h>

/* Downloads url to final_path (renamed into place only once verified).
 * expected_sha256 NULL = not checked; expected_size < 0 = not checked.
 * sha256_out / size_out (may be NULL) get what was received. */
int sv_download_file(const sv_dl_config *c, const char *url, const char *final_path,
		     const char *expected_sha256, int64_t expected_size, char sha256_out[65],
		     uint64_t *size_out);

/* Downloads a small document (at most max_bytes) into a NUL-terminated
 * malloc'd buffer. */
int sv_download_memory(const sv_dl_config *c, const char *url, size_t max_bytes, char **out,
		       size_t *len_out);

/* Requests url without following redirects and returns the absolute target
 * of the redirect it answers with (malloc'd). Anything but a 3xx is an error. */
int sv_http_redirect_target(const sv_dl_config *c, const char *url, char **location_out);

#endif
