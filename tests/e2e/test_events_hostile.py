#!/usr/bin/python3
"""test_events_hostile.py -- hostile subscriptions (issue 14, items 4 and 8,
and its "Bad input") against a live rdmsd: each gets its precise fault, and
afterwards the daemon is as it was.

The lab of test_rdmsd_auth.py (fixture back-end, PAM accounts of this
program's own) with max_envelope_size = 2 MiB (so that a 1 MB filter
reaches the WQL parser), max_subscriptions_per_user = 1500 and
max_subscriptions = 2000.  Checked, each against the exact HTTP status,
SOAP fault subcode and WMI code:
  huge filters: 1 MB of WQL, 5,000 nested parentheses, 200 levels of XML
      in the Subscribe body, an envelope over max_envelope_size;
  malformed Subscribe bodies: the wrong body element, two Deliveries, two
      Filters, an empty filter, a filter without Dialect, a Mode of
      garbage, bad Heartbeats and Expires, a 10 KB bookmark;
  the filter itself: an unknown event class, a data class, an unknown ISA
      class, a property the class lacks, PreviousInstance on a creation;
  the ResourceURI against the filter: another class, the class-definition
      URI, an event class URI the filter does not select from (and the
      session class and event class URIs that are served);
  Pulls on dead and foreign contexts (unsubscribed, reaped, another
      user's, a 10 KB one), a second Pull while one is held, an oversize
      MaxElements, Unsubscribe of another user's subscription and twice;
  thousands of subscriptions: 1,500 of one user, then wsman:QuotaLimit
      (audited as a refused Subscribe), then another user up to the total
      2,000, then wsman:QuotaLimit "in all"; all unsubscribed;
and afterwards: rdmsd still serves and delivers an event, its processes
hold as many descriptors as before (and not much more memory), every
Subscribe the audit trail shows as started has its end (Unsubscribe or
reaped): no subscription is left behind, and nothing was refused that
should not have been.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.
"""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_rdmsd_auth as lab_mod  # noqa: E402  (the fixture lab)

# accounts of this program's own: another e2e program may re-key the lab's
lab_mod.ADMIN, lab_mod.USER = "rdmsevadm", "rdmsevusr"
lab_mod.ADMIN_GROUP, lab_mod.PAM_SERVICE = "rdms-e2e-ev-admins", "rdms-e2e-ev"
lab_mod.PAM_FILE = "/etc/pam.d/" + lab_mod.PAM_SERVICE

import events_common as ec         # noqa: E402  (Subscribe, Pull, Unsubscribe)
import test_hostile as th          # noqa: E402  (measuring the daemon)
import test_wsman_e2e as we        # noqa: E402  (send, faults)
from e2e_common import RDMSD, check, log  # noqa: E402

ADMIN, USER = lab_mod.ADMIN, lab_mod.USER
PER_USER, TOTAL = 1500, 2000
ENVELOPE = 2 * 1024 * 1024
WILDCARD = we.WILDCARD_URI
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"
DMTF = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
ISA = "TargetInstance ISA 'Win32_VirtualDesktopSession'"
Q_ALL = ec.Q_ALL
E_QUOTA, E_INVALID_CLASS, E_NOT_EVENT_CLASS = 0x8004106C, 0x80041010, 0x80041059
E_INVALID_QUERY, E_INVALID_QUERY_TYPE, E_NOT_SUPPORTED = 0x80041017, 0x80041018, 0x8004100C
E_INVALID_PARAMETER, E_INVALID_CONTEXT, E_NOT_FOUND = 0x80041008, 0x80041007, 0x80041002
E_INVALID_OPERATION = 0x80041016
RSS_SLACK_KIB = 4096


class Lab(lab_mod.Lab):
    def write_config(self, http_port=None):
        super().write_config(http_port)
        with open(self.conf) as f:
            lines = [l for l in f if not l.startswith("max_envelope_size")]
        lines += ["max_envelope_size = %d\n" % ENVELOPE,
                  "max_subscriptions_per_user = %d\n" % PER_USER,
                  "max_subscriptions = %d\n" % TOTAL]
        with open(self.conf, "w") as f:
            f.writelines(lines)


