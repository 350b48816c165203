"""events_common.py -- what the session-event e2e programs share: the
MI-shaped WS-Eventing requests (spec/events.md 2.3, 2.5, 2.7: the headers
of the MI client's WQL Enumerate, the body of OMI's sample), a Pull-mode
subscriber that keeps the events it got with the time each arrived, and
readers for the events of a PullResponse.

Not a test itself.  Requests go through test_wsman_e2e's send() to an rdmsd
lab with .http and .pw (test_rdmsd_auth.Lab and its kin).
"""
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_rdmsd_auth as lab_mod  # noqa: E402  (the fixture lab)
import test_wsman_e2e as we        # noqa: E402  (envelopes, send, replies)

WSE = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
ACT_SUBSCRIBE = WSE + "/Subscribe"
ACT_UNSUBSCRIBE = WSE + "/Unsubscribe"
ACT_RENEW = WSE + "/Renew"
PULL_MODE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
EARLIEST = "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"
Q_ALL = ("SELECT * FROM __InstanceOperationEvent WITHIN 5 WHERE TargetInstance ISA "
         "'Win32_VirtualDesktopSession'")
Q_MOD = ("SELECT * FROM __InstanceModificationEvent WITHIN 5 WHERE TargetInstance ISA "
         "'Win32_VirtualDesktopSession'")
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE = "{%s}type" % XSI
CREATION, MODIFICATION, DELETION = ("__InstanceCreationEvent", "__InstanceModificationEvent",
                                    "__InstanceDeletionEvent")


def subscribe_body(query, heartbeat="PT30.000S", extra="", dialect=None):
    """The body of spec/events.md 2.3 (OMI's sample, the MI client's)."""
    return ('<e:Subscribe xmlns:e="%s"><e:Delivery Mode="%s">'
            '<w:Heartbeats>%s</w:Heartbeats>'
            '<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>'
            '<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>'
            '<w:ContentEncoding>UTF-16</w:ContentEncoding></e:Delivery>'
            '<e:Expires>PT600.000S</e:Expires>'
            '<w:Filter Dialect="%s">%s</w:Filter><w:SendBookmarks/>%s</e:Subscribe>'
            % (WSE, PULL_MODE, heartbeat, dialect or we.WQL, query, extra))


def subscribe_req(lab, query, heartbeat="PT30.000S", extra="", mode=None, uri=we.WILDCARD_URI,
                  ns_selector=True):
    body = subscribe_body(query, heartbeat, extra)
    if mode is not None:
        body = body.replace(PULL_MODE, mode)
    return we.mi_envelope(ACT_SUBSCRIBE, uri, body=body, options="", port=lab.http,
                          ns_selector=ns_selector)


def pull_req(lab, ctx, max_elements=20):
    return we.mi_envelope(we.ACT_PULL, we.WILDCARD_URI,
                          body="<n:Pull><n:EnumerationContext>%s</n:EnumerationContext>"
                               "<n:MaxElements>%d</n:MaxElements></n:Pull>" % (ctx, max_elements),
                          options="", port=lab.http)


def unsubscribe_req(lab, ident):
    env = we.mi_envelope(ACT_UNSUBSCRIBE, we.WILDCARD_URI, body='<e:Unsubscribe xmlns:e="%s"/>'
                         % WSE, options="", port=lab.http)
    return env.replace("</s:Header>", '<e:Identifier xmlns:e="%s">%s</e:Identifier></s:Header>'
                       % (WSE, ident), 1)


def embedded(el):
    d = {"_type": el.get(XSI_TYPE)}
    for c in el:
        d[we.local(c.tag)] = c.text or ""
    return d


