#!/usr/bin/python3
"""test_xrdp_e2e.py -- rdms against a real xrdp 0.9 server and real clients.

Needs the lab of lab.sh running (run.sh starts and stops it).  Two users:
rdmstest1 gets an Xorg (xorgxrdp) session, rdmstest2 an Xvnc one (/d:Xvnc),
each through a real xfreerdp drawing on the lab's Xvfb.  The test drives
the `rdms` CLI in direct mode ($RDMS_BIN, default build/rdms) with the
lab's config, and checks every answer against the system itself: the
sesman session processes in /proc, their X servers and window managers,
the xfreerdp processes' exit codes, and windows on the session displays.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Exit status 0 only when nothing failed.
"""
import json
import os
import pwd
import subprocess
import sys
import time

from e2e_common import (RDMS, alive, check, children, comm, finish, log, read, wait_for,
                        window_on)

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.environ.get("RDMS_E2E_DIR", "/tmp/rdms-e2e")
RUN = os.path.join(LAB, "run")
CONF = os.path.join(LAB, "rdms.conf")
LABSH = os.path.join(HERE, "lab.sh")
CLASS = "Win32_VirtualDesktopSession"
PROPS = {"SessionId", "VMHostName", "VMName", "ConnectState", "UserName",
         "DomainName", "CollectionId", "ClientMachineName"}
# what rdms.conf (written by lab.sh) says
VM, VMHOST, COLL, DOM = "e2e-vm", "e2e-host", "e2e-collection", "E2EDOM"
ACTIVE, DISCONNECTED = 0, 4


# ---- the system's own view (read, alive, children, comm: e2e_common) ---------

def lab_pid(name):
    v = read(os.path.join(RUN, name + ".pid"))
    return int(v) if v and v.strip().isdigit() else 0


def client_rc(name):
    v = read(os.path.join(RUN, "client-%s.rc" % name))
    return int(v) if v and v.strip().lstrip("-").isdigit() else None


def truth():
    """{sid: {user, xpid, kind, display, wm}} from /proc: sesman's children."""
    out = {}
    for sid in children(lab_pid("sesman")):
        if comm(sid) != "xrdp-sesman" or not alive(sid):
            continue
        info = {"wm": 0}
        for c in children(sid):
            name = comm(c)
            if name in ("Xorg", "Xvnc"):
                args = (read("/proc/%d/cmdline" % c) or "").split("\0")
                info["xpid"], info["kind"] = c, name
                info["display"] = next((int(a[1:]) for a in args
                                        if a.startswith(":") and a[1:].isdigit()), -1)
                info["user"] = pwd.getpwuid(os.stat("/proc/%d" % c).st_uid).pw_name
            elif name != "xrdp-chansrv":
                info["wm"] = c
        if "xpid" in info:
            out[sid] = info
    return out


# ---- rdms -----------------------------------------------------------------

def rdms(*args, timeout=30):
    cmd = [RDMS, "--direct", "--config", CONF] + list(args)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr.strip()
    except subprocess.TimeoutExpired:
        return -1, "", "timed out after %d s" % timeout


def rdms_json(*args):
    rc, out, err = rdms(*(list(args) + ["--json"]))
    if rc != 0:
        return None, "rc=%d: %s" % (rc, err)
    try:
        return json.loads(out), ""
    except ValueError as e:
        return None, "bad JSON (%s): %r" % (e, out[:200])


def sessions():
    v, _ = rdms_json("list")
    return {s["SessionId"]: s for s in v} if isinstance(v, list) else {}


def state_of(sid):
    s = sessions().get(sid)
    return s["ConnectState"] if s else None


def expect_error(what, args, code):
    """An error named CODE in one line; exit status 2 for a malformed PATH
    or WQL (a usage error, found before asking anyone), else 1."""
    status = 2 if code in ("WBEM_E_INVALID_OBJECT_PATH", "WBEM_E_INVALID_QUERY") else 1
    rc, out, err = rdms(*args)
    check("%s: exit %d and %s" % (what, status, code),
          rc == status and code in err and err.count("\n") == 0,
          "rc=%d stderr=%r" % (rc, err))


# ---- clients ----------------------------------------------------------------

