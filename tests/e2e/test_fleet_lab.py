#!/usr/bin/python3
"""test_fleet_lab.py -- the fleet lab itself (fleet_lab.py; issue 15, item 6;
spec/fleet.md 4), before any broker: what the broker's tests will stand on.

A FleetLab of $RDMS_FLEET_HOSTS fixture hosts (default 10, 1,000 sessions
each) and 2 real xrdp machines, each host a real rdmsd in its own network
namespace behind one bridge; the broker's certificate is used from the
namespace b1 (curl --cert over mutual TLS), clients run in cl.  Checked:
  every fixture host answers b1's Enumerate with exactly its own 1,000
      sessions (every property as in its fixture file) and its VMHostName;
      b2's certificate gets in too;
  the certificate each host serves is the one whose fingerprint the lab
      recorded from its log (pinning), and no two hosts share one;
  two hosts list the same SessionId, each with its own VMHostName;
  an atomic rewrite of a fixture file (a marker) shows in the host's Get;
  xfreerdp from cl: a session on hv-xrdp-1 is listed by hv-xrdp-1 (a real
      xrdp-sesman session process of that machine) and not by hv-xrdp-2, and
      the other way round; a Disconnect sent as b1 for root drops the client;
  a partitioned host (bridge port down): a bounded time-out, and an answer
      again after the heal; a killed host refuses at once and serves again
      once restarted, with the same certificate; a killed xrdp machine
      leaves no process behind and refuses at once;
  no certificate: 401; a certificate of the lab CA that no host lists, or
      broker1's subject from another CA: 403;
  after cleanup: no namespace, no process, no directory of the lab.

Needs root and lab.sh's xrdp lab (users, Xvfb): run.sh starts it; run it
under the lab lock (flock /tmp/rdms-lab.lock).  Prints how long the set-up
took and the memory the hosts use.
Output: one PASS/FAIL line per check, and last `N passed, M failed`.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fleet_lab as fl             # noqa: E402
import test_wsman_e2e as tw        # noqa: E402  (lab.sh users' passwords)
import test_xrdp_e2e as xe         # noqa: E402  (lab.sh's PIDs)
from e2e_common import (RDMSD, alive, check, comm, finish, log, ready, run_groups,  # noqa: E402
                        wait_for)

N_HOSTS = int(os.environ.get("RDMS_FLEET_HOSTS", "10"))
U1, U2 = "rdmstest1", "rdmstest2"
ENUM = tw.wsl_envelope(tw.ACT_ENUM, tw.WMI_URI, body=fl.ENUM_BODY)


def as_table(items):
    """{SessionId: (user, state, client)} of Enumerate's instances."""
    return {int(i["SessionId"]): (i["UserName"], int(i["ConnectState"]), i["ClientMachineName"])
            for i in items}


def test_hosts(lab):
    log("every fixture host, from b1 with broker1's certificate")
    bad = []
    for h in lab.fixture_hosts:
        items, err = lab.enumerate(h)
        names = {i["VMHostName"] for i in items}
        if err or len(items) != lab.n_sessions or names != {h.name} or \
                as_table(items) != h.sessions():
            bad.append("%s: %d sessions, VMHostName %s, %s" % (h.name, len(items), names, err))
    check("each of the %d fixture hosts lists its own %d sessions, every property as in its "
          "fixture file, VMHostName its own" % (len(lab.fixture_hosts), lab.n_sessions),
          not bad, "; ".join(bad))
    h = lab.fixture_hosts[-1]
    items, err = lab.enumerate(h, ns="b2", cert="broker2")
    check("b2 with broker2's certificate: %s lists its %d sessions" % (h.name, lab.n_sessions),
          len(items) == lab.n_sessions and not err, err)
    fps = [h.fingerprint for h in lab.hosts]
    check("every host's certificate fingerprint is recorded, no two alike",
          all(fps) and len(set(fps)) == len(fps), fps)
    wrong = [h.name for h in lab.hosts if lab.fingerprint_of(h) != h.fingerprint]
    check("each host serves the certificate whose fingerprint the lab recorded (pinning)",
          not wrong, wrong)


def test_shared_id(lab):
    sid, a, b = lab.shared
    log("SessionId %d on %s and %s" % (sid, a.name, b.name))
    ga, ca, _ = lab.get(a, sid)
    gb, cb, _ = lab.get(b, sid)
    check("Get of SessionId %d answers on both hosts" % sid, ca == cb == 200 and ga and gb,
          "%s %s" % (ca, cb))
    if ga and gb:
        check("... each with its own VMHostName and client",
              (ga["VMHostName"], ga["ClientMachineName"]) == (a.name, "c-%s-1" % a.name) and
              (gb["VMHostName"], gb["ClientMachineName"]) == (b.name, "c-%s-1" % b.name),
              "%s / %s" % (ga, gb))


