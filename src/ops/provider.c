/*
 * provider.c -- the table of class providers (provider.h), and the
 * Win32_VirtualDesktopSession provider: which back-ends serve this host,
 * and how a back-end session becomes a class instance.
 *
 * Property positions come from the generated schema_props.h, so a change of
 * the MOF that this mapping does not follow fails to compile.
 */
#include "provider.h"

#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../schema/schema.h"

void rdms_provider_init(rdms_provider *p, const rdms_config *cfg)
{
	memset(p, 0, sizeof *p);
	p->cfg = cfg;
	p->status = rdms_provider_status;
	p->status_ctx = p;
	if (rdms_config_is_broker(cfg))
		return;     /* a fleet broker's sessions are its hosts' (src/fleet) */
	for (size_t i = 0; rdms_backends[i] != NULL; i++) {
		const rdms_backend *b = rdms_backends[i];

		if (!rdms_config_backend_enabled(cfg, b->name))
			continue;
		if (b->available != NULL && !b->available(cfg)) {
			log_debug("back-end %s is enabled but not available here", b->name);
			continue;
		}
		if (p->nbackends + 1 < sizeof p->backends / sizeof p->backends[0])
			p->backends[p->nbackends++] = b;
	}
}

cim_instance *rdms_op_instance(const rdms_provider *p, const rdms_session *s)
{
	return rdms_session_instance(p->cfg, s);
}

const cim_class *rdms_session_class(void)
{
	return &rdms_class_Win32_VirtualDesktopSession;
}

/* At most this many bytes of a user or domain name (the old 256-byte buffers). */
#define NAME_MAX_BYTES 255

/* N bytes at P, clamped to NAME_MAX_BYTES. */
static void span(const char **text, size_t *len, const char *p, size_t n)
{
	*text = p;
	*len = n < NAME_MAX_BYTES ? n : NAME_MAX_BYTES;
}

/*
 * Splits an account name into the UserName and DomainName Windows would
 * show: user@REALM and DOMAIN\user carry their domain, a local account
 * gets the configured domain (the host's short name by default).  The
 * parts are spans of ACCOUNT (or DEFAULT_DOMAIN), not copies: the instance
 * copies them once.
 */
static void split_account(const char *account, const char *default_domain,
                          const char **user, size_t *ulen, const char **domain, size_t *dlen)
{
	size_t n = strlen(account);
	const char *bs = memchr(account, '\\', n);
	const char *at = memchr(account, '@', n);

	if (bs != NULL && bs != account && bs[1] != '\0') {
		span(user, ulen, bs + 1, n - (size_t)(bs + 1 - account));
		span(domain, dlen, account, (size_t)(bs - account));
	} else if (at != NULL && at != account && at[1] != '\0') {
		span(domain, dlen, at + 1, n - (size_t)(at + 1 - account));
		span(user, ulen, account, (size_t)(at - account));
	} else {
		span(user, ulen, account, n);
		span(domain, dlen, default_domain, strlen(default_domain));
	}
}

/* V, a NULL uint32 of a new instance, becomes X. */
static void set_u32(cim_value *v, uint32_t x)
{
	v->is_null = false;
	v->u.u32 = x;
}

/*
 * The instance and all its strings are one allocation (an enumeration of
 * 10,000 sessions would otherwise make 80,000 small ones), and each string
 * is copied once, from where it is, with its length measured once.
 */
cim_instance *rdms_session_instance(const rdms_config *cfg, const rdms_session *s)
{
	enum {
		P_HOST = RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME,
		P_VM = RDMS_WIN32_VIRTUALDESKTOPSESSION_VMNAME,
		P_USER = RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME,
		P_DOMAIN = RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME,
		P_COLLECTION = RDMS_WIN32_VIRTUALDESKTOPSESSION_COLLECTIONID,
		P_CLIENT = RDMS_WIN32_VIRTUALDESKTOPSESSION_CLIENTMACHINENAME,
	};
	const char *text[RDMS_WIN32_VIRTUALDESKTOPSESSION_NPROPS] = { NULL };
	size_t len[RDMS_WIN32_VIRTUALDESKTOPSESSION_NPROPS] = { 0 };
	cim_instance *inst;

	split_account(s->user, cfg->domain_name, &text[P_USER], &len[P_USER], &text[P_DOMAIN],
	              &len[P_DOMAIN]);
	text[P_HOST] = cfg->vm_host_name;
	len[P_HOST] = strlen(cfg->vm_host_name);
	text[P_VM] = cfg->vm_name;
	len[P_VM] = strlen(cfg->vm_name);
	text[P_COLLECTION] = cfg->collection_id;
	len[P_COLLECTION] = strlen(cfg->collection_id);
	text[P_CLIENT] = s->client;
	len[P_CLIENT] = strlen(s->client);
	inst = cim_instance_new_packed_n(rdms_session_class(), text, len);
	if (inst == NULL)
		return NULL;
	set_u32(&inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID], s->id);
	set_u32(&inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE], s->connect_state);
	return inst;
}

size_t rdms_session_text_max(const rdms_config *cfg)
{
	rdms_session s;

	/* The account (user and domain are parts of it, or the domain is the
	 * default one) and the client, at their longest, and the config's. */
	return sizeof s.user + sizeof s.client + strlen(cfg->domain_name) +
	       strlen(cfg->vm_host_name) + strlen(cfg->vm_name) + strlen(cfg->collection_id);
}

/* ---- the class provider --------------------------------------------------- */

/* What stream_instance needs: the provider and the caller's function. */
struct stream {
	rdms_provider   *p;
	rdms_instance_fn fn;
	void            *ctx;
};

/* rdms_visible_fn: the instance of S to the front end's function. */
static uint32_t stream_instance(void *ctx, const rdms_session *s, size_t left, rdms_error *err)
{
	struct stream *st = ctx;
	cim_instance *inst = rdms_session_instance(st->p->cfg, s);

	if (inst == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return st->fn(st->ctx, inst, left, err);
}

/* One instance alive at a time: malloc hands the same block back each turn. */
static uint32_t sessions_each(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn,
                              void *ctx, rdms_error *err)
{
	struct stream st = { p, fn, ctx };

	return rdms_each_visible(p, who, stream_instance, &st, err);
}

static uint32_t sessions_get(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                             cim_instance **out, rdms_error *err)
{
	rdms_session s;
	uint32_t rc = rdms_resolve(p, who, path, rdms_session_class(), false, "Get", NULL, &s,
	                           err);

	if (rc != WBEM_S_NO_ERROR)
		return rc;
	*out = rdms_session_instance(p->cfg, &s);
	if (*out == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return WBEM_S_NO_ERROR;
}

const rdms_class_provider rdms_session_provider = {
	.cls = &rdms_class_Win32_VirtualDesktopSession, .each = sessions_each, .get = sessions_get,
};

const rdms_class_provider *const rdms_host_classes[] = {
	&rdms_session_provider, &rdms_detail_provider, &rdms_backend_provider,
	&rdms_audit_provider, &rdms_rdsh_server_provider, NULL,
};

const rdms_class_provider *rdms_class_provider_find(const rdms_provider *p, const char *name)
{
	const rdms_class_provider *const *table = p->classes != NULL ? p->classes
	                                                             : rdms_host_classes;

	for (size_t i = 0; table[i] != NULL; i++)
		if (strcasecmp(table[i]->cls->name, name) == 0)
			return table[i];
	return NULL;
}
