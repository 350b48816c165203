#!/usr/bin/python3
"""events_xrdp.py -- disconnect-to-event latency on the real xrdp lab
(issue 14 item 9; `bench/events.sh xrdp` runs it under the lab lock).
A benchmark, not a test: it prints figures; it fails only when the lab or
rdmsd cannot be set up or an event never comes.

rdmsd (the rdmsd lab of tests/e2e/test_wsman_e2e.py, on lab.sh's xrdp) and
an admin's WS-Eventing Pull subscription for __InstanceModificationEvent
(the MI-shaped envelopes of tests/e2e/test_events_e2e.py); one real
xfreerdp session of lab.sh's first user.  Then $EVENTS_XRDP_REPS (5)
times: a Pull is sent and held, the xfreerdp client is killed (SIGKILL, as
test_events_e2e does), and the time is taken until the held Pull returns
the Modification Active -> Disconnected -- from the kill, and from the
moment xrdp's own connection process for that client ended (a pidfd on
it): before that xrdp itself still counts the session as connected, so the
second figure is rdms's own part.  Then the client reconnects (another
xfreerdp under the same client name) and the Modification back to Active
is awaited before the next round.  Prints the median and the max of both.

Starts the lab (tests/e2e/lab.sh start) when it does not run and stops it
again at the end.  Needs root.  Argument: the build directory (build).
"""
import os
import select
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "build")
os.environ.setdefault("RDMS_BIN", os.path.join(BUILD, "rdms"))
os.environ.setdefault("RDMSD_BIN", os.path.join(BUILD, "rdmsd"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import e2e_common as common        # noqa: E402
import test_events_e2e as ee       # noqa: E402  (Subscriber, the event query)
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on xrdp)
import test_xrdp_e2e as xe         # noqa: E402  (lab.sh, its clients and /proc)
from e2e_common import alive, children, check, log  # noqa: E402

REPS = int(os.environ.get("EVENTS_XRDP_REPS", "5"))
TARGET_MS = 1000


def conn_process():
    """xrdp's connection processes (one per client): the lab xrdp's children."""
    return set(children(xe.lab_pid("xrdp")))


def disconnected(sid):
    return lambda e: (e["class"] == "__InstanceModificationEvent" and
                      ee.t(e, "SessionId") == str(sid) and ee.t(e, "ConnectState") == "4")


def reconnected(sid):
    return lambda e: (e["class"] == "__InstanceModificationEvent" and
                      ee.t(e, "SessionId") == str(sid) and ee.t(e, "ConnectState") == "0")


def one_round(lab, sub, sid, client, k):
    """Kills CLIENT under a held Pull: (kill->event s, xrdp exit->event s)."""
    before = conn_process()
    pid = xe.lab_pid("client-" + client)
    got = {}

    def pull():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st, evs, _ = sub.pull()
            if st != 200:
                return
            if any(disconnected(sid)(e) for e in evs):
                got["at"] = time.monotonic()
                return

    held = threading.Thread(target=pull)
    held.start()
    time.sleep(0.5)                          # the Pull is held by rdmsd now
    fds = {p: os.pidfd_open(p) for p in before if alive(p)}
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    t_exit = None
    while fds and time.monotonic() < t_kill + 20:
        ready, _, _ = select.select(list(fds.values()), [], [], 0.5)
        if ready:
            t_exit = time.monotonic()        # the connection process of this client ended
            break
    for fd in fds.values():
        os.close(fd)
    held.join(40)
    if "at" not in got:
        return None
    kill_ms = (got["at"] - t_kill) * 1000
    exit_ms = (got["at"] - t_exit) * 1000 if t_exit is not None else float("nan")
    log("  round %d: kill -> event %.0f ms, xrdp connection process exit -> event %.0f ms"
        % (k, kill_ms, exit_ms))
    # back to Active under the same client name for the next round
    sub.events = []                          # until() looks at what came before, too
    name = lab.connect("bench%d" % (k + 1), we.U1, "/client-hostname:BENCHPC", "/size:800x600")
    if sub.until(reconnected(sid), timeout=40) is None:
        return None
    return kill_ms, exit_ms, name


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    sub = ee.Subscriber(lab, we.ADMIN, ee.Q_MOD)
    if not check("an admin subscribes", sub.st == 200 and sub.ctx, sub.text[:800]):
        return
    client = lab.connect("bench0", we.U1, "/client-hostname:BENCHPC", "/size:800x600")
    sid = we.wait_session(lab, we.U1)
    if not check("%s's session is listed Active" % we.U1, sid):
        return
    kill, exit_ = [], []
    for k in range(REPS):
        r = one_round(lab, sub, sid, client, k)
        if not check("round %d: the held Pull returned the disconnect" % k, r is not None):
            break
        kill.append(r[0])
        exit_.append(r[1])
        client = r[2]
        time.sleep(1)
    we.cli(lab, ["logoff", str(sid)])
    we.send(lab, ee.unsubscribe_req(lab, sub.ident))
    if kill:
        ok_exit = [v for v in exit_ if v == v]
        print()
        print("rdms events on real xrdp (%d rounds; medians)" % len(kill))
        print("  %-54s %18s   %s" % ("figure", "rdmsd", "target"))
        print("  %-54s %18s   %s" % ("xfreerdp killed -> held Pull returns: median / max",
                                     "%.0f / %.0f ms" % (statistics.median(kill), max(kill)),
                                     "p99 <= %d ms" % TARGET_MS))
        if ok_exit:
            print("  %-54s %18s   %s" % ("xrdp's connection process ends -> Pull returns",
                                         "%.0f / %.0f ms" % (statistics.median(ok_exit),
                                                             max(ok_exit)), "(rdms's part)"))


def main():
    if os.geteuid() != 0:
        print("events_xrdp: needs root", file=sys.stderr)
        return 1
    started = False
    if not alive(xe.lab_pid("sesman")) or not alive(xe.lab_pid("xrdp")):
        if subprocess.run([xe.LABSH, "start"]).returncode != 0:
            print("events_xrdp: the lab does not start", file=sys.stderr)
            return 1
        started = True
    try:
        if not we.xrdp_lab_ready():
            return common.finish()
        return we.run_scenario(we.Lab, scenario)
    finally:
        if started:
            subprocess.run([xe.LABSH, "stop"])


if __name__ == "__main__":
    sys.exit(main())
