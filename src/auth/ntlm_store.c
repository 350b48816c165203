/*
 * ntlm_store.c -- the NT-hash store (ntlm_store.h).
 */
#include "ntlm_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/md4.h>

#include "../common/file_read.h"
#include "../common/strutil.h"
#include "../common/utf8.h"

#define STORE_MAX (4 * 1024 * 1024)   /* far more than any host's users */
#define LINE_MAX_LEN 512

/* The code point of the valid UTF-8 sequence of LEN bytes at P. */
static uint32_t code_point(const unsigned char *p, size_t len)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = p[0] & lead_mask[len];

	for (size_t i = 1; i < len; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

bool ntlm_nt_hash(const char *password, uint8_t out[16])
{
	uint8_t u16[NTLM_PASSWORD_MAX * 4];
	size_t n = 0;
	struct md4_ctx md;

	if (strlen(password) > NTLM_PASSWORD_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)password; *p != '\0';) {
		size_t len = utf8_seq_len(p);
		uint32_t cp;

		if (len == 0)
			return false;
		cp = code_point(p, len);
		p += len;
		if (cp >= 0x10000) {   /* a surrogate pair */
			uint32_t v = cp - 0x10000, hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);

			u16[n++] = (uint8_t)hi;
			u16[n++] = (uint8_t)(hi >> 8);
			cp = lo;
		}
		u16[n++] = (uint8_t)cp;
		u16[n++] = (uint8_t)(cp >> 8);
	}
	md4_init(&md);
	md4_update(&md, n, u16);
	md4_digest(&md, 16, out);
	explicit_bzero(u16, sizeof u16);
	explicit_bzero(&md, sizeof md);
	return true;
}

bool ntlm_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NTLM_NAME_MAX || name[0] == '#' || name[0] == '-')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' || *p == '$'))
			return false;
	return true;
}

/* The user and domain of an entry line, or false when LINE is not one. */
static bool parse_entry(const char *line, size_t len, ntlm_entry *e)
{
	const char *colon = memchr(line, ':', len), *slash;
	size_t n;

	if (colon == NULL || line[0] == '#')
		return false;
	n = (size_t)(colon - line);
	slash = memchr(line, '\\', n);
	e->domain[0] = '\0';
	if (slash != NULL) {
		size_t dn = (size_t)(slash - line);

		if (dn > NTLM_NAME_MAX)
			return false;
		memcpy(e->domain, line, dn);
		e->domain[dn] = '\0';
		line = slash + 1;
		n -= dn + 1;
	}
	if (n == 0 || n > NTLM_NAME_MAX)
		return false;
	memcpy(e->user, line, n);
	e->user[n] = '\0';
	return true;
}

/* PATH's text ("" when missing) into *TEXT; false with ERR on failure. */
static bool read_store(const char *path, char **text, rdms_error *err)
{
	struct stat st;

	if (stat(path, &st) != 0 && errno == ENOENT) {
		*text = strdup("");
		if (*text == NULL)
			rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return *text != NULL;
	}
	if (stat(path, &st) == 0 && st.st_size == 0) {
		*text = strdup("");
		return *text != NULL;
	}
	*text = file_read_small(path, STORE_MAX, err);
	return *text != NULL;
}

/* Calls FN for each line of TEXT; stops when it returns false. */
static void each_line(const char *text, bool (*fn)(void *ctx, const char *line, size_t len),
                      void *ctx)
{
	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (!fn(ctx, p, len))
			return;
		p += len + (nl != NULL);
	}
}

/* Rewriting: the lines kept, and the user whose entry goes. */
struct rewrite {
	FILE       *out;
	const char *user;
	bool        dropped;
};

static bool keep_line(void *ctx, const char *line, size_t len)
{
	struct rewrite *rw = ctx;
	ntlm_entry e;

	if (len == 0)
		return true;
	if (parse_entry(line, len, &e) && strcasecmp(e.user, rw->user) == 0) {
		rw->dropped = true;
		return true;
	}
	fwrite(line, 1, len, rw->out);
	fputc('\n', rw->out);
	return true;
}

/*
 * Rewrites PATH without USER's entry and with NEWLINE (may be NULL) added:
 * a new file 0600 beside it, synced and renamed over it, under a lock.
 */
