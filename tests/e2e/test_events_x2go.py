#!/usr/bin/python3
"""test_events_x2go.py -- session events over WS-Eventing (issue 14, item 8)
on a REAL X2Go server driven by the real pyhoca-cli client.

x2go_lab.sh runs x2goserver behind its own sshd; rdmsd (the lab of
test_wsman_e2e.py, with the xrdp and x2go back-ends, as on a real host)
serves it.  An admin subscribes with the MI-shaped Subscribe of
events_common.py and holds Pulls while pyhoca-cli starts a session (-N),
suspends it (-S), resumes it (-R) and terminates it (-T).  Meanwhile a
thread here reads what X2Go itself says every 20 ms -- its session
database (read-only) and nxagent's state file -- and notes when each
change became visible.  Checked:
  start:     __InstanceCreationEvent of the agent's pid, and the session is
             seen Active (ConnectState 0) within 1 s of the state file
             saying RUNNING;
  suspend:   __InstanceModificationEvent Active -> Disconnected (0 -> 4)
             within 1 s of the agent's state leaving RUNNING;
  resume:    Modification Disconnected -> Active ending at 0 within 1 s of
             the state file saying RUNNING again (X2Go's own RESUMING shows
             as ConnectState 2, ConnectQuery, in between);
  terminate: __InstanceDeletionEvent within 1 s of the session ending
             (nxagent TERMINATING, the agent gone or its row finished);
  and nothing else: the events of the session, in order, are exactly these
  transitions, each once.

Output: one PASS/FAIL line per check, and last `N passed, M failed`; a
single SKIPPED line when the X2Go packages cannot be installed at all.
Needs root.
"""
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import events_common as ec         # noqa: E402  (the subscriber)
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab)
import test_x2go_e2e as x2         # noqa: E402  (the X2Go lab: its database, state files)
from e2e_common import RDMS, RDMSD, alive, check, finish, log, wait_for  # noqa: E402

ADMIN, XUSER = we.ADMIN, x2.XUSER
LATENCY_S = 1.0
CONNECT_QUERY = "2"    # WTSConnectQuery: nxagent STARTING or RESUMING, no client attached yet
t = ec.t


class Lab(we.Lab):
    """The rdmsd lab serving both back-ends of a real host."""

    def write_config(self, http_port=None):
        super().write_config(http_port)
        with open(self.conf) as f:
            lines = [l for l in f if not l.startswith("backends")]
        with open(self.conf, "w") as f:
            f.writelines(lines + ["backends = xrdp, x2go\n"])


class Truth(threading.Thread):
    """X2Go's own view of XUSER's sessions, every 20 ms: a history of
    (monotonic time, {session name: (agent pid, db status, state file)}),
    one entry per change."""

    def __init__(self):
        super().__init__(daemon=True)
        self.history, self.stop = [], threading.Event()

    def snapshot(self):
        snap = {}
        for pid, name, _display, status, _client in x2.db_rows(XUSER):
            agent = pid if pid and alive(pid) else 0
            snap[name] = (agent, status, x2.state_file(XUSER, name))
        return snap

    def run(self):
        last = None
        while not self.stop.is_set():
            snap = self.snapshot()
            if snap != last:
                self.history.append((time.monotonic(), snap))
                last = snap
            time.sleep(0.02)

    def seen(self, pred, after=0.0, timeout=5.0):
        """first(PRED, AFTER), once this poller has recorded it: rdmsd's event
        can come before the poll that sees the change (every 20 ms, a read of
        X2Go's database each), and the change is then timed when the poll saw
        it -- later than the event, never earlier.  None if not within TIMEOUT s."""
        wait_for(timeout, lambda: self.first(pred, after) is not None, step=0.02)
        return self.first(pred, after)

    def first(self, pred, after=0.0):
        """The first time after AFTER at which PRED(snapshot) held; None if never."""
        for i, (when, snap) in enumerate(self.history):
            # an entry holds from its time to the next one's
            until = self.history[i + 1][0] if i + 1 < len(self.history) else time.monotonic()
            if until >= after and pred(snap):
                return max(when, after)
        return None


def running(name):
    return lambda snap: (snap.get(name, (0,))[0] and snap[name][1] == "R" and
                         snap[name][2] == "RUNNING")


def suspended(name):
    return lambda snap: name in snap and snap[name][2] in ("SUSPENDING", "SUSPENDED")


