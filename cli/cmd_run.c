/* `smartvm run`: build a VM config from a config file and/or flags, start the
 * VM, then either detach (print its id) or stay in the foreground streaming its
 * console until it ends.
 *
 * The config is assembled as a shallow sv_vm_config whose strings point into
 * argv and into the loaded config; the library deep-copies it in
 * sv_manager_create_vm, so nothing here outlives the call but the VM handle.
 * Invariant: a foreground run never returns while its VM is still running —
 * SIGINT/SIGTERM stop it gracefully, and main() frees the manager, which
 * cleans up anything the library still owns.
 */
#include "cli.h"
#include "cmd_net.h"
#include "cmd_run.h"
#include "cli_console.h"
#include "cmd_run_agent.h"
#include "cmd_run_cmd.h"

#include <fcntl.h>
#include <smartvm/images.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long each sv_vm_wait in the foreground loop blocks: the latency of
 * console output and of reacting to SIGINT. */
#define FOREGROUND_WAIT_MS 100

#define DEFAULT_VCPUS 1
#define DEFAULT_MEM_MIB 128
#define ROOTFS_DRIVE_ID "rootfs"

enum {
	OPT_CONFIG = CLI_OPT_LONG_BASE,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_BOOT_ARGS,
	OPT_ROOTFS,
	OPT_DRIVE,
	OPT_VCPUS,
	OPT_MEM,
	OPT_ID,
	OPT_FC_BIN,
	OPT_DETACH,
	OPT_IMAGE,
	/* jailer */
	OPT_JAIL,
	OPT_UID,
	OPT_GID,
	OPT_JAILER,
	OPT_CHROOT_BASE,
};

static const struct option run_longopts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"boot-args", required_argument, NULL, OPT_BOOT_ARGS},
    {"rootfs", required_argument, NULL, OPT_ROOTFS},
    {"drive", required_argument, NULL, OPT_DRIVE},
    {"vcpus", required_argument, NULL, OPT_VCPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"id", required_argument, NULL, OPT_ID},
    {"name", required_argument, NULL, OPT_ID}, /* docker's word for it */
    {"firecracker-bin", required_argument, NULL, OPT_FC_BIN},
    {"detach", no_argument, NULL, 'd'},
    {"image", required_argument, NULL, OPT_IMAGE},
    /* jailer */
    {"jail", no_argument, NULL, OPT_JAIL},
    {"uid", required_argument, NULL, OPT_UID},
    {"gid", required_argument, NULL, OPT_GID},
    {"jailer", required_argument, NULL, OPT_JAILER},
    {"chroot-base", required_argument, NULL, OPT_CHROOT_BASE},
    /* networking (cmd_net.c) */
    CLI_RUN_NET_LONGOPTS,
    /* VMM choice (cmd_run_cmd.c) */
    CLI_RUN_VMM_LONGOPTS,
    /* -i / -t (cmd_run_agent.c) */
    CLI_RUN_AGENT_LONGOPTS,
    {0},
};

/* What the flags asked for. Strings point into argv (or, for drives, into
 * drive_specs, which own copies of the --drive arguments). */
typedef struct {
	const char *config_path;
	const char *kernel;
	const char *initrd;
	const char *boot_args;
	const char *rootfs;
	const char *id;
	const char *image; /* --image: a cached base-image bundle id */
	bool has_vcpus, has_mem, detach;
	uint32_t vcpus, mem_mib;
	bool jail; /* --jail and its flags (sv_jail_options) */
	uint32_t uid, gid;
	const char *jailer, *chroot_base;
	sv_drive_config *drives; /* from --drive, in order */
	char **drive_specs;	 /* the parsed copies the drives point into */
	size_t n_drives;
	cli_run_net net;     /* --net, --no-net, --bridge, --subnet, --egress-* */
	cli_run_cmd cmd;     /* `-- CMD` and --timeout (cmd_run_cmd.c) */
	cli_run_agent agent; /* -i, -t */
} run_flags;

