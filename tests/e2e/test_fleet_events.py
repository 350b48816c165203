#!/usr/bin/python3
"""test_fleet_events.py -- session events at a fleet broker (issue 15, item
5: "rdms watch and WS-Eventing subscribers at the broker see the whole
fleet's changes") on the fleet lab (fleet_lab.py): two fixture hosts and a
real xrdp machine driven by xfreerdp, and a broker in b1 (test_fleet_broker's
Broker).  Subscribers at the broker:
  every   `rdms watch --json` as root on the broker's Unix socket;
  raw     a WS-Eventing Pull subscriber (MI-shaped envelopes, events_common)
          on the same socket, whose events carry TIME_CREATED -- when the
          broker applied the change -- to measure the delivery from;
  mine    `rdms watch --json --host http://b1 -u USER` (WS-Man, Basic) from
          the client namespace, USER not an admin.
Checked:
  the hosts' first sync makes no events (a subscription from `earliest`
      reads none);
  a change on a fixture host (a marker in ClientMachineName) reaches every
      and raw as a Modification with the host's VMHostName and the previous
      instance, within about a second of the broker applying it;
  a real xfreerdp logon on the xrdp machine is a Creation with its
      VMHostName, the client killed a Modification Active -> Disconnected,
      a logoff through the broker a Deletion;
  mine sees the events of its own sessions (any host) and nothing else;
  the broker restarted (changes made while it was down, one before):
      `rdms watch --since` the bookmark taken before resumes with exactly
      the events after it, each once, in order, the new ones in the
      broker's next epoch.
Latencies (apply at the broker -> subscriber, host change -> subscriber)
are printed.

Needs root and lab.sh's xrdp lab; run under the lab lock (run.sh does).
Output: one PASS/FAIL line per check, and last `N passed, M failed`.
"""
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import events_common as ec         # noqa: E402  (WS-Eventing subscriber)
import fleet_lab as fl             # noqa: E402
import test_fleet_broker as tfb    # noqa: E402  (the broker in b1)
import test_rdmsd_auth as ra       # noqa: E402  (accounts, PAM service)
import test_watch_e2e as tw        # noqa: E402  (rdms watch, read as it prints)
import test_wsman_e2e as we        # noqa: E402
from e2e_common import RDMS, RDMSD, check, finish, log, ready, wait_for  # noqa: E402

U1 = "rdmstest1"
FILETIME_1970 = 116444736000000000


class SocketLab:
    """What events_common's subscriber needs of an rdmsd: its Unix socket."""

    def __init__(self, broker):
        self.sock = os.path.join(broker.dir, "rdmsd.sock")
        self.http = 5985
        self.pw = broker.pw


def created(ev):
    """An event's TIME_CREATED (the broker's apply time) as Unix seconds."""
    return (int(ev["TIME_CREATED"]) - FILETIME_1970) / 1e7


def arrived(ev):
    """When the raw subscriber's PullResponse with EV came, as Unix seconds."""
    return time.time() - (time.monotonic() - ev["_at"])


def target(ev, prop):
    return (ev.get("target") or {}).get(prop)


def line_of(w, pred, since=0):
    """The first JSON event of watcher W (from line SINCE on) satisfying PRED,
    and when it was read."""
    for i, line in list(enumerate(w.lines))[since:]:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if pred(ev):
            return ev, w.times[i]
    return None, None


def wait_line(w, pred, timeout=20, since=0):
    got = wait_for(timeout, lambda: line_of(w, pred, since)[0] is not None, step=0.02)
    return line_of(w, pred, since) if got else (None, None)


def register(lab, broker):
    for h in lab.hosts:
        rc, _, err = broker.rdms("fleet", "host", "add", h.name, h.url, "--fingerprint",
                                 h.fingerprint)
        if rc != 0:
            check("rdms fleet host add %s" % h.name, False, err)
    return tfb.converge(broker, lab)


