/* The CLI's bridge to the library: the one manager an invocation uses, attaching
 * to a VM by id, and printing the library's JSON.
 *
 * The manager is made lazily (commands like `help` never need one) from the
 * global options, and released by main() through cli->release. Freeing the
 * manager stops only VMs this invocation started and did not detach; VMs that
 * were attached to (ps, stop, ...) are left as they are.
 */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void release_manager(cli_ctx *cli)
{
	sv_manager_free(cli->mgr);
	cli->mgr = NULL;
}

int cli_manager(cli_ctx *cli, sv_manager **out)
{
	*out = NULL;
	if (!cli->mgr) {
		cli->opts.data_dir = cli->data_dir;
		cli->opts.runtime_dir = cli->runtime_dir;
		int rc = sv_manager_new(&cli->mgr, &cli->opts);
		if (rc < 0)
			return cli_fail(rc);
		cli->release = release_manager;
	}
	*out = cli->mgr;
	return 0;
}

int cli_attach(cli_ctx *cli, const char *id, sv_vm **out)
{
	sv_manager *mgr;
	*out = NULL;
	int rc = cli_manager(cli, &mgr);
	if (rc)
		return rc;
	rc = sv_manager_attach_vm(out, mgr, id);
	if (rc == SV_ENOTFOUND)
		return cli_error(CLI_EXIT_FAILURE, "no VM with id \"%s\"", id);
	if (rc < 0)
		return cli_fail(rc);
	return 0;
}

/* "lastAccessedAt" -> "last_accessed_at"; other keys as they are. */
static char *snake_key(const char *key)
{
	size_t n = strlen(key), len = 0;
	char *out = malloc(2 * n + 1);
	for (size_t i = 0; out && i < n; i++) {
		char ch = key[i];
		if (ch >= 'A' && ch <= 'Z') {
			if (i && key[i - 1] != '_')
				out[len++] = '_';
			ch = (char)(ch - 'A' + 'a');
		}
		out[len++] = ch;
	}
	if (out)
		out[len] = '\0';
	return out;
}

/* v with every object key in snake_case, recursively, order kept. */
static json_t *snake_keys(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;
	if (json_is_array(v)) {
		json_t *arr = json_array();
		json_array_foreach(v, i, item) json_array_append_new(arr, snake_keys(item));
		return arr;
	}
	if (!json_is_object(v))
		return json_incref(v);
	json_t *o = json_object();
	json_object_foreach(v, key, item)
	{
		char *k = snake_key(key);
		if (k)
			json_object_set_new(o, k, snake_keys(item));
		free(k);
	}
	return o;
}

int cli_print_json_snake(const char *json_text)
{
	json_t *root = json_loads(json_text, JSON_DECODE_ANY, NULL);
	json_t *snake = root ? snake_keys(root) : NULL;
	char *text = snake ? json_dumps(snake, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
	json_decref(root);
	json_decref(snake);
	int code = cli_print_json_text(text ? text : json_text);
	free(text);
	return code;
}

int cli_print_json_text(const char *json_text)
{
	json_error_t jerr;
	json_t *root = json_loads(json_text, JSON_DECODE_ANY, &jerr);
	if (!root)
		return cli_error(CLI_EXIT_FAILURE, "the library returned malformed JSON: %s", jerr.text);
	int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(root);
	fputc('\n', stdout);
	return rc == 0 ? CLI_EXIT_OK : cli_error(CLI_EXIT_FAILURE, "writing to stdout failed");
}

void cli_print_ids(cli_ctx *cli, char *const *ids, size_t n)
{
	if (!cli->json) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", ids[i]);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_string(ids[i]));
	json_dumpf(arr, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(arr);
}
