#!/usr/bin/python3
"""test_cimxml_xrdp.py -- the CIM-XML front end end to end with the real
`wbemcli` (Debian sblim-wbemcli) against rdmsd serving REAL xrdp sessions
(never the fixture back-end).

Needs the lab of lab.sh running (run.sh starts it).  The rdmsd lab is
test_wsman_e2e.py's (itself test_rdmsd_auth.py's: PAM accounts rdmsadm --
admin group -- and rdmsusr, rdmsd on free loopback ports, CIM-XML on two
more, the config pointed at lab.sh's xrdp and only at it).  One real session
is opened with xfreerdp for rdmstest1; rdmstest2, a lab user with no
session and not an admin, plays "someone else".  wbemcli's own helpers
(URLs, running it, raw CIM-XML requests) come from test_cimxml.py.

Checked, against /proc, the X display and the client's exit code as well
as the replies, over HTTP and HTTPS (self-signed certificate, -noverify):
  ei / ein   the session with the right SessionId, UserName, ConnectState 0,
             ClientMachineName, host, VM, domain; an ordinary user sees only
             their own sessions;
  gi, gc, ecn;
  ExecQuery  raw CIM-XML through http.client (wbemcli has no query command);
  cm         SendMessage (the window is on the session's display, looked up
             with xdotool as the user), Disconnect (ReturnValue 0, the
             xfreerdp exits with 12, session and X server survive, ei shows
             ConnectState 4; a second one is ReturnValue 2147749910, whose
             reason curl -i shows in the RDMS-ReturnValueText header; the
             reconnect keeps the SessionId) and Logoff
             (session, X server and client end);
  errors     unknown instance (CIM error 6), bad credentials, a non-admin on
             someone else's session (CIM error 2, audited with protocol
             cimxml, nothing done).

Everything created is removed at the end: the session (logged off), the
clients, accounts, PAM file, rdmsd and its directory.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import os
import sys
import traceback
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402  (check/log/summary, /proc, polling)
import test_rdmsd_auth as lab_mod  # noqa: E402  (accounts, config, daemon)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: /proc truth, clients)
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on the xrdp back-end)
import test_cimxml as cx           # noqa: E402  (wbemcli and raw CIM-XML requests)
from e2e_common import alive, check, log, wait_for, window_on  # noqa: E402

ADMIN, CLASS, NS = lab_mod.ADMIN, lab_mod.CLASS, cx.NS
U1, U2 = we.U1, we.U2               # U1 owns the session, U2 is "someone else"
VMHOST = xe.VMHOST
ACTIVE, DISCONNECTED = xe.ACTIVE, xe.DISCONNECTED
E_NOT_FOUND, E_ACCESS_DENIED = we.E_NOT_FOUND, we.E_ACCESS_DENIED
E_INVALID_OPERATION = we.E_INVALID_OPERATION
CLIENT1, CLIENT2 = "CIMCLIENT1", "CIMCLIENT1B"
NOT_YOURS = "CIM-XML must not appear"


# ---- wbemcli on the real sessions ----------------------------------------------

def inst(lab, user, sid, https=False):
    return cx.inst(lab, user, sid, https, host=VMHOST)


def wb(*args, https=False):
    return cx.wbemcli(*args, https=https)


def parse_nl(lines):
    """wbemcli -nl output: {path: {property: value, quotes removed}}.  A
    path line is followed by one `-Name=value` line per property."""
    out, cur = {}, None
    for line in lines:
        if line.startswith("-") and cur is not None:
            k, _, v = line[1:].partition("=")
            out[cur][k] = v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v
        else:
            cur = line.strip()
            out[cur] = {}
    return out


def sessions(lab, user=ADMIN, https=False):
    """{SessionId: {property: value}} as wbemcli ei shows them to USER, or
    None when wbemcli failed."""
    rc, lines, _ = wb("-nl", "ei", cx.url(lab, user, https), https=https)
    if rc != 0:
        return None
    out = {}
    for props in parse_nl(lines).values():
        if props.get("SessionId", "").isdigit():
            out[int(props["SessionId"])] = props
    return out


def in_state(lab, sid, want):
    """SID's properties when ei shows it in state WANT, else None."""
    s = (sessions(lab) or {}).get(sid)
    return s if s and s.get("ConnectState") == str(want) else None