def events_of(root):
    """The events of a PullResponse: {class, ns, TargetInstance, PreviousInstance, ...}."""
    out = []
    for items in we.find_all(root, "Items"):
        for ev in items:
            d = {"class": we.local(ev.tag), "ns": ev.tag[1:].split("}")[0]}
            for c in ev:
                name = we.local(c.tag)
                if name in ("TargetInstance", "PreviousInstance", "SourceInstance"):
                    d[name] = embedded(c)
                else:
                    d[name] = c.text
                    d[name + "@nil"] = c.get("{%s}nil" % XSI)
            out.append(d)
    return out


def position(bookmark):
    """rdmsd's bookmark "rdms:EPOCH:SEQ" as (epoch, seq); None for another."""
    parts = (bookmark or "").split(":")
    if len(parts) == 3 and parts[0] == "rdms" and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return None


def t(ev, prop, which="TargetInstance"):
    """Property PROP of EV's TargetInstance (or WHICH); None when absent."""
    return (ev.get(which) or {}).get(prop)


def transition(ev):
    """EV as (class, SessionId, previous ConnectState, target ConnectState)."""
    return (ev["class"], t(ev, "SessionId"), t(ev, "ConnectState", "PreviousInstance"),
            t(ev, "ConnectState"))


class Subscriber:
    """One subscription of USER: Subscribe, Pull (held by rdmsd until events
    come), Unsubscribe; the events it got, in order, each with "_at", the
    monotonic time its PullResponse arrived.  With MAX_ELEMENTS 1 each
    event also has "_pos", its position (epoch, seq) from the bookmark of
    its PullResponse."""

    def __init__(self, lab, user, query=Q_ALL, heartbeat="PT30.000S", extra="", ctx=None,
                 ident=None, max_elements=20):
        self.lab, self.user, self.max_elements = lab, user, max_elements
        self.events, self.bookmark = [], None
        if ctx is not None:        # a subscription made elsewhere (pywinrm)
            self.st, self.text, self.ctx, self.ident = 200, "", ctx, ident
            return
        t0 = time.monotonic()
        self.st, self.text = we.send(lab, subscribe_req(lab, query, heartbeat, extra), user=user)
        self.subscribe_s = time.monotonic() - t0
        root = we.parse(self.text)
        self.ctx = we.find_text(root, "EnumerationContext")
        self.ident = we.find_text(root, "Identifier")

    def pull(self):
        """One Pull: (HTTP status, [event dicts], root)."""
        st, text = we.send(self.lab, pull_req(self.lab, self.ctx, self.max_elements),
                           user=self.user)
        at = time.monotonic()
        root = we.parse(text)
        bm = None
        if st == 200:
            bm = we.find_text(root, "Bookmark")
            self.bookmark = bm or self.bookmark
        evs = events_of(root) if st == 200 else []
        for ev in evs:
            ev["_at"] = at
            if len(evs) == 1 and bm:
                ev["_pos"] = position(bm)
        self.events += evs
        return st, evs, root

    def until(self, pred, timeout=30, since=0):
        """Pulls until an event satisfies PRED; that event (None on time-out).
        The events already got from index SINCE on are looked at first."""
        end = time.monotonic() + timeout
        for ev in self.events[since:]:
            if pred(ev):
                return ev
        while time.monotonic() < end:
            st, evs, _ = self.pull()
            if st != 200:
                return None
            for ev in evs:
                if pred(ev):
                    return ev
        return None

    def unsubscribe(self):
        return we.send(self.lab, unsubscribe_req(self.lab, self.ident), user=self.user)


def run_lab(lab, scenario):
    """SCENARIO(LAB) on a test_rdmsd_auth-style LAB (accounts and config
    written first; an exception is a failed check), then the lab removed
    (rdmsd's log shown when anything failed).  Returns finish()."""
    t0 = time.monotonic()
    try:
        lab.accounts()
        lab.write_config()
        scenario(lab)
    except Exception:     # noqa: BLE001  (a crash is a failed check; the lab still goes)
        common.check("the test ran without an exception", False, traceback.format_exc(limit=5))
    finally:
        lab_mod.close_lab(lab)
        common.log("elapsed %.1f s" % (time.monotonic() - t0))
    return common.finish()