def sub_body(query=Q_ALL, delivery=None, extra="", filter_=None, body=None):
    """A Subscribe body: the MI client's with QUERY, or with its Delivery,
    Filter element or whole body replaced."""
    if body is not None:
        return body
    b = ec.subscribe_body(query, extra=extra)
    if delivery is not None:
        b = b[:b.index("<e:Delivery")] + delivery + b[b.index("</e:Delivery>") + 13:]
    if filter_ is not None:
        b = b[:b.index("<w:Filter")] + filter_ + b[b.index("</w:Filter>") + 11:]
    return b


def sub_req(lab, uri=WILDCARD, ns_selector=True, **kw):
    return we.mi_envelope(ec.ACT_SUBSCRIBE, uri, body=sub_body(**kw), options="", port=lab.http,
                          ns_selector=ns_selector)


def expect(lab, what, req, subcode, code=None, user=None, status=500):
    """One request; checks its fault (status 500) or bare HTTP STATUS."""
    st, text = we.send(lab, req, user=user or ADMIN)
    if status != 500:
        return check("%s -> HTTP %d" % (what, status), st == status, "%d %s" % (st, text[:400]))
    f = we.fault(we.parse(text))
    return check("%s -> %s%s" % (what, subcode, " (0x%08X)" % code if code else ""),
                 we.is_fault(st, text, subcode, code), "%d %r %s" % (st, f, text[:600]))


def pull_req(lab, ctx, max_elements=1, timeout="PT5.000S"):
    return ec.pull_req(lab, ctx, max_elements).replace("PT1M30S", timeout)


# ---- the groups -------------------------------------------------------------------------

