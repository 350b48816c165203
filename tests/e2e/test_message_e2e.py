#!/usr/bin/python3
"""test_message_e2e.py -- SendMessage end to end: rdmsd on the real xrdp lab,
the rdms CLI through rdmsd's socket, real xfreerdp clients, and what the
session's X display really shows.

Reuses test_wsman_e2e's lab (rdmsd on the xrdp back-end of lab.sh, PAM
accounts, audit) and opens two Xorg sessions, rdmstest1 and rdmstest2.

Checked (issue 12, items 3, 13, 17 and the limits of 6):
  unicode   messages with Änderungen, "Wartung – ünïcødé" and CJK in title
            and text; the title read back with xdotool getwindowname, the
            text by selecting all of the dialog's text and copying it, the
            CLIPBOARD read back with xclip -- all as the session's user on
            the session's display; exact bytes compared;
  ps        the process that keeps the dialog is rdms-msgwait (comm and
            /proc/PID/cmdline name the session, user and display), the
            dialog's parent; rdmsd is still one process;
  reconnect a message sent to a disconnected session with a 5 s timeout is
            still there after 9 s disconnected, is there after a real
            xfreerdp reconnect, and goes once the user has had it 5 s;
  msg       rdms message USER / * : each recipient's result; --wait returns
            when the user closes the dialog ("closed", exit 0) or when the
            timeout passes (WBEM_E_TIMED_OUT per recipient, exit 1, dialogs
            gone); WS-Man OptionSet and CIM-XML headers give the same
            ReturnValue; a user with no session is WBEM_E_NOT_FOUND;
  limits    a 5,000-byte Message and a 257-byte Title are refused with the
            limit named -- by the CLI (exit 2), over WS-Man (fault) and
            CIM-XML (error) -- and nothing is shown.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root and the xrdp lab (run.sh starts it).
"""
import http.client
import os
import pwd
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_rdmsd_auth as lab_mod  # noqa: E402  (Basic credentials)
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on xrdp, WS-Man requests)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: /proc truth, clients)
from e2e_common import RDMS, RDMSD, alive, check, comm, log, read, wait_for  # noqa: E402

U1, U2 = we.U1, we.U2
E_TIMED_OUT, E_NOT_FOUND = 0x80041069, 0x80041002
AE, WARTUNG, CJK_TITLE = "Änderungen", "Wartung – ünïcødé", "変更のお知らせ"
CJK_TEXT = "システムメンテナンス：今晩 22:00 から。中文、한국어"


# ---- the session's display, as its user -------------------------------------