def connect(name, user, *extra):
    p = subprocess.run([LABSH, "connect", name, user] + list(extra),
                       capture_output=True, text=True)
    if p.returncode != 0:
        log("  lab.sh connect failed: " + p.stderr.strip())
        return 0
    return int(p.stdout.strip() or 0)


def attached_session(user):
    """The SessionId of USER's session once rdms shows it Active."""
    for sid, s in sessions().items():
        if s["UserName"] == user and s["ConnectState"] == ACTIVE:
            return sid
    return None


# ---- scenarios ----------------------------------------------------------------

def scenario_list(sid1, sid2, t):
    log("== list / get / query")
    v, err = rdms_json("list")
    check("list --json is an array of 2 sessions", isinstance(v, list) and len(v) == 2,
          err or repr(v))
    if not isinstance(v, list):
        return
    for s in v:
        # quser's extras ride in one object named after their class (rdms(1))
        check("list: keys are exactly the class properties and RDMS_SessionDetail (%s)"
              % s.get("SessionId"), set(s) == PROPS | {"RDMS_SessionDetail"}, repr(sorted(s)))
        check("list: RDMS_SessionDetail names no class property (%s)" % s.get("SessionId"),
              isinstance(s.get("RDMS_SessionDetail"), dict) and
              not set(s["RDMS_SessionDetail"]) & (PROPS - {"SessionId", "VMHostName"}),
              repr(s.get("RDMS_SessionDetail")))
    v = [{k: x for k, x in s.items() if k != "RDMS_SessionDetail"} for s in v]
    by = {s["SessionId"]: s for s in v}
    for sid, user, client in ((sid1, "rdmstest1", "E2ECLIENT1"),
                              (sid2, "rdmstest2", "E2ECLIENT2")):
        s = by.get(sid)
        if not check("list: session %d (sesman child pid, %s) listed" % (sid, t[sid]["kind"]),
                     s is not None, repr(sorted(by))):
            continue
        check("list: %d UserName %s" % (sid, user), s["UserName"] == user, s["UserName"])
        check("list: %d ConnectState 0" % sid, s["ConnectState"] == ACTIVE, repr(s))
        check("list: %d ClientMachineName %s" % (sid, client),
              s["ClientMachineName"] == client, repr(s["ClientMachineName"]))
        check("list: %d VMName/VMHostName/CollectionId/DomainName from the config" % sid,
              (s["VMName"], s["VMHostName"], s["CollectionId"], s["DomainName"]) ==
              (VM, VMHOST, COLL, DOM), repr(s))

    rc, out, err = rdms("list")
    check("list (table) names both sessions", rc == 0 and str(sid1) in out and str(sid2) in out,
          err or out)

    v, err = rdms_json("query", "SELECT * FROM %s WHERE UserName = 'rdmstest2'" % CLASS)
    check("query WHERE UserName = 'rdmstest2' gives only session %d" % sid2,
          isinstance(v, list) and [s["SessionId"] for s in v] == [sid2], err or repr(v))
    v, err = rdms_json("query", "SELECT SessionId, ConnectState FROM %s WHERE ConnectState = 0 "
                       "AND SessionId = %d" % (CLASS, sid1))
    check("query with AND on SessionId gives session %d" % sid1,
          isinstance(v, list) and len(v) == 1 and v[0].get("SessionId") == sid1, err or repr(v))
    v, err = rdms_json("query", "SELECT * FROM %s WHERE ConnectState = 4" % CLASS)
    check("query WHERE ConnectState = 4 gives nothing", v == [], err or repr(v))

    v, err = rdms_json("get", str(sid1))
    check("get %d (bare id)" % sid1, isinstance(v, dict) and v.get("SessionId") == sid1 and
          v.get("UserName") == "rdmstest1", err or repr(v))
    for path in ('%s.VMHostName="%s",SessionId=%d' % (CLASS, VMHOST, sid2),
                 '%s.SessionId=%d,VMHostName="%s"' % (CLASS, sid2, VMHOST)):
        v, err = rdms_json("get", path)
        check("get %s" % path, isinstance(v, dict) and v.get("SessionId") == sid2 and
              v.get("ClientMachineName") == "E2ECLIENT2", err or repr(v))