def test_huge(lab):
    log("huge filters")
    big = Q_ALL + " AND (" + " OR ".join(["TargetInstance.UserName = 'u%06d'" % i
                                           for i in range(28000)]) + ")"
    expect(lab, "a %d KB WQL filter" % (len(big) // 1024), sub_req(lab, query=big),
           "wse:EventSourceUnableToProcess", E_QUOTA)
    deep = Q_ALL + " AND " + "(" * 5000 + "TargetInstance.SessionId = 1" + ")" * 5000
    expect(lab, "a filter 5,000 parentheses deep", sub_req(lab, query=deep),
           "wse:EventSourceUnableToProcess", E_QUOTA)
    nested = "<x>" * 200 + "</x>" * 200
    expect(lab, "200 levels of XML in the Subscribe body",
           sub_req(lab, extra=nested), None, status=400)
    # sent raw: rdmsd answers 413 and closes before the body is all sent
    st, _, body = th.exchange(lab, "wsman", th.http_bytes(
        sub_req(lab, extra="<!--" + "x" * (3 * 1024 * 1024) + "-->"),
        auth=lab_mod.basic(ADMIN, lab.pw[ADMIN])))
    check("a 3 MB envelope (over max_envelope_size) -> HTTP 413", st == 413, "%d %s" % (
        st, body[:300]))


def test_malformed(lab):
    log("malformed Subscribe bodies")
    wse = 'xmlns:e="%s"' % ec.WSE
    expect(lab, "the body is wse:Renew", sub_req(lab, body="<e:Renew %s/>" % wse),
           "wsman:SchemaValidationError")
    b = sub_body()
    d = b[b.index("<e:Delivery"):b.index("</e:Delivery>") + 13]
    expect(lab, "two Delivery elements", sub_req(lab, body=b.replace(d, d + d)),
           "wsman:SchemaValidationError")
    f = b[b.index("<w:Filter"):b.index("</w:Filter>") + 11]
    expect(lab, "two Filter elements", sub_req(lab, body=b.replace(f, f + f)),
           "wse:EventSourceUnableToProcess", E_INVALID_QUERY)
    expect(lab, "an empty filter", sub_req(lab, query=""), "wse:EventSourceUnableToProcess",
           E_INVALID_QUERY)
    expect(lab, "a filter without Dialect (XPath)",
           sub_req(lab, filter_="<w:Filter>%s</w:Filter>" % Q_ALL),
           "wse:FilteringRequestedUnavailable", E_INVALID_QUERY_TYPE)
    expect(lab, "no Delivery (Push)", sub_req(lab, delivery=""),
           "wse:DeliveryModeRequestedUnavailable", E_NOT_SUPPORTED)
    expect(lab, "a Mode of 10 KB of garbage",
           sub_req(lab, delivery='<e:Delivery Mode="%s"/>' % ("x" * 10240)),
           "wse:DeliveryModeRequestedUnavailable", E_NOT_SUPPORTED)
    for hb in ("PT0.5S", "banana", "-PT5S", "P99999999D"):
        expect(lab, "Heartbeats %s" % hb, sub_req(lab, delivery='<e:Delivery Mode="%s">'
               '<w:Heartbeats>%s</w:Heartbeats></e:Delivery>' % (ec.PULL_MODE, hb)),
               "wsman:UnsupportedFeature", E_NOT_SUPPORTED)
    expect(lab, "Expires PT0S", sub_req(lab, body=b.replace("PT600.000S", "PT0S")),
           "wse:InvalidExpirationTime", E_INVALID_PARAMETER)
    expect(lab, "Expires as a date", sub_req(lab, body=b.replace("PT600.000S",
                                                                 "2031-01-01T00:00:00Z")),
           "wse:UnsupportedExpirationType", E_NOT_SUPPORTED)
    expect(lab, "a 10 KB bookmark", sub_req(lab, extra="<w:Bookmark>%s</w:Bookmark>" %
                                            ("rdms:1:" + "9" * 10240)),
           "wsman:InvalidBookmark", E_INVALID_PARAMETER)
    expect(lab, "a bookmark ahead of every event",
           sub_req(lab, extra="<w:Bookmark>rdms:999:1</w:Bookmark>"),
           "wsman:InvalidBookmark", E_INVALID_PARAMETER)


def test_filters(lab):
    log("filters: classes and properties")
    expect(lab, "an unknown event class",
           sub_req(lab, query="SELECT * FROM Frobnication_Event WHERE " + ISA),
           "wse:EventSourceUnableToProcess", E_INVALID_CLASS)
    expect(lab, "a WMI event class not served (__ClassCreationEvent)",
           sub_req(lab, query="SELECT * FROM __ClassCreationEvent WHERE " + ISA),
           "wse:EventSourceUnableToProcess", E_NOT_SUPPORTED)
    expect(lab, "a data class in FROM",
           sub_req(lab, query="SELECT * FROM Win32_VirtualDesktopSession"),
           "wse:EventSourceUnableToProcess", E_NOT_EVENT_CLASS)
    expect(lab, "ISA an unknown class",
           sub_req(lab, query="SELECT * FROM __InstanceCreationEvent WHERE TargetInstance "
                              "ISA 'Win32_Frobnicator'"),
           "wse:EventSourceUnableToProcess", E_INVALID_CLASS)
    expect(lab, "a property the class lacks",
           sub_req(lab, query=Q_ALL + " AND TargetInstance.FrobnicationLevel = 3"),
           "wse:EventSourceUnableToProcess", E_INVALID_QUERY)
    expect(lab, "PreviousInstance in a creation query",
           sub_req(lab, query="SELECT * FROM __InstanceCreationEvent WHERE %s AND "
                              "PreviousInstance.ConnectState = 0" % ISA),
           "wse:EventSourceUnableToProcess", E_INVALID_QUERY)

    log("the ResourceURI against the filter")
    expect(lab, "another class's URI", sub_req(lab, uri=WMI + "RDMS_SessionDetail"),
           "wsa:DestinationUnreachable", E_INVALID_CLASS)
    expect(lab, "the class-definition URI",
           sub_req(lab, uri="http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*"),
           "wsa:DestinationUnreachable", E_INVALID_CLASS)
    expect(lab, "__InstanceDeletionEvent's URI, a modification filter",
           sub_req(lab, uri=WMI + "__InstanceDeletionEvent", query=ec.Q_MOD),
           "wse:EventSourceUnableToProcess", E_INVALID_QUERY)
    expect(lab, "CIM_InstCreation's URI, a CIM_InstIndication filter",
           sub_req(lab, uri=DMTF + "CIM_InstCreation",
                   query="SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA "
                         "'Win32_VirtualDesktopSession'"),
           "wse:EventSourceUnableToProcess", E_INVALID_QUERY)
    for uri, q in ((WMI + "Win32_VirtualDesktopSession", Q_ALL),
                   (WMI + "__InstanceOperationEvent", ec.Q_MOD),
                   (DMTF + "CIM_InstIndication", "SELECT * FROM CIM_InstModification WHERE "
                    "SourceInstance ISA 'Win32_VirtualDesktopSession'")):
        st, text = we.send(lab, sub_req(lab, uri=uri, query=q), user=ADMIN)
        ident = we.find_text(we.parse(text), "Identifier")
        check("served: %s with %s" % (uri.rsplit("/", 1)[1], q.split(" WHERE")[0]),
              st == 200 and ident, text[:500])
        if ident:
            we.send(lab, ec.unsubscribe_req(lab, ident), user=ADMIN)


def test_contexts(lab):
    log("Pulls on dead and foreign contexts")
    s = ec.Subscriber(lab, ADMIN)
    st, _ = s.unsubscribe()
    check("a subscription, unsubscribed", s.st == 200 and st == 200)
    expect(lab, "a Pull after Unsubscribe", pull_req(lab, s.ctx),
           "wsen:InvalidEnumerationContext", E_INVALID_CONTEXT)
    expect(lab, "Unsubscribe twice", ec.unsubscribe_req(lab, s.ident),
           "wsa:DestinationUnreachable", E_NOT_FOUND)
    reaped = ec.Subscriber(lab, ADMIN, heartbeat="PT1.000S")
    time.sleep(3.5)
    expect(lab, "a Pull on a subscription reaped (no Pull for two 1 s heartbeats)",
           pull_req(lab, reaped.ctx), "wsen:InvalidEnumerationContext", E_INVALID_CONTEXT)
    mine = ec.Subscriber(lab, ADMIN)
    expect(lab, "%s pulling %s's subscription" % (USER, ADMIN), pull_req(lab, mine.ctx),
           "wsen:InvalidEnumerationContext", E_INVALID_CONTEXT, user=USER)
    expect(lab, "%s unsubscribing it" % USER, ec.unsubscribe_req(lab, mine.ident),
           "wsa:DestinationUnreachable", E_NOT_FOUND, user=USER)
    # a context may be up to 24,576 characters (a broker's carries its query,
    # src/wsman/wsman_ctx.h): a 10 KB one is merely unknown, a longer one malformed
    expect(lab, "a Pull on a 10 KB context", pull_req(lab, "uuid:" + "a" * 10240),
           "wsen:InvalidEnumerationContext", E_INVALID_CONTEXT)
    expect(lab, "a Pull on a 30 KB context", pull_req(lab, "uuid:" + "a" * 30720),
           "wsen:InvalidEnumerationContext", E_INVALID_PARAMETER)
    expect(lab, "a Pull on a made-up context", pull_req(lab, "uuid:0000-dead"),
           "wsen:InvalidEnumerationContext", E_INVALID_CONTEXT)
    for n in (10001, 4294967296, 0, -1):
        expect(lab, "MaxElements %d" % n, pull_req(lab, mine.ctx, max_elements=n),
               "wsman:InvalidParameter", E_INVALID_PARAMETER)
    # a second Pull while one is held
    held = {}

    def hold():
        held["r"] = we.send(lab, pull_req(lab, mine.ctx, timeout="PT4.000S"), user=ADMIN)
    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.8)
    expect(lab, "a second Pull while one is held", pull_req(lab, mine.ctx),
           "wsman:ConcurrencyExceeded", E_INVALID_OPERATION)
    t.join(15)
    st = held.get("r", (0, ""))[0]
    check("... and the held one is answered (empty, before its OperationTimeout)", st == 200,
          held.get("r"))
    mine.unsubscribe()


