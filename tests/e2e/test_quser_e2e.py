#!/usr/bin/python3
"""test_quser_e2e.py -- what users of quser and xrdp-sesadmin expect from
`rdms list`, the back-ends' state, and the audit trail through rdmsd, against
REAL xrdp sessions (issue 12, items 9, 10, 16 and 18).

Needs the lab of lab.sh running (run.sh starts it).  Reuses the rdmsd lab of
test_wsman_e2e.py (accounts rdmsadm -- admin group -- and rdmsusr, rdmsd on
free loopback ports serving lab.sh's xrdp) and opens real xfreerdp sessions
for rdmstest1 (Xorg) and rdmstest2 (Xvnc) on the lab's Xvfb.

Checked, against the clock, /proc and the client's own display:
  RDMS_SessionDetail through rdmsd: LogonTime close to when the client
      connected, ClientAddress the client's, IdleTime that grows while nobody
      touches the session and drops after pointer input (xdotool moves the
      pointer over xfreerdp's window on the client's Xvfb);
  `rdms list`: IDLE TIME and LOGON TIME columns, the address beside the
      client's name, `rdms list USER` and `rdms list ID`, an unknown user,
      the columns equal on every row said once above the table, --json with
      the details under "RDMS_SessionDetail"; a non-admin sees only their own
      session's details;
  `rdms get` and `rdms query` show ConnectState's word;
  back-ends: rdmsd configured with x2go while X2Go's daemon is not running
      -- the log says so, `rdms list` says it on stderr with exit 0 and the
      same stdout; a process named x2gocleansessions appears and goes, and
      rdmsd logs each change;
  the audit through rdmsd: a member of the admin group reads it without
      root (local socket and --host), --since works there too, a non-admin
      is refused and that refusal is audited, and `--host` with no rdmsd
      behind the URL fails instead of reading the local database.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on xrdp, cli(), Audit)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: clients, /proc truth)
from e2e_common import RDMS, RDMSD, alive, check, finish, log, wait_for  # noqa: E402

U1, U2, ADMIN, USER = we.U1, we.U2, we.ADMIN, we.USER
DETAIL = "RDMS_SessionDetail"
E_ACCESS_DENIED = 0x80041003


def interval_seconds(text):
    """A DMTF interval ddddddddHHMMSS.mmmmmm:000 as seconds; None otherwise."""
    m = re.fullmatch(r"(\d{8})(\d\d)(\d\d)(\d\d)\.\d{6}:000", text or "")
    if not m:
        return None
    d, h, mi, s = (int(x) for x in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def timestamp_unix(text):
    """A DMTF timestamp yyyymmddHHMMSS.mmmmmm+UUU as Unix time; None otherwise."""
    m = re.fullmatch(r"(\d{14})\.\d{6}([+-])(\d{3})", text or "")
    if not m:
        return None
    t = time.strptime(m.group(1) + "UTC", "%Y%m%d%H%M%S%Z")
    off = int(m.group(3)) * 60 * (1 if m.group(2) == "+" else -1)
    return int(time.mktime(t) - time.timezone) - off


def listing(lab, *args, as_user=None):
    """`rdms list --json ARGS` through rdmsd: {SessionId: object}, or None."""
    rc, out, err = we.cli(lab, ["list", "--json"] + list(args), as_user=as_user)
    try:
        return {s["SessionId"]: s for s in json.loads(out)} if rc == 0 else None
    except (ValueError, KeyError, TypeError):
        return None


def idle_of(lab, sid):
    s = (listing(lab) or {}).get(sid, {})
    return interval_seconds((s.get(DETAIL) or {}).get("IdleTime"))


def client_window():
    """xfreerdp's window on the client's Xvfb (the lab runs one client here)."""
    env = dict(os.environ, DISPLAY=xe_display())
    p = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", "xfreerdp"],
                       capture_output=True, text=True, env=env)
    ids = p.stdout.split()
    return ids[-1] if ids else None


def xe_display():
    p = subprocess.run([xe.LABSH, "env"], capture_output=True, text=True)
    m = re.search(r"CLIENT_DISPLAY=(\S+)", p.stdout)
    return m.group(1) if m else ":99"


def wiggle(window):
    """Pointer input inside WINDOW on the client's display: xfreerdp sends it to xrdp."""
    env = dict(os.environ, DISPLAY=xe_display())
    for x, y in ((40, 40), (200, 150), (120, 260), (60, 90)):
        subprocess.run(["xdotool", "mousemove", "--window", window, str(x), str(y)],
                       capture_output=True, env=env)
        time.sleep(0.1)