def wait_session(lab, user):
    """USER's SessionId once ei shows it Active; noted for the clean-up."""
    def active():
        for sid, s in (sessions(lab) or {}).items():
            if s.get("UserName") == user and s.get("ConnectState") == str(ACTIVE):
                return sid
        return None
    sid = wait_for(30, active, step=0.3)
    if sid:
        lab.sessions[sid] = user
    return sid


def cm(lab, user, sid, call, https=False, password=None):
    """wbemcli cm; returns (exit code, the method's ReturnValue or None, stderr)."""
    url = inst(lab, user, sid, https)
    if password is not None:
        url = url.replace(":%s@" % lab.pw[user], ":%s@" % password, 1)
    rc, lines, err = wb("cm", url, call, https=https)
    name = call.split(".", 1)[0]
    rv = None
    if rc == 0 and lines and ("%s: " % name) in lines[-1]:
        v = lines[-1].rsplit(": ", 1)[1].strip()
        rv = int(v) if v.isdigit() else None
    return rc, rv, err


def expect_session(what, props, sid, state_, client):
    want = {"SessionId": str(sid), "UserName": U1, "ConnectState": str(state_),
            "VMHostName": VMHOST, "VMName": xe.VM, "DomainName": xe.DOM,
            "CollectionId": xe.COLL, "ClientMachineName": client}
    got = {k: (props or {}).get(k) for k in want}
    check(what, got == want, "got %r, want %r" % (got, want))


# ---- the scenario ------------------------------------------------------------------

def test_reads(lab, sid, t):
    log("== wbemcli reads of %s's session %d" % (U1, sid))
    for https in (False, True):
        proto = "HTTPS" if https else "HTTP"
        s = sessions(lab, ADMIN, https)
        check("ei as admin over %s: exactly session %d" % (proto, sid),
              s is not None and sorted(s) == [sid], repr(s))
        expect_session("ei over %s: %s, Active, client %s, lab host/VM/domain/collection"
                       % (proto, U1, CLIENT1), (s or {}).get(sid), sid, ACTIVE, CLIENT1)
        rc, lines, err = wb("ein", cx.url(lab, ADMIN, https), https=https)
        check("ein over %s: one path, host %s, SessionId %d" % (proto, VMHOST, sid),
              rc == 0 and len(lines) == 1 and
              lines[0].endswith('%s.VMHostName="%s",SessionId=%d' % (CLASS, VMHOST, sid)),
              (rc, lines, err))
        rc, lines, err = wb("-nl", "gi", inst(lab, ADMIN, sid, https), https=https)
        got = list(parse_nl(lines).values()) if rc == 0 else []
        expect_session("gi %d over %s" % (sid, proto), got[0] if len(got) == 1 else None,
                       sid, ACTIVE, CLIENT1)
        rc, lines, err = wb("gc", cx.url(lab, U1, https), https=https)
        check("gc over %s (as %s): the class and its properties" % (proto, U1),
              rc == 0 and len(lines) == 1 and all(p + "=" in lines[0] for p in
                                                  ("VMHostName", "SessionId", "ConnectState",
                                                   "UserName", "ClientMachineName")),
              (rc, lines, err))
        rc, lines, err = wb("ecn", cx.url(lab, U1, https, obj="").rstrip(":"), https=https)
        check("ecn over %s: names %s" % (proto, CLASS),
              rc == 0 and any(l.endswith(":" + CLASS) for l in lines), (rc, lines, err))
    check("SessionId %d is the sesman session process of %s's X server %d"
          % (sid, U1, t[sid]["xpid"]), t[sid]["user"] == U1 and alive(t[sid]["xpid"]))
    s = sessions(lab, U1)
    check("ei as the owner %s (not an admin): their session" % U1,
          s is not None and sorted(s) == [sid], repr(s))
    s = sessions(lab, U2, https=True)
    check("ei as %s (not an admin, no session): nothing, exit 0" % U2, s == {}, repr(s))