static void run_flags_free(run_flags *f)
{
	for (size_t i = 0; i < f->n_drives; i++)
		free(f->drive_specs[i]);
	free(f->drive_specs);
	free(f->drives);
	cli_run_net_free(&f->net);
}

int cli_run_parse_drive(cli_ctx *cli, const char *arg, char *spec, sv_drive_config *d)
{
	*d = (sv_drive_config){0};
	for (char *save = NULL, *tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		if (strcmp(tok, "id") == 0 && eq)
			d->drive_id = eq;
		else if (strcmp(tok, "path") == 0 && eq)
			d->path_on_host = eq;
		else if (strcmp(tok, "ro") == 0 && !eq)
			d->is_read_only = true;
		else
			return cli_usage_error(cli,
					       "--drive \"%s\": unknown item \"%s%s%s\" (expected "
					       "id=ID, path=PATH or ro)",
					       arg, tok, eq ? "=" : "", eq ? eq : "");
	}
	if (!d->drive_id || !*d->drive_id)
		return cli_usage_error(cli, "--drive \"%s\": missing id=ID", arg);
	if (!d->path_on_host || !*d->path_on_host)
		return cli_usage_error(cli, "--drive \"%s\": missing path=PATH", arg);
	return 0;
}

static int add_drive(cli_ctx *cli, run_flags *f, const char *arg)
{
	sv_drive_config *drives = realloc(f->drives, (f->n_drives + 1) * sizeof(*drives));
	if (drives)
		f->drives = drives;
	char **specs = realloc(f->drive_specs, (f->n_drives + 1) * sizeof(*specs));
	if (specs)
		f->drive_specs = specs;
	char *spec = strdup(arg);
	if (!drives || !specs || !spec) {
		free(spec);
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	}
	f->drive_specs[f->n_drives] = spec;
	int rc = cli_run_parse_drive(cli, arg, spec, &f->drives[f->n_drives]);
	f->n_drives++; /* counted either way, so run_flags_free frees spec */
	return rc;
}

/* Returns -1 to go on, else the exit code. */
static int parse_run_flags(cli_ctx *cli, int argc, char **argv, run_flags *f)
{
	cli_opts p;
	int c, rc = 0;

	if ((rc = cli_run_split_command(cli, &argc, argv, &f->cmd.argv)))
		return rc;
	cli_opts_begin(&p, cli, argc, argv, "d" CLI_RUN_NET_SHORTOPTS CLI_RUN_AGENT_SHORTOPTS, run_longopts);
	while (rc == 0 && (c = cli_opts_next(&p)) > 0) {
		switch (c) {
		case OPT_CONFIG:
			f->config_path = p.optarg;
			break;
		case OPT_KERNEL:
			f->kernel = p.optarg;
			break;
		case OPT_INITRD:
			f->initrd = p.optarg;
			break;
		case OPT_BOOT_ARGS:
			f->boot_args = p.optarg;
			break;
		case OPT_ROOTFS:
			f->rootfs = p.optarg;
			break;
		case OPT_ID:
			f->id = p.optarg;
			break;
		case OPT_FC_BIN:
			cli->opts.firecracker_binary_path = p.optarg;
			break;
		case 'd':
			f->detach = true;
			break;
		case OPT_IMAGE:
			f->image = p.optarg;
			break;
		case OPT_DRIVE:
			rc = add_drive(cli, f, p.optarg);
			break;
		case OPT_VCPUS:
			f->has_vcpus = true;
			rc = cli_parse_u32(cli, "--vcpus", p.optarg, 1, 32, &f->vcpus);
			break;
		case OPT_MEM:
			f->has_mem = true;
			rc = cli_parse_u32(cli, "--mem", p.optarg, 1, UINT32_MAX, &f->mem_mib);
			break;
		/* jailer */
		case OPT_JAIL:
			f->jail = true;
			break;
		case OPT_UID:
			rc = cli_parse_u32(cli, "--uid", p.optarg, 1, UINT32_MAX - 1, &f->uid);
			break;
		case OPT_GID:
			rc = cli_parse_u32(cli, "--gid", p.optarg, 0, UINT32_MAX - 1, &f->gid);
			break;
		case OPT_JAILER:
			f->jailer = p.optarg;
			break;
		case OPT_CHROOT_BASE:
			f->chroot_base = p.optarg;
			break;
		default: /* only the VMM, agent and networking options are left */
			if ((rc = cli_run_vmm_option(cli, &f->cmd, c, p.optarg)) >= 0)
				break;
			if ((rc = cli_run_agent_option(&f->agent, c)) >= 0)
				break;
			if ((rc = cli_run_net_option(cli, &f->net, c, p.optarg)) < 0)
				rc = 0;
			break;
		}
	}
	if (rc)
		return rc;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if ((rc = cli_no_args(&p)))
		return rc;
	if (!f->config_path && !f->kernel && !f->image)
		return cli_usage_error(
		    cli, "either --config FILE, --kernel PATH or --image BUNDLE_ID is required");
	if (!f->jail && (f->uid || f->gid || f->jailer || f->chroot_base))
		return cli_usage_error(cli, "--uid, --gid, --jailer and --chroot-base need --jail");
	if (f->jail && !f->uid)
		return cli_usage_error(cli, "--jail needs --uid N (and --gid N): the VMM runs unprivileged");
	if (cli->json && !f->detach)
		return cli_usage_error(cli,
				       "--json needs --detach: a foreground run prints the VM's console, "
				       "not JSON");
	if ((rc = cli_run_command_check(cli, &f->cmd, f->detach)) ||
	    (rc = cli_run_agent_check(cli, &f->agent, f->cmd.argv != NULL, f->detach)))
		return rc;
	return -1;
}

