#!/usr/bin/python3
"""test_x2go_e2e.py -- rdms against a real X2Go 4.1 server and the real
pyhoca-cli client, with a real xrdp session on the same host beside it.

x2go_lab.sh starts x2goserver behind its own sshd (foreground, free loopback
port) and x2gocleansessions; pyhoca-cli (python3-x2go) runs as a client
user and draws on the lab's own Xvfb.  The xrdp session comes from lab.sh
(run.sh has it running; started and stopped here otherwise).  rdms is
driven in direct mode ($RDMS_BIN, default build/rdms) and through a running
rdmsd (WS-Man on its Unix socket: the rdms CLI without --direct), and every
answer is checked against the system itself: X2Go's session database (read
here read-only), nxagent's state file, the agent in /proc, the client's
nxproxy, windows on the session's display.

Covered: list (Active, user, client address, SessionId = agent pid, SERVER
column, xrdp beside it, no SessionId clash); the traps of x2go.md -- rows
without a pid while a session starts, a second Disconnect (never a second
SIGHUP, which would resume the agent), a writer holding the database, and
x2golistsessions_root writing while we list; the fallback listing through
x2golistsessions_root; SendMessage; Disconnect direct and through rdmsd
(the client goes); resume gives the same SessionId back, Active; Logoff.

Output: one PASS/FAIL line per check, and last `N passed, M failed`; when
the X2Go packages cannot be installed at all, a single SKIPPED line.
Needs root.  Exit status 0 only when nothing failed.
"""
import json
import os
import pwd
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import e2e_common as common
from e2e_common import (RDMS, RDMSD, alive, check, children, comm, finish, log, read,
                        wait_for, window_on)

HERE = os.path.dirname(os.path.abspath(__file__))
X2GOLAB = os.path.join(HERE, "x2go_lab.sh")
XRDPLAB = os.path.join(HERE, "lab.sh")
E2E = os.environ.get("RDMS_E2E_DIR", "/tmp/rdms-e2e")
XLAB = os.path.join(E2E, "x2go")
os.environ["RDMS_X2GO_DIR"] = XLAB
DB = "/var/lib/x2go/x2go_sessions"
XUSER = "rdmsx2go1"
RUSER = "rdmstest1"
VMHOST = "e2e-host"
ACTIVE, DISCONNECTED = 0, 4


# ---- the system's own view (read, alive, children, comm: e2e_common) ----------

def cmdline(pid):
    return (read("/proc/%d/cmdline" % pid) or "").split("\0")


def db_rows(user):
    """X2Go's own rows of USER, read-only: [(agent_pid, session_id, display, status, client)]."""
    try:
        db = sqlite3.connect("file:%s?mode=ro" % DB, uri=True, timeout=5)
        rows = db.execute("SELECT agent_pid, session_id, display, status, client FROM sessions"
                          " WHERE uname = ?", (user,)).fetchall()
        db.close()
        return rows
    except sqlite3.Error:
        return []


def live_row(user):
    rows = [r for r in db_rows(user) if r[3] in ("R", "S") and r[0]]
    return rows[0] if rows else None


def state_file(user, session):
    return (read("/tmp/.x2go-%s/C-%s/state" % (user, session)) or "").strip()


def agent_auth(pid):
    args = cmdline(pid)
    return args[args.index("-auth") + 1] if "-auth" in args else "/home/%s/.Xauthority" % XUSER


def nxproxy_of(client_pid):
    return [c for c in children(client_pid) if comm(c) == "nxproxy"]


def lab_pid(run, name):
    v = read(os.path.join(run, name + ".pid"))
    return int(v) if v and v.strip().isdigit() else 0


def lab_rc(run, name):
    v = read(os.path.join(run, name + ".rc"))
    return int(v) if v and v.strip().lstrip("-").isdigit() else None


# ---- rdms ---------------------------------------------------------------------

class Rdms:
    def __init__(self, conf):
        self.conf = conf

    def run(self, *args, direct=True, conf=None, timeout=60):
        cmd = [RDMS] + (["--direct"] if direct else []) + ["--config", conf or self.conf]
        try:
            p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)
            return p.returncode, p.stdout, p.stderr.strip()
        except subprocess.TimeoutExpired:
            return -1, "", "timed out after %d s" % timeout

    def sessions(self, direct=True, conf=None):
        """{SessionId: instance}, or None when the listing failed."""
        rc, out, err = self.run("list", "--json", direct=direct, conf=conf)
        if rc != 0:
            return None
        try:
            return {s["SessionId"]: s for s in json.loads(out)}
        except ValueError:
            return None

    def session(self, sid, **kw):
        return (self.sessions(**kw) or {}).get(sid)


