#!/usr/bin/python3
"""test_cimxml.py -- the CIM-XML front end end to end: the real `wbemcli`
(Debian sblim-wbemcli) against a running rdmsd over HTTP and HTTPS.

It reuses the lab of test_rdmsd_auth.py (two PAM accounts with random
passwords -- rdmsadm in the admin group, rdmsusr not --, rdmsd in the
foreground on free loopback ports, sessions from the fixture back-end) and
only adds the CIM-XML ports to its config.  The fixture holds session 1 of
rdmsadm and sessions 2 (active) and 3 (disconnected) of rdmsusr; Disconnect
and Logoff rewrite it, so their effect is visible to the next request.

Checked with wbemcli: ei, ein, gi, gc, ecn over HTTP and HTTPS
(-noverify); cm Disconnect, Logoff and SendMessage (wbemcli sends GetClass
first; a Disconnect of a disconnected session is ReturnValue 2147749910,
which curl -i shows with its reason in the RDMS-ReturnValueText header); the errors it must report with exit code 16 and the CIM status
(unknown instance 6, someone else's session 2, unknown namespace 3,
unknown method 17) and a refused login.  wbemcli has no ExecQuery, so
queries and HTTP-level errors go through http.client.  Finally the method
calls must be in the audit database with protocol "cimxml".

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import http.client
import os
import ssl
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402  (check/log/summary, the built binaries)
import test_rdmsd_auth as lab_mod  # noqa: E402  (the shared lab: accounts, config, daemon)
from e2e_common import check, free_port, log  # noqa: E402

ADMIN, USER, VMHOST, CLASS = lab_mod.ADMIN, lab_mod.USER, lab_mod.VMHOST, lab_mod.CLASS
NS = "root/cimv2/rdms"
WBEMCLI = "wbemcli"
E_INVALID_OPERATION = 0x80041016
RV_TEXT = "RDMS-ReturnValueText"   # the reason of a ReturnValue other than 0


class Lab(lab_mod.Lab):
    """The auth lab with CIM-XML on two more free ports."""

    def __init__(self):
        super().__init__()
        self.cim_http, self.cim_https = free_port(), free_port()

    def write_config(self, http_port=None):
        super().write_config(http_port)
        with open(self.conf) as f:
            lines = [l for l in f if not l.startswith("cimxml_")]
        lines.append("cimxml_http_port = %d\ncimxml_https_port = %d\n"
                     % (self.cim_http, self.cim_https))
        with open(self.conf, "w") as f:
            f.writelines(lines)


# ---- wbemcli -------------------------------------------------------------------

def url(lab, user, https=False, obj=CLASS, ns=NS):
    scheme, port = ("https", lab.cim_https) if https else ("http", lab.cim_http)
    return "%s://%s:%s@127.0.0.1:%d/%s:%s" % (scheme, user, lab.pw.get(user, "x"), port, ns, obj)


def inst(lab, user, sid, https=False, host=VMHOST):
    return url(lab, user, https, '%s.VMHostName="%s",SessionId=%d' % (CLASS, host, sid))


def wbemcli(*args, https=False):
    """Runs wbemcli; returns (exit code, stdout lines, stderr text)."""
    cmd = [WBEMCLI] + (["-noverify"] if https else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    return p.returncode, [l for l in out.splitlines() if l.strip()], p.stderr.decode("utf-8", "replace")


def users_of(lines):
    """UserName="x" of every line wbemcli ei printed."""
    found = []
    for line in lines:
        for part in line.split(","):
            if part.startswith("UserName="):
                found.append(part.split("=", 1)[1].strip('"'))
    return sorted(found)


def test_reads(lab):
    log("wbemcli reads")
    for https in (False, True):
        proto = "HTTPS" if https else "HTTP"
        rc, lines, err = wbemcli("ei", url(lab, ADMIN, https), https=https)
        check("ei as admin over %s: exit 0, three sessions" % proto,
              rc == 0 and len(lines) == 3, (rc, lines, err))
        check("ei over %s: every user, the configured host" % proto,
              users_of(lines) == sorted([ADMIN, USER, USER])
              and all('VMHostName="%s"' % VMHOST in l for l in lines), lines)
    rc, lines, err = wbemcli("ei", url(lab, USER))
    check("ei as an ordinary user: only their own sessions",
          rc == 0 and users_of(lines) == [USER, USER], (rc, lines, err))
    rc, lines, err = wbemcli("ein", url(lab, ADMIN))
    check("ein: three instance paths", rc == 0 and len(lines) == 3
          and all(l.endswith(tuple("SessionId=%d" % i for i in (1, 2, 3))) for l in lines),
          (rc, lines, err))
    rc, lines, err = wbemcli("gi", inst(lab, ADMIN, 1), https=True)
    check("gi session 1 over HTTPS", rc == 0 and len(lines) == 1
          and 'UserName="%s"' % ADMIN in lines[0] and "ConnectState=0" in lines[0],
          (rc, lines, err))
    rc, lines, err = wbemcli("-nl", "gi", inst(lab, USER, 3), "ClientMachineName,ConnectState")
    check("gi with a property list: only those properties",
          rc == 0 and "-ConnectState=4" in lines and not any("UserName" in l for l in lines),
          (rc, lines, err))
    rc, lines, err = wbemcli("gc", url(lab, USER))
    check("gc lists the class properties", rc == 0 and len(lines) == 1
          and all(p + "=" in lines[0] for p in ("VMHostName", "SessionId", "ClientMachineName")),
          (rc, lines, err))
    rc, lines, err = wbemcli("ecn", url(lab, USER, obj="").rstrip(":"))
    check("ecn names the class", rc == 0 and any(l.endswith(":" + CLASS) for l in lines),
          (rc, lines, err))


def test_errors(lab):
    log("wbemcli errors")
    rc, lines, err = wbemcli("gi", inst(lab, ADMIN, 99))
    check("gi of an unknown instance: exit 16, CIM_ERR_NOT_FOUND",
          rc == 16 and "(6) CIM_ERR_NOT_FOUND" in err, (rc, err))
    rc, lines, err = wbemcli("gi", inst(lab, ADMIN, 1, host="other-host"))
    check("gi on another host: CIM_ERR_NOT_FOUND", rc == 16 and "(6)" in err, (rc, err))
    rc, lines, err = wbemcli("ei", url(lab, ADMIN, ns="root/cimv2"))
    check("ei in another namespace: CIM_ERR_INVALID_NAMESPACE",
          rc == 16 and "(3) CIM_ERR_INVALID_NAMESPACE" in err, (rc, err))
    rc, lines, err = wbemcli("ei", url(lab, ADMIN, obj="Win32_Process"))
    check("ei of another class: CIM_ERR_INVALID_CLASS",
          rc == 16 and "(5) CIM_ERR_INVALID_CLASS" in err, (rc, err))
    bad = url(lab, ADMIN).replace(lab.pw[ADMIN], "wrong-password")
    rc, lines, err = wbemcli("ei", bad)
    check("a wrong password is refused (no output, non-zero exit)", rc != 0 and not lines,
          (rc, lines, err))
    rc, lines, err = wbemcli("cm", inst(lab, USER, 1), "Disconnect")
    check("cm on someone else's session: CIM_ERR_ACCESS_DENIED",
          rc == 16 and "(2) CIM_ERR_ACCESS_DENIED" in err, (rc, err))
    rc, lines, err = wbemcli("cm", inst(lab, ADMIN, 1), "Reboot")
    check("cm of an unknown method: CIM_ERR_METHOD_NOT_FOUND",
          rc == 16 and "(17) CIM_ERR_METHOD_NOT_FOUND" in err, (rc, err))
    rc, lines, err = wbemcli("cm", inst(lab, ADMIN, 1), 'SendMessage.Message="no title"')
    check("cm SendMessage without Title: CIM_ERR_INVALID_PARAMETER",
          rc == 16 and "(4) CIM_ERR_INVALID_PARAMETER" in err, (rc, err))
    rc, lines, err = wbemcli("ei", url(lab, ADMIN))
    check("nothing changed: session 1 still active",
          rc == 0 and any("SessionId=1" in l and "ConnectState=0" in l for l in lines), lines)


def test_methods(lab):
    log("wbemcli methods")
    rc, lines, err = wbemcli("cm", inst(lab, USER, 2), 'SendMessage.Title="Maintenance",'
                             'Message="Back in 5 minutes"')
    check("cm SendMessage on one's own session: 0",
          rc == 0 and lines and lines[-1].endswith("SendMessage: 0"), (rc, lines, err))
    rc, lines, err = wbemcli("cm", inst(lab, USER, 2, https=True), "Disconnect", https=True)
    check("cm Disconnect over HTTPS: 0",
          rc == 0 and lines and lines[-1].endswith("Disconnect: 0"), (rc, lines, err))
    rc, lines, err = wbemcli("gi", inst(lab, USER, 2))
    check("the session is now disconnected (ConnectState=4)",
          rc == 0 and lines and "ConnectState=4" in lines[0], (rc, lines, err))
    rc, lines, err = wbemcli("cm", inst(lab, USER, 2), "Disconnect")
    check("cm Disconnect of a disconnected session: exit 0, ReturnValue "
          "WBEM_E_INVALID_OPERATION (2147749910)",
          rc == 0 and lines and lines[-1].endswith("Disconnect: %d" % E_INVALID_OPERATION),
          (rc, lines, err))
    st, hd, body = curl_method(lab, USER, 2, "Disconnect")
    check("curl -i: the same RETURNVALUE, no ERROR, and the reason in the header %s"
          % RV_TEXT, st == 200 and "<VALUE>%d</VALUE>" % E_INVALID_OPERATION in body and
          "<ERROR" not in body and reason_of(hd) == "session 2 is not connected", (st, hd, body))
    rc, lines, err = wbemcli("cm", inst(lab, ADMIN, 3), "Logoff")
    check("cm Logoff by the admin: 0", rc == 0 and lines and lines[-1].endswith("Logoff: 0"),
          (rc, lines, err))
    rc, lines, err = wbemcli("ein", url(lab, ADMIN))
    check("the session is gone", rc == 0 and len(lines) == 2
          and not any(l.endswith("SessionId=3") for l in lines), lines)


# ---- raw requests (ExecQuery, HTTP-level errors) ---------------------------------

NSPATH = ('<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/>'
          '<NAMESPACE NAME="rdms"/></LOCALNAMESPACEPATH>')


def envelope(inner, req="SIMPLEREQ"):
    return ('<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
            '<MESSAGE ID="77" PROTOCOLVERSION="1.0"><%s>%s</%s></MESSAGE></CIM>'
            % (req, inner, req))


def exec_query(lang, query):
    return envelope('<IMETHODCALL NAME="ExecQuery">%s<IPARAMVALUE NAME="QueryLanguage">'
                    '<VALUE>%s</VALUE></IPARAMVALUE><IPARAMVALUE NAME="Query"><VALUE>%s</VALUE>'
                    '</IPARAMVALUE></IMETHODCALL>' % (NSPATH, lang, query))


def cim_post(lab, user, method, body, https=False):
    if https:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", lab.cim_https, timeout=30, context=ctx)
    else:
        c = http.client.HTTPConnection("127.0.0.1", lab.cim_http, timeout=30)
    c.request("POST", "/cimom", body=body.encode(), headers={
        "Content-Type": 'application/xml; charset="utf-8"', "CIMProtocolVersion": "1.0",
        "CIMOperation": "MethodCall", "CIMMethod": method, "CIMObject": "root%2Fcimv2%2Frdms",
        "Authorization": lab_mod.basic(user, lab.pw[user])})
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, r.headers, data


def curl_method(lab, user, sid, method, host=VMHOST):
    """An extrinsic METHOD of session SID, as USER over HTTP, with `curl -i`:
    (HTTP status, {lower-case header name: value}, body)."""
    path = '%s.VMHostName="%s",SessionId=%d' % (CLASS, host, sid)
    body = envelope('<METHODCALL NAME="%s"><LOCALINSTANCEPATH>%s<INSTANCENAME CLASSNAME="%s">'
                    '<KEYBINDING NAME="VMHostName"><KEYVALUE VALUETYPE="string">%s</KEYVALUE>'
                    '</KEYBINDING><KEYBINDING NAME="SessionId"><KEYVALUE VALUETYPE="numeric">%d'
                    '</KEYVALUE></KEYBINDING></INSTANCENAME></LOCALINSTANCEPATH></METHODCALL>'
                    % (method, NSPATH, CLASS, host, sid))
    cmd = ["curl", "-s", "-i", "-u", "%s:%s" % (user, lab.pw[user]), "-H", "Expect:",
           "-H", 'Content-Type: application/xml; charset="utf-8"', "-H", "CIMProtocolVersion: 1.0",
           "-H", "CIMOperation: MethodCall", "-H", "CIMMethod: " + method,
           "-H", "CIMObject: root%2Fcimv2%2Frdms%3A" + path, "--data-binary", "@-",
           "http://127.0.0.1:%d/cimom" % lab.cim_http]
    p = subprocess.run(cmd, input=body.encode(), capture_output=True, timeout=60)
    head, _, text = p.stdout.decode("utf-8", "replace").partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = lines[0].split()
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return (int(status[1]) if len(status) > 1 and status[1].isdigit() else 0), headers, text


def reason_of(headers):
    """The reason of a ReturnValue other than 0: the RDMS-ReturnValueText
    header (percent-encoded UTF-8), decoded; None when there is none."""
    v = headers.get(RV_TEXT.lower())
    return urllib.parse.unquote(v) if v is not None else None


def test_raw(lab):
    log("ExecQuery and HTTP-level errors")
    st, hd, body = cim_post(lab, ADMIN, "ExecQuery",
                            exec_query("WQL", "SELECT SessionId, UserName FROM %s WHERE UserName = '%s'"
                                       % (CLASS, ADMIN)), https=True)
    check("ExecQuery answers 200 with CIMOperation: MethodResponse",
          st == 200 and hd.get("CIMOperation") == "MethodResponse", (st, dict(hd)))
    check("... and Content-Type application/xml",
          (hd.get("Content-Type") or "").startswith("application/xml"), hd.get("Content-Type"))
    try:
        root = ET.fromstring(body)
        objs = root.findall(".//VALUE.OBJECTWITHPATH")
        props = [p.get("NAME") for p in objs[0].findall("INSTANCE/PROPERTY")] if objs else []
        host = root.findtext(".//INSTANCEPATH/NAMESPACEPATH/HOST")
    except ET.ParseError as e:
        objs, props, host = [], [], repr(e)
    check("ExecQuery: one VALUE.OBJECTWITHPATH with the selected properties",
          len(objs) == 1 and sorted(props) == ["SessionId", "UserName"], body[:400])
    check("ExecQuery: the instance path names the host", host == VMHOST, host)
    st, hd, body = cim_post(lab, ADMIN, "ExecQuery", exec_query("DMTF:CQL", "SELECT * FROM " + CLASS))
    check("ExecQuery in CQL: CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED (14)",
          st == 200 and 'CODE="14"' in body, (st, body[:300]))
    st, hd, body = cim_post(lab, ADMIN, "GetClass", envelope("<SIMPLEREQ/><SIMPLEREQ/>", "MULTIREQ"))
    check("MULTIREQ: 501 with CIMError: multiple-requests-unsupported",
          st == 501 and hd.get("CIMError") == "multiple-requests-unsupported", (st, dict(hd)))
    st, hd, body = cim_post(lab, ADMIN, "GetClass", "<CIM><MESSAGE>")
    check("not well-formed: 400 with CIMError: request-not-well-formed",
          st == 400 and hd.get("CIMError") == "request-not-well-formed", (st, dict(hd)))
    st, hd, body = cim_post(lab, ADMIN, "EnumerateInstances",
                            envelope('<IMETHODCALL NAME="GetClass">%s<IPARAMVALUE NAME="ClassName">'
                                     '<CLASSNAME NAME="%s"/></IPARAMVALUE></IMETHODCALL>'
                                     % (NSPATH, CLASS)))
    check("CIMMethod header against the body: 400 header-mismatch",
          st == 400 and hd.get("CIMError") == "header-mismatch", (st, dict(hd)))
    xxe = ('<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY x SYSTEM "file:///etc/shadow">]>'
           + envelope('<IMETHODCALL NAME="GetClass">%s<IPARAMVALUE NAME="ClassName">'
                      '<CLASSNAME NAME="&x;"/></IPARAMVALUE></IMETHODCALL>' % NSPATH)
           .split("?>", 1)[1])
    st, hd, body = cim_post(lab, ADMIN, "GetClass", xxe)
    check("a DOCTYPE (XXE) is refused with 400", st == 400 and "root:" not in body, (st, body[:200]))
    rc, lines, err = wbemcli("ein", url(lab, ADMIN))
    check("the daemon still serves after all that", rc == 0 and lines, (rc, err))


def test_audit(lab):
    log("audit")
    rows = lab_mod.read_audit(lab, "user, protocol, target, method, result")
    if rows is None:
        return
    cim = [r for r in rows if r[1] == "cimxml"]
    check("every CIM-XML method call is audited with protocol cimxml",
          sum(1 for r in cim if r[3] in ("Disconnect", "Logoff", "SendMessage")) >= 6, rows)
    check("the refused Disconnect of rdmsadm's session is recorded",
          any(r[0] == USER and r[3] == "Disconnect" and "SessionId=1" in r[2] and r[4] != 0
              for r in cim), cim)
    check("the target names the namespace and instance",
          any(r[2].startswith(NS + ":" + CLASS + ".") for r in cim), cim)


def main():
    if not common.ready("test_cimxml", [common.RDMSD]):
        return 1
    if subprocess.run(["sh", "-c", "command -v " + WBEMCLI], capture_output=True).returncode:
        log("test_cimxml: wbemcli is not installed (apt-get install sblim-wbemcli)")
        return 1
    lab = Lab()
    try:
        if not lab.setup():
            return 1
        common.run_groups((test_reads, test_errors, test_methods, test_raw, test_audit), lab)
    finally:
        lab_mod.close_lab(lab)
    return common.summary()


if __name__ == "__main__":
    sys.exit(main())