/* Fills cfg from the loaded config (may be NULL) overridden by the flags.
 * *drives_out is the malloc'd drive array cfg points to. */
static int assemble_config(sv_vm_config *cfg, sv_drive_config **drives_out, const sv_vm_config *loaded,
			   const sv_base_image_bundle *image, const run_flags *f)
{
	/* --image: kernel, boot args, initrd and the root drive from the bundle;
	 * the flags below still override them. */
	sv_vm_config from_image = SV_VM_CONFIG_INIT;
	sv_drive_config image_root = {0};
	bool has_image_root = false;
	if (image) {
		int rc = sv_base_image_vm_config(&from_image, &image_root, image);
		if (rc < 0)
			return cli_fail(rc);
		has_image_root = !f->rootfs;
	}
	if (loaded) {
		*cfg = *loaded;
	} else {
		*cfg = (sv_vm_config)SV_VM_CONFIG_INIT;
		cfg->machine_config.vcpu_count = DEFAULT_VCPUS;
		cfg->machine_config.mem_size_mib = DEFAULT_MEM_MIB;
	}
	if (image) {
		cfg->base_image = from_image.base_image;
		cfg->boot_source = from_image.boot_source;
	}
	if (f->id)
		cfg->id = f->id;
	if (f->kernel)
		cfg->boot_source.kernel_image_path = f->kernel;
	if (f->initrd)
		cfg->boot_source.initrd_path = f->initrd;
	if (f->boot_args)
		cfg->boot_source.boot_args = f->boot_args;
	if (f->has_vcpus)
		cfg->machine_config.vcpu_count = f->vcpus;
	if (f->has_mem)
		cfg->machine_config.mem_size_mib = f->mem_mib;

	/* Drives: the file's, then the image's root (or --rootfs), then each --drive. */
	size_t n = cfg->n_drives + (f->rootfs ? 1 : 0) + (has_image_root ? 1 : 0) + f->n_drives;
	sv_drive_config *drives = calloc(n ? n : 1, sizeof(*drives));
	if (!drives)
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	size_t i = 0;
	for (size_t j = 0; j < cfg->n_drives; j++)
		drives[i++] = cfg->drives[j];
	if (has_image_root)
		drives[i++] = image_root;
	if (f->rootfs)
		drives[i++] = (sv_drive_config){
		    .drive_id = ROOTFS_DRIVE_ID,
		    .path_on_host = f->rootfs,
		    .is_root_device = true,
		};
	for (size_t j = 0; j < f->n_drives; j++)
		drives[i++] = f->drives[j];
	cfg->drives = drives;
	cfg->n_drives = n;
	*drives_out = drives;
	return 0;
}

