#!/usr/bin/python3
"""test_events_e2e.py -- session events over WS-Eventing in Pull mode
(spec/events.md section 2; issue 14, items 3 and 4) on REAL xrdp sessions
driven by real xfreerdp clients.

Reuses the rdmsd lab of test_wsman_e2e.py (rdmsd on free loopback ports
serving lab.sh's xrdp).  Subscribe, Pull and Unsubscribe are the MI
(PowerShell) client's shapes (spec/events.md 2.3, 2.5, 2.7: the headers of
its WQL Enumerate, the body of OMI's sample), sent with python3-winrm's
Protocol.send_message where a reply is expected, and with http.client
where a fault is (pywinrm raises on one).  Checked, each against what
really happened to the sessions:
  the SubscribeResponse comes at once, before any event;
  a logon: the subscriber gets the session's Creation (and the attach);
  the client killed (no rdms involved): a held Pull returns the
      __InstanceModificationEvent with PreviousInstance ConnectState 0 and
      TargetInstance ConnectState 4;
  a reconnect from another client name: Modification 4 -> 0, the new name;
  xrdp-dis run in the session: Modification 0 -> 4 within 1 s of it;
  a non-admin subscriber gets only its own session's events while another
      user's session comes and goes;
  a Pull with nothing to say is answered empty at the heartbeat;
  a bookmark from a PullResponse resumes a new subscription right after it;
  a logoff: __InstanceDeletionEvent;
  Unsubscribe ends it (a later Pull: wsen:InvalidEnumerationContext);
  the precise faults: Push delivery, Renew, an unknown context, a data
      query as a filter, and wsl (openwsman's client, which cannot
      subscribe) enumerating an event class;
  subscription start and end are audited;
  a bookmark taken before rdmsd stops resumes after it starts again: the
      change made while it was down and the ones after, each once, in
      order, exactly what the journal (events.db) holds after it.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root and the lab of lab.sh running (run.sh starts it).
"""
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import events_common as ec         # noqa: E402  (subscribe, pull, unsubscribe; events of replies)
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on xrdp, envelopes, replies)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: clients, /proc truth)
from e2e_common import RDMS, RDMSD, check, finish, log, wait_for  # noqa: E402

U1, U2, ADMIN = we.U1, we.U2, we.ADMIN
WSE, ACT_UNSUBSCRIBE, ACT_RENEW = ec.WSE, ec.ACT_UNSUBSCRIBE, ec.ACT_RENEW
EARLIEST, Q_ALL, Q_MOD = ec.EARLIEST, ec.Q_ALL, ec.Q_MOD
Subscriber, subscribe_req, pull_req, unsubscribe_req, t = (ec.Subscriber, ec.subscribe_req,
                                                           ec.pull_req, ec.unsubscribe_req, ec.t)
LATENCY_S = 1.0


def xrdp_dis(lab, admin, sid):
    """xrdp 0.9's own tool, run in the session (spec/backends.md 3.4): the
    session's client drops, the session stays; seen within LATENCY_S."""
    n = len(admin.events)
    display = (xe.truth().get(sid) or {}).get("display")
    t0 = time.monotonic()
    p = subprocess.run(["runuser", "-u", U1, "--", "env", "DISPLAY=:%s" % display, "xrdp-dis"],
                       capture_output=True, text=True, timeout=30)
    done = time.monotonic()
    check("xrdp-dis as %s with DISPLAY=:%s exits 0 (%.2f s)" % (U1, display, done - t0),
          p.returncode == 0, p.stdout + p.stderr)
    ev = admin.until(lambda e: e["class"] == ec.MODIFICATION and t(e, "SessionId") == str(sid)
                     and t(e, "ConnectState") == "4", since=n)
    check("xrdp-dis: __InstanceModificationEvent Active -> Disconnected, ECLIENT2 -> no client",
          ev is not None and t(ev, "ConnectState", "PreviousInstance") == "0" and
          t(ev, "ClientMachineName", "PreviousInstance") == "ECLIENT2" and
          t(ev, "ClientMachineName") == "", repr(admin.events[n:]))
    if ev is not None:
        dt = ev["_at"] - done
        check("... %.2f s after xrdp-dis returned (at most %.0f s)" % (dt, LATENCY_S),
              dt <= LATENCY_S, repr(ev))
    check("... and the client has gone (xfreerdp exited)",
          we.client_gone("ws-e1b") is not None)
    check("... while the session stays: listed Disconnected",
          we.state(lab, sid) == xe.DISCONNECTED, we.state(lab, sid))


