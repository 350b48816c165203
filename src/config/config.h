/*
 * config.h -- rdmsd.conf: `key = value` lines, `#` comments, no sections.
 *
 * One table in config.c lists every key with its type, default and the
 * member it fills; the parser, the defaults and rdmsd.conf(5) follow it.
 * Unknown keys, bad values and over-long lines are errors naming the file,
 * line and key -- a daemon must not start on a config it misread.
 */
#ifndef RDMS_CONFIG_H
#define RDMS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../cim/wbem.h"

#define RDMS_DEFAULT_CONFIG "/etc/rdms/rdmsd.conf"

typedef struct rdms_config {
	/* how sessions are described */
	char vm_name[256];          /* VMName; default: this host's name */
	char vm_host_name[256];     /* VMHostName; default: vm_name */
	char collection_id[256];    /* CollectionId; default "default" */
	char domain_name[256];      /* DomainName of local accounts; default: short host name */
	char admin_group[64];       /* default "rdms-admins" */
	char backends[128];         /* comma list; default "xrdp, x2go" */

	/* the xrdp back-end */
	char xrdp_sockdir[256];     /* default /run/xrdp/sockdir */
	char xrdp_log[256];         /* default "": the log the running xrdp writes (xrdp_logfile.h) */
	char proc_root[256];        /* default /proc (tests point it elsewhere) */
	int  logoff_grace_ms;       /* WM SIGTERM to X server SIGTERM; default 2000 */
	int  message_timeout_s;     /* how long a SendMessage dialog stays; default 60 */
	char fixture_file[256];     /* sessions for the fixture back-end (benchmarks, unit tests) */

	/* the X2Go back-end */
	char x2go_db[256];          /* session database; default /var/lib/x2go/x2go_sessions */
	char x2go_sqlconf[256];     /* its backend= file; default /etc/x2go/x2gosql/sql */
	char x2go_tmpdir[256];      /* root of the .x2go-USER session dirs; default /tmp */

	/* the daemon */
	char listen_address[64];    /* default 127.0.0.1 */
	char https_listen_address[64]; /* HTTPS; default "" = every address */
	int  http_port;             /* WS-Man over HTTP; default 5985, 0 = off */
	int  https_port;            /* WS-Man over HTTPS; default 5986, 0 = off */
	int  cimxml_http_port;      /* default 5988 */
	int  cimxml_https_port;     /* default 5989 */
	bool allow_remote_http;     /* serve plain HTTP beyond loopback; default false */
	char tls_cert[256];
	char tls_key[256];
	char socket_path[256];      /* default /run/rdms/rdmsd.sock */
	char audit_db[256];         /* default /var/lib/rdms/audit.db */
	char pam_service[64];       /* default "rdms" */
	char ntlm_users[256];       /* NT-hash store for Negotiate/NTLM; default
	                               /etc/rdms/ntlm-users, "" = Negotiate off */
	bool allow_unencrypted;     /* Negotiate over plain HTTP without WinRM message
	                               encryption; default false */
	int  max_envelope_size;     /* bytes; default 153600 (WinRM's default 150 KiB) */
	int  max_connections;       /* open connections per listener; default 128 */
	int  max_connections_per_ip; /* per client address and listener; default 32 */
	int  request_timeout_s;     /* to send a whole request; default 60 */
	int  idle_timeout_s;        /* a connection without traffic closes; default 60 */
	int  max_enumerations_per_user; /* open WS-Man enumeration contexts; default 32 */
	int  max_subscriptions_per_user; /* WS-Eventing subscriptions of one user; default 1000 */
	int  max_subscriptions;         /* of all users; default 10000 */
	int  session_cache_ms;      /* rdmsd: reads may use a snapshot this old; 0 = none; default 500 */
	int  enumeration_timeout_s; /* enumeration contexts expire; default 60 */

	/* session events (feed.h, watch.h, hooks.h) */
	char events_db[256];        /* the change feed on disk; default "": events.db beside audit_db */
	int  events_resync_s;       /* the safety rescan; default 30 */
	char hooks_dir[256];        /* default /etc/rdms/hooks.d */
	char hooks_as_session_user[128]; /* reasons whose hooks run as the session's user; default "" */
	int  hook_timeout_s;        /* a hook is killed after; default 30 */
	int  hook_max_running;      /* hooks running at once; default 4 */

	/* the fleet, on a host (spec/fleet.md 3.2): brokers are let in by certificate */
	char fleet_ca[256];         /* CA bundle for brokers' client certificates; "" = none */
	char fleet_brokers[1024];   /* allowed brokers, comma-separated: subject names or SHA256: fingerprints */

	/* the fleet, on a broker (spec/fleet.md 3; interface.md "Fleet") */
	char role[16];              /* "host" (the default) or "broker" */
	char store[16];             /* the session directory: "sqlite" (default) or "postgresql" */
	char store_path[256];       /* SQLite file; default /var/lib/rdms/fleet.db */
	char store_dsn[1024];       /* PostgreSQL: a libpq connection string */
	char fleet_cert[256];       /* the broker's client certificate and key, to reach hosts */
	char fleet_key[256];
	char broker_name[256];      /* Win32_RDSHServer.ConnectionBroker; default the host name */
	int  forward_timeout_s;     /* a forwarded method's deadline; default 10 */
	int  forward_keep_s;        /* how long a forwarded call is remembered; default a day */
} rdms_config;

/* True when CFG makes rdmsd a fleet broker. */
bool rdms_config_is_broker(const rdms_config *cfg);
/* Where a broker's directory is: store_dsn for PostgreSQL, else store_path. */
const char *rdms_config_store_target(const rdms_config *cfg);

/* Fills CFG with the defaults (host names looked up now). */
void rdms_config_defaults(rdms_config *cfg);

/*
 * Reads PATH over the defaults in CFG.  A missing file is an error only when
 * REQUIRED.  Errors: WBEM_E_INVALID_PARAMETER with "PATH:LINE: ...".
 */
uint32_t rdms_config_load(rdms_config *cfg, const char *path, bool required,
                          rdms_error *err);
/* Parses TEXT (LEN bytes) as config; NAME labels errors. */
uint32_t rdms_config_parse(rdms_config *cfg, const char *text, size_t len,
                           const char *name, rdms_error *err);

/*
 * A fingerprint of rdms_config's layout (every key's name, type, offset,
 * size and range, and the struct's size): two programs agree on it only
 * when they would read the same bytes the same way.
 */
uint64_t rdms_config_layout(void);

/*
 * True when every string of CFG ends within its array and every integer is
 * in its key's range: a config that came from elsewhere in memory (rdmsd's
 * handoff to its network process) is as sound as a parsed one.
 */
bool rdms_config_valid(const rdms_config *cfg);

/* True when back-end NAME is listed in cfg->backends. */
bool rdms_config_backend_enabled(const rdms_config *cfg, const char *name);

#endif
