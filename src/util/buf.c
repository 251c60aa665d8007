/* Growable NUL-terminated byte buffers (see buf.h). */
#include "util/buf.h"

#include "util/error.h"
#include <stdlib.h>
#include <string.h>

int sv_buf_append(sv_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->len + len + 1) * 2;
		char *nb = realloc(b->data, cap);
		if (!nb)
			return sv_err(SV_ENOMEM, "out of memory");
		b->data = nb;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void sv_buf_free(sv_buf *b)
{
	free(b->data);
	*b = (sv_buf){ 0 };
}