# ---- set-up -----------------------------------------------------------------------

class Labs:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rdms-x2go-e2e-")
        self.conf = os.path.join(self.dir, "rdms.conf")
        self.sock = os.path.join(self.dir, "rdmsd.sock")
        self.xrdp_started = False
        self.x2go_started = False
        self.rdmsd = None
        self.xrdp_env = {}

    def start(self):
        # what a crashed earlier run may have left of the X2Go lab (its users' sessions)
        subprocess.run([X2GOLAB, "stop"], capture_output=True, text=True, timeout=120)
        st = subprocess.run([XRDPLAB, "status"], capture_output=True, text=True)
        if "sesman: running" not in st.stdout:
            p = subprocess.run([XRDPLAB, "start"], capture_output=True, text=True)
            if p.returncode != 0:
                log("  lab.sh start: " + p.stderr.strip())
                return False
            self.xrdp_started = True
        env = subprocess.run([XRDPLAB, "env"], capture_output=True, text=True).stdout
        for word in env.split():
            k, _, v = word.partition("=")
            self.xrdp_env[k] = v
        p = subprocess.run([X2GOLAB, "start"], capture_output=True, text=True)
        log("  " + (p.stdout.strip() or p.stderr.strip()))
        if p.returncode != 0:
            return False
        self.x2go_started = True
        base = read(self.xrdp_env.get("RDMS_CONF", "")) or ""
        with open(self.conf, "w") as f:
            f.write(base)
            f.write("\nvm_host_name = %s\nbackends = xrdp, x2go\n" % VMHOST)
            f.write("socket_path = %s\naudit_db = %s\n" % (self.sock,
                                                           os.path.join(self.dir, "audit.db")))
            f.write("http_port = 0\nhttps_port = 0\ncimxml_http_port = 0\ncimxml_https_port = 0\n")
        return True

    def start_rdmsd(self):
        self.rdmsd_log = os.path.join(self.dir, "rdmsd.log")
        self.logfh = open(self.rdmsd_log, "w")
        self.rdmsd = subprocess.Popen([RDMSD, "--config", self.conf, "--foreground", "--debug"],
                                      stdout=self.logfh, stderr=subprocess.STDOUT)
        return wait_for(15, lambda: "ready" in (read(self.rdmsd_log) or "") or
                        self.rdmsd.poll() is not None) and self.rdmsd.poll() is None

    def stop(self):
        if self.rdmsd is not None and self.rdmsd.poll() is None:
            self.rdmsd.send_signal(signal.SIGTERM)
            try:
                self.rdmsd.wait(15)
            except subprocess.TimeoutExpired:
                self.rdmsd.kill()
                self.rdmsd.wait()
        if self.x2go_started:
            subprocess.run([X2GOLAB, "stop"], capture_output=True, text=True, timeout=120)
        if self.xrdp_started:
            subprocess.run([XRDPLAB, "stop"], capture_output=True, text=True, timeout=120)
        subprocess.run(["rm", "-rf", "--", self.dir])