def x_env(user, display):
    return {"DISPLAY": ":%d" % display, "XAUTHORITY": "/home/%s/.Xauthority" % user,
            "HOME": "/home/" + user, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def as_user(user, display, *cmd, timeout=10):
    """(exit code, stdout bytes) of CMD run as USER on :DISPLAY (P10: a timeout)."""
    try:
        p = subprocess.run(["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"] +
                           list(cmd), env=x_env(user, display), capture_output=True,
                           timeout=timeout)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired:
        return -1, b""


def dialogs(user, display):
    """The gxmessage windows on :DISPLAY that have a title: {window id: title bytes}."""
    rc, out = as_user(user, display, "xdotool", "search", "--class", "gxmessage")
    found = {}
    for w in out.split():
        rc, name = as_user(user, display, "xdotool", "getwindowname", w.decode())
        name = name.rstrip(b"\n")
        if rc == 0 and name and name != b"gxmessage":
            found[w.decode()] = name
    return found


def dialog_titled(user, display, title, seconds=10):
    """The window id of the dialog titled TITLE (exact bytes), waiting SECONDS."""
    def find():
        return next((w for w, t in dialogs(user, display).items()
                     if t == title.encode()), None)
    return wait_for(seconds, find, step=0.3)


def copy_text(user, display, wid):
    """The dialog's text as the X server has it: focus the window, select all,
    copy, and read the CLIPBOARD back (xclip), all as the user."""
    as_user(user, display, "xdotool", "windowfocus", "--sync", wid)
    time.sleep(0.3)
    as_user(user, display, "xdotool", "key", "--clearmodifiers", "ctrl+a", "ctrl+c")
    time.sleep(0.5)
    rc, out = as_user(user, display, "xclip", "-o", "-selection", "clipboard")
    return out if rc == 0 else None


def close_dialog(user, display, wid):
    """What a user does: focus the dialog and press Escape."""
    as_user(user, display, "xdotool", "windowfocus", "--sync", wid)
    as_user(user, display, "xdotool", "key", "--clearmodifiers", "Escape")


def close_all(user, display):
    for w in dialogs(user, display):
        close_dialog(user, display, w)
    wait_for(5, lambda: not dialogs(user, display))


# ---- processes ------------------------------------------------------------------

def procs():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            out.append(int(d))
    return out


def ppid(pid):
    st = read("/proc/%d/stat" % pid) or ""
    try:
        return int(st.rsplit(")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return 0


def cmdline(pid):
    return (read("/proc/%d/cmdline" % pid) or "").split("\0")[:-1]


# ---- the checks -------------------------------------------------------------------

def test_unicode(lab, sid, display):
    log("== UTF-8 title and text, read back from the X display of %d" % sid)
    cases = ((AE, WARTUNG + "\n" + CJK_TEXT), (WARTUNG, AE), (CJK_TITLE, CJK_TEXT))
    for title, text in cases:
        rc, out, err = we.cli(lab, ["message", str(sid), "--title", title, "--message", text])
        check("rdms message %d --title %r: exit 0" % (sid, title), rc == 0,
              "rc=%d %s" % (rc, err))
        wid = dialog_titled(U1, display, title)
        check("a dialog titled exactly %r is on :%d (xdotool getwindowname)" % (title, display),
              wid is not None, repr(dialogs(U1, display)))
        if wid is None:
            continue
        got = copy_text(U1, display, wid)
        check("its text, copied from the dialog and read from the CLIPBOARD, is exactly %r"
              % text[:30], got is not None and got.decode("utf-8", "replace").rstrip("\n")
              == text, repr(got))
        close_dialog(U1, display, wid)
        check("the dialog closes on Escape", wait_for(5, lambda: dialog_titled(
            U1, display, title, 0) is None))


def test_keeper_process(lab, sid, display):
    log("== the process that keeps the dialog")
    title = "Keeper check"
    rc, out, err = we.cli(lab, ["message", str(sid), "--title", title, "--message", "ps"])
    check("message sent", rc == 0, err)
    check("the dialog is up", dialog_titled(U1, display, title) is not None)
    mine = [p for p in procs() if comm(p) == "gxmessage" and os.stat("/proc/%d" % p).st_uid
            == pwd.getpwnam(U1).pw_uid]
    check("one gxmessage runs as %s" % U1, len(mine) == 1, repr(mine))
    if mine:
        keeper = ppid(mine[0])
        check("its parent's comm is rdms-msgwait", comm(keeper) == "rdms-msgwait",
              repr(comm(keeper)))
        check("its parent's cmdline names the session, user and display",
              cmdline(keeper) == ["rdms-msgwait", "session=%d" % sid, "user=" + U1,
                                  "display=:%d" % display], repr(cmdline(keeper)))
        check("it is not a fork of rdmsd (no rdmsd in its cmdline)",
              not any("rdmsd" in a for a in cmdline(keeper)))
    daemons = [p for p in procs() if comm(p) == "rdmsd" and lab.conf in cmdline(p)]
    check("rdmsd is still one process (%d)" % lab.proc.pid, daemons == [lab.proc.pid],
          repr(daemons))
    close_all(U1, display)


def test_disconnected(lab, sid, display, t):
    log("== a message to a disconnected session is there at reconnect")
    rc, out, err = we.cli(lab, ["disconnect", str(sid)])
    check("disconnect %d" % sid, rc == 0, err)
    we.lifecycle_disconnected(lab, sid, t, lab.clients_of[sid])
    title = "While you were away"
    rc, out, err = we.cli(lab, ["message", str(sid), "--title", title, "--message",
                                "Sent while disconnected", "--timeout", "5"])
    check("message with --timeout 5 to the disconnected session: exit 0", rc == 0, err)
    check("its dialog is on the display", dialog_titled(U1, display, title) is not None)
    time.sleep(9)
    check("after 9 s disconnected (timeout 5 s) the dialog is still there",
          dialog_titled(U1, display, title, 0) is not None)
    t0 = time.monotonic()
    we.reconnect(lab, sid, U1, t, "msg-re", ["/size:1024x768"], "MSGCLIENT2")
    check("after a real reconnect (xfreerdp) the dialog is there",
          dialog_titled(U1, display, title, 0) is not None)
    gone = wait_for(15, lambda: dialog_titled(U1, display, title, 0) is None, step=0.5)
    took = time.monotonic() - t0
    check("it goes once the user has had it 5 s connected (%.1f s after reconnecting)" % took,
          gone and 4 <= took <= 14, "gone=%r after %.1f s" % (gone, took))


def recipients(out):
    """{SessionId: RESULT text} from rdms message's table."""
    rows = {}
    for line in out.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].isdigit():
            rows[int(parts[0])] = parts[2]
    return rows


def test_msg(lab, s1, s2, d1, d2):
    log("== rdms message USER / * / --wait / --timeout")
    rc, out, err = we.cli(lab, ["message", U2, "--title", "For U2", "--message", "only you"])
    check("message %s: exit 0, one recipient, shown" % U2,
          rc == 0 and recipients(out) == {s2: "shown"}, "rc=%d %r %s" % (rc, out, err))
    check("... on %s's display" % U2, dialog_titled(U2, d2, "For U2") is not None)
    check("... and not on %s's" % U1, dialog_titled(U1, d1, "For U2", 1) is None)
    close_all(U2, d2)

    rc, out, err = we.cli(lab, ["message", "*", "--title", "For all", "--message", "everyone"])
    check("message '*': exit 0, both sessions shown",
          rc == 0 and recipients(out) == {s1: "shown", s2: "shown"}, "rc=%d %r %s" % (rc, out, err))
    check("... a dialog on both displays", dialog_titled(U1, d1, "For all") is not None and
          dialog_titled(U2, d2, "For all") is not None)
    close_all(U1, d1)
    close_all(U2, d2)

    rc, out, err = we.cli(lab, ["message", "nosuchuser", "--title", "x", "--message", "y"])
    check("message to a user with no session: exit 1, WBEM_E_NOT_FOUND",
          rc == 1 and "WBEM_E_NOT_FOUND" in err and "no session of user nosuchuser" in err,
          "rc=%d %s" % (rc, err))

    # --wait: the user closes it
    cmd = [RDMS, "--config", lab.conf, "message", U1, "--title", "Please confirm",
           "--message", "close me", "--timeout", "60", "--wait"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wid = dialog_titled(U1, d1, "Please confirm")
    check("--wait: the dialog is up", wid is not None)
    time.sleep(1)
    check("--wait: rdms is still waiting", p.poll() is None)
    t0 = time.monotonic()
    if wid:
        close_dialog(U1, d1, wid)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    took = time.monotonic() - t0
    check("--wait returns when the user closes the dialog (%.1f s), exit 0, 'closed'" % took,
          p.returncode == 0 and recipients(out) == {s1: "closed"} and took < 8,
          "rc=%r %r %s" % (p.returncode, out, err))

    # --wait: nobody answers, to both at once
    t0 = time.monotonic()
    rc, out, err = we.cli(lab, ["message", "*", "--title", "Nobody answers", "--message", "x",
                                "--timeout", "3", "--wait"])
    took = time.monotonic() - t0
    rows = recipients(out)
    check("--wait --timeout 3 to '*': exit 1 after about 3 s (%.1f s), both at once" % took,
          rc == 1 and 3 <= took < 10, "rc=%d %.1f s %s" % (rc, took, err))
    check("... each recipient: WBEM_E_TIMED_OUT (0x80041069) and why, through rdmsd",
          set(rows) == {s1, s2} and all(v.startswith("WBEM_E_TIMED_OUT (0x80041069): ") and
                                        "not closed within 3 s" in v for v in rows.values()),
          repr(out))
    check("... and the dialogs are gone", dialog_titled(U1, d1, "Nobody answers", 0) is None and
          dialog_titled(U2, d2, "Nobody answers", 0) is None)

    # the same through WS-Man's OptionSet and CIM-XML's headers
    opts = ('<wsman:OptionSet><wsman:Option Name="MessageTimeout">2</wsman:Option>'
            '<wsman:Option Name="MessageWait">true</wsman:Option></wsman:OptionSet>')
    body = we.invoke_req(s2, "SendMessage", {"Title": "Over WS-Man", "Message": "wait"})
    body = body.replace("</s:Header>", opts + "</s:Header>")
    st, text = we.send(lab, body)
    rv = we.return_value(we.parse(text), "SendMessage")
    check("WS-Man SendMessage with OptionSet MessageTimeout=2, MessageWait=true: "
          "ReturnValue 0x80041069 (timed out)", st == 200 and rv == E_TIMED_OUT,
          "%s %s" % (st, text[:300]))
    check("... and why, in the response header rdms:ReturnValueText",
          we.return_value_text(we.parse(text)) ==
          ("the message was shown but not closed within 2 s", "false"), text[:600])
    st, text = we.send(lab, body.replace(">2<", ">0<"))
    check("WS-Man MessageTimeout=0: fault wsman:InvalidOptions naming the range",
          we.is_fault(st, text, "wsman:InvalidOptions") and "from 1 to 86400" in text,
          "%s %s" % (st, text[:300]))
    code, text, hd = cim_send_message(lab, s2, "Over CIM-XML", "x",
                                      {"RDMS-MessageTimeout": "2", "RDMS-MessageWait": "true"},
                                      with_headers=True)
    check("CIM-XML SendMessage with RDMS-MessageTimeout: 2, RDMS-MessageWait: true: "
          "ReturnValue %d" % E_TIMED_OUT,
          code == 200 and "<VALUE>%d</VALUE>" % E_TIMED_OUT in text, "%s %s" % (code, text[:300]))
    check("... and why, in the response header RDMS-ReturnValueText",
          urllib.parse.unquote(hd.get("RDMS-ReturnValueText") or "") ==
          "the message was shown but not closed within 2 s", dict(hd))
    close_all(U2, d2)


def cim_send_message(lab, sid, title, message, headers=None, with_headers=False):
    """A CIM-XML SendMessage as admin over HTTP (as wbemcli sends it, plus HEADERS);
    (HTTP status, body[, the response's headers])."""
    body = ('<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
            '<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="SendMessage">'
            '<LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/>'
            '<NAMESPACE NAME="cimv2"/><NAMESPACE NAME="rdms"/></LOCALNAMESPACEPATH>'
            '<INSTANCENAME CLASSNAME="Win32_VirtualDesktopSession">'
            '<KEYBINDING NAME="VMHostName"><KEYVALUE VALUETYPE="string">%s</KEYVALUE></KEYBINDING>'
            '<KEYBINDING NAME="SessionId"><KEYVALUE VALUETYPE="numeric">%d</KEYVALUE></KEYBINDING>'
            '</INSTANCENAME></LOCALINSTANCEPATH>'
            '<PARAMVALUE NAME="Title"><VALUE>%s</VALUE></PARAMVALUE>'
            '<PARAMVALUE NAME="Message"><VALUE>%s</VALUE></PARAMVALUE>'
            '</METHODCALL></SIMPLEREQ></MESSAGE></CIM>' % (we.VMHOST, sid, title, message))
    hdrs = {"Content-Type": 'application/xml; charset="utf-8"', "CIMProtocolVersion": "1.0",
            "CIMOperation": "MethodCall", "CIMMethod": "SendMessage",
            "CIMObject": 'root%%2Fcimv2%%2Frdms%%3AWin32_VirtualDesktopSession.VMHostName="%s",'
                         'SessionId=%d' % (we.VMHOST, sid),
            "Authorization": lab_mod.basic(we.ADMIN, lab.pw[we.ADMIN])}
    hdrs.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", lab.cim_http, timeout=60)
    try:
        c.request("POST", "/cimom", body=body.encode(), headers=hdrs)
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        return (r.status, body, r.headers) if with_headers else (r.status, body)
    finally:
        c.close()


def test_limits(lab, sid, display):
    log("== the Title and Message limits, on every path")
    big, title257 = "M" * 5000, "T" * 257
    rc, out, err = we.cli(lab, ["message", str(sid), "--title", "t", "--message", big])
    check("CLI, 5,000-byte Message: exit 2 naming the limit", rc == 2 and
          "Message is 5000 bytes long; the limit is 4096 bytes" in err, "rc=%d %s" % (rc, err))
    rc, out, err = we.cli(lab, ["message", str(sid), "--title", title257, "--message", "m"])
    check("CLI, 257-byte Title: exit 2 naming the limit", rc == 2 and
          "Title is 257 bytes long; the limit is 256 bytes" in err, "rc=%d %s" % (rc, err))
    st, text = we.send(lab, we.invoke_req(sid, "SendMessage", {"Title": "t", "Message": big}))
    check("WS-Man, 5,000-byte Message: a fault naming the limit",
          st == 500 and "the limit is 4096 bytes" in text, "%s %s" % (st, text[:400]))
    code, text = cim_send_message(lab, sid, title257, "m")
    check("CIM-XML, 257-byte Title: an error naming the limit",
          code == 200 and "<ERROR" in text and "the limit is 256 bytes" in text,
          "%s %s" % (code, text[:400]))
    m4096 = ("Ä" * 2048)
    rc, out, err = we.cli(lab, ["message", str(sid), "--title", "At the limit",
                                "--message", m4096])
    check("CLI, a Message of exactly 4,096 bytes (2,048 x Ä) is shown", rc == 0 and
          dialog_titled(U1, display, "At the limit") is not None, "rc=%d %s" % (rc, err))
    check("only that one was shown (nothing for the refused ones)",
          set(dialogs(U1, display).values()) == {b"At the limit"}, repr(dialogs(U1, display)))
    close_all(U1, display)


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    c1 = lab.connect("m1", U1, "/client-hostname:MSGCLIENT1", "/size:1024x768")
    s1 = we.wait_session(lab, U1)
    c2 = lab.connect("m2", U2, "/client-hostname:MSGCLIENT2B", "/size:1024x768")
    s2 = we.wait_session(lab, U2)
    if not check("both sessions are Active", s1 and s2, "%r %r" % (s1, s2)):
        return
    t = xe.truth()
    lab.clients_of.update({s1: c1, s2: c2})
    d1, d2 = t[s1]["display"], t[s2]["display"]
    common.run_groups([lambda: test_unicode(lab, s1, d1),
                       lambda: test_keeper_process(lab, s1, d1),
                       lambda: test_msg(lab, s1, s2, d1, d2),
                       lambda: test_limits(lab, s1, d1),
                       lambda: test_disconnected(lab, s1, d1, t)])


def main():
    if not common.ready("test_message_e2e", [RDMS, RDMSD],
                        ["xfreerdp", "xdotool", "xclip", "gxmessage", "setpriv"]):
        return 1
    if not we.xrdp_lab_ready():
        return common.finish()
    return we.run_scenario(we.Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
