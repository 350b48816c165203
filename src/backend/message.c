/*
 * message.c -- SendMessage's limits, its out-of-band options and the
 * dialog's locale (message.h).
 */
#include "message.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/utf8.h"

/* ---- the text --------------------------------------------------------------- */

static uint32_t check_text(const char *what, const char *text, size_t max, bool lines,
                           rdms_error *err)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len, n;

	if (text == NULL)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s is missing", what);
	len = strlen(text);
	if (len > max)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "%s is %zu bytes long; the limit is %zu bytes (UTF-8)", what, len,
		                 max);
	for (size_t i = 0; i < len; i += n) {
		if ((n = utf8_seq_len(p + i)) == 0)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s is not valid UTF-8 at byte %zu", what, i);
		/* C0 (but a message's newlines and tabs), DEL and the C1 controls */
		if ((n == 1 && (p[i] < 0x20 || p[i] == 0x7f) &&
		     !(lines && (p[i] == '\n' || p[i] == '\t'))) ||
		    (n == 2 && p[i] == 0xC2 && p[i + 1] <= 0x9F))
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s has a control character at byte %zu", what, i);
	}
	return WBEM_S_NO_ERROR;
}

uint32_t rdms_message_check(const char *title, const char *message, rdms_error *err)
{
	uint32_t rc = check_text("Title", title, RDMS_MESSAGE_MAX_TITLE, false, err);

	if (rc == WBEM_S_NO_ERROR)
		rc = check_text("Message", message, RDMS_MESSAGE_MAX_TEXT, true, err);
	return rc;
}

/* ---- the options ---------------------------------------------------------- */

uint32_t rdms_message_option(rdms_message_options *o, const char *name, const char *value,
                             rdms_error *err)
{
	if (strcasecmp(name, RDMS_MESSAGE_OPT_TIMEOUT) == 0) {
		char *end = NULL;
		unsigned long v = 0;

		if (value[0] >= '0' && value[0] <= '9' && strlen(value) <= 6)
			v = strtoul(value, &end, 10);
		if (end == NULL || *end != '\0' || v < 1 || v > RDMS_MESSAGE_MAX_TIMEOUT_S)
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s '%.40s' is not a number of seconds from 1 to %d",
			                 RDMS_MESSAGE_OPT_TIMEOUT, value, RDMS_MESSAGE_MAX_TIMEOUT_S);
		o->timeout_s = (uint32_t)v;
		return WBEM_S_NO_ERROR;
	}
	if (strcasecmp(name, RDMS_MESSAGE_OPT_WAIT) == 0) {
		if (strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
			o->wait = true;
		else if (strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
			o->wait = false;
		else
			return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
			                 "%s '%.40s' is not true or false", RDMS_MESSAGE_OPT_WAIT,
			                 value);
		return WBEM_S_NO_ERROR;
	}
	return rdms_fail(err, WBEM_E_NOT_FOUND, "no SendMessage option %.64s", name);
}

bool rdms_message_options_given(const rdms_message_options *o)
{
	return o != NULL && (o->timeout_s != 0 || o->wait);
}

/* ---- the locale ------------------------------------------------------------- */

/* The value of NAME in ENVIRON, or NULL (an empty value counts as unset). */
static const char *env_get(const char *environ, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < len; i += strnlen(environ + i, len - i) + 1) {
		const char *e = environ + i;
		size_t el = strnlen(e, len - i);

		if (el == len - i)
			break;   /* unterminated: cut short */
		if (el > n && strncmp(e, name, n) == 0 && e[n] == '=' && e[n + 1] != '\0')
			return e + n + 1;
	}
	return NULL;
}

/* True when locale NAME exists here and its character set is UTF-8. */
static bool utf8_locale(const char *name)
{
	locale_t l = newlocale(LC_CTYPE_MASK, name, (locale_t)0);
	bool ok;

	if (l == (locale_t)0)
		return false;
	ok = strcmp(nl_langinfo_l(CODESET, l), "UTF-8") == 0;
	freelocale(l);
	return ok;
}

static size_t put(char *out, size_t size, size_t max, size_t n, const char *name,
                  const char *value)
{
	if (value == NULL || n >= max ||
	    (size_t)snprintf(out + n * size, size, "%s=%s", name, value) >= size)
		return n;
	return n + 1;
}

size_t rdms_message_locale(const char *environ, size_t len, char *out, size_t size,
                           size_t max)
{
	static const char *const cats[] = { "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LANG" };
	const char *v[4], *ctype, *language = env_get(environ, len, "LANGUAGE");
	size_t n = 0;

	for (size_t i = 0; i < 4; i++)
		v[i] = env_get(environ, len, cats[i]);
	/* what setlocale(LC_CTYPE, "") would take: LC_ALL, LC_CTYPE, LANG */
	ctype = v[0] != NULL ? v[0] : v[1] != NULL ? v[1] : v[3];
	if (ctype != NULL && utf8_locale(ctype)) {
		for (size_t i = 0; i < 4; i++)
			n = put(out, size, max, n, cats[i], v[i]);
		return put(out, size, max, n, "LANGUAGE", language);
	}
	/* Not UTF-8 (or unknown here): the texts in C.UTF-8, the language kept. */
	n = put(out, size, max, n, "LANG", "C.UTF-8");
	n = put(out, size, max, n, "LC_MESSAGES", v[0] != NULL ? v[0] : v[2]);
	return put(out, size, max, n, "LANGUAGE", language);
}
