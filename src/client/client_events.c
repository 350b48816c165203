/*
 * client_events.c -- the client side of WS-Eventing in Pull mode (see
 * client.h): what `rdms watch` sends to rdmsd, to a broker, or to WinRM.
 *
 * The Subscribe is the MI client's (spec/events.md 2.3): Pull delivery,
 * heartbeats, SendBookmarks and, to resume, a Bookmark; the filter is a
 * WQL event query on the class's namespace's wildcard URI.  Each Pull asks
 * for one event (MaxElements 1), so that each event comes with the
 * bookmark that resumes right after it: a watcher that is stopped after
 * printing an event can go on from that event, not from a batch's end.
 * An event is read the way WMI sends it: its class names the kind
 * (__InstanceCreationEvent, CIM_InstCreation...), TargetInstance (or
 * SourceInstance) and PreviousInstance are embedded instances, the time is
 * TIME_CREATED (FILETIME) or IndicationTime (a CIM datetime).
 */
#include "client_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../events/feed.h"

#define EARLIEST            "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"
#define MODE_PULL           "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
#define FILETIME_UNIX_EPOCH 116444736000000000LL   /* 1970 in 100 ns units since 1601 */
#define MAX_TOKEN           4096                   /* bytes of a context or an identifier */

struct rdms_client_subscription {
	const cim_class *cls;
	char            *uri;         /* the ResourceURI Subscribe went to */
	char            *context;     /* the EnumerationContext to Pull */
	char            *identifier;  /* wse:Identifier, for Unsubscribe; NULL: none given */
	char            *bookmark;    /* the last one received */
};

void rdms_client_subscription_free(rdms_client_subscription *s)
{
	if (s == NULL)
		return;
	free(s->uri);
	free(s->context);
	free(s->identifier);
	free(s->bookmark);
	free(s);
}

void rdms_client_event_free(rdms_client_event *ev)
{
	if (ev == NULL)
		return;
	cim_instance_free(ev->target);
	cim_instance_free(ev->previous);
	free(ev->bookmark);
	free(ev);
}

const char *rdms_client_subscription_bookmark(const rdms_client_subscription *s)
{
	return s->bookmark;
}

/* N's text without the white space around it, malloc'd; NULL when empty or too long. */
static char *token_of(const xmlNode *n)
{
	xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;
	char *s = t != NULL ? (char *)t : "", *out = NULL;
	size_t len;

	s += strspn(s, " \t\r\n");
	len = strlen(s);
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	if (len > 0 && len <= MAX_TOKEN)
		out = strndup(s, len);
	xmlFree(t);
	return out;
}

/* The child of the SOAP Header of DOC that is NS:NAME, or NULL. */
static xmlNode *header_elem(xmlDoc *doc, const char *ns, const char *name)
{
	xmlNode *root = xmlDocGetRootElement(doc);

	for (xmlNode *h = wsman_first_elem(root); h != NULL; h = wsman_next_elem(h)) {
		if (!wsman_is(h, NS_SOAP, "Header"))
			continue;
		for (xmlNode *n = wsman_first_elem(h); n != NULL; n = wsman_next_elem(n))
			if (wsman_is(n, ns, name))
				return n;
	}
	return NULL;
}