static uint32_t rewrite(const char *path, const char *user, const char *newline,
                        bool *dropped, rdms_error *err)
{
	char tmp[4096], lock[4096];
	struct rewrite rw = { .user = user };
	char *text = NULL;
	int lfd, fd;
	uint32_t rc = WBEM_S_NO_ERROR;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp ||
	    (size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: path too long", path);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "%s: %s", lock, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return rc;
	}
	if (!read_store(path, &text, err)) {
		close(lfd);
		return err->code != 0 ? err->code : WBEM_E_FAILED;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || (rw.out = fdopen(fd, "w")) == NULL) {
		rc = rdms_fail(err, WBEM_E_FAILED, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	each_line(text, keep_line, &rw);
	if (newline != NULL)
		fputs(newline, rw.out);
	if (fflush(rw.out) != 0 || fsync(fileno(rw.out)) != 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "%s: %s", tmp, strerror(errno));
		fclose(rw.out);
		unlink(tmp);
		goto out;
	}
	if (fclose(rw.out) != 0 || rename(tmp, path) != 0) {
		rc = rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	*dropped = rw.dropped;
out:
	explicit_bzero(text, strlen(text));
	free(text);
	close(lfd);
	return rc;
}

uint32_t ntlm_store_set(const char *path, const char *user, const char *domain,
                        const char *password, uid_t uid, rdms_error *err)
{
	uint8_t h[16];
	char line[LINE_MAX_LEN];
	size_t o;
	bool dropped = false;
	uint32_t rc;

	if (!ntlm_name_ok(user))
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "'%s' is not a user name the store takes (letters, digits, . _ - $)",
		                 user);
	if (domain[0] != '\0' && !ntlm_name_ok(domain))
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "'%s' is not a domain name the store takes (letters, digits, . _ - $)",
		                 domain);
	if (password[0] == '\0')
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "the password is empty");
	if (!ntlm_nt_hash(password, h))
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "the password is not UTF-8 or is over %d bytes", NTLM_PASSWORD_MAX);
	o = (size_t)snprintf(line, sizeof line, "%s%s%s:%u:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:", domain,
	                     domain[0] != '\0' ? "\\" : "", user, (unsigned)uid);
	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(line + o, sizeof line - o, "%02X", h[i]);
	snprintf(line + o, sizeof line - o, ":[U          ]:LCT-00000000:\n");
	explicit_bzero(h, sizeof h);
	rc = rewrite(path, user, line, &dropped, err);
	explicit_bzero(line, sizeof line);
	return rc;
}

uint32_t ntlm_store_remove(const char *path, const char *user, rdms_error *err)
{
	bool dropped = false;
	uint32_t rc;

	if (!ntlm_name_ok(user))
		return rdms_fail(err, WBEM_E_NOT_FOUND, "no NTLM entry for '%s'", user);
	rc = rewrite(path, user, NULL, &dropped, err);
	if (rc == WBEM_S_NO_ERROR && !dropped)
		return rdms_fail(err, WBEM_E_NOT_FOUND, "no NTLM entry for %s", user);
	return rc;
}

struct lister {
	ntlm_entry *v;
	size_t      n, cap;
	bool        oom;
};

static bool list_line(void *ctx, const char *line, size_t len)
{
	struct lister *ls = ctx;
	ntlm_entry e;

	if (len == 0 || !parse_entry(line, len, &e))
		return true;
	if (ls->n == ls->cap) {
		size_t cap = ls->cap != 0 ? ls->cap * 2 : 16;
		ntlm_entry *v = realloc(ls->v, cap * sizeof *v);

		if (v == NULL) {
			ls->oom = true;
			return false;
		}
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n++] = e;
	return true;
}

uint32_t ntlm_store_list(const char *path, ntlm_entry **out, size_t *n, rdms_error *err)
{
	struct lister ls = { 0 };
	char *text;

	*out = NULL;
	*n = 0;
	if (!read_store(path, &text, err))
		return err->code != 0 ? err->code : WBEM_E_FAILED;
	each_line(text, list_line, &ls);
	explicit_bzero(text, strlen(text));
	free(text);
	if (ls.oom) {
		free(ls.v);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	*out = ls.v;
	*n = ls.n;
	return WBEM_S_NO_ERROR;
}