def scenario_errors(sid1, sid2):
    log("== unknown sessions, malformed paths and WQL")
    before = {k: v["ConnectState"] for k, v in sessions().items()}
    bogus = 999999
    while bogus in before:
        bogus += 1
    expect_error("get of unknown session %d" % bogus, ["get", str(bogus)], "WBEM_E_NOT_FOUND")
    expect_error("disconnect of unknown session", ["disconnect", str(bogus)], "WBEM_E_NOT_FOUND")
    expect_error("logoff of unknown session", ["logoff", str(bogus)], "WBEM_E_NOT_FOUND")
    expect_error("message to unknown session",
                 ["message", str(bogus), "--title", "x", "--message", "y"], "WBEM_E_NOT_FOUND")
    expect_error("get on another host", ["get", '%s.VMHostName="elsewhere",SessionId=%d'
                                         % (CLASS, sid1)], "WBEM_E_NOT_FOUND")
    after = {k: v["ConnectState"] for k, v in sessions().items()}
    check("unknown-session calls changed nothing (%d sessions, same states)" % len(before),
          before == after and len(after) == 2, "%r -> %r" % (before, after))
    check("both session processes still alive", alive(sid1) and alive(sid2))

    expect_error("path with an unterminated string",
                 ["get", '%s.VMHostName="%s,SessionId=%d' % (CLASS, VMHOST, sid1)],
                 "WBEM_E_INVALID_OBJECT_PATH")
    expect_error("path with an empty key value", ["get", "%s.SessionId=" % CLASS],
                 "WBEM_E_INVALID_OBJECT_PATH")
    expect_error("path with garbage after the keys",
                 ["get", '%s.VMHostName="%s",SessionId=%d)' % (CLASS, VMHOST, sid1)],
                 "WBEM_E_INVALID_OBJECT_PATH")
    expect_error("WQL without a property list", ["query", "SELECT FROM %s" % CLASS],
                 "WBEM_E_INVALID_QUERY")
    expect_error("WQL with a dangling WHERE", ["query", "SELECT * FROM %s WHERE" % CLASS],
                 "WBEM_E_INVALID_QUERY")
    expect_error("WQL with an unterminated string",
                 ["query", "SELECT * FROM %s WHERE UserName = 'x" % CLASS], "WBEM_E_INVALID_QUERY")


def scenario_message(sid, user, display, title):
    log("== SendMessage to %d (:%d)" % (sid, display))
    rc, out, err = rdms("message", str(sid), "--title", title,
                        "--message", "Hello from the rdms e2e test.\n-display :0 is not an option")
    check("message %d returns 0" % sid, rc == 0, "rc=%d %s" % (rc, err))
    w = wait_for(10, lambda: window_on(user, display, title), step=0.3)
    check("a window titled %r is on :%d" % (title, display), bool(w))
    check("session %d unchanged by the message" % sid, state_of(sid) == ACTIVE)


def scenario_disconnect(sid, t, client, user, extra, newname):
    kind, xpid = t[sid]["kind"], t[sid]["xpid"]
    log("== Disconnect / reconnect, %s session %d" % (kind, sid))
    rc, out, err = rdms("disconnect", str(sid))
    check("disconnect %d returns 0" % sid, rc == 0, "rc=%d %s" % (rc, err))
    code = wait_for(10, lambda: client_rc(client) is not None) and client_rc(client)
    check("xfreerdp (%s) exited with 12 (P12)" % client, code == 12, repr(code))
    check("session process %d survives" % sid, alive(sid))
    check("%s server %d survives" % (kind, xpid), alive(xpid))
    s = sessions().get(sid)
    check("ConnectState of %d is 4" % sid, s is not None and s["ConnectState"] == DISCONNECTED,
          repr(s))
    check("ClientMachineName of %d is empty" % sid, s is not None and s["ClientMachineName"] == "",
          repr(s))
    expect_error("second disconnect of %d" % sid, ["disconnect", str(sid)],
                 "WBEM_E_INVALID_OPERATION")
    check("session %d still disconnected" % sid, state_of(sid) == DISCONNECTED)

    connect(client + "-re", user, "/client-hostname:" + newname, *extra)
    got = wait_for(30, lambda: attached_session(user), step=0.3)
    check("reconnect of %s gets the same SessionId %d" % (user, sid), got == sid, repr(got))
    s = sessions().get(sid)
    check("after reconnect %d is Active with client %s" % (sid, newname),
          s is not None and s["ConnectState"] == ACTIVE and s["ClientMachineName"] == newname,
          repr(s))
    check("same X server %d after reconnect" % xpid, alive(xpid) and truth().get(sid, {}).get("xpid") == xpid)
    return client + "-re"