def test_change(lab):
    h = lab.fixture_hosts[min(4, len(lab.fixture_hosts) - 1)]
    sid = h.index * 100000 + 7
    log("a change on %s (atomic rewrite of its fixture)" % h.name)
    marker = h.mark(sid, 1)
    seen = wait_for(3, lambda: (lab.get(h, sid)[0] or {}).get("ClientMachineName") == marker,
                    step=0.1)
    check("the marker %s shows in the host's Get" % marker, seen)
    check("... the fixture file still holds %d sessions" % lab.n_sessions,
          len(h.sessions()) == lab.n_sessions)


def session_of(lab, h, user):
    """USER's active sessions as host H (asked from b1) lists them."""
    items, _ = lab.enumerate(h)
    return [i for i in items if i["UserName"] == user and int(i["ConnectState"]) == fl.ACTIVE]


def test_xrdp(lab):
    x1, x2 = lab.xrdp_hosts[:2]
    log("real xrdp: %s (Xorg) and %s (Xvnc), clients in cl" % (x1.name, x2.name))
    c1 = lab.connect_rdp(x1, U1, "/size:800x600", "/client-hostname:FLEETC1")
    c2 = lab.connect_rdp(x2, U2, "/d:Xvnc", "/size:800x600", "/client-hostname:FLEETC2")
    s1 = wait_for(40, lambda: session_of(lab, x1, U1), step=0.5)
    s2 = wait_for(40, lambda: session_of(lab, x2, U2), step=0.5)
    check("%s's xfreerdp session is listed by %s" % (U1, x1.name),
          len(s1) == 1 and s1[0]["VMHostName"] == x1.name and
          s1[0]["ClientMachineName"] == "FLEETC1", s1)
    check("%s's xfreerdp (Xvnc) session is listed by %s" % (U2, x2.name),
          len(s2) == 1 and s2[0]["VMHostName"] == x2.name and
          s2[0]["ClientMachineName"] == "FLEETC2", s2)
    if not (s1 and s2):
        return
    all1, all2 = lab.enumerate(x1)[0], lab.enumerate(x2)[0]
    check("%s lists nothing of %s's machine (only %s)" % (x2.name, x1.name, U2),
          {i["UserName"] for i in all2} == {U2} and
          "FLEETC1" not in {i["ClientMachineName"] for i in all2}, all2)
    check("... and %s nothing of %s's" % (x1.name, x2.name),
          {i["UserName"] for i in all1} == {U1}, all1)
    sid1 = int(s1[0]["SessionId"])
    pid = lab.global_pid(x1.name, sid1)
    check("SessionId %d is a session process (xrdp-sesman) of %s's own PID namespace"
          % (sid1, x1.name), pid and comm(pid) == "xrdp-sesman", (pid, comm(pid)))
    rv, code, text = lab.invoke(x1, sid1, "Disconnect")
    check("Disconnect sent as b1 for root: ReturnValue 0", rv == 0, "%s %s" % (code, text[:300]))
    check("... the xfreerdp client drops", wait_for(10, lambda: c1.poll() is not None),
          "still running")
    g, _, _ = lab.get(x1, sid1)
    check("... and %s shows the session disconnected" % x1.name,
          wait_for(5, lambda: int((lab.get(x1, sid1)[0] or {}).get("ConnectState", -1)) ==
                   fl.DISCONNECTED), g)
    check("%s's client is unaffected" % x2.name, c2.poll() is None)