/* Prints what the console has gained since the last call (cli_console.c). */
static void pump_console(cli_console *con)
{
	(void)cli_console_pump(con, false); /* a closed stdout must not stop the VM */
}

/* The exit code for a VM that has ended (state stopped or error). */
static int ended_code(sv_vm *vm)
{
	if (sv_vm_get_state(vm) != SV_VM_ERROR)
		return CLI_EXIT_OK;
	/* Why it ended is part of the description of a VM that is no longer live. */
	char *text = NULL;
	json_t *desc = sv_vm_describe(vm, &text) == 0 ? json_loads(text, 0, NULL) : NULL;
	const char *why = json_string_value(json_object_get(desc, "end_reason"));
	int code = why && *why
		       ? cli_error(CLI_EXIT_FAILURE, "VM \"%s\" ended in error: %s", sv_vm_id(vm), why)
		       : cli_error(CLI_EXIT_FAILURE, "VM \"%s\" ended in error", sv_vm_id(vm));
	json_decref(desc);
	free(text);
	return code;
}

/* Streams the console until the VM ends or a stop signal stops it. */
static int run_foreground(sv_vm *vm)
{
	int rc, code;
	cli_console con;
	cli_console_init(&con, sv_vm_console_path(vm));

	for (;;) {
		pump_console(&con);
		if (cli_stop_requested()) {
			/* Stopped by us: the shell's code for the signal, like any
			 * foreground program it ended (130 for Ctrl-C). */
			rc = sv_vm_stop(vm, -1);
			pump_console(&con);
			code = rc < 0 ? cli_fail(rc) : cli_stop_exit_code();
			break;
		}
		rc = sv_vm_wait(vm, FOREGROUND_WAIT_MS);
		if (rc == SV_ETIMEOUT)
			continue;
		pump_console(&con);
		code = rc < 0 ? cli_fail(rc) : ended_code(vm);
		break;
	}
	cli_console_close(&con);
	return code;
}

static int print_detached(cli_ctx *cli, sv_vm *vm)
{
	if (!cli->json) {
		printf("%s\n", sv_vm_id(vm));
		return CLI_EXIT_OK;
	}
	char *desc = NULL;
	int rc = sv_vm_describe(vm, &desc);
	if (rc < 0)
		return cli_fail(rc);
	int code = cli_print_json_text(desc);
	free(desc);
	return code;
}