def scenario_logoff(sid, t, client):
    info = t[sid]
    log("== Logoff, %s session %d" % (info["kind"], sid))
    rc, out, err = rdms("logoff", str(sid))
    check("logoff %d returns 0" % sid, rc == 0, "rc=%d %s" % (rc, err))
    check("session process %d is gone" % sid, wait_for(5, lambda: not alive(sid)))
    check("%s server %d is gone" % (info["kind"], info["xpid"]),
          wait_for(5, lambda: not alive(info["xpid"])))
    if info["wm"]:
        check("window manager %d is gone" % info["wm"], wait_for(5, lambda: not alive(info["wm"])))
    code = wait_for(10, lambda: client_rc(client) is not None) and client_rc(client)
    check("its xfreerdp (%s) exited (%r)" % (client, code), code is not None)
    check("session %d no longer listed" % sid, sid not in sessions())
    check("display socket for :%d removed" % info["display"],
          wait_for(5, lambda: not os.path.exists("/tmp/.X11-unix/X%d" % info["display"])))
    expect_error("logoff of the ended session %d" % sid, ["logoff", str(sid)], "WBEM_E_NOT_FOUND")


def main():
    log("rdms e2e against xrdp: RDMS_BIN=%s lab=%s" % (RDMS, LAB))
    if not os.access(RDMS, os.X_OK):
        check("rdms binary %s exists" % RDMS, False)
        return finish()
    if not alive(lab_pid("sesman")) or not alive(lab_pid("xrdp")):
        check("the lab is running (tests/e2e/lab.sh start)", False)
        return finish()
    t0 = time.monotonic()
    if truth():
        check("no sessions left over before the test", False, repr(truth()))
        return finish()
    v, err = rdms_json("list")
    check("list with no sessions is []", v == [], err or repr(v))

    log("== connect: rdmstest1 (Xorg), rdmstest2 (Xvnc)")
    connect("c1", "rdmstest1", "/client-hostname:E2ECLIENT1", "/size:1024x768")
    sid1 = wait_for(30, lambda: attached_session("rdmstest1"), step=0.3)
    check("rdmstest1's session is listed Active", sid1 is not None)
    connect("c2", "rdmstest2", "/d:Xvnc", "/client-hostname:E2ECLIENT2", "/size:800x600")
    sid2 = wait_for(30, lambda: attached_session("rdmstest2"), step=0.3)
    check("rdmstest2's session is listed Active", sid2 is not None)
    if sid1 is None or sid2 is None:
        return finish()
    t = truth()
    check("SessionIds are the sesman session pids",
          set(t) == {sid1, sid2}, "rdms %r, /proc %r" % ((sid1, sid2), sorted(t)))
    check("kinds: %d Xorg, %d Xvnc" % (sid1, sid2),
          t.get(sid1, {}).get("kind") == "Xorg" and t.get(sid2, {}).get("kind") == "Xvnc")
    if set(t) != {sid1, sid2}:
        return finish()

    scenario_list(sid1, sid2, t)
    scenario_errors(sid1, sid2)
    scenario_message(sid1, "rdmstest1", t[sid1]["display"], "E2E Title Xorg")
    scenario_message(sid2, "rdmstest2", t[sid2]["display"], "E2E Title Xvnc")
    c1 = scenario_disconnect(sid1, t, "c1", "rdmstest1", ["/size:1024x768"], "E2ECLIENT3")
    c2 = scenario_disconnect(sid2, t, "c2", "rdmstest2", ["/d:Xvnc", "/size:800x600"],
                             "E2ECLIENT4")
    scenario_logoff(sid1, t, c1)
    check("the other session %d is untouched by the logoff" % sid2, state_of(sid2) == ACTIVE)
    scenario_logoff(sid2, t, c2)
    v, err = rdms_json("list")
    check("list is empty at the end", v == [], err or repr(v))
    log("elapsed %.1f s" % (time.monotonic() - t0))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