def test_faults(lab):
    part, dead = lab.fixture_hosts[2], lab.fixture_hosts[3]
    log("faults: %s partitioned, %s killed" % (part.name, dead.name))
    lab.partition(part)
    rc, code, _, secs = lab.curl("b1", part.url, ENUM, "broker1", max_time=3, connect_timeout=2)
    check("a partitioned host: the connection times out (curl 28) after the bound, "
          "not sooner", rc == 28 and 1.8 <= secs < 4, "curl %d, HTTP %d, %.2f s" % (rc, code, secs))
    rc, code, _, secs = lab.curl("b1", dead.url, ENUM, "broker1", max_time=3)
    check("... while another host answers at once", code == 200 and secs < 2,
          "HTTP %d, %.2f s" % (code, secs))
    lab.heal(part)
    ok = wait_for(10, lambda: lab.curl("b1", part.url, ENUM, "broker1", max_time=3)[1] == 200)
    check("after the heal it answers again", ok)

    pids = lab.processes()[dead.name]
    lab.kill_host(dead)
    check("kill -9 of a host's rdmsd: no process left in its namespace (rdmsd-net went too)",
          wait_for(5, lambda: not lab.processes()[dead.name]), (pids, lab.processes()[dead.name]))
    rc, code, _, secs = lab.curl("b1", dead.url, ENUM, "broker1", max_time=3)
    check("... and it refuses at once (curl 7)", rc == 7 and secs < 1,
          "curl %d, %.2f s" % (rc, secs))
    fp = dead.fingerprint
    lab.start_host(dead)
    items, err = lab.enumerate(dead)
    check("restarted: it serves its %d sessions again, with the same certificate"
          % lab.n_sessions, len(items) == lab.n_sessions and dead.fingerprint == fp,
          "%d %s %s/%s" % (len(items), err, fp, dead.fingerprint))

    if len(lab.xrdp_hosts) < 2:
        return
    x1, x2 = lab.xrdp_hosts[:2]
    had = as_table(lab.enumerate(x1)[0])
    lab.kill_host(x1)
    rc, _, _, secs = lab.curl("b1", x1.url, ENUM, "broker1", max_time=3)
    check("kill -9 of %s's rdmsd alone: it refuses at once, the machine runs on" % x1.name,
          rc == 7 and secs < 1 and alive(x1.init_pid) and
          all(comm(lab.global_pid(x1.name, sid)) == "xrdp-sesman" for sid in had),
          "curl %d, %.2f s, init %s" % (rc, secs, alive(x1.init_pid)))
    lab.start_host(x1)
    now = lab.enumerate(x1)[0]
    check("... its rdmsd restarted in the machine lists the same sessions again",
          had and as_table(now) == had, "%s / %s" % (had, as_table(now)))

    before = len(lab.processes()[x2.name])
    lab.kill_machine(x2)
    check("kill -9 of %s's init: every one of its %d processes is gone" % (x2.name, before),
          wait_for(5, lambda: not lab.processes()[x2.name]), lab.processes()[x2.name])
    rc, _, _, secs = lab.curl("b1", x2.url, ENUM, "broker1", max_time=3)
    check("... it refuses at once", rc == 7 and secs < 1, "curl %d, %.2f s" % (rc, secs))
    check("... and %s still answers" % x1.name, lab.enumerate(x1)[1] is None)


def test_intruders(lab):
    h = lab.fixture_hosts[0]
    log("intruders, from cl")
    _, code, _, _ = lab.curl("cl", h.url, ENUM)
    check("no certificate, no password: 401", code == 401, code)
    _, code, _, _ = lab.curl("cl", h.url, ENUM, "intruder")
    check("a certificate of the lab CA no host lists: 403", code == 403, code)
    _, code, _, _ = lab.curl("cl", h.url, ENUM, "rogue")
    check("broker1's subject from another CA: 403", code == 403, code)


def xrdp_lab_up():
    """lab.sh's Xvfb runs and its users have passwords (run.sh started it)."""
    return alive(xe.lab_pid("xvfb")) and all(tw.pw_of(u) for u in (U1, U2))


def main():
    if not ready("test_fleet_lab", built=[RDMSD],
                 tools=["ip", "unshare", "openssl", "curl", "xfreerdp", "xrdp", "xrdp-sesman"]):
        return 1
    n_xrdp = 2 if check("the xrdp lab runs (users, Xvfb; tests/e2e/lab.sh start)",
                        xrdp_lab_up()) else 0
    fl.exit_on_sigterm()
    t0 = time.monotonic()
    lab = fl.FleetLab(hosts=N_HOSTS, xrdp_hosts=n_xrdp)
    names = lab.all_namespaces()
    started = []
    try:
        lab.setup()
        started = [h.pid for h in lab.hosts] + [h.init_pid for h in lab.xrdp_hosts]
        rss, pss = lab.memory()
        log("set-up took %.1f s: %d fixture hosts x %d sessions, %d xrdp machines; "
            "RSS %.0f MiB, PSS %.0f MiB" % (lab.setup_seconds, len(lab.fixture_hosts),
                                            lab.n_sessions, n_xrdp, rss / 1024, pss / 1024))
        check("the lab is up", True)
        groups = [test_hosts, test_shared_id, test_change, test_intruders]
        groups += [test_xrdp] if n_xrdp else []
        run_groups(groups + [test_faults], lab)
    except Exception as e:
        check("the lab is up", False, repr(e))
    finally:
        started += [c.pid for c in lab.spawned] + [h.pid for h in lab.hosts]
        left = lab.cleanup()
        check("cleanup: nothing outlived the processes the lab started", not left, left)
        check("cleanup: every process the lab started has ended",
              not [p for p in started if alive(p)], [p for p in started if alive(p)])
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        gone = [n for n in names if n in {l.split()[0] for l in listed.splitlines() if l}]
        check("cleanup: none of the lab's network namespaces is left", not gone, gone)
        check("cleanup: its directory is removed", not os.path.exists(lab.dir), lab.dir)
        log("elapsed %.1f s" % (time.monotonic() - t0))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