static int cmd_run(cli_ctx *cli, int argc, char **argv)
{
	run_flags f = {0};
	sv_vm_config *loaded = NULL, cfg;
	sv_base_image_bundle *image = NULL;
	sv_drive_config *drives = NULL;
	sv_manager *mgr;
	sv_vm *vm = NULL;
	int rc, code;

	code = parse_run_flags(cli, argc, argv, &f);
	if (code >= 0)
		goto out;

	/* A config file that can't be read or parsed is a configuration error. */
	if (f.config_path && (rc = sv_vm_config_load(&loaded, SV_VM_CONFIG_VERSION, f.config_path)) < 0) {
		cli_fail(rc);
		code = CLI_EXIT_USAGE;
		goto out;
	}
	if (f.image) {
		sv_base_image_options io = {
		    .version = SV_BASE_IMAGE_OPTIONS_VERSION,
		    .data_dir = cli->data_dir,
		    .runtime_dir = cli->runtime_dir,
		    .cache_dir = cli->opts.base_image_cache_dir,
		};
		if ((rc = sv_base_image_open(&image, &io, f.image)) < 0) {
			code = cli_fail(rc);
			goto out;
		}
	}
	if ((code = assemble_config(&cfg, &drives, loaded, image, &f)) ||
	    (code = cli_run_net_apply(cli, &f.net, &cfg)))
		goto out;
	/* Checked here, before anything is created, so every rule violation is
	 * reported as a configuration error naming its field. */
	if ((rc = sv_vm_config_validate(&cfg)) < 0) {
		cli_fail(rc);
		code = CLI_EXIT_USAGE;
		goto out;
	}

	if ((code = cli_manager(cli, &mgr)))
		goto out;
	if ((rc = sv_manager_create_vm(&vm, mgr, &cfg)) < 0) {
		code = cli_fail(rc);
		goto out;
	}
	/* jailer: the jailer binary is --jailer, $SMARTVM_JAILER, or "jailer"
	 * next to the Firecracker binary. */
	if (f.jail) {
		char *beside = NULL;
		const char *jailer = f.jailer ? f.jailer : getenv("SMARTVM_JAILER");
		const char *fc = cli->opts.firecracker_binary_path;
		if (!jailer && fc &&
		    asprintf(&beside, "%.*s/jailer", (int)(strrchr(fc, '/') ? strrchr(fc, '/') - fc : 1),
			     strrchr(fc, '/') ? fc : ".") > 0)
			jailer = beside;
		sv_jail_options jo = {.version = SV_JAIL_OPTIONS_VERSION,
				      .jailer_binary = jailer,
				      .uid = f.uid,
				      .gid = f.gid,
				      .chroot_base_dir = f.chroot_base,
				      .cgroup_root = getenv("SMARTVM_CGROUP_ROOT")};
		rc = sv_vm_set_jail(vm, &jo);
		free(beside);
		if (rc < 0) {
			code = cli_fail(rc);
			goto out;
		}
	}
	if ((code = cli_run_set_command(vm, &f.cmd, f.detach)))
		goto out;
	/* In the foreground the command goes through the agent when the image
	 * has one (cmd_run_agent.c). */
	if (f.cmd.argv && !f.detach && (code = cli_run_agent_prepare(vm)))
		goto out;
	/* A detached VM without a command is a sandbox: an init with the agent
	 * keeps it up for exec and cp instead of running its default command. */
	if (!f.cmd.argv && f.detach && (code = cli_run_agent_prepare(vm)))
		goto out;
	/* Before start: a Ctrl-C while it boots must still stop the VM. */
	if (!f.detach)
		cli_catch_stop_signals();
	if ((rc = sv_vm_start(vm)) < 0) {
		code = cli_fail(rc);
		goto out;
	}

	if (f.detach) {
		if ((rc = sv_vm_detach(vm)) < 0) {
			code = cli_fail(rc);
			goto out;
		}
		code = print_detached(cli, vm);
	} else {
		code = f.cmd.argv ? cli_run_agent_foreground(vm, &f.cmd, &f.agent) : run_foreground(vm);
	}
out:
	free(drives);
	sv_base_image_bundle_free(image);
	sv_vm_config_free(loaded);
	run_flags_free(&f);
	return code;
}