# ---- the checks ----------------------------------------------------------------

def test_details(lab, s1, t_connect):
    log("== RDMS_SessionDetail: logon time, client address, idle time (%s, Xorg)" % U1)
    v = listing(lab)
    s = (v or {}).get(s1, {})
    d = s.get(DETAIL) or {}
    logon = timestamp_unix(d.get("LogonTime"))
    check("LogonTime is a DMTF timestamp within 30 s after the client connected (%s)"
          % d.get("LogonTime"), logon is not None and t_connect - 5 <= logon <= t_connect + 30,
          "logon %r, connected %d" % (logon, t_connect))
    check("ClientAddress is the client's 127.0.0.1, beside ClientMachineName QCLIENT1",
          d.get("ClientAddress") == "127.0.0.1" and s.get("ClientMachineName") == "QCLIENT1",
          repr(s))
    check("Server xrdp, Kind Xorg, Display the X server's",
          (d.get("Server"), d.get("Kind")) == ("xrdp", "Xorg") and
          d.get("Display") == xe.truth().get(s1, {}).get("display"), repr(d))
    check("--json keeps the class's own properties as they were",
          set(s) - {DETAIL} == xe.PROPS, sorted(s))

    window = client_window()
    check("xfreerdp's window is on the client's display", window is not None)
    if window:
        wiggle(window)
    time.sleep(4)
    i1 = idle_of(lab, s1)
    time.sleep(4)
    i2 = idle_of(lab, s1)
    check("IdleTime grows while nobody touches the session (%r s, then %r s)" % (i1, i2),
          i1 is not None and i2 is not None and i1 >= 3 and i2 >= i1 + 3, "%r %r" % (i1, i2))
    if window:
        wiggle(window)
    i3 = wait_for(10, lambda: (lambda x: x if x is not None and x <= 2 else None)(
        idle_of(lab, s1)), step=0.5)
    check("after pointer input on the client IdleTime drops to %r s (was %r)" % (i3, i2),
          i3 is not None and i2 is not None and i3 < i2, "%r" % i3)


def table_rows(out):
    """`rdms list` output: (summary line or '', header line, {sid: line})."""
    lines = [ln for ln in out.splitlines() if ln.strip()]
    summary = lines.pop(0) if lines and not lines[0].startswith("SESSIONID") else ""
    header = lines.pop(0) if lines else ""
    return summary, header, {ln.split()[0]: ln for ln in lines}


