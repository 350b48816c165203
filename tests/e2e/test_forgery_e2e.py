#!/usr/bin/python3
"""test_forgery_e2e.py -- issue 17, item 3: rdmsd's network endpoints refuse
what a web page can make a browser send, against a REAL xrdp session.

A browser that holds Basic credentials for rdmsd attaches them to any
request a hostile page makes it send to rdmsd's origin: a form posted as
text/plain (or form-encoded, or multipart) whose body is a SOAP Logoff, a
fetch() of a Blob with no type, a fetch() from another origin.  Each is
sent here as the browser would, WITH the admin's valid credentials, to a
real session opened by xfreerdp, and must be refused before anything acts:

  /wsman (HTTP and HTTPS): a Logoff as text/plain, form-encoded, multipart,
         with no Content-Type (415); as application/soap+xml with a foreign
         Origin, Origin null, another port's Origin, or Sec-Fetch-Site
         cross-site (403); a wrong password with a foreign Origin is 403 at
         once, not a 401 after the failed-login delay (nothing was checked);
  /cimom: the CIM-XML Logoff as text/plain, form-encoded, with no type (415)
         and as application/xml with a foreign Origin (403);
  the Unix socket: a request with an Origin (403);
after which the session is still there, Active, its xfreerdp client still
connected, the audit has no new row (nothing acted), and rdmsd's log names
each refusal and its reason.  Then the real clients still work: the same
Logoff envelope with the server's own Origin is served (200); wbemcli (when
installed) enumerates; `rdms --host` lists and logs the session off, which
ends it, audited.

Reuses test_wsman_e2e's lab (rdmsd on the xrdp back-end of lab.sh, the PAM
accounts of test_rdmsd_auth).  Needs root and lab.sh's xrdp lab running.
Output: one PASS/FAIL line per check, and last `N passed, M failed`.
"""
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_cimxml as cx           # noqa: E402  (CIM-XML envelopes)
import test_rdmsd_auth as lab_mod  # noqa: E402  (basic(), the Unix socket connection)
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on real xrdp sessions)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: /proc truth, clients)
from e2e_common import RDMS, RDMSD, check, log, wait_for  # noqa: E402

ADMIN, U1, CLASS, VMHOST = we.ADMIN, we.U1, we.CLASS, we.VMHOST
SOAP = "application/soap+xml;charset=UTF-8"
CIM = 'application/xml; charset="utf-8"'
EVIL = "http://evil.example"
# what a browser sends for a form posted cross-site
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
           "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def post(lab, where, body, ctype, headers=None, user=ADMIN, password=None):
    """One POST as a browser would send it; WHERE is wsman, wsman-https,
    cimom or unix.  Returns (HTTP status, reply text)."""
    if where == "unix":
        c = lab_mod.UnixHTTPConnection(lab.sock)
    elif where == "wsman-https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", lab.https, timeout=30, context=ctx)
    else:
        c = http.client.HTTPConnection("127.0.0.1", lab.cim_http if where == "cimom"
                                       else lab.http, timeout=30)
    hdrs = dict(BROWSER)
    if ctype is not None:
        hdrs["Content-Type"] = ctype
    if user is not None and where != "unix":
        hdrs["Authorization"] = lab_mod.basic(user, password or lab.pw[user])
    hdrs.update(headers or {})
    try:
        if where == "unix":
            # headers and body in one write: rdmsd answers a refused request as
            # soon as its headers are in and closes, and a Unix socket turns a
            # body written after that into EPIPE before the reply can be read
            c.connect()
            data = body.encode()
            hdrs["Content-Length"] = str(len(data))
            c.sock.sendall(("POST /wsman HTTP/1.1\r\nHost: localhost\r\n" +
                            "".join("%s: %s\r\n" % kv for kv in hdrs.items()) +
                            "\r\n").encode() + data)
            r = http.client.HTTPResponse(c.sock, method="POST")
            r.begin()
            return r.status, r.read().decode("utf-8", "replace")
        c.request("POST", "/cimom" if where == "cimom" else "/wsman",
                  body=body.encode(), headers=hdrs)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        return 0, repr(e)
    finally:
        c.close()


