/* `smartvm snapshot create ID DIR` and `smartvm snapshot restore DIR`: one
 * library call each (sv_vm_snapshot_create, sv_manager_restore_vm /
 * sv_manager_clone_vms). A restore without --detach stays in the foreground
 * until its VMs end; SIGINT/SIGTERM stop them. */
#include "cli_live.h"

#include <stdlib.h>
#include <string.h>

#define FOREGROUND_WAIT_MS 100

enum { OPT_DIFF = CLI_OPT_LONG_BASE, OPT_KEEP_PAUSED, OPT_ID, OPT_CLONES, OPT_DETACH, OPT_UFFD, OPT_PAUSED,
       OPT_TRACK, OPT_FC_BIN, OPT_VSOCK, OPT_CLOCK_REALTIME };

typedef struct {
	sv_snapshot_create_options create;
	sv_restore_options restore;
	uint32_t clones;
	bool detach;
} snap_flags;

static int on_opt(cli_ctx *cli, int opt, const char *arg, void *ctx)
{
	snap_flags *f = ctx;
	switch (opt) {
	case OPT_DIFF: f->create.type = SV_SNAPSHOT_DIFF; return 0;
	case OPT_KEEP_PAUSED: f->create.keep_paused = true; return 0;
	case OPT_ID: f->restore.id = arg; return 0;
	case OPT_CLONES: return cli_parse_u32(cli, "--clones", arg, 1, 1000, &f->clones);
	case 'd':
	case OPT_DETACH: f->detach = true; return 0;
	case OPT_UFFD:
		f->restore.mem_backend = SV_MEM_BACKEND_UFFD;
		f->restore.uffd_socket_path = arg;
		return 0;
	case OPT_PAUSED: f->restore.resume = SV_NO; return 0;
	case OPT_TRACK: f->restore.track_dirty_pages = true; return 0;
	case OPT_FC_BIN: cli->opts.firecracker_binary_path = arg; return 0;
	case OPT_VSOCK: f->restore.vsock_uds_path = arg; return 0;
	case OPT_CLOCK_REALTIME: f->restore.clock_realtime = true; return 0;
	}
	return 0;
}

static const struct option create_opts[] = {
	{"diff", no_argument, NULL, OPT_DIFF},
	{"keep-paused", no_argument, NULL, OPT_KEEP_PAUSED},
	{0},
};

static const struct option restore_opts[] = {
	{"id", required_argument, NULL, OPT_ID},
	{"clones", required_argument, NULL, OPT_CLONES},
	{"detach", no_argument, NULL, OPT_DETACH},
	{"uffd", required_argument, NULL, OPT_UFFD},
	{"paused", no_argument, NULL, OPT_PAUSED},
	{"track-dirty-pages", no_argument, NULL, OPT_TRACK},
	{"vsock", required_argument, NULL, OPT_VSOCK},
	{"clock-realtime", no_argument, NULL, OPT_CLOCK_REALTIME},
	{"firecracker-bin", required_argument, NULL, OPT_FC_BIN},
	{0},
};

static int do_create(cli_ctx *cli, int argc, char **argv)
{
	snap_flags f = {.create = SV_SNAPSHOT_CREATE_OPTIONS_INIT, .restore = SV_RESTORE_OPTIONS_INIT};
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, create_opts, on_opt, &f);
	if (rc >= 0 || (rc = cli_live_args(&p, 2, "ID DIR")))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	if ((rc = sv_vm_snapshot_create(vm, p.argv[p.optind + 1], &f.create)) < 0)
		return cli_fail(rc);
	if (cli->json)
		printf("{\"vm\": \"%s\", \"snapshot\": \"%s\"}\n", sv_vm_id(vm), p.argv[p.optind + 1]);
	else
		printf("%s\n", p.argv[p.optind + 1]);
	return CLI_EXIT_OK;
}

/* Waits until every VM ended, stopping them all on SIGINT/SIGTERM. */
static int foreground(sv_vm **vms, size_t n)
{
	int code = CLI_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		for (;;) {
			if (cli_stop_requested()) {
				for (size_t j = i; j < n; j++)
					if (sv_vm_stop(vms[j], -1) < 0 && sv_vm_get_state(vms[j]) != SV_VM_STOPPED)
						code = cli_fail(SV_EPROCESS);
				return code;
			}
			int rc = sv_vm_wait(vms[i], FOREGROUND_WAIT_MS);
			if (rc == SV_ETIMEOUT)
				continue;
			if (rc < 0)
				code = cli_fail(rc);
			else if (sv_vm_get_state(vms[i]) == SV_VM_ERROR)
				code = cli_error(CLI_EXIT_FAILURE, "VM \"%s\" ended in error", sv_vm_id(vms[i]));
			break;
		}
	}
	return code;
}