def test_table(lab, s1, s2):
    log("== rdms list: quser's columns, filters, columns said once")
    rc, out, err = we.cli(lab, ["list"])
    summary, header, rows = table_rows(out)
    check("rdms list exits 0 with both sessions", rc == 0 and str(s1) in rows and str(s2) in rows,
          "rc=%d %s %s" % (rc, err, out))
    check("header has IDLE TIME, LOGON TIME, CLIENT then ADDRESS",
          re.search(r"IDLE TIME\s+LOGON TIME\s+CLIENT\s+ADDRESS", header) is not None, header)
    row = rows.get(str(s1), "")
    check("%d's row: the address 127.0.0.1 beside QCLIENT1, a logon date, an idle time" % s1,
          re.search(r"QCLIENT1\s+127\.0\.0\.1", row) is not None and
          re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row) is not None, row)
    check("columns equal on every row are said once above the table",
          summary.startswith("DOMAIN %s" % xe.DOM) and "VMHOST %s" % xe.VMHOST in summary and
          "VM %s" % xe.VM in summary and "COLLECTION %s" % xe.COLL in summary and
          "SERVER xrdp" in summary and "VMHOST" not in header and "COLLECTION" not in header,
          "%r / %r" % (summary, header))
    check("... and not repeated on the rows", xe.VMHOST not in row and xe.COLL not in row, row)

    rc, out, err = we.cli(lab, ["list", U1])
    summary, header, rows = table_rows(out)
    check("rdms list %s: only %d" % (U1, s1), rc == 0 and list(rows) == [str(s1)],
          "rc=%d %s %s" % (rc, err, out))
    check("a single row keeps every column", summary == "" and "VMHOST" in header, out)
    rc, out, err = we.cli(lab, ["list", str(s2)])
    check("rdms list %d: only that session" % s2,
          rc == 0 and list(table_rows(out)[2]) == [str(s2)], "rc=%d %s %s" % (rc, err, out))
    v = listing(lab, U2.upper())
    check("rdms list %s --json (any case): only %d, with its details" % (U2.upper(), s2),
          v is not None and list(v) == [s2] and (v[s2].get(DETAIL) or {}).get("Kind") == "Xvnc",
          repr(v))
    check("the Xvnc session has an idle time too",
          interval_seconds(((v or {}).get(s2, {}).get(DETAIL) or {}).get("IdleTime")) is not None)
    rc, out, err = we.cli(lab, ["list", "nosuchuser"])
    check("rdms list nosuchuser: exit 1, WBEM_E_NOT_FOUND, nothing on stdout",
          rc == 1 and "WBEM_E_NOT_FOUND" in err and out == "", "rc=%d %r %r" % (rc, err, out))
    rc, out, err = we.cli(lab, ["list", "a", "b"])
    check("rdms list a b: usage error, exit 2", rc == 2, "rc=%d %s" % (rc, err))

    v = listing(lab, as_user=U2)
    check("%s (not an admin) sees only their own session, with its details" % U2,
          v is not None and list(v) == [s2] and DETAIL in v[s2], repr(v))
    rc, out, err = we.cli(lab, ["query", "SELECT SessionId FROM %s" % DETAIL, "--json"],
                          as_user=U2)
    check("%s: SELECT FROM RDMS_SessionDetail gives their session only" % U2,
          rc == 0 and [x.get("SessionId") for x in json.loads(out or "[]")] == [s2],
          "rc=%d %s %s" % (rc, err, out))
    rc, out, err = we.cli(lab, ["get", '%s.VMHostName="%s",SessionId=%d' % (DETAIL, xe.VMHOST, s1)],
                          as_user=U2)
    check("%s: Get of another's RDMS_SessionDetail is refused" % U2,
          rc == 1 and ("WBEM_E_ACCESS_DENIED" in err or "WBEM_E_NOT_FOUND" in err),
          "rc=%d %s" % (rc, err))

    log("== ConnectState's word in get and query")
    rc, out, err = we.cli(lab, ["get", str(s1)])
    check("rdms get %d: ConnectState = 0 (Active)" % s1,
          rc == 0 and "ConnectState = 0 (Active)" in out, "rc=%d %s %s" % (rc, err, out))
    rc, out, err = we.cli(lab, ["query", "SELECT SessionId, ConnectState FROM %s" % we.CLASS])
    check("rdms query: ConnectState 0 (Active) in the table",
          rc == 0 and out.count("0 (Active)") == 2, "rc=%d %s %s" % (rc, err, out))
    rc, out, err = we.cli(lab, ["get", str(s1), "--json"])
    check("--json keeps ConnectState a number",
          rc == 0 and json.loads(out or "{}").get("ConnectState") == 0, out)


