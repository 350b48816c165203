#!/usr/bin/python3
"""test_fleet_ingest.py -- the fleet broker's ingest (src/fleet/ingest.h)
against REAL rdmsd hosts: each an `rdmsd --foreground` with the fixture
back-end on its own loopback ports, config, events database and
VMHostName (test_rdmsd_auth.Lab, its accounts and PAM service), and the
ingest run by build/tests/fleet_ingest_probe on a SQLite directory, which
this test reads beside it.  Not yet in network namespaces (issue 15, 6).

Checked, each against the hosts' fixture files (the truth):
  the directory converges to exactly the union of the hosts, every
      property equal, two hosts sharing SessionIds kept apart;
  one resync per host at start, never more than --max-resyncs at once;
  a host whose sessions claim another VMHostName is quarantined
      (ServerState 8) with nothing of it stored;
  hostile hosts (a fake WS-Eventing host in this test, HostileHost) whose
      Pulls are past the MaxEnvelopeSize asked for, not XML, or events whose
      positions go back: each refused 3 times (a resync after each), then
      quarantined (ServerState 8), logged with the reason, its snapshot's
      session kept, nothing of the bad replies applied, the other hosts
      unaffected; lifted by an admin, it is read anew;
  changes on a host (a disconnect, logons, logoffs) arrive as batches
      without a resync;
  a killed host: ServerState 1 at once, its sessions stay listed; changed
      while down and restarted (a new epoch): running again, resynced,
      converged;
  the broker stopped and started again: it resumes every host from its
      stored bookmark (no resync) and catches up with what changed meanwhile;
  a host that lost its events database (its positions start over, the
      broker's bookmark is in its future): resynced, converged;
  the periodic safety resync (RDMS_TEST_FLEET_RESYNC_MS shortens it):
      every host read in full again and again, still converged.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root (accounts, PAM).
"""
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_rdmsd_auth as auth     # noqa: E402  (an rdmsd on the fixture back-end)
from e2e_common import ROOT, RDMSD, check, finish, log, wait_for  # noqa: E402

PROBE = os.environ.get("FLEET_PROBE_BIN", os.path.join(ROOT, "build", "tests",
                                                       "fleet_ingest_probe"))


class Host(auth.Lab):
    """An rdmsd host named NAME (its vm_host_name: CLAIMS, when it lies)
    serving SESSIONS {id: (user, state, client)} from its fixture file."""

    def __init__(self, name, sessions, claims=None):
        super().__init__()
        self.name, self.claims, self.sessions = name, claims or name, dict(sessions)

    def write_config(self, http_port=None):
        super().write_config(http_port)
        self.write_fixture()
        with open(self.conf) as f:
            lines = [l for l in f if not l.startswith("vm_host_name")]
        lines += ["vm_host_name = %s\n" % self.claims,
                  "events_db = %s\n" % os.path.join(self.dir, "state", "events.db")]
        with open(self.conf, "w") as f:
            f.writelines(lines)

    def write_fixture(self):
        """The sessions, atomically (rdmsd's watch sees the rename)."""
        tmp = self.fixture + ".new"
        with open(tmp, "w") as f:
            for sid in sorted(self.sessions):
                user, state, client = self.sessions[sid]
                f.write("%d %s %d %s\n" % (sid, user, state, client or "-"))
        os.rename(tmp, self.fixture)

    def url(self):
        return "http://127.0.0.1:%d/wsman" % self.http

    def expected(self):
        return {(self.name, sid): (u, st, c or "") for sid, (u, st, c) in self.sessions.items()}


NS = ('xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
      'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
      'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
      'xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
      'xmlns:wse="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:rdms="urn:rdms:wsman:1"')
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"


