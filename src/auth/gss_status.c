/*
 * gss_status.c -- a GSSAPI status as text (gss_status.h).
 */
#include "gss_status.h"

#include <stdio.h>

void gss_status_text(const gss_status_fns *f, OM_uint32 major, OM_uint32 minor,
                     const gss_OID mech, char *buf, size_t size)
{
	size_t o = 0;
	int pass = 0;

	buf[0] = '\0';
	for (int kind = GSS_C_GSS_CODE; kind <= GSS_C_MECH_CODE; kind++) {
		OM_uint32 code = kind == GSS_C_GSS_CODE ? major : minor, m, more = 0;

		if (code == 0)
			continue;
		do {
			gss_buffer_desc t = GSS_C_EMPTY_BUFFER;

			if (GSS_ERROR(f->display_status(&m, code, kind, mech, &more, &t)))
				break;
			if (o < size)
				o += (size_t)snprintf(buf + o, size - o, "%s%.*s", pass++ > 0 ? "; " : "",
				                      (int)t.length, (const char *)t.value);
			f->release_buffer(&m, &t);
		} while (more != 0);
	}
}