def journal_after(lab, pos):
    """The positions of the events rdmsd's journal (events.db beside the
    audit database) holds after POS, in order."""
    path = os.path.join(os.path.dirname(lab.audit), "events.db")
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            return db.execute("SELECT epoch, seq FROM events WHERE epoch > ? OR (epoch = ? AND"
                              " seq > ?) ORDER BY epoch, seq", (pos[0], pos[0], pos[1])).fetchall()
        finally:
            db.close()
    except sqlite3.Error as e:
        return "events.db: %s" % e


def restart_resume(lab, sid2):
    """A bookmark taken before rdmsd stops resumes after it starts again: a
    change made while it was down (found by the first rescan against the
    listing events.db kept) and one right after the start arrive exactly
    once, in order, and nothing else: the positions are exactly those the
    journal holds after the bookmark."""
    log("== a bookmark across an rdmsd restart")
    probe = Subscriber(lab, ADMIN, Q_ALL, heartbeat="PT2.000S")
    st, evs, _ = probe.pull()       # nothing to say: empty at the heartbeat, the head as bookmark
    b0 = probe.bookmark
    check("a bookmark before the restart (an empty PullResponse's: the feed's head)",
          st == 200 and not evs and ec.position(b0) is not None, "%d %r %r" % (st, evs, b0))
    probe.unsubscribe()
    if ec.position(b0) is None:
        return
    check("rdmsd stops on SIGTERM with status 0", lab.stop() == 0, lab.log()[-1500:])
    os.kill(xe.lab_pid("client-ws-e2"), signal.SIGKILL)
    check("while rdmsd is down, %s's client is killed: session %s is Disconnected "
          "(rdms --direct)" % (U2, sid2),
          wait_for(20, lambda: xe.state_of(sid2) == xe.DISCONNECTED, step=0.3),
          xe.state_of(sid2))
    if not check("rdmsd starts again", lab.start(), lab.log()[-2000:]):
        return
    lab.connect("e2b", U2, "/client-hostname:ECLIENT10", "/size:800x600")
    resumed = Subscriber(lab, ADMIN, Q_ALL, heartbeat="PT3.000S",
                         extra="<w:Bookmark>%s</w:Bookmark>" % b0, max_elements=1)
    check("Subscribe with the bookmark from before the restart", resumed.st == 200,
          resumed.text[:800])
    ev = resumed.until(lambda e: t(e, "SessionId") == str(sid2) and
                       t(e, "ConnectState") == "0" and t(e, "ClientMachineName") == "ECLIENT10",
                       timeout=40)
    check("... gets the reconnect from ECLIENT10 made right after the start", ev is not None,
          repr(resumed.events))
    rc, _, err = we.cli(lab, ["logoff", str(sid2)])
    check("rdms logoff %s returns 0" % sid2, rc == 0, err)
    ev = resumed.until(lambda e: e["class"] == ec.DELETION and t(e, "SessionId") == str(sid2))
    check("... and its logoff", ev is not None, repr(resumed.events))
    st, evs, _ = resumed.pull()
    check("... and then nothing (an empty PullResponse at the heartbeat)", st == 200 and not evs,
          repr(evs))
    resumed.unsubscribe()

    got = [e.get("_pos") for e in resumed.events]
    journal = journal_after(lab, ec.position(b0))
    check("every event came with its position (one per PullResponse, MaxElements 1)",
          got and None not in got, repr(got))
    check("... in order, none twice", got == sorted(set(got)), repr(got))
    check("... exactly the events the journal holds after the bookmark (none lost)",
          [tuple(p) for p in journal] == got if isinstance(journal, list) else False,
          "got %r, journal %r" % (got, journal))
    first = resumed.events[0] if resumed.events else {}
    check("the first is the change made while rdmsd was down: %s's Modification Active -> "
          "Disconnected, ECLIENT9 -> no client, in the next boot epoch" % sid2,
          ec.transition(first) == (ec.MODIFICATION, str(sid2), "0", "4") and
          t(first, "ClientMachineName", "PreviousInstance") == "ECLIENT9" and
          first.get("_pos", (0,))[0] == ec.position(b0)[0] + 1, repr(first))
    states = [t(e, "ConnectState") for e in resumed.events if e["class"] == ec.MODIFICATION]
    # A logoff may drop the client a moment before the session ends: a scan
    # between the two sees Active -> Disconnected, a true change, just before
    # the Deletion.
    check("... then Disconnected -> Active once, then the Deletion (the logoff's own "
          "Active -> Disconnected may come just before it): nothing else",
          [e["class"] for e in resumed.events][-1] == ec.DELETION and
          all(t(e, "SessionId") == str(sid2) for e in resumed.events) and
          [s_ for i, s_ in enumerate(states) if i == 0 or s_ != states[i - 1]]
          in (["4", "0"], ["4", "0", "4"]),
          [ec.transition(e) for e in resumed.events])