uint32_t rdms_client_subscribe(rdms_client *c, const cim_class *cls, const char *wql,
                               const char *bookmark, unsigned heartbeat_s,
                               rdms_client_subscription **out, rdms_error *err)
{
	rdms_client_subscription *s = calloc(1, sizeof *s);
	strbuf b = { 0 };
	xmlDoc *doc = NULL;
	xmlNode *body, *r;
	uint32_t rc;

	*out = NULL;
	if (s == NULL || (s->uri = client_resource_uri(cls->namespace_, NULL)) == NULL) {
		rdms_client_subscription_free(s);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	s->cls = cls;
	client_envelope_head(&b, c, ACTION_SUBSCRIBE, s->uri, NULL);
	PUTS(&b, "<wse:Subscribe xmlns:wse=\"" NS_WSE "\"><wse:Delivery Mode=\"" MODE_PULL "\">");
	strbuf_printf(&b, "<wsman:Heartbeats>PT%u.000S</wsman:Heartbeats>", heartbeat_s);
	PUTS(&b, "</wse:Delivery><wsman:Filter Dialect=\"" DIALECT_WQL "\">");
	wsman_escape(&b, wql, false);
	PUTS(&b, "</wsman:Filter><wsman:SendBookmarks/>");
	if (bookmark != NULL) {
		PUTS(&b, "<wsman:Bookmark>");
		wsman_escape(&b, strcmp(bookmark, "earliest") == 0 ? EARLIEST : bookmark, false);
		PUTS(&b, "</wsman:Bookmark>");
	}
	PUTS(&b, "</wse:Subscribe>");
	client_envelope_tail(&b);
	rc = client_post(c, &b, &doc, &body, err);
	strbuf_free(&b);
	if (rc == WBEM_S_NO_ERROR) {
		r = wsman_first_elem(body);
		if (!wsman_is(r, NS_WSE, "SubscribeResponse"))
			rc = rdms_fail(err, WBEM_E_INVALID_STREAM, "the reply is not a SubscribeResponse");
		else if ((s->context = token_of(client_find_desc(r, "EnumerationContext"))) == NULL)
			rc = rdms_fail(err, WBEM_E_INVALID_STREAM,
			               "the SubscribeResponse holds no EnumerationContext to pull");
		else
			s->identifier = token_of(client_find_desc(r, "Identifier"));
	}
	xmlFreeDoc(doc);
	if (rc != WBEM_S_NO_ERROR) {
		rdms_client_subscription_free(s);
		return rc;
	}
	*out = s;
	return WBEM_S_NO_ERROR;
}

/* The kind of event class NAME (either naming), or 0. */
static unsigned event_kind(const char *name)
{
	if (strstr(name, "Creation") != NULL)
		return RDMS_EVENT_CREATION;
	if (strstr(name, "Modification") != NULL)
		return RDMS_EVENT_MODIFICATION;
	if (strstr(name, "Deletion") != NULL)
		return RDMS_EVENT_DELETION;
	return 0;
}

/* The time of event E in Unix microseconds, from TIME_CREATED or IndicationTime; 0 unknown. */
static int64_t event_time(const xmlNode *e)
{
	int64_t t = 0;

	for (xmlNode *n = wsman_first_elem(e); n != NULL; n = wsman_next_elem(n)) {
		char *text;

		if (strcmp((const char *)n->name, "TIME_CREATED") != 0 &&
		    strcmp((const char *)n->name, "IndicationTime") != 0)
			continue;
		if (wsman_first_elem(n) != NULL)
			n = wsman_first_elem(n);     /* <cim:Datetime> */
		if ((text = token_of(n)) == NULL)
			return 0;
		if (strcmp((const char *)n->name, "TIME_CREATED") == 0) {
			char *end;
			long long ft = strtoll(text, &end, 10);

			if (*end == '\0' && ft > FILETIME_UNIX_EPOCH)
				t = (ft - FILETIME_UNIX_EPOCH) / 10;
		} else if (cim_datetime_to_unix(text, &t)) {
			t *= 1000000;
		} else {
			t = 0;
		}
		free(text);
		return t;
	}
	return 0;
}

/* The event item E of S into *OUT. */
static uint32_t read_event(const rdms_client_subscription *s, const xmlNode *e,
                           rdms_client_event **out, rdms_error *err)
{
	rdms_client_event *ev = calloc(1, sizeof *ev);
	uint32_t rc = WBEM_S_NO_ERROR;

	*out = NULL;
	if (ev == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	snprintf(ev->event_class, sizeof ev->event_class, "%s", (const char *)e->name);
	ev->kind = event_kind(ev->event_class);
	ev->time_us = event_time(e);
	for (xmlNode *n = wsman_first_elem(e); n != NULL && rc == WBEM_S_NO_ERROR;
	     n = wsman_next_elem(n)) {
		const char *name = (const char *)n->name;

		if (strcmp(name, "TargetInstance") == 0 || strcmp(name, "SourceInstance") == 0) {
			cim_instance_free(ev->target);
			rc = client_read_instance(n, s->cls, true, &ev->target, err);
		} else if (strcmp(name, "PreviousInstance") == 0) {
			cim_instance_free(ev->previous);
			rc = client_read_instance(n, s->cls, true, &ev->previous, err);
		}
	}
	if (rc == WBEM_S_NO_ERROR && (ev->kind == 0 || ev->target == NULL))
		rc = rdms_fail(err, WBEM_E_INVALID_STREAM, "the event %s is not an instance event "
		               "with a TargetInstance", ev->event_class);
	if (rc != WBEM_S_NO_ERROR) {
		rdms_client_event_free(ev);
		return rc;
	}
	*out = ev;
	return WBEM_S_NO_ERROR;
}

uint32_t rdms_client_next_event(rdms_client *c, rdms_client_subscription *s,
                                rdms_client_event **ev, rdms_error *err)
{
	strbuf b = { 0 };
	xmlDoc *doc = NULL;
	xmlNode *body, *r, *items = NULL, *bm;
	char *next = NULL, *mark = NULL;
	uint32_t rc;

	*ev = NULL;
	client_envelope_head(&b, c, ACTION_PULL, s->uri, NULL);
	PUTS(&b, "<wsen:Pull><wsen:EnumerationContext>");
	wsman_escape(&b, s->context, false);
	PUTS(&b, "</wsen:EnumerationContext><wsen:MaxElements>1</wsen:MaxElements></wsen:Pull>");
	client_envelope_tail(&b);
	rc = client_post(c, &b, &doc, &body, err);
	strbuf_free(&b);
	if (rc != WBEM_S_NO_ERROR)
		goto out;
	r = wsman_first_elem(body);
	if (!wsman_is(r, NS_WSEN, "PullResponse")) {
		rc = rdms_fail(err, WBEM_E_INVALID_STREAM, "the reply is not a wsen:PullResponse");
		goto out;
	}
	for (xmlNode *n = wsman_first_elem(r); n != NULL; n = wsman_next_elem(n)) {
		if (wsman_is(n, NS_WSEN, "EnumerationContext")) {
			free(next);
			next = token_of(n);
		} else if (wsman_is(n, NS_WSEN, "Items")) {
			items = n;
		} else if (wsman_is(n, NS_WSEN, "EndOfSequence")) {
			rc = rdms_fail(err, WBEM_E_INVALID_CONTEXT, "the server ended the subscription");
			goto out;
		}
	}
	/* the context may change with each reply (DSP0226 8.4) */
	if (next != NULL) {
		free(s->context);
		s->context = next;
		next = NULL;
	}
	if ((bm = header_elem(doc, NS_WSMAN, "Bookmark")) != NULL && (mark = token_of(bm)) != NULL) {
		free(s->bookmark);
		s->bookmark = mark;
	}
	if (items != NULL && wsman_first_elem(items) != NULL) {
		rdms_client_event *got = NULL;

		rc = read_event(s, wsman_first_elem(items), &got, err);
		if (got != NULL && mark != NULL && (got->bookmark = strdup(mark)) == NULL) {
			rdms_client_event_free(got);
			got = NULL;
			rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		}
		*ev = got;
	}
out:
	free(next);
	xmlFreeDoc(doc);
	return rc;
}

uint32_t rdms_client_unsubscribe(rdms_client *c, rdms_client_subscription *s,
                                 rdms_error *err)
{
	strbuf b = { 0 }, head = { 0 };
	xmlDoc *doc = NULL;
	xmlNode *body;
	uint32_t rc;

	if (s->identifier != NULL) {
		PUTS(&head, "<wse:Identifier xmlns:wse=\"" NS_WSE "\">");
		wsman_escape(&head, s->identifier, false);
		PUTS(&head, "</wse:Identifier>");
		if (head.failed) {
			strbuf_free(&head);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		}
	}
	client_envelope_head_extra(&b, c, ACTION_UNSUBSCRIBE, s->uri, head.data);
	PUTS(&b, "<wse:Unsubscribe xmlns:wse=\"" NS_WSE "\"/>");
	client_envelope_tail(&b);
	rc = client_post(c, &b, &doc, &body, err);
	strbuf_free(&b);
	strbuf_free(&head);
	if (rc == WBEM_S_NO_ERROR && wsman_first_elem(body) != NULL &&
	    !wsman_is(wsman_first_elem(body), NS_WSE, "UnsubscribeResponse"))
		rc = rdms_fail(err, WBEM_E_INVALID_STREAM, "the reply is not an UnsubscribeResponse");
	xmlFreeDoc(doc);
	return rc;
}