def set_backends(lab, value):
    with open(lab.conf) as f:
        lines = [ln for ln in f if not ln.startswith("backends")]
    with open(lab.conf, "w") as f:
        f.writelines(lines + ["backends = %s\n" % value])


def test_backends(lab, s1):
    log("== back-ends: x2go configured while X2Go is not running")
    before = listing(lab)
    check("the xrdp back-end was logged as served at start",
          "back-end xrdp: served" in lab.log(), lab.log()[-1500:])
    mark = len(lab.log())
    set_backends(lab, "xrdp, x2go")
    lab.proc.send_signal(signal.SIGHUP)
    logged = wait_for(15, lambda: "back-end x2go: served, but not running" in lab.log()[mark:])
    check("after SIGHUP rdmsd logs x2go served but not running, and why",
          logged and "x2gocleansessions" in lab.log()[mark:], lab.log()[mark:][-1500:])
    wait_for(10, lambda: listing(lab) is not None)
    rc, out, err = we.cli(lab, ["list", "--json"])
    check("rdms list: exit 0, and stderr says x2go is not running",
          rc == 0 and re.search(r"x2go is not running: .*x2gocleansessions", err) is not None,
          "rc=%d %r" % (rc, err))
    after = {s["SessionId"]: {k: v for k, v in s.items() if k != DETAIL}
             for s in json.loads(out or "[]")}
    check("... stdout unchanged: the same sessions and properties",
          after == {k: {p: v for p, v in s.items() if p != DETAIL}
                    for k, s in (before or {}).items()}, "%r / %r" % (after, before))
    check("... and nothing of it on stdout", "x2go" not in out)

    # X2Go's daemon appears (a process by its name) and goes: rdmsd logs each change
    tmp = tempfile.mkdtemp(prefix="rdms-quser-")
    fake = os.path.join(tmp, "x2gocleansessions")
    os.symlink("/bin/sleep", fake)
    mark = len(lab.log())
    daemon = subprocess.Popen([fake, "60"])
    try:
        up = wait_for(15, lambda: "back-end x2go: served, running again" in lab.log()[mark:])
        check("a running x2gocleansessions is noticed and logged within 15 s", up,
              lab.log()[mark:][-800:])
        rc, out, err = we.cli(lab, ["list"])
        check("rdms list then says nothing on stderr", rc == 0 and err == "", repr(err))
    finally:
        daemon.terminate()
        daemon.wait()
        os.unlink(fake)
        os.rmdir(tmp)
    mark = len(lab.log())
    down = wait_for(15, lambda: "back-end x2go: served, but not running" in lab.log()[mark:])
    check("its end is logged too", down, lab.log()[mark:][-800:])
    set_backends(lab, "xrdp")
    lab.proc.send_signal(signal.SIGHUP)
    wait_for(15, lambda: listing(lab) is not None)


def audit_json(lab, args, as_user=None, env=None):
    rc, out, err = we.cli(lab, ["audit", "--json"] + args, as_user=as_user, env=env)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err