const cli_command cli_run_commands[] = {
    {
	.name = "run",
	.summary = "Create and start a VM",
	.usage = "--config FILE [OPTIONS]\n"
		 "--kernel PATH [--initrd PATH] [--boot-args S] [--rootfs PATH]\n"
		 "--image BUNDLE_ID [OPTIONS]\n"
		 " [--drive id=ID,path=P[,ro]]... [--vcpus N] [--mem MIB]\n"
		 " [--id ID] [--firecracker-bin PATH] [--detach] [--json]\n"
		 " [--jail --uid N --gid N [--jailer PATH] [--chroot-base DIR]]\n" CLI_RUN_NET_USAGE
		 "\n" CLI_RUN_VMM_USAGE CLI_RUN_AGENT_USAGE,
	.help =
	    "Creates a VM from a Firecracker config file or from flags, starts it,\n"
	    "and then either stays in the foreground printing its console until it\n"
	    "ends, or (--detach) leaves it running and prints its id.\n"
	    "\n"
	    "In the foreground, SIGINT/SIGTERM (Ctrl-C) stop the VM gracefully and\n"
	    "clean up, and the exit code is 128+N for signal N (130 for Ctrl-C);\n"
	    "else it is 0 if the VM stopped normally and 1 if it ended in error. On\n"
	    "a terminal the console's control characters and bytes >= 0x80 are\n"
	    "shown as \\xNN (the guest chose them). With `-- CMD`,\n"
	    "only CMD's output is printed, exactly, and the exit code is CMD's\n"
	    "(126/127 when it could not run, 128+N after signal N). On an image\n"
	    "with the guest agent, CMD runs through it: its stdout and stderr stay\n"
	    "apart, -i passes stdin, -t gives it a terminal, SIGINT/SIGTERM go to\n"
	    "CMD, and the VM is stopped when CMD ends.\n"
	    "\n"
	    "Options:\n"
	    "  --config FILE      Firecracker's --config-file JSON (boot-source,\n"
	    "                     machine-config, drives, network-interfaces, vsock,\n"
	    "                     balloon, mmds-config, logger, metrics, entropy);\n"
	    "                     the flags below override or extend it. Relative\n"
	    "                     paths in it are taken from the file's directory\n"
	    "                     (those of flags: from the current directory)\n"
	    "  --kernel PATH      kernel image (required without --config or --image)\n"
	    "  --image BUNDLE_ID  boot a cached base image ('smartvm image pull'):\n"
	    "                     its kernel, boot args, initrd and root drive\n"
	    "                     (read-only if the bundle says so)\n"
	    "  --initrd PATH      initrd image (default: none)\n"
	    "  --boot-args S      kernel command line (default: the VMM's)\n"
	    "  --rootfs PATH      add a writable root drive with id \"rootfs\"\n"
	    "  --drive id=ID,path=P[,ro]\n"
	    "                     add a drive (repeatable); \"ro\" makes it read-only\n"
	    "  --vcpus N          vCPU count, 1-32 (default 1)\n"
	    "  --mem MIB          memory in MiB (default 128)\n"
	    "  --id ID            VM id, [A-Za-z0-9_-] not starting with -, at most 64\n"
	    "                     bytes (default: generated); --name ID is the same\n"
	    "  --firecracker-bin PATH\n"
	    "                     the Firecracker binary to use (default: the\n"
	    "                     configured version, downloaded if needed)\n"
	    "  -d, --detach       leave the VM running in the background and print\n"
	    "                     its id; with -- CMD, CMD gets the serial console as\n"
	    "                     its terminal ('smartvm attach ID' reaches it); once\n"
	    "                     it ends, it stays in 'smartvm ps -a' with its exit\n"
	    "                     status (the command's, with -- CMD; 'smartvm wait'\n"
	    "                     prints it) until 'smartvm rm'\n"
	    "  --json             with --detach, print the VM's description as JSON\n"
	    "                     (as 'smartvm inspect --json') instead of its id;\n"
	    "                     without --detach it is a usage error\n"
	    "\n"
	    "  --jail             launch Firecracker through its jailer: chroot under\n"
	    "                     --chroot-base (default <runtime dir>/.jail), the\n"
	    "                     host's cgroup layout (v1 or v2), running as\n"
	    "                     --uid/--gid (required with --jail)\n"
	    "  --jailer PATH      the jailer binary (default $SMARTVM_JAILER, else\n"
	    "                     \"jailer\" next to --firecracker-bin)\n" CLI_RUN_NET_HELP CLI_RUN_VMM_HELP
		CLI_RUN_AGENT_HELP "\n"
	    "Writable drives are staged as private copies in the VM's runtime\n"
	    "directory; the originals are never written.\n"
	    "\n"
	    "Exits 2 if the configuration is invalid (the message names the field),\n"
	    "1 if starting the VM fails or it ends in error, 124 if --timeout passed.\n",
	.handler = cmd_run,
    },
    {0},
};
