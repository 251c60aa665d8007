/* NULL-terminated string vectors (argument vectors, id lists). */
#ifndef SV_UTIL_STRV_H
#define SV_UTIL_STRV_H

#include <smartvm/common.h>
#include <stddef.h>

typedef struct {
	char **items;  /* NULL-terminated once anything was added */
	size_t len;
	size_t cap;
	int failed;    /* set on OOM; later pushes are ignored */
} sv_strv_builder;

/* Appends a copy of s / a formatted string. OOM is reported by sv_strv_finish. */
void sv_strv_push(sv_strv_builder *b, const char *s);
void sv_strv_pushf(sv_strv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the vector over (*out NULL-terminated) or frees it and returns SV_ENOMEM. */
int sv_strv_finish(sv_strv_builder *b, char ***out);

size_t sv_strv_len(char *const *strv);
/* Frees each string and the vector; NULL is fine. Also public API (declared
 * again in smartvm/manager.h, for the id lists the manager hands out), hence
 * SV_EXTERN here: util depends on no public header but the macros. */
SV_EXTERN void sv_strv_free(char **strv);

#endif