def subscribe_many(lab, user, n, conn):
    """N Subscribes of USER on one kept-alive connection; [(ident, ctx)] of those served."""
    got = []
    req = sub_req(lab)
    for _ in range(n):
        st, text = we.send(lab, req, user=user, c=conn)
        if st != 200:
            break
        root = we.parse(text)
        got.append(we.find_text(root, "Identifier"))
    return got


def test_thousands(lab, audit):
    log("thousands of subscriptions (%d per user, %d in all)" % (PER_USER, TOTAL))
    audit.mark()
    ca, cu = we.conn(lab), we.conn(lab)
    t0 = time.monotonic()
    mine = subscribe_many(lab, ADMIN, PER_USER, ca)
    check("%s holds %d subscriptions (%.1f s)" % (ADMIN, PER_USER, time.monotonic() - t0),
          len(mine) == PER_USER, len(mine))
    expect(lab, "one more of %s's" % ADMIN, sub_req(lab), "wsman:QuotaLimit", E_QUOTA)
    theirs = subscribe_many(lab, USER, TOTAL - PER_USER, cu)
    check("%s holds %d more: %d in all" % (USER, TOTAL - PER_USER, TOTAL),
          len(theirs) == TOTAL - PER_USER, len(theirs))
    st, text = we.send(lab, sub_req(lab), user=USER)
    check("one more of %s's -> wsman:QuotaLimit, in all" % USER,
          we.is_fault(st, text, "wsman:QuotaLimit", E_QUOTA) and "in all" in text, text[:500])
    rows = audit.new()
    refused = [r for r in rows if r["method"] == "Subscribe" and r["result"] == E_QUOTA]
    started = [r for r in rows if r["method"] == "Subscribe" and r["result"] == 0]
    check("audit: %d Subscribe rows, and the two refused (quota) ones with who and why" % TOTAL,
          len(started) == TOTAL and len(refused) == 2 and
          sorted(r["user"] for r in refused) == sorted([ADMIN, USER]) and
          "per user" in refused[0]["detail"] + refused[1]["detail"] and
          "in all" in refused[0]["detail"] + refused[1]["detail"],
          "%d started, refused %r" % (len(started), refused))
    t0 = time.monotonic()
    bad = [i for i in mine if we.send(lab, ec.unsubscribe_req(lab, i), user=ADMIN, c=ca)[0] != 200]
    bad += [i for i in theirs if we.send(lab, ec.unsubscribe_req(lab, i), user=USER,
                                         c=cu)[0] != 200]
    check("all %d unsubscribed (%.1f s)" % (TOTAL, time.monotonic() - t0), not bad, bad[:5])
    ca.close()
    cu.close()
    s = ec.Subscriber(lab, USER)
    check("%s may subscribe again" % USER, s.st == 200, s.text[:300])
    s.unsubscribe()