def query(lab, user, wql, https=False):
    """A raw CIM-XML ExecQuery: (HTTP status, [{property: value}], body)."""
    st, _, body = cx.cim_post(lab, user, "ExecQuery", cx.exec_query("WQL", wql), https=https)
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return st, None, body
    objs = []
    for o in root.findall(".//VALUE.OBJECTWITHPATH"):
        objs.append({p.get("NAME"): p.findtext("VALUE") for p in o.findall("INSTANCE/PROPERTY")})
        objs[-1]["_host"] = o.findtext("INSTANCEPATH/NAMESPACEPATH/HOST")
    return st, objs, body


def test_query(lab, sid):
    log("== ExecQuery (raw CIM-XML)")
    for https in (False, True):
        proto = "HTTPS" if https else "HTTP"
        st, objs, body = query(lab, ADMIN, "SELECT SessionId, UserName, ConnectState FROM %s "
                               "WHERE UserName = '%s'" % (CLASS, U1), https)
        check("ExecQuery over %s WHERE UserName='%s': session %d, only the selected properties,"
              " host %s" % (proto, U1, sid, VMHOST),
              st == 200 and objs is not None and len(objs) == 1 and
              objs[0] == {"SessionId": str(sid), "UserName": U1, "ConnectState": "0",
                          "_host": VMHOST}, "%s %r %s" % (st, objs, body[:300]))
    st, objs, body = query(lab, ADMIN, "SELECT * FROM %s WHERE ConnectState = 4" % CLASS)
    check("ExecQuery WHERE ConnectState = 4: none", st == 200 and objs == [],
          "%s %r" % (st, objs))
    st, objs, body = query(lab, U2, "SELECT * FROM %s" % CLASS)
    check("ExecQuery as %s: not their session, none" % U2, st == 200 and objs == [],
          "%s %r" % (st, objs))


def test_message(lab, sid, t, audit):
    log("== cm SendMessage")
    audit.mark()
    title = "CIM-XML E2E %d" % sid
    rc, rv, err = cm(lab, U1, sid, 'SendMessage.Title="%s",Message="Sent by wbemcli"' % title)
    check("owner: cm SendMessage over HTTP returns 0", rc == 0 and rv == 0, (rc, rv, err))
    check("a window %r is on %d's display :%d" % (title, sid, t[sid]["display"]),
          we.window(U1, t[sid]["display"], title))
    audit.expect("SendMessage: one row, %s, cimxml, 0" % U1,
                 [(U1, "cimxml", sid, "SendMessage", 0)])