def cim_logoff(sid):
    """A CIM-XML Logoff of SID: (body, its CIM headers)."""
    body = cx.envelope('<METHODCALL NAME="Logoff"><LOCALINSTANCEPATH>%s<INSTANCENAME '
                       'CLASSNAME="%s"><KEYBINDING NAME="VMHostName"><KEYVALUE '
                       'VALUETYPE="string">%s</KEYVALUE></KEYBINDING><KEYBINDING '
                       'NAME="SessionId"><KEYVALUE VALUETYPE="numeric">%d</KEYVALUE>'
                       '</KEYBINDING></INSTANCENAME></LOCALINSTANCEPATH></METHODCALL>'
                       % (cx.NSPATH, CLASS, VMHOST, sid))
    path = '%s.VMHostName="%s",SessionId=%d' % (CLASS, VMHOST, sid)
    return body, {"CIMProtocolVersion": "1.0", "CIMOperation": "MethodCall",
                  "CIMMethod": "Logoff", "CIMObject": "root%2Fcimv2%2Frdms%3A" + path}


def session_stays(lab, sid, client, what):
    """The session is there, Active, its xfreerdp still connected."""
    t = xe.truth()
    check("%s: session %d still runs (/proc), Active over WS-Man, xfreerdp still connected"
          % (what, sid), sid in t and we.state(lab, sid) == we.ACTIVE and
          xe.client_rc(client) is None, "truth %r, client rc %r" % (sorted(t),
                                                                   xe.client_rc(client)))


def test_wsman(lab, sid, client, audit):
    log("== forged Logoffs to /wsman, with the admin's valid Basic credentials")
    logoff = we.invoke_req(sid, "Logoff")
    own = "http://127.0.0.1:%d" % lab.http
    mark = len(lab.log())
    for name, where, ctype, hdrs in [
            ("a form posted as text/plain (cross-site)", "wsman", "text/plain",
             {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}),
            ("text/plain without an Origin", "wsman", "text/plain", {}),
            ("text/plain;charset=UTF-8 (a fetch() of a string)", "wsman",
             "text/plain;charset=UTF-8", {"Origin": EVIL}),
            ("a form-encoded form", "wsman", "application/x-www-form-urlencoded",
             {"Origin": EVIL}),
            ("a multipart form", "wsman", "multipart/form-data; boundary=x", {"Origin": EVIL}),
            ("no Content-Type (a fetch() of a Blob)", "wsman", None, {"Origin": EVIL}),
            ("a form posted as text/plain over HTTPS", "wsman-https", "text/plain",
             {"Origin": EVIL})]:
        st, text = post(lab, where, logoff, ctype, hdrs)
        check("/wsman, %s: 415 and nothing else" % name,
              st == 415 and "refused" in text and "Envelope" not in text, "%s %r" % (st, text))
    for name, where, hdrs in [
            ("SOAP with a foreign Origin", "wsman", {"Origin": EVIL}),
            ("SOAP with Origin null (a sandboxed frame)", "wsman", {"Origin": "null"}),
            ("SOAP from another port of this host", "wsman",
             {"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-site"}),
            ("SOAP with Sec-Fetch-Site cross-site and no Origin", "wsman",
             {"Sec-Fetch-Site": "cross-site"}),
            ("SOAP over HTTPS with the HTTP port's Origin", "wsman-https", {"Origin": own})]:
        st, text = post(lab, where, logoff, SOAP, hdrs)
        check("/wsman, %s: 403 and nothing else" % name,
              st == 403 and "refused" in text and "Envelope" not in text, "%s %r" % (st, text))
    t0 = time.monotonic()
    st, text = post(lab, "wsman", logoff, SOAP, {"Origin": EVIL}, password="wrong")
    took = time.monotonic() - t0
    check("/wsman, a wrong password with a foreign Origin: 403 at once (%.2f s), no 401: "
          "refused before authentication" % took, st == 403 and took < 1.0, "%s %r" % (st, text))
    st, text = post(lab, "unix", logoff, SOAP, {"Origin": "http://localhost"})
    check("the Unix socket, a request with an Origin: 403", st == 403, "%s %r" % (st, text))
    session_stays(lab, sid, client, "after the forged /wsman Logoffs")
    log_text = lab.log()[mark:]
    check("rdmsd logged each refusal with its reason",
          log_text.count("nothing done") >= 14 and
          "Content-Type 'text/plain' refused: this endpoint takes application/soap+xml" in log_text
          and "Origin '%s' refused" % EVIL in log_text and
          "Sec-Fetch-Site 'cross-site' refused" in log_text, log_text[-1500:])


