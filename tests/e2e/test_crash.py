#!/usr/bin/python3
"""test_crash.py -- rdmsd killed with SIGKILL in the middle of a burst of
method calls.

The lab of test_rdmsd_auth.py (PAM accounts, rdmsd in the foreground on
free loopback ports, audit database in a temporary directory) serves 20000
sessions of the fixture back-end, whose SendMessage changes nothing but is
audited like any method call.  Several client threads, each on its own
kept-alive connection, send SendMessage invokes with unique MessageIDs,
every one to a session of its own (in each round), so that a reply names
exactly one audit row.  In the middle of the burst the process the lab started (the
daemon's parent, whatever it runs below it) gets SIGKILL.  Then:
  * rdmsd and every process it had started are gone;
  * every call that got a 200 reply has its audit row (same target and
    method, result 0, time inside the burst), and the number of such rows
    is at least the number of replies;
  * PRAGMA integrity_check of the audit database says "ok";
  * a restarted rdmsd serves a good request within 2 s of being started,
    and keeps the rows it had.
Two rounds, killed after different times.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import http.client
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402  (check/log/summary, the built binaries)
import test_rdmsd_auth as lab_mod  # noqa: E402  (the shared lab: accounts, config, daemon)
import test_hostile as hostile     # noqa: E402  (envelopes, process tree)
from e2e_common import check, log  # noqa: E402

hostile.own_accounts("c")
ADMIN, VMHOST, CLASS = lab_mod.ADMIN, lab_mod.VMHOST, lab_mod.CLASS
THREADS, PER_THREAD = 4, 2500         # calls per round at most: one session each
KILL_AFTER = (0.8, 1.7)               # seconds into the burst, one per round
SESSIONS = len(KILL_AFTER) * THREADS * PER_THREAD
SERVE_WITHIN_S = 2.0


class Lab(lab_mod.Lab):
    """The auth lab with a thousand sessions of rdmsadm."""

    def write_config(self, http_port=None):
        super().write_config(http_port)
        with open(self.fixture, "w") as f:
            for sid in range(1, SESSIONS + 1):
                f.write("%d %s 0 client-%d\n" % (sid, ADMIN, sid))

    def start_timed(self):
        """Starts rdmsd; returns seconds until a good request was served, or None."""
        self.logfh = open(self.logf, "a")
        t0 = time.monotonic()
        self.proc = lab_mod.subprocess.Popen(
            [lab_mod.RDMSD, "--config", self.conf, "--foreground"],
            stdout=self.logfh, stderr=lab_mod.subprocess.STDOUT)
        auth = lab_mod.basic(ADMIN, self.pw[ADMIN])
        while time.monotonic() - t0 < 15 and self.proc.poll() is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.http, timeout=5)
                st, _, _, _ = lab_mod.post(c, lab_mod.ENUMERATE, auth)
                c.close()
                if st == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.02)
        return None


def target(sid):
    return '%s.SessionId=%d,VMHostName="%s"' % (CLASS, sid, VMHOST)


def send_message(sid):
    return hostile.invoke("SendMessage", sid, hostile.message_args("crash-test", "call %d" % sid))


def client(lab, base, thread, replies, errors, stop):
    """Sends SendMessage calls on one kept-alive connection until it breaks."""
    auth = lab_mod.basic(ADMIN, lab.pw[ADMIN])
    conn = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=10)
    for k in range(PER_THREAD):
        if stop.is_set():
            break
        sid = base + thread * PER_THREAD + k + 1
        try:
            st, _, body, _ = lab_mod.post(conn, send_message(sid), auth)
        except (OSError, http.client.HTTPException):
            break                  # rdmsd died under us: this call got no reply
        replies.append((sid, st, "<p:ReturnValue>0</p:ReturnValue>" in body))
        if st != 200:
            errors.append((sid, st, body[:200]))
    conn.close()


def iso_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def crash_round(lab, n, kill_after):
    log("round %d: SIGKILL after %.1f s of method calls" % (n, kill_after))
    root = lab.proc.pid
    tree = hostile.daemon_pids(root)
    started_at = iso_now()
    replies, errors, threads, stop = [], [], [], threading.Event()
    for t in range(THREADS):
        th = threading.Thread(target=client, args=(lab, (n - 1) * THREADS * PER_THREAD, t,
                                                    replies, errors, stop))
        th.start()
        threads.append(th)
    time.sleep(kill_after)
    tree = sorted(set(tree) | set(hostile.daemon_pids(root)))
    busy = sum(th.is_alive() for th in threads)
    os.kill(root, signal.SIGKILL)
    killed_at = time.monotonic()
    lab.proc.wait()
    for th in threads:
        th.join(15)
    stop.set()
    ok = [sid for sid, st, rv in replies if st == 200 and rv]
    check("round %d: calls were answered before the kill (%d replies)" % (n, len(ok)),
          len(ok) > 0 and not errors, errors[:3])
    check("round %d: the kill came in the middle of the burst (%d of %d clients busy)"
          % (n, busy, THREADS), busy == THREADS)
    gone = False
    while time.monotonic() - killed_at < 5 and not gone:
        gone = not [p for p in tree if alive(p)]
        time.sleep(0.05)
    check("round %d: rdmsd and its %d process(es) are gone" % (n, len(tree)), gone,
          "still there: %s" % [p for p in tree if alive(p)])
    try:
        sock_ok = socket.create_connection(("127.0.0.1", lab.http), timeout=2)
        sock_ok.close()
        check("round %d: nothing listens on the port any more" % n, False, "a process still accepts")
    except OSError:
        check("round %d: nothing listens on the port any more" % n, True)

    try:
        db = sqlite3.connect(lab.audit, timeout=10)
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        rows = db.execute("SELECT target, method, result FROM audit WHERE time >= ?",
                          (started_at,)).fetchall()
        total = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        db.close()
    except sqlite3.Error as e:
        check("round %d: the audit database opens after the crash" % n, False, repr(e))
        return None
    check("round %d: PRAGMA integrity_check = ok" % n, integrity == [("ok",)], integrity)
    done = {}
    for tgt, method, result in rows:
        if method == "SendMessage" and result == 0:
            done[tgt] = done.get(tgt, 0) + 1
    missing = [sid for sid in ok if target(sid) not in done]
    check("round %d: every answered call has its audit row" % n, not missing,
          "%d of %d missing, e.g. %s" % (len(missing), len(ok), missing[:5]))
    check("round %d: audit rows >= answered calls (%d >= %d)" % (n, sum(done.values()), len(ok)),
          sum(done.values()) >= len(ok))
    check("round %d: no call ran twice" % n, all(v == 1 for v in done.values()),
          [t for t, v in done.items() if v != 1][:5])

    secs = lab.start_timed()
    check("round %d: the restarted rdmsd serves within %.0f s (%s s)"
          % (n, SERVE_WITHIN_S, "%.2f" % secs if secs is not None else "never"),
          secs is not None and secs <= SERVE_WITHIN_S, lab.log()[-1500:])
    try:
        db = sqlite3.connect("file:%s?mode=ro" % lab.audit, uri=True, timeout=10)
        after = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        db.close()
    except sqlite3.Error as e:
        after = repr(e)
    check("round %d: the restarted rdmsd kept every audit row (%s >= %d)" % (n, after, total),
          isinstance(after, int) and after >= total)
    return len(ok)


def alive(pid):
    """True while PID exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    if not common.ready("test_crash", [common.RDMSD]):
        return 1
    lab = Lab()
    try:
        if not lab.setup():
            return 1
        for n, after in enumerate(KILL_AFTER, 1):
            try:
                crash_round(lab, n, after)
            except Exception as e:   # one round's crash must not hide the other
                check("round %d ran without an exception" % n, False, repr(e))
            if lab.proc is None or lab.proc.poll() is not None:
                break
        c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=10)
        st, _, body, _ = lab_mod.post(c, send_message(1), lab_mod.basic(ADMIN, lab.pw[ADMIN]))
        check("after the crashes a method call works", st == 200, (st, body[:200]))
        rc = lab.stop()
        check("rdmsd stops cleanly on SIGTERM", rc == 0, rc)
    finally:
        lab_mod.close_lab(lab)
    return common.summary()


if __name__ == "__main__":
    sys.exit(main())