def x2go_client(kind, name, *args):
    p = subprocess.run([X2GOLAB, kind, name, XUSER] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        log("  x2go_lab.sh %s failed: %s" % (kind, p.stderr.strip()))
        return 0
    return int(p.stdout.strip() or 0)


# ---- scenarios -------------------------------------------------------------------

def scenario_start(r, labs):
    """A new X2Go session, watched while it starts (x2go.md §7.5), and an xrdp one."""
    log("== start: X2Go (pyhoca-cli -N) for %s, xrdp (xfreerdp) for %s" % (XUSER, RUSER))
    xc = subprocess.run([XRDPLAB, "connect", "x2gomix", RUSER, "/client-hostname:MIXCLIENT",
                         "/size:800x600"], capture_output=True, text=True)
    labs.xrdp_client = int(xc.stdout.strip() or 0)
    client = x2go_client("new", "n1")
    check("pyhoca-cli started", client > 0)
    saw_null_pid = False
    bad_lists = []
    strays = []
    sid = None
    # X2Go's start-up (ssh, x2gostartagent, nxagent) takes 5-15 s idle; give a
    # loaded CI machine room before calling it a failure.
    end = time.monotonic() + 90
    rows = []
    while time.monotonic() < end:
        rows = db_rows(XUSER)
        saw_null_pid = saw_null_pid or any(r_[0] is None and r_[3] == "R" for r_ in rows)
        v = r.sessions()
        if v is None:
            bad_lists.append(r.run("list")[2])
        else:
            for s in v.values():
                if s["UserName"] == XUSER:
                    if comm(s["SessionId"]) != "x2goagent":
                        strays.append(s)
                    elif s["ConnectState"] == ACTIVE:
                        sid = s["SessionId"]
        if sid is not None:
            break
        time.sleep(0.15)
    check("while the session started every listing succeeded", not bad_lists, bad_lists[:2])
    check("no listed X2Go session was anything but a live x2goagent", not strays, strays[:2])
    log("  (a row without agent_pid was %s during start-up)" % ("seen" if saw_null_pid else
                                                                   "not caught"))
    check("%s's X2Go session is listed Active" % XUSER, sid is not None,
          "database rows %r; rdms list: %s" % (rows, r.run("list")[1][-400:]))
    rsid = wait_for(40, lambda: next((k for k, s in (r.sessions() or {}).items()
                                      if s["UserName"] == RUSER and s["ConnectState"] == ACTIVE),
                                     None), step=0.3)
    check("%s's xrdp session is listed Active beside it" % RUSER, rsid is not None)
    return sid, rsid, client


def scenario_list(r, sid, rsid):
    log("== list: X2Go session %s and xrdp session %s on one host" % (sid, rsid))
    row = live_row(XUSER)
    check("the database has one live row for %s" % XUSER, row is not None, db_rows(XUSER))
    if row is None:
        return None
    pid, name, display, status, client = row
    check("SessionId %d is the row's agent_pid" % sid, pid == sid, row)
    check("... and that pid is an x2goagent named X2GO-%s" % name,
          comm(sid) == "x2goagent" and ("X2GO-" + name) in cmdline(sid), cmdline(sid))
    check("... running as %s" % XUSER,
          os.stat("/proc/%d" % sid).st_uid == pwd.getpwnam(XUSER).pw_uid)
    check("the state file says RUNNING", state_file(XUSER, name) == "RUNNING",
          state_file(XUSER, name))
    v = r.sessions() or {}
    s = v.get(sid, {})
    check("UserName %s, ConnectState 0, ClientMachineName = the client's address 127.0.0.1" % XUSER,
          (s.get("UserName"), s.get("ConnectState"), s.get("ClientMachineName")) ==
          (XUSER, ACTIVE, client) and client == "127.0.0.1", repr(s))
    check("VMHostName from the config", s.get("VMHostName") == VMHOST, repr(s))
    check("no SessionId clash: two sessions, two ids", sid != rsid and sid in v and rsid in v,
          sorted(v))
    rc, out, err = r.run("list")
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines()[1:] if ln.split()}
    check("rdms list shows SERVER x2go for %d and xrdp for %d" % (sid, rsid),
          rc == 0 and lines.get(str(sid), [""])[-1] == "x2go" and
          lines.get(str(rsid), [""])[-1] == "xrdp", out or err)
    rc, out, err = r.run("query", "SELECT SessionId FROM Win32_VirtualDesktopSession WHERE "
                         "UserName = '%s'" % XUSER, "--json")
    check("WQL on UserName finds the X2Go session",
          rc == 0 and [x["SessionId"] for x in json.loads(out or "[]")] == [sid], out or err)
    v2 = r.sessions(direct=False)
    check("through rdmsd (WS-Man) the same two sessions, same states",
          v2 is not None and {k: x["ConnectState"] for k, x in v2.items()} ==
          {k: x["ConnectState"] for k, x in v.items()}, (v2, v))
    return name, display


def scenario_message(r, sid, name, display):
    log("== SendMessage to %d (:%d)" % (sid, display))
    rc, out, err = r.run("message", str(sid), "--title", "X2Go E2E", "--message",
                         "Hello from rdms.\n-display :0 is not an option")
    check("message %d returns 0" % sid, rc == 0, "rc=%d %s" % (rc, err))
    w = wait_for(10, lambda: window_on(XUSER, display, "X2Go E2E", xauth=agent_auth(sid)), step=0.3)
    check("a window titled 'X2Go E2E' is on the session's display :%d" % display, bool(w))
    check("the session is still Active", (r.session(sid) or {}).get("ConnectState") == ACTIVE)


