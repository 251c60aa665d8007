/* Growable NULL-terminated string vectors. */
#include "util/strv.h"

#include "util/array.h"
#include "util/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push_owned(sv_strv_builder *b, char *s)
{
	if (b->failed || !s) {
		free(s);
		b->failed = 1;
		return;
	}
	/* room for s and the NULL after it */
	char **items = sv_array_grow(b->items, &b->cap, b->len + 1, sizeof(*items), 8);
	if (!items) {
		free(s);
		b->failed = 1;
		return;
	}
	b->items = items;
	b->items[b->len++] = s;
	b->items[b->len] = NULL;
}

void sv_strv_push(sv_strv_builder *b, const char *s)
{
	push_owned(b, s ? strdup(s) : NULL);
}

void sv_strv_pushf(sv_strv_builder *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	push_owned(b, s);
}

int sv_strv_finish(sv_strv_builder *b, char ***out)
{
	if (b->failed) {
		sv_strv_free(b->items);
		*b = (sv_strv_builder){ 0 };
		*out = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	if (!b->items) {
		b->items = calloc(1, sizeof(char *));
		if (!b->items)
			return sv_err(SV_ENOMEM, "out of memory");
	}
	*out = b->items;
	*b = (sv_strv_builder){ 0 };
	return 0;
}

size_t sv_strv_len(char *const *strv)
{
	size_t n = 0;
	while (strv && strv[n])
		n++;
	return n;
}

void sv_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **p = strv; *p; p++)
		free(*p);
	free(strv);
}