def gone(name):
    """Ending as rdms sees it: no agent, the row finished, or nxagent terminating."""
    return lambda snap: (name not in snap or not snap[name][0] or snap[name][1] not in ("R", "S")
                         or snap[name][2] in ("TERMINATING", "TERMINATED"))


def pyhoca(kind, name, *args):
    """x2go_lab.sh KIND NAME XUSER ARGS: the client's pid (0 on failure)."""
    return x2.x2go_client(kind, name, *args)


def pyhoca_done(name, timeout=60):
    """Waits for pyhoca-cli NAME to exit; (exit status, monotonic time seen)."""
    run = os.path.join(x2.XLAB, "run")
    ok = wait_for(timeout, lambda: x2.lab_rc(run, "client-" + name) is not None, step=0.02)
    return (x2.lab_rc(run, "client-" + name) if ok else None), time.monotonic()


def within(what, ev, since):
    """Checks that EV arrived at most LATENCY_S after SINCE (the change seen in X2Go)."""
    if ev is None or since is None:
        return check("%s: within %.0f s of the change" % (what, LATENCY_S), False,
                     "event %r, change seen at %r" % (ev, since))
    dt = ev["_at"] - since
    return check("%s: %.2f s after X2Go showed the change (at most %.0f s)" %
                 (what, dt, LATENCY_S), dt <= LATENCY_S, repr(ev))


def startup_failed(name):
    """pyhoca-cli NAME exited after X2Go's server failed to start the session."""
    if x2.lab_rc(os.path.join(x2.XLAB, "run"), "client-" + name) is None:
        return False
    try:
        with open(os.path.join(x2.XLAB, "log", "client-%s.log" % name), errors="replace") as f:
            return "session_startup_failed" in f.read()
    except OSError:
        return False


def start_session(admin):
    """pyhoca-cli -N; (its pid, the creation event of XUSER's session or None).
    X2Go's server now and then fails to start a session (pyhoca-cli logs
    HOOK_session_startup_failed and exits, the agent gone, so there is no
    session to report): that is X2Go's failure, not rdms's, and is tried once more."""
    for name in ("ev1", "ev1-again"):
        n = len(admin.events)
        client = pyhoca("new", name)
        check("pyhoca-cli started", client > 0)
        end = time.monotonic() + 90
        while time.monotonic() < end and not startup_failed(name):
            created = admin.until(lambda e: e["class"] == ec.CREATION and
                                  t(e, "UserName") == XUSER, timeout=2, since=n)
            if created is not None:
                return client, created
        if not startup_failed(name):
            return client, None
        log("  X2Go failed to start the session (pyhoca-cli: session_startup_failed)%s" %
            ("; once more" if name == "ev1" else ""))
    return client, None