def latency(what, applied, seen, changed=None):
    text = "  (%s: broker applied -> subscriber %.0f ms" % (what, (seen - applied) * 1000)
    if changed is not None:
        text += ", host change -> subscriber %.0f ms" % ((seen - changed) * 1000)
    log(text + ")")
    return seen - applied


def fixture_change(lab, broker, every, raw, n, sid_index=3):
    """Marker N on a fixture host's session: (host, sid, marker, raw event, its line)."""
    h = lab.fixture_hosts[n % len(lab.fixture_hosts)]
    sid = sorted(h.sessions())[sid_index]
    before = h.sessions()[sid][2]
    t0 = time.time()
    marker = h.mark(sid, n)
    ev = raw.until(lambda e: ec.t(e, "ClientMachineName") == marker, timeout=20)
    line, seen = wait_line(every, lambda e: target(e, "ClientMachineName") == marker)
    check("a change on %s (marker %s): a Modification at the broker's WS-Eventing subscriber, "
          "VMHostName %s, the previous ClientMachineName %s" % (h.name, marker, h.name, before),
          ev is not None and ev["class"] == ec.MODIFICATION and ec.t(ev, "VMHostName") == h.name
          and ec.t(ev, "SessionId") == str(sid) and
          ec.t(ev, "ClientMachineName", "PreviousInstance") == before, repr(ev))
    check("... and at `rdms watch --json` on the broker's socket, once",
          line is not None and line["event"] == "Modification" and
          target(line, "VMHostName") == h.name and
          sum(1 for l in every.lines if marker in l) == 1, repr(every.lines[-3:]))
    if ev is not None and line is not None:
        dt = latency("marker %s" % marker, created(ev), seen, t0)
        latency("marker %s, WS-Eventing" % marker, created(ev), arrived(ev))
        check("... rdms watch printed it within about a second of the broker applying it "
              "(%.0f ms)" % (dt * 1000), dt < 1.0, "")
    return h, sid, marker, ev, line


