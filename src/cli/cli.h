/*
 * cli.h -- the `rdms` command: its options, the two ways it reaches the
 * sessions (in-process back-ends with --direct, or rdmsd over WS-Man), and
 * the commands and printers.
 */
#ifndef RDMS_CLI_H
#define RDMS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "../client/client.h"
#include "../config/config.h"
#include "../ops/ops.h"

/* Exit status: 0 success, 1 the operation failed, 2 bad usage. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

typedef struct cli_options {
	const char *command;
	const char *config_path;
	bool        config_given;
	bool        direct;
	bool        json;
	bool        mof;
	bool        help;
	bool        debug;
	const char *host_url;
	const char *user;
	bool        insecure;
	const char *title;
	const char *message;
	rdms_message_options msg_opts;   /* rdms message --timeout, --wait */
	const char *since;      /* rdms audit: a time; rdms watch: a bookmark */
	const char *query;      /* rdms watch --query */
	const char *events;     /* rdms watch --event */
	const char *fingerprint; /* rdms fleet host add --fingerprint */
	const char *domain;     /* rdms user set --domain */
	size_t      first;      /* rdms list/query --first N: a page of N (0: everything) */
	bool        after_given; /* --after HOST,ID: the page starts after that session */
	rdms_key    after;
	const char *args[4];    /* positional arguments after the command */
	int         nargs;
} cli_options;

typedef struct cli_ctx {
	cli_options    opt;
	rdms_config    cfg;
	rdms_provider  provider;   /* --direct */
	rdms_caller    caller;     /* --direct */
	rdms_client   *client;     /* otherwise */
	rdms_client_options client_opt;   /* how CLIENT was made (another thread makes its own) */
	char          *password;
} cli_ctx;

/* What a command's positional argument is, checked while parsing. */
typedef enum { CLI_ARG_NONE, CLI_ARG_TARGET /* ID|PATH */, CLI_ARG_WQL } cli_arg_kind;

typedef struct cli_command {
	const char  *name;
	const char  *usage;      /* arguments after the name */
	const char  *summary;    /* one line, for `rdms --help` */
	const char  *details;    /* what it does, for `rdms NAME --help` */
	const char  *example;    /* a command line, shown by `rdms NAME --help` */
	const char  *windows;    /* the Windows tool it stands for, or NULL */
	int          min_args, max_args;
	cli_arg_kind arg;
	bool         needs_sessions;
	int        (*run)(cli_ctx *ctx);
} cli_command;

/* cli_args.c: parses argv into OPT; on error prints one line and returns CLI_USAGE. */
int cli_parse_args(int argc, char **argv, cli_options *opt);
const cli_command *cli_find_command(const char *name);
extern const cli_command cli_commands[];
void cli_print_help(FILE *f, const cli_command *cmd);

/* True when `rdms audit` reads the database file itself (--direct, or root without rdmsd). */
bool cli_audit_local(const cli_ctx *ctx);

/* ARG is all digits: a SessionId, not a path or a user name. */
bool cli_is_id(const char *arg);
/* A SessionId that fits uint32, or WBEM_E_INVALID_OBJECT_PATH. */
uint32_t cli_id_in_range(const char *arg, rdms_error *err);

/* Prints "rdms: NAME (0xCODE): message" for ERR and returns CLI_FAILED. */
int cli_report(const rdms_error *err);
/* The same line for a usage error, with a pointer to --help; returns CLI_USAGE. */
int cli_report_usage(const rdms_error *err);

/* cli_commands.c: the sessions (all the caller may see), and ID|PATH as an object path. */
uint32_t cli_enumerate(cli_ctx *ctx, cim_instance_list *out, rdms_error *err);
uint32_t cli_target_path(cli_ctx *ctx, const char *arg, cim_path *path, rdms_error *err);
/*
 * METHOD on the session PATH (PATH_TEXT is what --direct's audit records):
 * in-process with --direct, else over CLIENT (rdmsd or --host); MOPT may be
 * NULL.  As rdms_op_invoke_opts: HRESULT-level result, ReturnValue in *RV.
 */
uint32_t cli_invoke(cli_ctx *ctx, rdms_client *client, const cim_path *path,
                    const char *path_text, const char *method, const rdms_param *in,
                    size_t nin, const rdms_message_options *mopt, uint32_t *rv,
                    rdms_error *err);

/* cli_message.c: `rdms message` to one session, a user's sessions or all. */
int cli_cmd_message(cli_ctx *ctx);

/* cli_watch.c: `rdms watch`, and its options checked before anything is asked. */
uint32_t cli_watch_check(const cli_options *o, rdms_error *err);
int cli_cmd_watch(cli_ctx *ctx);

/* cli_fleet.c: `rdms fleet`, and its arguments checked before anything is opened. */
uint32_t cli_fleet_check(const cli_options *o, rdms_error *err);
int cli_cmd_fleet(cli_ctx *ctx);

/* cli_user.c: rdms user set|remove|list (the NT-hash store, root only). */
uint32_t cli_user_check(const cli_options *o, rdms_error *err);
int cli_cmd_user(cli_ctx *ctx);
/* PROMPT on the terminal, a line read back without echo (malloc'd); NULL: no terminal. */
char *cli_tty_secret(const char *prompt);

/* cli_output.c */
void cli_print_table(FILE *f, const cim_instance_list *l, const wql_query *q);
void cli_print_json_list(FILE *f, const cim_instance_list *l, const wql_query *q);
void cli_print_json_instance(FILE *f, const cim_instance *inst, const wql_query *q);
void cli_print_instance(FILE *f, const cim_instance *inst);
/* Property I of INST as the tables print it: ConnectState with its word, "0 (Active)". */
const char *cli_value_text(const cim_instance *inst, size_t i, char *buf, size_t size);
/* quser's IDLE TIME of a DMTF interval: ".", "5", "1:05", "2+03:04"; "-" unknown. */
void cli_idle_text(const cim_value *v, char *buf, size_t size);
/* LOGON TIME of a DMTF timestamp, local time "YYYY-MM-DD HH:MM"; "-" unknown. */
void cli_logon_text(const cim_value *v, char *buf, size_t size);
/* `rdms list`: the sessions L with their RDMS_SessionDetail DETAILS (may be NULL). */
void cli_print_sessions(FILE *f, const cim_instance_list *l, const cim_instance_list *details);
void cli_print_json_sessions(FILE *f, const cim_instance_list *l,
                             const cim_instance_list *details);
void cli_json_string(FILE *f, const char *s);

#endif
