/* A growable byte buffer, always NUL-terminated so text can be read in place
 * (it may also hold NUL bytes: len is the truth). */
#ifndef SV_UTIL_BUF_H
#define SV_UTIL_BUF_H

#include <stddef.h>

typedef struct {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
} sv_buf;

/* Appends len bytes; SV_ENOMEM (buffer unchanged) if it can't grow. */
int sv_buf_append(sv_buf *b, const void *data, size_t len);
void sv_buf_free(sv_buf *b);

#endif
