#!/usr/bin/python3
"""test_one_answer.py -- issue 12, items 4, 6 and 8, against a running rdmsd
(test_rdmsd_auth's lab: real PAM accounts, the fixture back-end) with real
clients: Python's http.client, curl over the Unix socket, the rdms CLI, and
wbemcli where it is installed.

8  A user who is not an admin gets one answer for a session that is not
   theirs, whether it is someone else's (1, rdmsadm's) or none at all (7):
   Get and each method, by path and by bare id, over WS-Man (HTTP and the
   Unix socket), CIM-XML and the CLI (local socket and --host).  The whole
   replies are compared, with only the session number and message ids set
   aside; nothing in them names the owner.  Every refusal is an audit row,
   whose detail alone says what was true.
4  The CLI, with a config whose vm_host_name is not the daemon's, lists,
   gets and messages a session by bare id: rdmsd resolves it.
6  A method that runs and fails (Disconnect of a disconnected session) is
   no fault: its ReturnValue is in the method's output as the class defines
   it, and its reason travels beside it -- the WS-Man response header
   rdms:ReturnValueText (s:mustUnderstand false), the CIM-XML response
   header RDMS-ReturnValueText -- to the CLI, which prints the line --direct
   prints; the audit records it.  A parameter the method refuses (a
   5,000-byte Message) is a WS-Man fault / CIM-XML ERROR with its reason.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET

import e2e_common as common
import test_rdmsd_auth as lab_mod
from e2e_common import RDMS, RDMSD, check, log

ADMIN, USER, VMHOST, CLASS = lab_mod.ADMIN, lab_mod.USER, lab_mod.VMHOST, lab_mod.CLASS
URI = lab_mod.WMI_URI + CLASS
THEIRS, NONE, MINE = 1, 7, 2       # rdmsadm's session, no session, rdmsusr's own
E_ACCESS_DENIED, E_INVALID_OPERATION = 0x80041003, 0x80041016
E_INVALID_PARAMETER = 0x80041008
METHODS = ("Disconnect", "Logoff", "SendMessage")
NS_F = "{http://schemas.microsoft.com/wbem/wsman/1/wsmanfault}"
NS_S = "{http://www.w3.org/2003/05/soap-envelope}"
NS_RDMS = "{urn:rdms:wsman:1}"      # rdms's response headers (ReturnValueText)
NSPATH = ('<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/>'
          '<NAMESPACE NAME="rdms"/></LOCALNAMESPACEPATH>')


# ---- requests ------------------------------------------------------------------

def selectors(sid, bare=False):
    host = "" if bare else '<wsman:Selector Name="VMHostName">%s</wsman:Selector>' % VMHOST
    return ('<wsman:SelectorSet><wsman:Selector Name="SessionId">%d</wsman:Selector>%s'
            '</wsman:SelectorSet>' % (sid, host))


def ws_request(op, sid, bare=False):
    """A WS-Man Get (OP "Get") or method call of session SID."""
    if op == "Get":
        return lab_mod.ENVELOPE % (lab_mod.header(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", URI, selectors(sid, bare)), "")
    args = "<p:Title>t</p:Title><p:Message>m</p:Message>" if op == "SendMessage" else ""
    return lab_mod.ENVELOPE % (lab_mod.header(URI + "/" + op, URI, selectors(sid, bare)),
                               '<p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT>' % (op, URI, args, op))


def cim_request(op, sid, message="m"):
    """A CIM-XML GetInstance (OP "Get") or extrinsic method call of SID."""
    name = ('<INSTANCENAME CLASSNAME="%s"><KEYBINDING NAME="VMHostName"><KEYVALUE '
            'VALUETYPE="string">%s</KEYVALUE></KEYBINDING><KEYBINDING NAME="SessionId">'
            '<KEYVALUE VALUETYPE="numeric">%d</KEYVALUE></KEYBINDING></INSTANCENAME>'
            % (CLASS, VMHOST, sid))
    if op == "Get":
        call = ('<IMETHODCALL NAME="GetInstance">%s<IPARAMVALUE NAME="InstanceName">%s'
                '</IPARAMVALUE></IMETHODCALL>' % (NSPATH, name))
    else:
        args = ('<PARAMVALUE NAME="Title"><VALUE>t</VALUE></PARAMVALUE><PARAMVALUE '
                'NAME="Message"><VALUE>%s</VALUE></PARAMVALUE>' % message
                if op == "SendMessage" else "")
        call = ('<METHODCALL NAME="%s"><LOCALINSTANCEPATH>%s%s</LOCALINSTANCEPATH>%s'
                '</METHODCALL>' % (op, NSPATH, name, args))
    return ('<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
            '<MESSAGE ID="12" PROTOCOLVERSION="1.0"><SIMPLEREQ>%s</SIMPLEREQ></MESSAGE></CIM>'
            % call)


def ws_post(lab, body, user):
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=30)
    st, _, text, _ = lab_mod.post(c, body, lab_mod.basic(user, lab.pw[user]))
    c.close()
    return st, text


def ws_socket(lab, body, user):
    return lab_mod.curl(["--unix-socket", lab.sock, "http://localhost/wsman"], body, as_user=user)


def cim_post(lab, op, sid, user, headers=False, message="m"):
    """(HTTP status, [the response headers,] body) of a CIM-XML OP of SID."""
    c = http.client.HTTPConnection("127.0.0.1", lab.cim_http, timeout=30)
    obj = "root%2Fcimv2%2Frdms"
    if op != "Get":
        obj += '%%3A%s.VMHostName="%s",SessionId=%d' % (CLASS, VMHOST, sid)
    st, hd, text, _ = lab_mod.post(c, cim_request(op, sid, message),
                                   lab_mod.basic(user, lab.pw[user]), path="/cimom", extra={
                                       "Content-Type": 'application/xml; charset="utf-8"',
                                       "CIMProtocolVersion": "1.0", "CIMOperation": "MethodCall",
                                       "CIMMethod": "GetInstance" if op == "Get" else op,
                                       "CIMObject": obj})
    c.close()
    return (st, hd, text) if headers else (st, text)


def rdms(lab, args, user=None, conf=None, env=None):
    """The CLI (as USER when given); (exit code, stdout, stderr)."""
    cmd = [RDMS, "--config", conf or lab.conf] + args
    if user is not None:
        cmd = ["runuser", "-u", user, "--"] + cmd
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e)
    return p.returncode, p.stdout, p.stderr.strip()


def cli_args(op, target):
    if op == "Get":
        return ["get", target]
    if op == "SendMessage":
        return ["message", target, "--title", "t", "--message", "m"]
    return [op.lower(), target]


def same(text, sid):
    """TEXT with what rightly differs between two requests set aside: the
    session number and message ids."""
    text = re.sub(r"uuid:[0-9A-Fa-f-]+", "uuid:*", str(text))
    return re.sub(r"(session |SessionId=|SessionId\">|<VALUE>|numeric\">)%d\b" % sid, r"\1#", text)


def audit_rows(lab):
    return lab_mod.read_audit(lab, "user, protocol, target, method, result, detail") or []


# ---- 8: one answer ---------------------------------------------------------------

def refused_alike(lab, what, ask, is_refusal):
    """ASK(sid) for THEIRS and NONE: the same refusal (IS_REFUSAL(reply)),
    nothing naming the owner, and one audit row each whose detail alone
    tells them apart."""
    before = len(audit_rows(lab))
    theirs, none = ask(THEIRS), ask(NONE)
    rows = audit_rows(lab)[before:]
    check("%s: refused" % what, is_refusal(theirs) and is_refusal(none), (theirs, none))
    check("%s: the same reply for rdmsadm's session and for none" % what,
          same(theirs, THEIRS) == same(none, NONE), "\n%s\n%s" % (theirs, none))
    check("%s: the reply does not name the owner" % what, ADMIN not in str(theirs), theirs)
    check("%s: one audit row each, WBEM_E_ACCESS_DENIED" % what,
          [(r[0], r[4]) for r in rows] == [(USER, E_ACCESS_DENIED)] * 2, rows)
    if len(rows) == 2:
        check("%s: the audit says what was true" % what,
              ("is %s's" % ADMIN) in rows[0][5] and ("no session %d" % NONE) in rows[1][5]
              and "SessionId=%d" % THEIRS in rows[0][2] and VMHOST in rows[0][2], rows)


def ws_denied(reply):
    st, text = reply
    return st == 500 and "wsman:AccessDenied" in text and str(E_ACCESS_DENIED) in text


def cim_denied(reply):
    st, text = reply
    return st == 200 and '<ERROR CODE="2"' in text


def cli_denied(reply):
    rc, out, err = reply
    return rc == 1 and out == "" and err.startswith("rdms: WBEM_E_ACCESS_DENIED (0x80041003): ")


def test_one_answer(lab):
    log("one answer for every session that is not the caller's (issue 12, 8)")
    for op in ("Get",) + METHODS:
        refused_alike(lab, "WS-Man %s by path" % op,
                      lambda sid: ws_post(lab, ws_request(op, sid), USER), ws_denied)
    for op in ("Get", "Disconnect"):
        refused_alike(lab, "WS-Man %s by SessionId alone" % op,
                      lambda sid: ws_post(lab, ws_request(op, sid, bare=True), USER), ws_denied)
        refused_alike(lab, "WS-Man %s over the Unix socket (curl)" % op,
                      lambda sid: ws_socket(lab, ws_request(op, sid), USER), ws_denied)
    for op in ("Get",) + METHODS:
        refused_alike(lab, "CIM-XML %s" % op, lambda sid: cim_post(lab, op, sid, USER), cim_denied)
    path = lambda sid: '%s.VMHostName="%s",SessionId=%d' % (CLASS, VMHOST, sid)
    for op in ("Get",) + METHODS:
        refused_alike(lab, "rdms %s ID" % cli_args(op, "")[0],
                      lambda sid: rdms(lab, cli_args(op, str(sid)), USER), cli_denied)
    refused_alike(lab, "rdms disconnect PATH",
                  lambda sid: rdms(lab, cli_args("Disconnect", path(sid)), USER), cli_denied)
    host = ["--host", "http://127.0.0.1:%d/wsman" % lab.http, "-u", USER]
    env = {"RDMS_PASSWORD": lab.pw[USER]}
    for op in ("Get", "Logoff"):
        refused_alike(lab, "rdms --host %s ID" % cli_args(op, "")[0],
                      lambda sid: rdms(lab, host + cli_args(op, str(sid)), env=env), cli_denied)
        refused_alike(lab, "rdms --host %s PATH" % cli_args(op, "")[0],
                      lambda sid: rdms(lab, host + cli_args(op, path(sid)), env=env),
                      cli_denied)
    st, text = ws_post(lab, lab_mod.ENUMERATE, USER)
    check("the caller's own session is still theirs to see",
          st == 200 and lab_mod.session_users(text) == [USER, USER], text[:300])


# ---- 4: bare ids, resolved by rdmsd ----------------------------------------------

def test_bare_ids(lab):
    log("bare ids resolved by rdmsd, whatever the CLI's config says (issue 12, 4)")
    conf = lab_mod.other_config(lab)
    rc, out, err = rdms(lab, ["list", "--json"], conf=conf)
    listed = json.loads(out) if rc == 0 else []
    check("rdms list (CLI config with another vm_host_name): the daemon's VMHostName",
          rc == 0 and listed and all(s["VMHostName"] == VMHOST for s in listed),
          "rc=%d %s %s" % (rc, err, out[:300]))
    rc, out, err = rdms(lab, ["get", str(THEIRS), "--json"], conf=conf)
    got = json.loads(out) if rc == 0 else {}
    check("rdms get %d, as listed" % THEIRS,
          got.get("SessionId") == THEIRS and got.get("VMHostName") == VMHOST,
          "rc=%d %s %s" % (rc, err, out))
    before = len(audit_rows(lab))
    rc, out, err = rdms(lab, ["message", str(THEIRS), "--title", "t", "--message", "m"],
                        conf=conf)
    check("rdms message %d: 0" % THEIRS, rc == 0, "rc=%d %s" % (rc, err))
    rows = audit_rows(lab)[before:]
    check("... audited with the whole path, the daemon's host",
          len(rows) == 1 and rows[0][3] == "SendMessage" and rows[0][4] == 0 and
          'VMHostName="%s",SessionId=%d' % (VMHOST, THEIRS) in rows[0][2], rows)
    rc, out, err = rdms(lab, ["get", str(NONE)], conf=conf)
    check("rdms get %d (no such session), as root: WBEM_E_NOT_FOUND on the daemon's host" % NONE,
          rc == 1 and err == "rdms: WBEM_E_NOT_FOUND (0x80041002): no session %d on host %s"
          % (NONE, VMHOST), "rc=%d %s" % (rc, err))


# ---- 6: a failed method's reason ----------------------------------------------------

def rv_text(root):
    """(text, s:mustUnderstand) of the response header rdms:ReturnValueText, or None."""
    for el in (root.iter(NS_RDMS + "ReturnValueText") if root is not None else ()):
        return el.text or "", el.get(NS_S + "mustUnderstand")
    return None


def xml_root(text):
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def test_reason(lab):
    log("a method that ran and failed: its ReturnValue, and its reason beside it (issue 12, 6)")
    conf = lab_mod.other_config(lab)
    reason = "session %d is not connected" % MINE
    rc, _, err = rdms(lab, ["disconnect", str(MINE)], USER, conf=conf)
    check("%s: rdms disconnect %d (own, bare id): 0" % (USER, MINE), rc == 0, "rc=%d %s" % (rc, err))
    before = len(audit_rows(lab))
    want = "rdms: WBEM_E_INVALID_OPERATION (0x80041016): " + reason
    rc, out, err = rdms(lab, ["disconnect", str(MINE)], USER, conf=conf)
    check("again, through rdmsd: exit 1, the code and the reason", rc == 1 and err == want,
          "rc=%d %r" % (rc, err))
    rc, out, err = rdms(lab, ["--direct", "disconnect", str(MINE)])
    check("... the very line --direct prints", rc == 1 and err == want, "rc=%d %r" % (rc, err))
    rc, out, err = rdms(lab, ["disconnect", str(MINE), "--json"], USER)
    check("--json through rdmsd: {\"ReturnValue\": %d}, the reason on stderr, exit 1"
          % E_INVALID_OPERATION, rc == 1 and out.strip() == '{"ReturnValue": %d}'
          % E_INVALID_OPERATION and err == want, "rc=%d %r %r" % (rc, out, err))

    st, text = ws_post(lab, ws_request("Disconnect", MINE), USER)
    root = xml_root(text)
    rv = root.findtext(".//{%s}Disconnect_OUTPUT/{%s}ReturnValue" % (URI, URI)) \
        if root is not None else None
    check("WS-Man Disconnect: 200, no fault, ReturnValue %d in Disconnect_OUTPUT"
          % E_INVALID_OPERATION, st == 200 and "Fault" not in text and
          rv == str(E_INVALID_OPERATION), "%s %s" % (st, text[:400]))
    check("... its reason in the header rdms:ReturnValueText, s:mustUnderstand false",
          rv_text(root) == (reason, "false"), text[:600])
    code, text = lab_mod.curl(["-u", "%s:%s" % (USER, lab.pw[USER]),
                               "http://127.0.0.1:%d/wsman" % lab.http],
                              ws_request("Disconnect", MINE))
    check("curl shows the same: 200, the ReturnValue and the reason",
          code == 200 and rv_text(xml_root(text)) == (reason, "false") and
          "<p:ReturnValue>%d</p:ReturnValue>" % E_INVALID_OPERATION in text, code)

    st, hd, text = cim_post(lab, "Disconnect", MINE, USER, headers=True)
    check("CIM-XML Disconnect: RETURNVALUE %d, no ERROR" % E_INVALID_OPERATION,
          st == 200 and "<VALUE>%d</VALUE>" % E_INVALID_OPERATION in text and "<ERROR" not in text,
          text[:500])
    check("... its reason in the header RDMS-ReturnValueText",
          urllib.parse.unquote(hd.get("RDMS-ReturnValueText") or "") == reason, dict(hd))
    if shutil.which("wbemcli"):
        p = subprocess.run(["wbemcli", "cm", 'http://%s:%s@127.0.0.1:%d/root/cimv2/rdms:%s.'
                            'VMHostName="%s",SessionId=%d' % (USER, lab.pw[USER], lab.cim_http,
                                                                CLASS, VMHOST, MINE),
                            "Disconnect"], capture_output=True, text=True, timeout=60)
        check("wbemcli cm prints the ReturnValue",
              p.returncode == 0 and p.stdout.strip().endswith("Disconnect: %d"
                                                              % E_INVALID_OPERATION),
              (p.returncode, p.stdout, p.stderr))
    rows = audit_rows(lab)[before:]
    check("each attempt is audited with the reason",
          rows and all(r[3] == "Disconnect" and r[4] == E_INVALID_OPERATION and
                       reason in r[5] for r in rows), rows)

    log("a parameter the method refuses is a fault / ERROR, with its reason")
    big = "M" * 5000
    limit = "Message is 5000 bytes long; the limit is 4096 bytes (UTF-8)"
    body = lab_mod.ENVELOPE % (lab_mod.header(URI + "/SendMessage", URI, selectors(MINE)),
                               '<p:SendMessage_INPUT xmlns:p="%s"><p:Title>t</p:Title>'
                               '<p:Message>%s</p:Message></p:SendMessage_INPUT>' % (URI, big))
    st, text = ws_post(lab, body, USER)
    root = xml_root(text)
    f = root.find(".//%sWSManFault" % NS_F) if root is not None else None
    check("WS-Man SendMessage of a 5,000-byte Message: fault (500), s:Reason %r" % limit,
          st == 500 and root is not None and
          root.findtext(".//%sReason/%sText" % (NS_S, NS_S)) == limit, "%s %s" % (st, text[:400]))
    check("... WSManFault Code WBEM_E_INVALID_PARAMETER, no ReturnValue",
          f is not None and f.get("Code") == str(E_INVALID_PARAMETER) and
          "ReturnValue" not in text, text[:600])
    st, hd, text = cim_post(lab, "SendMessage", MINE, USER, headers=True, message=big)
    check("CIM-XML: ERROR CODE 4 whose DESCRIPTION is the reason, no RETURNVALUE",
          st == 200 and ('<ERROR CODE="4" DESCRIPTION="CIM_ERR_INVALID_PARAMETER: %s"' % limit)
          in text and "RETURNVALUE" not in text and "RDMS-ReturnValueText" not in hd,
          text[:500])


def main():
    if not common.ready("test_one_answer", [RDMS, RDMSD], ["curl", "runuser"]):
        return 1
    lab = lab_mod.Lab()
    try:
        if not lab.setup():
            return 1
        common.run_groups((test_one_answer, test_bare_ids, test_reason), lab)
    finally:
        lab_mod.close_lab(lab)
    return common.summary()


if __name__ == "__main__":
    sys.exit(main())