static int do_restore(cli_ctx *cli, int argc, char **argv)
{
	snap_flags f = {
	    .create = SV_SNAPSHOT_CREATE_OPTIONS_INIT, .restore = SV_RESTORE_OPTIONS_INIT, .clones = 1};
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, restore_opts, on_opt, &f);
	if (rc >= 0 || (rc = cli_live_args(&p, 1, "DIR")))
		return rc;
	sv_manager *mgr;
	if ((rc = cli_manager(cli, &mgr)))
		return rc;
	if (!f.detach)
		cli_catch_stop_signals();
	sv_vm **vms = NULL, *one = NULL;
	size_t n = f.clones;
	if (n == 1) {
		rc = sv_manager_restore_vm(&one, mgr, p.argv[p.optind], &f.restore);
		vms = &one;
	} else {
		rc = sv_manager_clone_vms(&vms, mgr, p.argv[p.optind], n, &f.restore);
	}
	if (rc < 0)
		return cli_fail(rc);
	int code = CLI_EXIT_OK;
	if (f.detach) {
		for (size_t i = 0; i < n && !code; i++)
			if ((rc = sv_vm_detach(vms[i])) < 0)
				code = cli_fail(rc);
		if (!code && cli->json) {
			printf("[");
			for (size_t i = 0; i < n; i++)
				printf("%s\"%s\"", i ? ", " : "", sv_vm_id(vms[i]));
			printf("]\n");
		} else if (!code) {
			for (size_t i = 0; i < n; i++)
				printf("%s\n", sv_vm_id(vms[i]));
		}
	} else {
		code = foreground(vms, n);
	}
	if (vms != &one)
		free(vms);
	return code;
}

static int cmd_snapshot(cli_ctx *cli, int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			cli_print_help(cli->cmd, stdout);
			return CLI_EXIT_OK;
		}
		return cli_usage_error(cli, "missing subcommand: create or restore");
	}
	if (!strcmp(argv[1], "create"))
		return do_create(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "restore"))
		return do_restore(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "unknown subcommand \"%s\" (expected create or restore)", argv[1]);
}

const cli_command cli_snapshot_commands[] = {
    {
	.name = "snapshot",
	.summary = "Snapshot a VM, or restore / clone VMs from a snapshot",
	.usage = "create ID DIR [--diff] [--keep-paused]\n"
		 "restore DIR [--id NEW] [--clones N] [--detach] [--uffd SOCKET]\n"
		 " [--paused] [--track-dirty-pages] [--vsock PATH] [--clock-realtime]\n"
		 " [--firecracker-bin PATH]",
	.help = "create: pauses the VM, writes its snapshot into DIR (must not exist or be\n"
		"empty, yours and not writable by others): the VMM state, the guest memory,\n"
		"copies of the staged drives and snapshot.json (config, VMM version, arch,\n"
		"time, size and SHA-256 of every file), then resumes it. Other live\n"
		"operations on the VM wait until it is done.\n"
		"  --diff             a Diff snapshot (needs track_dirty_pages at boot); it\n"
		"                     holds only the memory written since the last snapshot\n"
		"                     and cannot be restored on its own\n"
		"  --keep-paused      leave the VM paused afterwards\n"
		"\n"
		"restore: DIR must be yours and not writable by others (a snapshot is trusted\n"
		"like a config file); reads only regular files in it, checks their sizes\n"
		"(the memory file against the VM's memory size) and checksums, the arch and\n"
		"VMM version, read-only drives as a config's, refuses Diff snapshots, starts\n"
		"a new VM from it in a fresh VMM (Firecracker: PUT /snapshot/load; QEMU: an\n"
		"incoming migration), with private copies of the drives and its own network\n"
		"devices and vsock socket.\n"
		"  --id NEW           the new VM's id (with --clones: the prefix, NEW-1, ...)\n"
		"  --clones N         restore N VMs (default 1)\n"
		"  -d, --detach       leave the VMs running and print their ids; otherwise\n"
		"                     stay in the foreground until they end (Ctrl-C stops them)\n"
		"  --uffd SOCKET      memory through a userfaultfd handler listening at SOCKET\n"
		"  --paused           leave the restored VMs paused\n"
		"  --track-dirty-pages  enable dirty page tracking (for Diff snapshots later)\n"
		"  --vsock PATH       the restored VM's vsock socket (default: in its runtime dir)\n"
		"  --clock-realtime   advance the guest clock by the time since the snapshot\n"
		"                     (Firecracker, x86_64; default: it resumes where it stopped)\n"
		"  --firecracker-bin PATH  the Firecracker binary to use\n"
		"\n"
		"Exits 1 if the snapshot is refused (changed or foreign file, other arch or\n"
		"VMM version, a Diff snapshot).\n",
	.handler = cmd_snapshot,
    },
    {0},
};
