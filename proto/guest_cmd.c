/* base64url argv codec for smartvm.cmd= (see guest_cmd.h). Pure libc: it is
 * linked into the static guest init as well as the host side. */
#include "guest_cmd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int sextet(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

char *sv_guest_cmd_encode(const char *const *argv)
{
	if (!argv || !argv[0])
		return NULL;
	size_t raw_len = 0;
	for (size_t i = 0; argv[i]; i++)
		raw_len += strlen(argv[i]) + 1;
	unsigned char *raw = malloc(raw_len);
	char *out = malloc((raw_len + 2) / 3 * 4 + 1);
	if (!raw || !out) {
		free(raw);
		free(out);
		return NULL;
	}
	size_t off = 0;
	for (size_t i = 0; argv[i]; i++) {
		size_t n = strlen(argv[i]) + 1;
		memcpy(raw + off, argv[i], n);
		off += n;
	}
	char *p = out;
	for (size_t i = 0; i < raw_len; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		size_t left = raw_len - i;
		if (left > 1)
			v |= (uint32_t)raw[i + 1] << 8;
		if (left > 2)
			v |= raw[i + 2];
		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		if (left > 1)
			*p++ = alphabet[(v >> 6) & 63];
		if (left > 2)
			*p++ = alphabet[v & 63];
	}
	*p = '\0';
	free(raw);
	return out;
}

int sv_guest_cmd_decode(const char *text, char ***argv_out)
{
	*argv_out = NULL;
	size_t len = strlen(text);
	if (len % 4 == 1)
		return -1;
	size_t raw_len = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (raw_len == 0)
		return -1;
	unsigned char *raw = malloc(raw_len);
	if (!raw)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		size_t chunk = len - i < 4 ? len - i : 4;
		for (size_t k = 0; k < 4; k++) {
			int s = k < chunk ? sextet(text[i + k]) : 0;
			if (s < 0) {
				free(raw);
				return -1;
			}
			v = v << 6 | (uint32_t)s;
		}
		for (size_t k = 0; k + 1 < chunk; k++)
			raw[o++] = (unsigned char)(v >> (16 - 8 * k));
	}
	if (raw[raw_len - 1] != '\0') {
		free(raw);
		return -1;
	}
	size_t argc = 0;
	for (size_t i = 0; i < raw_len; i++)
		argc += raw[i] == '\0';
	char **argv = malloc((argc + 1) * sizeof(char *) + raw_len);
	if (!argv) {
		free(raw);
		return -1;
	}
	char *strings = (char *)(argv + argc + 1);
	memcpy(strings, raw, raw_len);
	free(raw);
	size_t a = 0;
	for (size_t i = 0; i < raw_len; i += strlen(strings + i) + 1)
		argv[a++] = strings + i;
	argv[a] = NULL;
	*argv_out = argv;
	return 0;
}