def test_cimom(lab, sid, client):
    log("== forged Logoffs to /cimom, with the admin's valid Basic credentials")
    body, cim_headers = cim_logoff(sid)
    for name, ctype, extra in [
            ("a form posted as text/plain", "text/plain", {"Origin": EVIL}),
            ("a form-encoded form", "application/x-www-form-urlencoded", {"Origin": EVIL}),
            ("no Content-Type", None, {}),
            ("the SOAP type", SOAP, {})]:
        hdrs = dict(cim_headers)
        hdrs.update(extra)
        st, text = post(lab, "cimom", body, ctype, hdrs)
        check("/cimom, %s: 415 and nothing else" % name,
              st == 415 and "refused" in text and "<CIM" not in text, "%s %r" % (st, text))
    hdrs = dict(cim_headers)
    hdrs["Origin"] = EVIL
    st, text = post(lab, "cimom", body, CIM, hdrs)
    check("/cimom, CIM-XML with a foreign Origin: 403", st == 403 and "<CIM" not in text,
          "%s %r" % (st, text))
    session_stays(lab, sid, client, "after the forged /cimom Logoffs")


def test_real_clients(lab, sid, audit):
    log("== the real clients still work")
    st, text = post(lab, "wsman", we.get_req(sid), SOAP,
                    {"Origin": "http://127.0.0.1:%d" % lab.http, "Sec-Fetch-Site": "same-origin"})
    check("/wsman Get with the server's own Origin: 200, the session",
          st == 200 and we.sids(we.parse(text)) == [sid], "%s %r" % (st, text[:300]))
    body, cim_headers = cim_logoff(sid)
    st, text = post(lab, "cimom", cx.envelope(
        '<IMETHODCALL NAME="EnumerateInstanceNames">%s<IPARAMVALUE NAME="ClassName">'
        '<CLASSNAME NAME="%s"/></IPARAMVALUE></IMETHODCALL>' % (cx.NSPATH, CLASS)),
        "text/xml", {"CIMProtocolVersion": "1.0", "CIMOperation": "MethodCall",
                     "CIMMethod": "EnumerateInstanceNames", "CIMObject": "root%2Fcimv2%2Frdms"})
    check("/cimom EnumerateInstanceNames as text/xml: 200, the session",
          st == 200 and ">%d<" % sid in text, "%s %r" % (st, text[:300]))
    if shutil.which(cx.WBEMCLI):
        p = subprocess.run([cx.WBEMCLI, "ein", cx.url(lab, ADMIN)], capture_output=True,
                           text=True, timeout=60)
        check("wbemcli ein: exit 0, the session", p.returncode == 0 and
              "SessionId=%d" % sid in p.stdout, "%d %s %s" % (p.returncode, p.stdout, p.stderr))
    audit.mark()
    url = "http://127.0.0.1:%d/wsman" % lab.http
    env = {"RDMS_PASSWORD": lab.pw[ADMIN]}
    rc, out, err = we.cli(lab, ["--host", url, "-u", ADMIN, "list", "--json"], env=env)
    check("rdms --host %s list: the session" % url, rc == 0 and we.cli_sids(out) == [sid],
          "rc=%d %s %s" % (rc, out, err))
    t = xe.truth()
    rc, out, err = we.cli(lab, ["--host", url, "-u", ADMIN, "logoff", str(sid)], env=env)
    check("rdms --host ... logoff %d: 0" % sid, rc == 0, "rc=%d %s" % (rc, err))
    we.session_ended(lab, sid, t)
    audit.expect("the real Logoff, and only it", [(ADMIN, "wsman", sid, "Logoff", 0)])


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    log("== connect: %s with xfreerdp" % U1)
    client = lab.connect("fg1", U1, "/client-hostname:FORGERY1", "/size:800x600")
    # (a loaded machine may take longer than test_wsman_e2e's 30 s to start it)
    sid = wait_for(90, lambda: we.active_session(lab, U1), step=0.5)
    if sid:
        lab.sessions[sid] = U1
    if not check("the session is enumerated Active over WS-Man", sid, repr(sid)):
        return
    audit = we.Audit(lab)
    audit.mark()
    test_wsman(lab, sid, client, audit)
    test_cimom(lab, sid, client)
    rows = audit.new()
    check("the audit has no new row: nothing acted, nothing was even looked up",
          rows == [], repr(rows))
    test_real_clients(lab, sid, audit)


def main():
    if not common.ready("test_forgery_e2e", [RDMS, RDMSD], ["xfreerdp", "runuser"]):
        return 1
    if not we.xrdp_lab_ready():
        return common.finish()
    return we.run_scenario(we.Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