def scenario(lab, broker):
    hs = register(lab, broker)
    check("the hosts registered converge at the broker", bool(hs), repr(broker.hosts()))
    journal = os.path.join(broker.dir, "fleet-events.db")
    check("the broker's events journal is beside its directory (%s)" % journal,
          os.path.exists(journal) and "events journal %s, epoch 1" % journal in broker.log(),
          broker.log()[-800:])
    sock = SocketLab(broker)
    early = ec.Subscriber(sock, we.UNIX, ec.Q_ALL, heartbeat="PT1.000S",
                          extra="<w:Bookmark>%s</w:Bookmark>" % ec.EARLIEST)
    st, evs, _ = early.pull() if early.st == 200 else (early.st, [], None)
    check("the hosts' first sync made no events (a subscription from earliest reads none)",
          early.st == 200 and st == 200 and evs == [], "%s %s %r" % (early.st, st, evs[:3]))
    early.unsubscribe()

    every = tw.Watcher(broker, ["--json"])
    raw = ec.Subscriber(sock, we.UNIX, ec.Q_ALL, heartbeat="PT5.000S")
    mine = tw.Watcher(broker, ["--json", "--host", tfb.WSMAN, "-u", ra.USER],
                      env={"RDMS_PASSWORD": broker.pw[ra.USER]},
                      prefix=["ip", "netns", "exec", fl.CLIENT])
    check("subscribers at the broker: rdms watch (socket, root), WS-Eventing (socket), "
          "rdms watch --host as %s" % ra.USER,
          raw.st == 200 and every.proc.poll() is None and mine.proc.poll() is None,
          "%s %s %s" % (raw.text[:300], every.err, mine.err))

    # ---- fixture hosts: someone else's session, then one of the non-admin's
    fixture_change(lab, broker, every, raw, 1)
    h2 = lab.fixture_hosts[1]
    own = sorted(h2.sessions())[5]

    def give(s):
        s[own] = (ra.USER, s[own][1], "m-own-1")
    h2.change(give)
    got, _ = wait_line(mine, lambda e: target(e, "ClientMachineName") == "m-own-1")
    check("%s (not an admin) sees the change that made %s/%d its session"
          % (ra.USER, h2.name, own),
          got is not None and target(got, "UserName") == ra.USER and
          target(got, "VMHostName") == h2.name, repr(mine.lines[-3:]) + mine.err)
    h2.change(lambda s: s.update({own: (ra.USER, fl.DISCONNECTED, "-")}))
    got, _ = wait_line(mine, lambda e: target(e, "SessionId") == own and
                       target(e, "ConnectState") == fl.DISCONNECTED)
    check("... and its session disconnecting (reason remote-disconnect)",
          got is not None and got["reason"] == "remote-disconnect", repr(mine.lines[-3:]))

    # ---- the real xrdp machine: logon, the client killed, a logoff through the broker
    xh = lab.xrdp_hosts[0]
    t0 = time.time()
    client = lab.connect_rdp(xh, U1, "/client-hostname:FLEETEV")
    ev = raw.until(lambda e: e["class"] == ec.CREATION and ec.t(e, "VMHostName") == xh.name and
                   ec.t(e, "UserName") == U1, timeout=60)
    line, seen = wait_line(every, lambda e: e["event"] == "Creation" and
                           target(e, "VMHostName") == xh.name and target(e, "UserName") == U1)
    check("xfreerdp logs %s on to %s: a Creation at the broker with VMHostName %s"
          % (U1, xh.name, xh.name), ev is not None and line is not None, repr(every.lines[-3:]))
    xsid = ec.t(ev, "SessionId") if ev is not None else None
    if ev is not None and line is not None:
        latency("xrdp logon", created(ev), seen, t0)
    active = raw.until(lambda e: ec.t(e, "SessionId") == xsid and
                       ec.t(e, "VMHostName") == xh.name and ec.t(e, "ConnectState") == "0" and
                       ec.t(e, "ClientMachineName") == "FLEETEV", timeout=30)
    check("... Active from FLEETEV", active is not None, repr(raw.events[-3:]))
    if xsid is not None:
        since, since_line = len(raw.events), len(every.lines)
        t0 = time.time()
        os.kill(client.pid, signal.SIGKILL)
        ev = raw.until(lambda e: ec.t(e, "SessionId") == xsid and
                       ec.t(e, "ConnectState") == "4", timeout=30, since=since)
        line, seen = wait_line(every, lambda e: target(e, "SessionId") == int(xsid) and
                               target(e, "VMHostName") == xh.name and
                               target(e, "ConnectState") == 4, since=since_line)
        check("the xfreerdp client killed: a Modification Active -> Disconnected at the broker "
              "(VMHostName %s)" % xh.name,
              ev is not None and ev["class"] == ec.MODIFICATION and
              ec.t(ev, "ConnectState", "PreviousInstance") == "0" and
              ec.t(ev, "VMHostName") == xh.name and line is not None, repr(raw.events[-3:]))
        if ev is not None and line is not None:
            dt = latency("xrdp disconnect", created(ev), seen, t0)
            check("... rdms watch printed it within about a second of the broker applying it "
                  "(%.0f ms)" % (dt * 1000), dt < 1.0, "")
        rc, _, err = broker.rdms("logoff", tfb.path(xh.name, int(xsid)))
        check("rdms logoff through the broker returns 0", rc == 0, err)
        line, seen = wait_line(every, lambda e: e["event"] == "Deletion" and
                               target(e, "SessionId") == int(xsid) and
                               target(e, "VMHostName") == xh.name, timeout=30)
        check("... a Deletion at the broker (reason session-logoff)",
              line is not None and line["reason"] == "session-logoff", repr(every.lines[-3:]))

    # ---- the non-admin saw its own, nothing else
    evs = [json.loads(l) for l in mine.lines]
    check("%s's watcher printed only %s's sessions (%d events), none of the others'"
          % (ra.USER, ra.USER, len(evs)),
          evs and all(target(e, "UserName") == ra.USER for e in evs) and
          not any("m-hv" in l for l in mine.lines), repr(mine.lines[:4]))
    rc, err = mine.finish(signal.SIGINT)
    check("SIGINT ends the --host watcher with exit 0", rc == 0, "rc=%d %s" % (rc, err))
    raw.unsubscribe()

    # ---- a broker restart: a bookmark resumes with exactly what came after it
    last = json.loads(every.lines[-1]) if every.lines else None
    bookmark = last["bookmark"] if last else None
    _, _, m_before, _, _ = fixture_change(lab, broker, every, raw_again(sock), 2, sid_index=7)
    rc, err = every.finish(signal.SIGINT)
    t_stop = time.time()
    broker.proc.send_signal(signal.SIGTERM)
    try:
        broker.proc.wait(20)
        stopped = True
    except Exception:          # noqa: BLE001  (subprocess.TimeoutExpired)
        stopped = False
    check("the broker stops on SIGTERM", stopped, broker.log()[-600:])
    m_down = [lab.fixture_hosts[0].mark(sorted(lab.fixture_hosts[0].sessions())[9], 3),
              lab.fixture_hosts[1].mark(sorted(lab.fixture_hosts[1].sessions())[9], 4)]
    if not check("the broker starts again", broker.start(), broker.log()[-1500:]):
        return
    log("  (broker down for %.1f s)" % (time.time() - t_stop))
    check("... in its next epoch", "events journal %s, epoch 2" % journal in broker.log(),
          broker.log()[-800:])
    again = tw.Watcher(broker, ["--json", "--since", bookmark or "rdms:1:0"])
    got = wait_for(40, lambda: all(any(m in l for l in again.lines) for m in m_down))
    markers = [target(json.loads(l), "ClientMachineName") for l in again.lines]
    seen = [m for m in markers if m and m.startswith("m-hv")]
    check("--since the bookmark taken before the restart (%s): the change made before it, "
          "then the two made while the broker was down (two hosts: in the order the broker "
          "heard them), each once" % bookmark,
          bool(got) and seen[:1] == [m_before] and sorted(seen[1:]) == sorted(m_down) and
          len(set(json.loads(l)["bookmark"] for l in again.lines)) == len(again.lines),
          repr(again.lines)[:1500])
    after = [ec.position(json.loads(l)["bookmark"]) for l in again.lines]
    check("... and nothing from before it",
          bookmark is not None and all(p is not None and p > ec.position(bookmark)
                                       for p in after), repr(after))
    new = [json.loads(l)["bookmark"] for l in again.lines if any(m in l for m in m_down)]
    check("... those two with positions of the broker's new epoch",
          len(new) == 2 and all(b.startswith("rdms:2:") for b in new), repr(new))
    rc, err = again.finish(signal.SIGINT)
    check("... and SIGINT ends it with exit 0", rc == 0, "rc=%d %s" % (rc, err))


def raw_again(sock):
    """A fresh WS-Eventing subscriber on the broker's socket."""
    return ec.Subscriber(sock, we.UNIX, ec.Q_ALL, heartbeat="PT5.000S")


def main():
    if not ready("test_fleet_events", built=[RDMS, RDMSD], tools=["ip", "curl", "openssl",
                                                                   "xfreerdp"]):
        return 1
    fl.exit_on_sigterm()
    accounts = ra.Lab()
    try:
        accounts.accounts()
        with fl.FleetLab(hosts=2, xrdp_hosts=1, sessions=200) as lab:
            log("fleet lab: %d hosts in %.1f s" % (len(lab.hosts), lab.setup_seconds))
            broker = tfb.Broker(lab, accounts)
            if check("the broker (role = broker) starts in b1", broker.start(),
                     broker.log()[-1500:]):
                try:
                    scenario(lab, broker)
                finally:
                    if tfb.fl_failed():
                        log(broker.log()[-4000:])
    finally:
        accounts.cleanup()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