def test_audit(lab, s1, audit):
    log("== the audit through rdmsd")
    # something to read: a refused call of a non-admin, audited
    we.cli(lab, ["disconnect", str(s1)], as_user=USER)
    rows = audit.rows()
    want = [(r["id"], r["user"], r["protocol"], r["method"], r["result"], r["target"])
            for r in rows]

    def summary(got):
        return [(g["id"], g["user"], g["protocol"], g["method"], g["result"], g["target"])
                for g in got] if isinstance(got, list) else got

    rc, got, err = audit_json(lab, [], as_user=ADMIN)
    check("%s (admin group, not root) reads the audit through the local rdmsd" % ADMIN,
          rc == 0 and summary(got) == want and len(want) > 0, "rc=%d %s %r" % (rc, err, got))
    check("... with the same keys and times as the database",
          isinstance(got, list) and all(g["time"] == r["time"] and g["uid"] == r["uid"] and
                                        g["detail"] == r["detail"] and g["source"] == r["source"]
                                        for g, r in zip(got, rows)), repr(got)[:300])
    rc, out, err = we.cli(lab, ["audit"], as_user=ADMIN)
    check("... and as a table", rc == 0 and out.startswith("TIME") and
          out.count("\n") == len(want) + 1, "rc=%d %s" % (rc, err))
    if len(rows) >= 2:
        since = rows[-1]["time"][:19]
        rc, got, err = audit_json(lab, ["--since", since], as_user=ADMIN)
        check("--since %s through rdmsd: the rows from then on" % since,
              rc == 0 and summary(got) == [w for w, r in zip(want, rows) if r["time"][:19] >= since],
              "rc=%d %s %r" % (rc, err, got))

    audit.mark()
    rc, got, err = audit_json(lab, [], as_user=USER)
    check("%s (not an admin) is refused: WBEM_E_ACCESS_DENIED, exit 1" % USER,
          rc == 1 and "WBEM_E_ACCESS_DENIED" in err, "rc=%d %s" % (rc, err))
    new = audit.new()
    check("... and the refusal is audited (ReadAudit, %s, 0x80041003)" % USER,
          [(r["user"], r["protocol"], r["method"], r["result"]) for r in new] ==
          [(USER, "local", "ReadAudit", E_ACCESS_DENIED)], repr(new))

    url = "https://127.0.0.1:%d/wsman" % lab.https
    rc, got, err = audit_json(lab, ["--host", url, "-u", ADMIN, "--insecure"],
                              env={"RDMS_PASSWORD": lab.pw[ADMIN]})
    rows = audit.rows()
    check("rdms --host %s -u %s audit: the remote rdmsd's trail" % (url, ADMIN),
          rc == 0 and isinstance(got, list) and [g["id"] for g in got] == [r["id"] for r in rows],
          "rc=%d %s %r" % (rc, err, got))
    rc, got, err = audit_json(lab, ["--host", url, "-u", U2, "--insecure"],
                              env={"RDMS_PASSWORD": lab.pw[U2]})
    check("rdms --host ... -u %s audit (not an admin): WBEM_E_ACCESS_DENIED" % U2,
          rc == 1 and "WBEM_E_ACCESS_DENIED" in err, "rc=%d %s" % (rc, err))
    rc, out, err = we.cli(lab, ["--host", "https://127.0.0.1:1/wsman", "-u", ADMIN, "--insecure",
                                "audit", "--json"], env={"RDMS_PASSWORD": "x"})
    check("rdms --host URL audit with no rdmsd there fails, reading nothing locally",
          rc == 1 and "WBEM_E_TRANSPORT_FAILURE" in err and out == "", "rc=%d %r %r"
          % (rc, err, out))


# ---- main ------------------------------------------------------------------------

def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    audit = we.Audit(lab)
    t_connect = time.time()
    lab.connect("q1", U1, "/client-hostname:QCLIENT1", "/size:800x600")
    s1 = we.wait_session(lab, U1)
    if not check("%s's session is listed Active" % U1, s1):
        return
    test_details(lab, s1, int(t_connect))
    lab.connect("q2", U2, "/d:Xvnc", "/client-hostname:QCLIENT2", "/size:640x480")
    s2 = we.wait_session(lab, U2)
    if not check("%s's session is listed Active" % U2, s2):
        return
    for test in (lambda: test_table(lab, s1, s2), lambda: test_backends(lab, s1),
                 lambda: test_audit(lab, s1, audit)):
        try:
            test()
        except Exception:
            import traceback
            check("a test group ran without an exception", False, traceback.format_exc(limit=3))


def main():
    if not common.ready("test_quser_e2e", [RDMS, RDMSD],
                        ["xfreerdp", "runuser", "xdotool", "xprintidle"]):
        return 1
    if not we.xrdp_lab_ready():
        return finish()
    return we.run_scenario(we.Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