def still_serves(lab):
    """A subscriber gets a change of the fixture: rdmsd serves as it did."""
    s = ec.Subscriber(lab, ADMIN)
    with open(lab.fixture) as f:
        before = f.read()
    with open(lab.fixture, "w") as f:
        f.write(before.replace("1 %s 0 client-a" % ADMIN, "1 %s 4 -" % ADMIN))
    ev = s.until(lambda e: ec.t(e, "SessionId") == "1" and ec.t(e, "ConnectState") == "4",
                 timeout=20)
    with open(lab.fixture, "w") as f:
        f.write(before)
    back = s.until(lambda e: ec.t(e, "SessionId") == "1" and ec.t(e, "ConnectState") == "0",
                   timeout=20)
    s.unsubscribe()
    return ev is not None and back is not None


def scenario(lab):
    if not check("rdmsd starts", lab.start(), lab.log()[-2000:]):
        return
    root = lab.proc.pid
    audit = we.Audit(lab)
    check("before: a subscriber gets a change", still_serves(lab))
    # warm-up: one round of the cheap groups, then the measure
    common.run_groups((test_huge, test_malformed, test_filters), lab)
    base = th.settle(root)
    common.run_groups((test_huge, test_malformed, test_filters, test_contexts), lab)
    test_thousands(lab, audit)
    check("after: rdmsd still runs", lab.proc.poll() is None, lab.proc.returncode)
    check("after: a subscriber still gets a change", still_serves(lab))
    after = th.settle(root, want_fds=base[1], seconds=15)
    check("after: open descriptors back to %d (%d)" % (base[1], after[1]), after[1] <= base[1])
    check("after: VmRSS %d KiB -> %d KiB (slack %d KiB)" % (base[0], after[0], RSS_SLACK_KIB),
          after[0] <= base[0] + RSS_SLACK_KIB)
    # every subscription started has ended: none left behind
    rows = audit.rows()
    started = {r["target"] for r in rows if r["method"] == "Subscribe" and r["result"] == 0}
    ended = {r["target"] for r in rows if r["method"] == "Unsubscribe"}
    check("audit: each of the %d subscriptions started has ended (Unsubscribe or reaped)"
          % len(started), started and started == ended, sorted(started - ended)[:5])


def main():
    if not common.ready("test_events_hostile", [RDMSD]):
        return 1
    return ec.run_lab(Lab(), scenario)


if __name__ == "__main__":
    sys.exit(main())
