/*
 * provider.c -- the Win32_VirtualDesktopSession provider: which back-ends
 * serve this host, and how a back-end session becomes a class instance.
 *
 * Property positions come from the generated schema_props.h, so a change of
 * the MOF that this mapping does not follow fails to compile.
 */
#include "provider.h"

#include <string.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../schema/schema.h"

void rdms_provider_init(rdms_provider *p, const rdms_config *cfg)
{
	memset(p, 0, sizeof *p);
	p->cfg = cfg;
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

/*
 * Splits an account name into the UserName and DomainName Windows would
 * show: user@REALM and DOMAIN\user carry their domain, a local account
 * gets the configured domain (the host's short name by default).
 */
static void split_account(const char *account, const char *default_domain,
                          char *user, size_t usize, char *domain, size_t dsize)
{
	const char *at = strchr(account, '@');
	const char *bs = strchr(account, '\\');

	if (bs != NULL && bs != account && bs[1] != '\0') {
		size_t n = (size_t)(bs - account);

		str_copy(user, usize, bs + 1);
		if (n >= dsize)
			n = dsize - 1;
		memcpy(domain, account, n);
		domain[n] = '\0';
	} else if (at != NULL && at != account && at[1] != '\0') {
		size_t n = (size_t)(at - account);

		str_copy(domain, dsize, at + 1);
		if (n >= usize)
			n = usize - 1;
		memcpy(user, account, n);
		user[n] = '\0';
	} else {
		str_copy(user, usize, account);
		str_copy(domain, dsize, default_domain);
	}
}

/*
 * The instance and all its strings are one allocation (an enumeration of
 * 10,000 sessions would otherwise make 80,000 small ones).
 */
cim_instance *rdms_session_instance(const rdms_config *cfg, const rdms_session *s)
{
	const cim_class *cls = rdms_session_class();
	const char *text[RDMS_WIN32_VIRTUALDESKTOPSESSION_NPROPS] = { NULL };
	char user[256], domain[256];
	cim_instance *inst;
	cim_value *v;

	split_account(s->user, cfg->domain_name, user, sizeof user, domain, sizeof domain);
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME] = cfg->vm_host_name;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMNAME] = cfg->vm_name;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME] = user;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME] = domain;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_COLLECTIONID] = cfg->collection_id;
	text[RDMS_WIN32_VIRTUALDESKTOPSESSION_CLIENTMACHINENAME] = s->client;
	inst = cim_instance_new_packed(cls, text);
	if (inst == NULL)
		return NULL;
	v = inst->values;
	v[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID] = cim_u32(s->id);
	v[RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE] = cim_u32(s->connect_state);
	return inst;
}