def test_errors(lab, sid, t, audit):
    log("== error paths")
    audit.mark()
    bogus = sid + 100000
    for https in (False, True):
        proto = "HTTPS" if https else "HTTP"
        rc, lines, err = wb("gi", inst(lab, ADMIN, bogus, https), https=https)
        check("gi of an unknown instance over %s: exit 16, (6) CIM_ERR_NOT_FOUND" % proto,
              rc == 16 and "(6) CIM_ERR_NOT_FOUND" in err and not lines, (rc, lines, err))
        bad = cx.url(lab, ADMIN, https).replace(":%s@" % lab.pw[ADMIN], ":wrong-password@", 1)
        rc, lines, err = wb("ei", bad, https=https)
        check("ei with a wrong password over %s: exit 16, wbemcli reports the 401, no output"
              % proto, rc == 16 and "Invalid username/password" in err and not lines,
              (rc, lines, err))
    rc, rv, err = cm(lab, ADMIN, bogus, "Disconnect")
    check("cm Disconnect of an unknown instance: exit 16, (6) CIM_ERR_NOT_FOUND",
          rc == 16 and "(6) CIM_ERR_NOT_FOUND" in err, (rc, err))
    rc, rv, err = cm(lab, U1, sid, "Disconnect", https=True, password="wrong-" + lab.pw[U1])
    check("cm Disconnect by the owner with a wrong password: refused (401)",
          rc == 16 and rv is None and "Invalid username/password" in err, (rc, rv, err))
    for method in ("Disconnect", "Logoff", 'SendMessage.Title="%s",Message="x"' % NOT_YOURS):
        name = method.split(".")[0]
        rc, rv, err = cm(lab, U2, sid, method)
        check("%s (not an admin) cm %s on %s's session: exit 16, (2) CIM_ERR_ACCESS_DENIED"
              % (U2, name, U1), rc == 16 and "(2) CIM_ERR_ACCESS_DENIED" in err, (rc, err))
    audit.expect("the refused calls are audited with protocol cimxml: the unknown instance,"
                 " then %s's three WBEM_E_ACCESS_DENIED" % U2,
                 [(ADMIN, "cimxml", bogus, "Disconnect", E_NOT_FOUND)] +
                 [(U2, "cimxml", sid, m, E_ACCESS_DENIED)
                  for m in ("Disconnect", "Logoff", "SendMessage")])
    rc, lines, err = wb("gi", inst(lab, U2, sid))
    check("gi of someone else's session by %s: exit 16, (2) CIM_ERR_ACCESS_DENIED" % U2,
          rc == 16 and "(2) CIM_ERR_ACCESS_DENIED" in err and not lines, (rc, lines, err))
    audit.expect("the refused gi is audited too", [(U2, "cimxml", sid, "Get", E_ACCESS_DENIED)])
    check("nothing was done: %d still Active, X server and xfreerdp running" % sid,
          in_state(lab, sid, ACTIVE) and alive(t[sid]["xpid"]) and
          xe.client_rc(lab.clients_of[sid]) is None)
    check("no window from the refused SendMessage",
          not window_on(U1, t[sid]["display"], NOT_YOURS))


def test_disconnect(lab, sid, t, audit):
    log("== cm Disconnect (admin, HTTPS) drops the real xfreerdp")
    audit.mark()
    client = lab.clients_of[sid]
    rc, rv, err = cm(lab, ADMIN, sid, "Disconnect", https=True)
    check("admin: cm Disconnect over HTTPS: ReturnValue 0", rc == 0 and rv == 0, (rc, rv, err))
    code = we.client_gone(client)
    check("the real xfreerdp (%s) exited with 12" % client, code == 12, repr(code))
    check("session process %d survives" % sid, alive(sid))
    check("%s server %d survives" % (t[sid]["kind"], t[sid]["xpid"]), alive(t[sid]["xpid"]))
    s = wait_for(5, lambda: in_state(lab, sid, DISCONNECTED), step=0.3)
    expect_session("ei: %d is ConnectState 4 with no client" % sid, s, sid, DISCONNECTED, "")
    st, objs, _ = query(lab, ADMIN, "SELECT SessionId FROM %s WHERE ConnectState = 4" % CLASS,
                        https=True)
    check("ExecQuery WHERE ConnectState = 4: now session %d" % sid,
          st == 200 and [o.get("SessionId") for o in objs or []] == [str(sid)], repr(objs))
    rc, rv, err = cm(lab, ADMIN, sid, "Disconnect")
    check("cm Disconnect of the disconnected session: ReturnValue WBEM_E_INVALID_OPERATION",
          rc == 0 and rv == E_INVALID_OPERATION, (rc, rv, err))
    st, hd, body = cx.curl_method(lab, U1, sid, "Disconnect", host=VMHOST)
    reason = "session %d is not connected" % sid
    check("curl -i, the owner: RETURNVALUE %d, and the reason in %s: %r"
          % (E_INVALID_OPERATION, cx.RV_TEXT, reason),
          st == 200 and "<VALUE>%d</VALUE>" % E_INVALID_OPERATION in body and
          "<ERROR" not in body and cx.reason_of(hd) == reason, (st, hd, body[:300]))
    got = audit.expect("Disconnect rows: 0, then the two that failed",
                       [(ADMIN, "cimxml", sid, "Disconnect", 0),
                        (ADMIN, "cimxml", sid, "Disconnect", E_INVALID_OPERATION),
                        (U1, "cimxml", sid, "Disconnect", E_INVALID_OPERATION)])
    check("... those with the reason", got and all(reason in r["detail"] for r in got[1:]), got)

    log("-- reconnect")
    lab.clients_of[sid] = lab.connect("cim-c1re", U1, "/client-hostname:" + CLIENT2,
                                      "/size:800x600")
    got = wait_session(lab, U1)
    check("reconnect of %s: the same SessionId %d" % (U1, sid), got == sid, repr(got))
    s = (sessions(lab, U1, https=True) or {}).get(sid)
    expect_session("ei (owner, HTTPS): %d Active again, client %s" % (sid, CLIENT2), s, sid,
                   ACTIVE, CLIENT2)
    check("same X server %d after the reconnect" % t[sid]["xpid"],
          xe.truth().get(sid, {}).get("xpid") == t[sid]["xpid"])