def scenario_disconnect(r, sid, name, client, rsid, direct):
    how = "rdms --direct" if direct else "rdmsd (WS-Man)"
    log("== Disconnect %d through %s" % (sid, how))
    proxies = nxproxy_of(client)
    check("the client's nxproxy is attached before", bool(proxies), children(client))
    t0 = time.monotonic()
    rc, out, err = r.run("disconnect", str(sid), direct=direct)
    check("disconnect %d through %s returns 0 (%.1f s)" % (sid, how, time.monotonic() - t0),
          rc == 0, "rc=%d %s" % (rc, err))
    check("the state file says SUSPENDED", state_file(XUSER, name) == "SUSPENDED",
          state_file(XUSER, name))
    check("the agent %d survives (same pid)" % sid, alive(sid) and comm(sid) == "x2goagent")
    check("the client's nxproxy is gone",
          wait_for(10, lambda: not any(alive(p) for p in proxies)), proxies)
    s = r.session(sid, direct=direct)
    check("listed Disconnected with no client",
          s is not None and s["ConnectState"] == DISCONNECTED and s["ClientMachineName"] == "",
          repr(s))
    check("the xrdp session %d is still Active" % rsid,
          (r.session(rsid) or {}).get("ConnectState") == ACTIVE)


def scenario_traps(r, sid, name, labs):
    log("== traps: second Disconnect, a locked database, x2golistsessions_root writing")
    rc, out, err = r.run("disconnect", str(sid))
    check("a second Disconnect is refused: WBEM_E_INVALID_OPERATION",
          rc not in (0, -1) and "WBEM_E_INVALID_OPERATION" in err, "rc=%d %s" % (rc, err))
    time.sleep(1.5)
    check("... and sent nothing: still SUSPENDED, not RESUMING (a 2nd SIGHUP resumes)",
          state_file(XUSER, name) == "SUSPENDED", state_file(XUSER, name))

    # a writer holding the EXCLUSIVE lock for 1 s: the listing waits it out
    locked = threading.Event()

    def hold():
        db = sqlite3.connect(DB, timeout=5, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(1.0)
        db.execute("ROLLBACK")
        db.close()
    t = threading.Thread(target=hold)
    t.start()
    locked.wait(5)
    t0 = time.monotonic()
    v = r.sessions()
    took = time.monotonic() - t0
    t.join()
    check("listing while X2Go's database is locked waits and succeeds (%.2f s)" % took,
          v is not None and sid in v and took >= 0.5, repr(v))

    # x2golistsessions_root writes to the database (R->S, purges) while we read it
    stop = threading.Event()
    runs = [0]

    def churn():
        while not stop.is_set():
            subprocess.run(["/usr/sbin/x2golistsessions_root"], capture_output=True)
            runs[0] += 1
    t = threading.Thread(target=churn)
    t.start()
    results = []
    end = time.monotonic() + 15
    while (runs[0] < 3 or len(results) < 15) and time.monotonic() < end:
        results.append(r.sessions())
    stop.set()
    t.join()
    check("%d listings while x2golistsessions_root ran %d times: all succeed, all show %d" %
          (len(results), runs[0], sid),
          runs[0] >= 3 and all(x is not None and sid in x for x in results))

    # fallback where the database is not SQLite: x2golistsessions_root's output
    sqlconf = os.path.join(labs.dir, "x2gosql")
    with open(sqlconf, "w") as f:
        f.write("backend=postgres\n")
    conf2 = os.path.join(labs.dir, "fallback.conf")
    with open(conf2, "w") as f:
        f.write((read(labs.conf) or "") + "x2go_sqlconf = %s\n" % sqlconf)
    v = r.sessions(conf=conf2)
    s = (v or {}).get(sid)
    check("fallback listing (backend=postgres: x2golistsessions_root) shows %d Disconnected" % sid,
          s is not None and s["ConnectState"] == DISCONNECTED and s["UserName"] == XUSER, repr(v))


def scenario_resume(r, sid, name):
    log("== resume %s with pyhoca-cli -R" % name)
    t0 = time.monotonic()
    client = x2go_client("resume", "r1", name)
    got = wait_for(45, lambda: (r.session(sid) or {}).get("ConnectState") == ACTIVE, step=0.3)
    check("the same SessionId %d is Active again (%.1f s)" % (sid, time.monotonic() - t0), got,
          repr(r.session(sid)))
    row = live_row(XUSER)
    check("same agent pid and session name in the database",
          row is not None and row[0] == sid and row[1] == name, row)
    check("the resumed client's nxproxy is attached", wait_for(10, lambda: nxproxy_of(client)))
    return client


def scenario_logoff(r, sid, name, display, rsid):
    log("== Logoff %d" % sid)
    rc, out, err = r.run("logoff", str(sid))
    check("logoff %d returns 0" % sid, rc == 0, "rc=%d %s" % (rc, err))
    check("the agent %d is gone" % sid, not alive(sid) or comm(sid) != "x2goagent")
    check("the display socket :%d is gone" % display,
          wait_for(5, lambda: not os.path.exists("/tmp/.X11-unix/X%d" % display)))
    v = r.sessions()
    check("the session is no longer listed", v is not None and sid not in v,
          repr(v) if v is not None else r.run("list")[2])
    check("its row is finished or purged",
          wait_for(10, lambda: all(x[3] == "F" for x in db_rows(XUSER) if x[1] == name)))
    rc, out, err = r.run("logoff", str(sid))
    check("a second logoff: WBEM_E_NOT_FOUND", rc not in (0, -1) and "WBEM_E_NOT_FOUND" in err,
          err)
    check("the xrdp session %d is still Active" % rsid,
          (r.session(rsid) or {}).get("ConnectState") == ACTIVE)


def scenario_xrdp(r, rsid, labs):
    log("== the xrdp session %d beside it: Disconnect, Logoff" % rsid)
    run = labs.xrdp_env.get("RUN", os.path.join(E2E, "run"))
    rc, out, err = r.run("disconnect", str(rsid))
    check("disconnect of xrdp session %d returns 0" % rsid, rc == 0, err)
    check("its xfreerdp exits", wait_for(10, lambda: lab_rc(run, "client-x2gomix") is not None))
    check("listed Disconnected", (r.session(rsid) or {}).get("ConnectState") == DISCONNECTED)
    rc, out, err = r.run("logoff", str(rsid), direct=False)
    check("logoff of xrdp session %d through rdmsd returns 0" % rsid, rc == 0, err)
    check("the sesman session process is gone", wait_for(5, lambda: not alive(rsid)))


def skip(why):
    log("SKIPPED: test_x2go_e2e: " + why)
    return 0


def main():
    if not common.ready("test_x2go_e2e"):
        return 1
    for b in (RDMS, RDMSD):
        if not os.access(b, os.X_OK):
            check("%s is built" % b, False)
            return finish()
    p = subprocess.run([X2GOLAB, "install"], capture_output=True, text=True)
    if p.returncode == 3:
        return skip("the X2Go packages cannot be installed here: " + p.stderr.strip()[-300:])
    if not check("the X2Go packages are installed", p.returncode == 0, p.stderr.strip()):
        return finish()
    t0 = time.monotonic()
    labs = Labs()
    r = Rdms(labs.conf)
    try:
        if not check("the X2Go lab and the xrdp lab are running", labs.start()):
            return finish()
        if not check("rdmsd starts", labs.start_rdmsd(), read(getattr(labs, "rdmsd_log", ""))):
            return finish()
        # a test before this one may still be ending its sessions
        def leftovers():
            return [s for s in (r.sessions() or {}).values() if s["UserName"] in (XUSER, RUSER)]
        wait_for(15, lambda: not leftovers(), step=0.5)
        if not check("no sessions of %s or %s left over" % (XUSER, RUSER), not leftovers(),
                     leftovers()):
            return finish()
        sid, rsid, client = scenario_start(r, labs)
        if sid is None or rsid is None:
            return finish()
        got = scenario_list(r, sid, rsid)
        if got is None:
            return finish()
        name, display = got
        scenario_message(r, sid, name, display)
        scenario_disconnect(r, sid, name, client, rsid, direct=True)
        scenario_traps(r, sid, name, labs)
        client2 = scenario_resume(r, sid, name)
        scenario_disconnect(r, sid, name, client2, rsid, direct=False)
        check("both pyhoca-cli clients have exited",
              wait_for(15, lambda: not alive(client) and not alive(client2)))
        scenario_logoff(r, sid, name, display, rsid)
        scenario_xrdp(r, rsid, labs)
        v = r.sessions() or {}
        check("nothing of %s or %s is listed at the end" % (XUSER, RUSER),
              not [s for s in v.values() if s["UserName"] in (XUSER, RUSER)], v)
    except Exception as e:   # a crash must still stop the labs and count
        check("the test ran without an exception", False, repr(e))
    finally:
        # what a failed run may have left: the xrdp session (by its X server, as lab.sh does)
        for k, s in (r.sessions() or {}).items():
            if s["UserName"] == RUSER:
                r.run("logoff", str(k))
        if common.failed and getattr(labs, "rdmsd_log", None):
            log("---- rdmsd log ----\n" + (read(labs.rdmsd_log) or "")[-3000:])
        labs.stop()
        log("elapsed %.1f s" % (time.monotonic() - t0))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