WANT_POSITION = '<r:Position xmlns:r="%s" s:mustUnderstand="false"/>' % we.RDMS_NS


def position_of(root):
    """The rdms:Position header of a reply: (epoch, seq), or None."""
    for el in we.find_all(root, "Position"):
        if el.tag == "{%s}Position" % we.RDMS_NS:
            return int(el.get("Epoch")), int(el.get("Seq"))
    return None


def enumerate_sessions(lab, positioned):
    """An MI-shaped optimized Enumerate (with rdms:Position when POSITIONED):
    (its position, {SessionId: (ConnectState, UserName, ClientMachineName)})."""
    env = we.mi_envelope(we.ACT_ENUM, we.WMI_URI, body=we.MI_ENUM_BODY, port=lab.http)
    if positioned:
        env = env.replace("</s:Header>", WANT_POSITION + "</s:Header>", 1)
    st, text = we.send(lab, env)
    root = we.parse(text)
    if st != 200 or root is None:
        return None, {"fault": text[:800]}
    return position_of(root), {i["SessionId"]: (i["ConnectState"], i["UserName"],
                                                 i["ClientMachineName"])
                               for i in we.instances(root)}


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    audit = we.Audit(lab)
    audit.mark()

    # ---- Subscribe: answered at once, in the spec/events.md 2.4 form
    from winrm.protocol import Protocol  # noqa: F401  (python3-winrm must be there)
    p = we.winrm_protocol("http://127.0.0.1:%d/wsman/" % lab.http, ADMIN, lab.pw[ADMIN])
    t0 = time.monotonic()
    try:
        out = p.send_message(subscribe_req(lab, Q_ALL))
    except Exception as e:     # noqa: BLE001
        out = repr(e)
    dt = time.monotonic() - t0
    root = we.parse(out)
    ctx = we.find_text(root, "EnumerationContext")
    ident = we.find_text(root, "Identifier")
    check("pywinrm: Subscribe (MI-shaped, WMI wildcard URI, Pull) answered at once "
          "(%.2f s) with a SubscriptionManager and the EnumerationContext" % dt,
          dt < 2 and ctx is not None and ctx == ident and
          we.find_text(root, "Expires") == "PT600.000S" and
          we.find_text(root, "ResourceURI") == we.WILDCARD_URI, out[:1500])
    admin = Subscriber(lab, ADMIN, ctx=ctx, ident=ident)
    mine = Subscriber(lab, U1, Q_ALL)
    check("%s (not an admin) subscribes too" % U1, mine.st == 200 and mine.ctx,
          mine.text[:1500])
    beat = Subscriber(lab, ADMIN, Q_MOD, heartbeat="PT2.000S")
    rows = [r for r in audit.new() if r["method"] == "Subscribe"]
    check("audit: three Subscribe rows, by root, root and %s" % U1,
          sorted(r["user"] for r in rows) == sorted([ADMIN, ADMIN, U1]) and
          all(r["result"] == 0 and r["protocol"] == "wsman" for r in rows), repr(rows))

    # ---- heartbeat: an empty PullResponse, never a Heartbeat message
    t0 = time.monotonic()
    st, evs, root = beat.pull()
    dt = time.monotonic() - t0
    check("a Pull with nothing to say is answered empty at the 2 s heartbeat (%.2f s)" % dt,
          st == 200 and evs == [] and 1.5 <= dt < 5 and
          we.find_text(root, "Action") == we.ACT_PULL + "Response", "%d %r" % (st, evs))

    # ---- logon
    lab.connect("e1", U1, "/client-hostname:ECLIENT1", "/size:800x600")
    sid = we.wait_session(lab, U1)
    if not check("%s's session is listed Active" % U1, sid):
        return
    ev = admin.until(lambda e: t(e, "SessionId") == str(sid) and e["class"] ==
                     "__InstanceCreationEvent")
    check("a logon: __InstanceCreationEvent of %d by %s with TIME_CREATED and "
          "SECURITY_DESCRIPTOR nil" % (sid, U1),
          ev is not None and t(ev, "UserName") == U1 and
          (ev.get("TIME_CREATED") or "").isdigit() and
          int(ev["TIME_CREATED"]) > 130000000000000000 and
          ev.get("SECURITY_DESCRIPTOR@nil") == "true" and
          t(ev, "_type").endswith(":Win32_VirtualDesktopSession_Type"), repr(ev))
    ev = admin.until(lambda e: t(e, "SessionId") == str(sid) and t(e, "ConnectState") == "0")
    check("... Active with client ECLIENT1", ev is not None and
          t(ev, "ClientMachineName") == "ECLIENT1", repr(ev))
    ev = mine.until(lambda e: t(e, "SessionId") == str(sid))
    check("%s's own subscription gets its logon" % U1, ev is not None, repr(mine.events))
    reaped = wait_for(10, lambda: [r for r in audit.new() if r["method"] == "Unsubscribe"] or
                      None)
    check("the 2 s heartbeat subscription, not pulled for two heartbeats, is reaped "
          "(audited as its end)",
          reaped is not None and len(reaped) == 1 and "reaped" in reaped[0]["detail"] and
          reaped[0]["user"] == ADMIN, repr(reaped))
    st, text = we.send(lab, pull_req(lab, beat.ctx))
    check("... and a Pull on it: wsen:InvalidEnumerationContext",
          we.is_fault(st, text, "wsen:InvalidEnumerationContext"), text[:800])

    # ---- the client dies: a held Pull returns the modification
    n = len(admin.events)
    pid = xe.lab_pid("client-ws-e1")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    ev = admin.until(lambda e: e["class"] == "__InstanceModificationEvent" and
                     t(e, "SessionId") == str(sid) and t(e, "ConnectState") == "4")
    dt = time.monotonic() - t0
    check("the client killed: a held Pull returns __InstanceModificationEvent with "
          "PreviousInstance ConnectState 0 and TargetInstance 4",
          ev is not None and t(ev, "ConnectState", "PreviousInstance") == "0" and
          t(ev, "ClientMachineName", "PreviousInstance") == "ECLIENT1" and
          t(ev, "ClientMachineName") == "", repr(admin.events[n:]))
    log("  (kill to event: %.2f s; xrdp's connection process takes ~2 s to end)" % dt)
    ev = mine.until(lambda e: t(e, "SessionId") == str(sid) and t(e, "ConnectState") == "4")
    check("%s's own subscription gets the disconnect" % U1, ev is not None, repr(mine.events))

    # ---- another user's session: U1's subscription must not see it
    lab.connect("e2", U2, "/client-hostname:ECLIENT9", "/size:800x600")
    sid2 = we.wait_session(lab, U2)
    check("%s's session is listed Active" % U2, sid2)
    ev = admin.until(lambda e: t(e, "SessionId") == str(sid2))
    check("the admin's subscription sees %s's session %s" % (U2, sid2), ev is not None, "")

    # ---- a broker's resync (spec/fleet.md 3.3): Subscribe at P0, then an Enumerate
    # asking for its position P >= P0, the sessions exactly as the journal has them at P
    resync = Subscriber(lab, ADMIN, Q_ALL)
    p0 = position_of(we.parse(resync.text))

    def agreeing():
        """The positioned snapshot once it lists what an ordinary Enumerate does (the
        feed follows the back-ends within a rescan); None before."""
        r = enumerate_sessions(lab, True)
        return r if r[1] == enumerate_sessions(lab, False)[1] else None

    found = wait_for(10, agreeing)
    pos, snap = found if found is not None else enumerate_sessions(lab, True)
    plain_pos, plain = enumerate_sessions(lab, False)
    check("a SubscribeResponse carries rdms:Position P0 %r, and an Enumerate asking for "
          "rdms:Position the snapshot's position P %r >= P0 (same epoch), its sessions those "
          "an ordinary Enumerate lists (%s), which has no position" % (p0, pos, sorted(snap)),
          p0 is not None and pos is not None and pos[0] == p0[0] and pos[1] >= p0[1] and
          found is not None and plain_pos is None and str(sid) in snap and str(sid2) in snap,
          "snapshot %r, plain %r" % (snap, plain))

    # ---- reconnect under another name
    lab.connect("e1b", U1, "/client-hostname:ECLIENT2", "/size:800x600")
    ev = admin.until(lambda e: e["class"] == "__InstanceModificationEvent" and
                     t(e, "SessionId") == str(sid) and t(e, "ConnectState") == "0" and
                     t(e, "ClientMachineName") == "ECLIENT2", timeout=40)
    check("a reconnect from ECLIENT2: Modification 4 -> 0 with the new client name",
          ev is not None and t(ev, "ConnectState", "PreviousInstance") == "4" and
          t(ev, "ClientMachineName", "PreviousInstance") == "", repr(admin.events[-4:]))
    bookmark = admin.bookmark
    check("PullResponses carry a w:Bookmark (SendBookmarks)",
          bookmark is not None and bookmark.startswith("rdms:"), repr(bookmark))

    # ---- the non-admin subscriber: its own session's events, and only those
    ev = resync.until(lambda e: t(e, "ClientMachineName") == "ECLIENT2")
    seq = int((resync.bookmark or "rdms:0:0").split(":")[2])
    check("the resync subscription then gets the reconnect, its bookmark past P",
          ev is not None and pos is not None and seq > pos[1], "%r %r" % (resync.bookmark, pos))
    ev = mine.until(lambda e: t(e, "ClientMachineName") == "ECLIENT2")
    users = sorted({t(e, "UserName") for e in mine.events})
    check("%s's subscription got its own session's events (logon, kill, reconnect) and "
          "none of %s's" % (U1, U2),
          ev is not None and users == [U1] and
          any(t(e, "ConnectState") == "4" for e in mine.events), repr(mine.events))

    # ---- xrdp-dis: the session disconnects itself, from inside
    xrdp_dis(lab, admin, sid)

    # ---- logoff
    rc, _, err = we.cli(lab, ["logoff", str(sid)])
    check("rdms logoff %d returns 0" % sid, rc == 0, err)
    ev = admin.until(lambda e: e["class"] == "__InstanceDeletionEvent" and
                     t(e, "SessionId") == str(sid))
    check("a logoff: __InstanceDeletionEvent of %d" % sid,
          ev is not None and t(ev, "UserName") == U1, repr(admin.events[-3:]))

    # ---- a bookmark resumes: a new subscription after it gets the logoff
    resumed = Subscriber(lab, ADMIN, Q_ALL, extra="<w:Bookmark>%s</w:Bookmark>" % bookmark)
    ev = resumed.until(lambda e: e["class"] == "__InstanceDeletionEvent")
    check("a subscription with the bookmark from before the logoff gets the "
          "__InstanceDeletionEvent, and nothing from before the bookmark",
          resumed.st == 200 and ev is not None and t(ev, "SessionId") == str(sid) and
          not any(t(e, "ClientMachineName") == "ECLIENT1" for e in resumed.events),
          resumed.text[:800] if resumed.st != 200 else repr(resumed.events))
    early = Subscriber(lab, ADMIN, Q_ALL, extra="<w:Bookmark>%s</w:Bookmark>" % EARLIEST)
    ev = early.until(lambda e: e["class"] == "__InstanceCreationEvent" and
                     t(e, "SessionId") == str(sid))
    check("the earliest bookmark replays the journal from the logon of %d" % sid,
          early.st == 200 and ev is not None, repr(early.events[:3]))
    st, text = we.send(lab, subscribe_req(lab, Q_ALL, extra="<w:Bookmark>rdms:1:999999999"
                                                         "</w:Bookmark>"))
    check("a bookmark the journal does not hold: wsman:InvalidBookmark",
          we.is_fault(st, text, "wsman:InvalidBookmark"), text[:800])

    # ---- faults for what is not served
    st, text = we.send(lab, subscribe_req(lab, Q_ALL, mode="http://schemas.xmlsoap.org/ws/"
                                                       "2004/08/eventing/DeliveryModes/Push"))
    check("Push delivery: wse:DeliveryModeRequestedUnavailable",
          we.is_fault(st, text, "wse:DeliveryModeRequestedUnavailable"), text[:800])
    st, text = we.send(lab, subscribe_req(lab, "SELECT * FROM Win32_VirtualDesktopSession"))
    check("a data query as the filter: wse:EventSourceUnableToProcess, WBEM_E_NOT_EVENT_CLASS",
          we.is_fault(st, text, "wse:EventSourceUnableToProcess", 0x80041059), text[:800])
    renew = unsubscribe_req(lab, ident).replace(ACT_UNSUBSCRIBE, ACT_RENEW).replace(
        "Unsubscribe xmlns", "Renew xmlns")
    st, text = we.send(lab, renew)
    check("Renew: wse:UnableToRenew", we.is_fault(st, text, "wse:UnableToRenew"), text[:800])
    st, text = we.send(lab, pull_req(lab, "uuid:%s" % uuid.uuid4()))
    check("a Pull on an unknown context: wsen:InvalidEnumerationContext",
          we.is_fault(st, text, "wsen:InvalidEnumerationContext"), text[:800])
    st, text = we.send(lab, pull_req(lab, ctx), user=U1)
    check("%s pulling the admin's subscription: wsen:InvalidEnumerationContext" % U1,
          we.is_fault(st, text, "wsen:InvalidEnumerationContext"), text[:800])
    w = we.Wsl(lab, ADMIN, lab.pw[ADMIN])
    rc, rep, _ = w.run("wslenum", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/"
                                  "rdms/__InstanceModificationEvent")
    f = we.fault(rep[-1] if rep else None)
    check("wsl (which cannot subscribe) enumerating an event class: a precise fault "
          "(wsa:DestinationUnreachable), not an empty list",
          rc != 0 or f is not None and (f[0] or "").endswith("DestinationUnreachable"),
          "rc=%d %r" % (rc, f))

    # ---- Unsubscribe
    audit.mark()
    try:
        out = p.send_message(unsubscribe_req(lab, ident))
    except Exception as e:     # noqa: BLE001
        out = repr(e)
    check("pywinrm: Unsubscribe answered with UnsubscribeResponse",
          we.find_text(we.parse(out), "Action") == ACT_UNSUBSCRIBE + "Response", out[:800])
    st, text = we.send(lab, pull_req(lab, ctx))
    check("a Pull after Unsubscribe: wsen:InvalidEnumerationContext",
          we.is_fault(st, text, "wsen:InvalidEnumerationContext"), text[:800])
    for s in (mine, resumed, early, resync):
        we.send(lab, unsubscribe_req(lab, s.ident), user=s.user)
    rows = [r for r in audit.new() if r["method"] == "Unsubscribe"]
    check("audit: five Unsubscribe rows", len(rows) == 5 and all(r["result"] == 0 for r in rows),
          repr(rows))
    restart_resume(lab, sid2)


def main():
    if not common.ready("test_events_e2e", [RDMS, RDMSD], ["xfreerdp", "runuser", "wslenum"]):
        return 1
    if not we.xrdp_lab_ready():
        return finish()
    return we.run_scenario(we.Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