def scenario(lab, truth):
    if not check("rdmsd starts on the xrdp and x2go back-ends", lab.start(), lab.log()[-2000:]):
        return
    admin = ec.Subscriber(lab, ADMIN, ec.Q_ALL)
    if not check("an admin subscribes (Pull mode, all session events)",
                 admin.st == 200 and admin.ctx, admin.text[:800]):
        return

    # ---- start: pyhoca-cli -N
    log("== start (pyhoca-cli -N)")
    client, created = start_session(admin)
    if not check("__InstanceCreationEvent of %s's X2Go session" % XUSER, created is not None,
                 repr(admin.events)):
        return
    sid = t(created, "SessionId")
    active = admin.until(lambda e: t(e, "SessionId") == sid and t(e, "ConnectState") == "0",
                         timeout=60)
    row = x2.live_row(XUSER)
    check("the SessionId %s is the agent pid of X2Go's row" % sid,
          row is not None and str(row[0]) == sid, repr(row))
    if row is None:
        return
    name = row[1]
    within("start: Active", active, truth.seen(running(name)))
    check("... with the client's address as ClientMachineName",
          active is not None and t(active, "ClientMachineName") == "127.0.0.1", repr(active))

    # ---- suspend: pyhoca-cli -S
    log("== suspend (pyhoca-cli -S %s)" % name)
    n = len(admin.events)
    t0 = time.monotonic()
    pyhoca("suspend", "ev1s", name)
    ev = admin.until(lambda e: t(e, "SessionId") == sid and t(e, "ConnectState") == "4",
                     timeout=60, since=n)
    rc, done = pyhoca_done("ev1s")
    check("pyhoca-cli -S exits 0 (%.1f s)" % (done - t0), rc == 0, rc)
    check("suspend: __InstanceModificationEvent Active -> Disconnected",
          ev is not None and ev["class"] == ec.MODIFICATION and
          t(ev, "ConnectState", "PreviousInstance") == "0" and
          t(ev, "ClientMachineName") == "", repr(ev))
    within("suspend", ev, truth.seen(suspended(name), after=t0))
    check("the first client has exited", wait_for(20, lambda: not alive(client)))

    # ---- resume: pyhoca-cli -R
    log("== resume (pyhoca-cli -R %s)" % name)
    n = len(admin.events)
    t0 = time.monotonic()
    client2 = pyhoca("resume", "ev1r", name)
    ev = admin.until(lambda e: t(e, "SessionId") == sid and t(e, "ConnectState") == "0",
                     timeout=60, since=n)
    check("resume: Modification ending Active (ConnectState 0) with the client's address",
          ev is not None and ev["class"] == ec.MODIFICATION and
          t(ev, "ClientMachineName") == "127.0.0.1", repr(admin.events[n:]))
    within("resume", ev, truth.seen(running(name), after=t0))

    # ---- terminate: pyhoca-cli -T
    log("== terminate (pyhoca-cli -T %s)" % name)
    n = len(admin.events)
    t0 = time.monotonic()
    pyhoca("terminate", "ev1t", name)
    ev = admin.until(lambda e: e["class"] == ec.DELETION and t(e, "SessionId") == sid,
                     timeout=60, since=n)
    rc, done = pyhoca_done("ev1t")
    check("pyhoca-cli -T exits 0 (%.1f s)" % (done - t0), rc == 0, rc)
    check("terminate: __InstanceDeletionEvent of %s" % sid,
          ev is not None and t(ev, "UserName") == XUSER, repr(admin.events[n:]))
    within("terminate", ev, truth.seen(gone(name), after=t0))
    check("the resumed client has exited", wait_for(20, lambda: not alive(client2)))

    # ---- each transition once, in order
    seq = [ec.transition(e) for e in admin.events if t(e, "SessionId") == sid]
    if not check("the subscriber got the session's events", len(seq) >= 2, repr(seq)):
        return
    want_shape = (seq[0][0] == ec.CREATION and seq[-1][0] == ec.DELETION and
                  all(c == ec.MODIFICATION and p != n_ for c, _, p, n_ in seq[1:-1]))
    # the ConnectStates the session went through, from the events alone
    walk = [seq[0][3]] + [s[3] for s in seq[1:-1]]
    collapsed = [s for i, s in enumerate(walk) if s != CONNECT_QUERY and
                 (i == 0 or s != walk[i - 1])]
    check("the session's events: Creation, Modifications, Deletion, each a real change",
          want_shape, repr(seq))
    check("... through exactly Active, Disconnected, Active (X2Go's STARTING/RESUMING as "
          "ConnectQuery, 2, before each Active)", collapsed == ["0", "4", "0"], repr(walk))
    check("... and no event twice", len({(e["TIME_CREATED"], ec.transition(e))
                                         for e in admin.events if t(e, "SessionId") == sid})
          == len(seq), repr(seq))
    st, _ = admin.unsubscribe()
    check("Unsubscribe", st == 200)


def main():
    if not common.ready("test_events_x2go", [RDMS, RDMSD], ["runuser"]):
        return 1
    p = subprocess.run([x2.X2GOLAB, "install"], capture_output=True, text=True)
    if p.returncode == 3:
        log("SKIPPED: test_events_x2go: the X2Go packages cannot be installed here: " +
            p.stderr.strip()[-300:])
        return 0
    if not check("the X2Go packages are installed", p.returncode == 0, p.stderr.strip()):
        return finish()
    subprocess.run([x2.X2GOLAB, "stop"], capture_output=True, text=True, timeout=120)
    p = subprocess.run([x2.X2GOLAB, "start"], capture_output=True, text=True)
    log("  " + (p.stdout.strip() or p.stderr.strip()))
    if not check("the X2Go lab starts", p.returncode == 0):
        subprocess.run([x2.X2GOLAB, "stop"], capture_output=True, text=True, timeout=120)
        return finish()
    truth = Truth()
    truth.start()
    try:
        return we.run_scenario(Lab, lambda lab: scenario(lab, truth))
    finally:
        truth.stop.set()
        truth.join()
        subprocess.run([x2.X2GOLAB, "stop"], capture_output=True, text=True, timeout=120)


if __name__ == "__main__":
    sys.exit(main())