class HostileHost:
    """A fake host speaking WS-Eventing (plain HTTP on loopback; the broker's
    Basic credentials ignored): a good Subscribe and snapshot (one session, at
    position 1:5), then every Pull answered badly, as MODE says: 'huge' (an
    envelope past the 512,000 bytes the broker asks for), 'malformed' (not
    XML), 'backwards' (an event at 1:3, before the subscription's 1:5), 'fault'
    (a SOAP fault with nothing but a Code and a Reason)."""

    def __init__(self, name, mode):
        self.name, self.mode, self.pulls, self.subscribes = name, mode, 0, 0
        self.sessions = {1: ("hostile", 0, "pc-h")}
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                reply = host.answer(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d/wsman" % self.server.server_address[1]

    def expected(self):
        return {(self.name, sid): (u, st, c) for sid, (u, st, c) in self.sessions.items()}

    def instance(self, sid, state):
        return ('<p:Win32_VirtualDesktopSession xmlns:p="%sWin32_VirtualDesktopSession">'
                '<p:VMHostName>%s</p:VMHostName><p:SessionId>%d</p:SessionId>'
                '<p:ConnectState>%d</p:ConnectState><p:UserName>hostile</p:UserName>'
                '<p:ClientMachineName>pc-h</p:ClientMachineName>'
                '</p:Win32_VirtualDesktopSession>' % (WMI, self.name, sid, state))

    def answer(self, req):
        head = '<s:Header><rdms:Position Epoch="1" Seq="5"/>%s</s:Header>'
        if "<wse:Subscribe>" in req:
            self.subscribes += 1
            return ('<s:Envelope %s>%s<s:Body><wse:SubscribeResponse><wsen:EnumerationContext>'
                    'sub-%d</wsen:EnumerationContext></wse:SubscribeResponse></s:Body>'
                    '</s:Envelope>' % (NS, head % "", self.subscribes))
        if "<wsen:Enumerate>" in req:
            return ('<s:Envelope %s>%s<s:Body><wsen:EnumerateResponse><wsman:Items>%s'
                    '</wsman:Items><wsman:EndOfSequence/></wsen:EnumerateResponse></s:Body>'
                    '</s:Envelope>' % (NS, head % "", self.instance(1, 0)))
        self.pulls += 1
        if self.mode == "fault":      # a SOAP fault with no Subcode (nor Detail)
            return ('<s:Envelope %s><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value>'
                    '</s:Code><s:Reason><s:Text xml:lang="en-US">out of sorts</s:Text>'
                    '</s:Reason></s:Fault></s:Body></s:Envelope>' % NS)
        if self.mode == "malformed":
            return '<s:Envelope %s><s:Body><wsen:PullResponse><wsen:Items><unclosed' % NS
        if self.mode == "huge":
            return ('<s:Envelope %s>%s<s:Body><wsen:PullResponse><wsen:Items>%s</wsen:Items>'
                    '</wsen:PullResponse></s:Body></s:Envelope>'
                    % (NS, head % "<!--%s-->" % ("x" * 600000), self.instance(2, 0)))
        # backwards: a session at 1:3, before the subscription's 1:5
        event = ('<e:__InstanceCreationEvent xmlns:e="%s__InstanceCreationEvent">'
                 '<e:TargetInstance>%s</e:TargetInstance></e:__InstanceCreationEvent>'
                 % (WMI, self.instance(3, 0)))
        return ('<s:Envelope %s>%s<s:Body><wsen:PullResponse><wsen:EnumerationContext>ctx'
                '</wsen:EnumerationContext><wsen:Items>%s</wsen:Items></wsen:PullResponse>'
                '</s:Body></s:Envelope>'
                % (NS, head % "<wsman:Bookmark>rdms:1:3</wsman:Bookmark>", event))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Broker:
    """fleet_ingest_probe on DB: commands in, JSON lines out."""

    def __init__(self, db, hosts, max_resyncs=1, env=None):
        env = dict(os.environ, RDMS_PASSWORD=hosts[0].pw[auth.ADMIN], **(env or {}))
        self.logf = open(db + ".log", "a")
        self.proc = subprocess.Popen(
            [PROBE, db, "--user", auth.ADMIN, "--jitter", "300", "--heartbeat", "2",
             "--pull-timeout", "4", "--max-resyncs", str(max_resyncs)] +
            ["%s=%s" % (h.name, h.url()) for h in hosts],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.logf, env=env, text=True)
        self.ready = self.read() == {"ready": True}

    def read(self):
        line = self.proc.stdout.readline()
        try:
            return json.loads(line)
        except ValueError:
            return {"error": line}

    def ask(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode


def directory(db):
    """{(host, id): (user, state, client)} and {host: state} as the broker has them."""
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        rows = c.execute("SELECT vmhostname, session_id, user_name, connect_state, "
                         "client_machine_name FROM sessions").fetchall()
        states = dict(c.execute("SELECT vmhostname, state FROM hosts").fetchall())
    finally:
        c.close()
    return {(h, sid): (u, st, cl or "") for h, sid, u, st, cl in rows}, states


ALSO = []     # hosts whose sessions the directory holds besides those a check names


def converged(db, hosts):
    """True once the directory holds exactly the union of HOSTS' (and ALSO's) sessions."""
    want = {}
    for h in hosts + ALSO:
        want.update(h.expected())
    have, _ = directory(db)
    return have == want


def diff(db, hosts):
    want = {}
    for h in hosts + ALSO:
        want.update(h.expected())
    have, states = directory(db)
    missing = [k for k in want if k not in have][:5]
    extra = [k for k in have if k not in want][:5]
    wrong = [(k, have[k], want[k]) for k in want if k in have and have[k] != want[k]][:5]
    return "states %r; missing %r; extra %r; wrong %r" % (states, missing, extra, wrong)


def fixture(first, n, prefix):
    return {sid: ("%s%d" % (prefix, sid % 7), 0 if sid % 3 else 4,
                  "pc-%d" % sid if sid % 3 else "") for sid in range(first, first + n)}


def comes_back(broker, db, hosts, h, drop, add, what):
    """H, down, changed meanwhile -- its first DROP sessions gone, the sessions ADD new --
    then started again: the broker resyncs it once and the directory converges."""
    for sid in list(h.sessions)[:drop]:
        del h.sessions[sid]
    h.sessions.update(add)
    h.write_fixture()
    before = broker.ask("stats %s" % h.name)
    check("%s restarts" % h.name, h.start(), h.log()[-1500:])
    ok = wait_for(30, lambda: converged(db, hosts) and directory(db)[1].get(h.name) == 3)
    after = broker.ask("stats %s" % h.name)
    check("%s %s: running, resynced once, the directory converged with what changed while "
          "it was down" % (h.name, what), ok and after["resyncs"] == before["resyncs"] + 1,
          "%s; %r -> %r" % (diff(db, hosts), before, after))


def broker_log(db):
    try:
        with open(db + ".log") as f:
            return f.read()
    except OSError:
        return ""


def hostile_checks(broker, db, hostile, good):
    """Each hostile host refused 3 times, then quarantined; nothing of it applied but its
    snapshot; the good hosts unaffected; lifted, it is read anew (and quarantined again)."""
    why = {"huge": "too large", "malformed": "without a SOAP reply",
           "backwards": "positions out of order"}
    for h in hostile:
        ok = wait_for(30, lambda: directory(db)[1].get(h.name) == 8)
        st = broker.ask("stats %s" % h.name)
        have = {k: v for k, v in directory(db)[0].items() if k[0] == h.name}
        log_ok = ("%s quarantined (ServerState 8): 3 refused replies" % h.name in broker_log(db)
                  and why[h.mode] in broker_log(db))
        check("hostile host %s (Pulls %s): refused 3 times, resynced after each, then "
              "quarantined (ServerState 8), logged with the reason (%s)"
              % (h.name, h.mode, why[h.mode]),
              ok and st.get("refused") == 3 and st.get("resyncs") == 3 and log_ok,
              "%r; states %r" % (st, directory(db)[1]))
        check("%s: nothing of its bad replies applied (only its snapshot's session)" % h.name,
              have == h.expected(), repr(have))
        pulls = h.pulls
        time.sleep(2.5)
        check("%s: no longer pulled while quarantined" % h.name, h.pulls == pulls,
              "%d -> %d" % (pulls, h.pulls))
    check("the good hosts are unaffected by the hostile ones: converged, running",
          converged(db, good) and all(directory(db)[1].get(g.name) == 3 for g in good),
          diff(db, good))
    h = hostile[0]
    subs = h.subscribes
    check("an admin lifts %s's quarantine" % h.name, broker.ask("clear %s" % h.name) ==
          {"ok": True})
    ok = wait_for(20, lambda: h.subscribes > subs and directory(db)[1].get(h.name) == 8)
    check("lifted, %s is read anew (subscribed again), and, as hostile as before, "
          "quarantined again" % h.name, ok, "%d -> %d; %r" % (subs, h.subscribes,
                                                           directory(db)[1]))


def fault_checks(broker, db, faulty, good):
    """A host whose Pulls get a SOAP fault without a Subcode: a failing host (ServerState
    1, retried), its sessions kept, the broker up (a Subcode was once read unchecked)."""
    ok = wait_for(30, lambda: faulty.pulls >= 2 and directory(db)[1].get(faulty.name) == 1)
    check("%s, whose Pulls are answered by a fault without a Subcode: marked unknown "
          "(ServerState 1), retried, logged with the fault's reason" % faulty.name,
          ok and "out of sorts" in broker_log(db), "%d pulls; %r" % (faulty.pulls,
                                                                 directory(db)[1]))
    have = {k: v for k, v in directory(db)[0].items() if k[0] == faulty.name}
    check("... its snapshot's session still listed", have == faulty.expected(), repr(have))
    check("... and the broker still answers, the good hosts running",
          broker.proc.poll() is None and "resyncs_peak" in broker.ask("stats") and
          all(directory(db)[1].get(g.name) == 3 for g in good), repr(directory(db)[1]))


def scenario(hosts, db, hostile, faulty):
    a, b, forged = hosts
    broker = Broker(db, hosts + hostile + [faulty])
    try:
        if not check("the ingest probe starts on %d hosts" % len(hosts), broker.ready):
            return
        ok = wait_for(30, lambda: converged(db, [a, b]))
        check("the directory converges to exactly the union of %s (%d) and %s (%d), every "
              "property equal" % (a.name, len(a.sessions), b.name, len(b.sessions)), ok,
              diff(db, [a, b]))
        have, states = directory(db)
        shared = sorted(set(a.sessions) & set(b.sessions))
        check("SessionIds both hosts use (%d of them, e.g. %d) are kept apart by VMHostName"
              % (len(shared), shared[0]),
              all(have.get((a.name, s)) == a.expected()[(a.name, s)] and
                  have.get((b.name, s)) == b.expected()[(b.name, s)] for s in shared), "")
        check("%s and %s are running (ServerState 3)" % (a.name, b.name),
              states.get(a.name) == 3 and states.get(b.name) == 3, repr(states))
        st = wait_for(10, lambda: directory(db)[1].get(forged.name) == 8)
        check("%s, whose sessions claim VMHostName %s, is quarantined (ServerState 8) with "
              "nothing stored" % (forged.name, forged.claims),
              st and not any(k[0] == forged.name for k in directory(db)[0]) and
              len([k for k in directory(db)[0] if k[0] == a.name]) == len(a.sessions),
              repr(directory(db)[1]))
        s = broker.ask("stats")
        sa, sb = broker.ask("stats %s" % a.name), broker.ask("stats %s" % b.name)
        check("one resync per good host, at most --max-resyncs 1 at once (%r)" % s,
              sa.get("resyncs") == 1 and sb.get("resyncs") == 1 and
              s.get("resyncs_peak") == 1, "%r %r %r" % (s, sa, sb))
        hostile_checks(broker, db, hostile, [a, b])
        fault_checks(broker, db, faulty, [a, b])

        # ---- changes on a host arrive as batches, no resync
        before = broker.ask("stats %s" % a.name)
        for sid in list(a.sessions)[:10]:
            u, _, _ = a.sessions[sid]
            a.sessions[sid] = (u, 4, "")              # disconnected
        for sid in list(a.sessions)[-5:]:
            del a.sessions[sid]                       # logged off
        for sid in range(5000, 5005):
            a.sessions[sid] = ("newuser", 0, "pc-new")  # logged on
        t0 = time.monotonic()
        a.write_fixture()
        ok = wait_for(15, lambda: converged(db, [a, b]))
        dt = time.monotonic() - t0
        after = broker.ask("stats %s" % a.name)
        check("10 disconnects, 5 logoffs and 5 logons on %s reach the directory (%.2f s) as "
              "batches, without a resync" % (a.name, dt),
              ok and after["batches"] > before["batches"] and
              after["resyncs"] == before["resyncs"], "%s; %r -> %r" % (diff(db, [a, b]),
                                                                      before, after))

        # ---- a killed host: unknown at once, its sessions kept
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait()
        ok = wait_for(15, lambda: directory(db)[1].get(b.name) == 1)
        have, _ = directory(db)
        check("%s killed: ServerState 1 (unknown), its %d sessions still listed"
              % (b.name, len(b.sessions)),
              ok and all(have.get(k) == v for k, v in b.expected().items()), diff(db, [a, b]))
        comes_back(broker, db, [a, b], b, 3, {7777: ("lateuser", 0, "pc-late")},
                   "back (a new epoch)")
    finally:
        broker.stop()

    # ---- the broker restarts: every host resumed from its bookmark
    a.sessions[6000] = ("whilegone", 0, "pc-6000")
    a.sessions.pop(min(a.sessions))
    a.write_fixture()
    time.sleep(1)      # the host's feed has the change before the broker is back
    broker = Broker(db, hosts)
    try:
        ok = wait_for(20, lambda: converged(db, [a, b]))
        s = wait_for(10, lambda: (lambda x: x if x.get("resumes", 0) >= 2 else None)(
            broker.ask("stats"))) or broker.ask("stats")
        check("the broker restarted: it resumes %s and %s from their bookmarks (no resync) "
              "and catches up with the change made meanwhile" % (a.name, b.name),
              ok and s.get("resyncs") == 0 and s.get("resumes", 0) >= 2,
              "%s; %r" % (diff(db, [a, b]), s))
        # ---- a host that lost its journal (events database gone): its bookmark is in its
        # future (wsman:InvalidBookmark), its positions went back; read anew all the same
        a.stop()
        os.unlink(os.path.join(a.dir, "state", "events.db"))
        comes_back(broker, db, [a, b], a, 20, {8888: ("reborn", 0, "pc-reborn")},
                   "back without its events database (its positions started over)")
    finally:
        check("the ingest probe stops cleanly", broker.stop() == 0)

    # ---- the periodic safety resync, shortened for the test
    broker = Broker(db, hosts, env={"RDMS_TEST_FLEET_RESYNC_MS": "1500"})
    try:
        time.sleep(12)
        sa, sb, s = (broker.ask("stats %s" % a.name), broker.ask("stats %s" % b.name),
                     broker.ask("stats"))
        check("the periodic safety resync (every 1.5 s +- 50 % here, 30 min by default): "
              "each host read in full again and again, at most --max-resyncs 1 at once, "
              "still converged",
              sa.get("resyncs", 0) >= 2 and sb.get("resyncs", 0) >= 2 and
              s.get("resyncs_peak") == 1 and converged(db, [a, b]) and
              "the periodic safety resync" in broker_log(db),
              "%r %r %r; %s" % (sa, sb, s, diff(db, [a, b])))
    finally:
        check("the ingest probe stops cleanly", broker.stop() == 0)


def main():
    if not common.ready("test_fleet_ingest", [RDMSD, PROBE]):
        return 1
    hosts = [Host("hv-fleet-a", fixture(1000, 1000, "ua")),
             Host("hv-fleet-b", fixture(1500, 1000, "ub")),
             Host("hv-fleet-c", fixture(1, 3, "uc"), claims="hv-fleet-a")]
    hostile = [HostileHost("hv-hostile-%s" % m, m) for m in ("huge", "malformed", "backwards")]
    faulty = HostileHost("hv-hostile-fault", "fault")
    ALSO.extend(hostile + [faulty])
    db = os.path.join(hosts[0].dir, "fleet.db")
    try:
        hosts[0].accounts()
        started = True
        for h in hosts:
            h.write_config()
            started = check("host %s (rdmsd on port %d, %d fixture sessions) starts"
                            % (h.name, h.http, len(h.sessions)), h.start(),
                            h.log()[-1500:]) and started
        if started:
            t0 = time.monotonic()
            scenario(hosts, db, hostile, faulty)
            log("elapsed %.1f s" % (time.monotonic() - t0))
    finally:
        if common.failed:
            for h in hosts:
                log("---- %s log ----\n%s" % (h.name, h.log()[-2000:]))
            try:
                with open(db + ".log") as f:
                    log("---- broker log ----\n" + f.read()[-3000:])
            except OSError:
                pass
        for h in hostile:
            h.stop()
        for h in hosts[1:] + hosts[:1]:     # the first made the accounts: it removes them last
            h.cleanup()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