def test_logoff(lab, sid, t, audit):
    log("== cm Logoff (owner, HTTP)")
    audit.mark()
    client = lab.clients_of[sid]
    rc, rv, err = cm(lab, U1, sid, "Logoff")
    check("owner: cm Logoff returns 0", rc == 0 and rv == 0, (rc, rv, err))
    check("session process %d is gone" % sid, wait_for(10, lambda: not alive(sid)))
    check("%s server %d is gone" % (t[sid]["kind"], t[sid]["xpid"]),
          wait_for(10, lambda: not alive(t[sid]["xpid"])))
    code = we.client_gone(client)
    check("its xfreerdp (%s) exited (%r)" % (client, code), code is not None)
    s = sessions(lab)
    check("ei: no sessions any more", s == {}, repr(s))
    rc, lines, err = wb("gi", inst(lab, ADMIN, sid))
    check("gi of the ended session: (6) CIM_ERR_NOT_FOUND",
          rc == 16 and "(6) CIM_ERR_NOT_FOUND" in err, (rc, err))
    audit.expect("Logoff: one row, %s, cimxml, 0" % U1, [(U1, "cimxml", sid, "Logoff", 0)])


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    s = sessions(lab)
    check("wbemcli ei before connecting: exit 0, no sessions", s == {}, repr(s))
    log("== connect: %s with xfreerdp" % U1)
    client = lab.connect("cim-c1", U1, "/client-hostname:" + CLIENT1, "/size:800x600")
    sid = wait_session(lab, U1)
    if not check("%s's session is enumerated Active over CIM-XML" % U1, sid, repr(sid)):
        return
    lab.clients_of[sid] = client
    t = xe.truth()
    if not check("its SessionId is the sesman session process", sid in t, "%r %r" % (sid, t)):
        return
    audit = we.Audit(lab)
    for step in (lambda: test_reads(lab, sid, t),
                 lambda: test_query(lab, sid),
                 lambda: test_message(lab, sid, t, audit),
                 lambda: test_errors(lab, sid, t, audit),
                 lambda: test_disconnect(lab, sid, t, audit),
                 lambda: test_logoff(lab, sid, t, audit)):
        try:
            step()
        except Exception:   # one group's crash must not hide the others
            check("a test group ran without an exception", False, traceback.format_exc(limit=3))


def adopt_u1_sessions(lab):
    """A session that rdmsd never showed (a failed start, say) is ours all
    the same: there were none before, and only U1 connects here."""
    for sid, info in xe.truth().items():
        if info.get("user") == U1:
            lab.sessions.setdefault(sid, U1)


def main():
    if not common.ready("test_cimxml_xrdp", [common.RDMS, common.RDMSD],
                        [cx.WBEMCLI, "xfreerdp", "xdotool", "setpriv"]):
        return 1
    if not we.xrdp_lab_ready():
        return common.finish()
    return we.run_scenario(we.Lab, scenario, before_cleanup=adopt_u1_sessions)


if __name__ == "__main__":
    sys.exit(main())
