/* Percent-encoding of record fields (see pct.h). */
#include "util/pct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sv_pct_encode(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c == '%' || c == 0x7f)
			o += sprintf(o, "%%%02X", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void sv_pct_decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		int hi, lo;
		if (*s == '%' && (hi = hex(s[1])) >= 0 && (lo = hex(s[2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}
