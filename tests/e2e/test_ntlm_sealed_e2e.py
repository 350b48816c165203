#!/usr/bin/python3
"""test_ntlm_sealed_e2e.py -- WinRM message encryption over plain HTTP
(issue 18, item 2) against a running rdmsd serving REAL xrdp sessions.

Reuses test_ntlm_e2e's lab (rdmsd on loopback ports, the xrdp back-end of
lab.sh, an NT-hash store made by `rdms user set`), one real session of
rdmstest1 opened with xfreerdp.  Two clients:
  - python3-winrm, transport='ntlm' over HTTP (it encrypts there by itself,
    and checks every reply's framing and signature);
  - our own client on python3-gssapi (raw NTLM and SPNEGO through the
    client side of gss-ntlmssp), which frames bodies itself, so that it can
    also send what pywinrm never would: tampered, replayed, lying.

Checked:
  pywinrm over HTTP, encrypted: Identify, Enumerate (the real session), Get,
      WQL, SendMessage (ReturnValue 0, audited), a SOAP fault (encrypted
      too), Disconnect of the real session (the xfreerdp client ends, the
      session shows Disconnected, the call is audited);
  the gssapi client, raw NTLM (3 legs) and SPNEGO (2 legs, the final token
      on the 200): several messages in order on one connection; every
      reply framed as pywinrm wants it (tabs, no space after "--", no CRLF
      before the closing boundary);
  CIM-XML: an encrypted EnumerateInstances on the CIM-XML port;
  bad input, each a precise 400 with nothing executed: a flipped
      ciphertext byte (Disconnect) -- the context dropped, the connection
      closed; a replayed message; OriginalContent's Length lying (the
      connection's context survives: the next message is served); a
      signature length past the body; an encrypted body on a Basic
      connection; a plain body after Negotiate on HTTP;
  a connection that switches users: a second login on it replaces the
      first one's identity and keys (the old keys no longer work; the new
      user's rights apply and the audit names them);
  a large enumeration, encrypted both ways: 5,000 fixture sessions through
      Enumerate and Pulls, each reply about 500 KB, pywinrm decrypting the
      first.
"""
import base64
import http.client
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as common       # noqa: E402
import test_ntlm_e2e as ne        # noqa: E402
import test_rdmsd_auth as lab_mod  # noqa: E402
import test_wsman_e2e as we       # noqa: E402
from e2e_common import RDMS, RDMSD, check, finish, log, wait_for  # noqa: E402

U1 = we.U1
ADMIN, USER = lab_mod.ADMIN, lab_mod.USER
BOUNDARY = b"Encrypted Boundary"
SEALED_CT = ('multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
             'boundary="Encrypted Boundary"')
NTLM_OID = "1.3.6.1.4.1.311.2.2.10"
SPNEGO_OID = "1.3.6.1.5.5.2"
FIXTURE_SESSIONS = 5000


# ---- the encrypted body, as MS-WSMV frames it -------------------------------------

def frame(wrapped, sig_len, length, ctype="application/soap+xml;charset=UTF-8"):
    return (b"--Encrypted Boundary\r\n"
            b"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
            b"\tOriginalContent: type=" + ctype.encode() + b";Length=%d\r\n" % length +
            b"--Encrypted Boundary\r\n"
            b"\tContent-Type: application/octet-stream\r\n" +
            sig_len.to_bytes(4, "little") + wrapped + b"--Encrypted Boundary--\r\n")


def unframe(body):
    """(original type, Length, signature length, wrapped bytes, layout ok) of a reply,
    read by its lengths, as pywinrm reads it."""
    m = re.match(rb"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-"
                 rb"encrypted\r\n\tOriginalContent: type=([^\r]*);Length=(\d+)\r\n"
                 rb"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n", body)
    if m is None:
        return None
    length, at = int(m.group(2)), m.end()
    sig = int.from_bytes(body[at:at + 4], "little")
    wrapped = body[at + 4:at + 4 + sig + length]
    tail = body[at + 4 + sig + length:]
    return m.group(1).decode(), length, sig, wrapped, tail == b"--Encrypted Boundary--\r\n"


class Sealed:
    """A Negotiate login on one HTTP connection through python3-gssapi, and
    encrypted messages on it."""

    def __init__(self, port, user, password, spnego=False, path="/wsman"):
        import gssapi
        import gssapi.raw as graw
        self.gssapi, self.port, self.path = gssapi, port, path
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mech = gssapi.OID.from_int_seq(SPNEGO_OID if spnego else NTLM_OID)
        ntlm = gssapi.OID.from_int_seq(NTLM_OID)
        name = gssapi.Name(user, gssapi.NameType.user)
        creds = graw.acquire_cred_with_password(name, password.encode(), usage="initiate",
                                                mechs=[mech]).creds
        if spnego:
            graw.set_neg_mechs(creds, [ntlm])
        self.ctx = None
        self.creds, self.mech = creds, mech
        self.legs = 0
        self.final_token = False

    def login(self, ctype="application/soap+xml;charset=UTF-8"):
        """The handshake with empty bodies; the last status (200: logged in)."""
        g = self.gssapi
        self.ctx = g.SecurityContext(
            name=g.Name("HTTP@127.0.0.1", g.NameType.hostbased_service), creds=self.creds,
            mech=self.mech, usage="initiate",
            flags=[g.RequirementFlag.integrity, g.RequirementFlag.confidentiality,
                   g.RequirementFlag.mutual_authentication])
        tok = self.ctx.step()
        self.legs = 0
        while True:
            self.legs += 1
            self.c.request("POST", self.path, body=b"", headers={
                "Authorization": "Negotiate " + base64.b64encode(tok).decode(),
                "Content-Type": ctype})
            r = self.c.getresponse()
            r.read()
            wa = r.getheader("WWW-Authenticate") or ""
            if r.status == 401 and wa.startswith("Negotiate ") and self.legs < 4:
                tok = self.ctx.step(base64.b64decode(wa.split(" ", 1)[1]))
                continue
            if r.status == 200 and wa.startswith("Negotiate "):
                self.final_token = True
                if not self.ctx.complete:
                    self.ctx.step(base64.b64decode(wa.split(" ", 1)[1]))
            return r.status

    def wrap(self, text, ctype="application/soap+xml;charset=UTF-8"):
        plain = text.encode() if isinstance(text, str) else text
        w = self.ctx.wrap(plain, True)
        sig = len(w.message) - len(plain)
        return frame(w.message, sig, len(plain), ctype)

    def post(self, body, ctype=SEALED_CT, headers=None):
        """(status, headers, raw body)."""
        h = {"Content-Type": ctype}
        h.update(headers or {})
        self.c.request("POST", self.path, body=body, headers=h)
        r = self.c.getresponse()
        return r.status, r.msg, r.read()

    def send(self, text, ctype="application/soap+xml;charset=UTF-8", headers=None):
        """TEXT encrypted; (status, plaintext reply or the raw text, how it came)."""
        st, hdrs, raw = self.post(self.wrap(text, ctype), headers=headers)
        how = "plain"
        if (hdrs.get("Content-Type") or "").startswith("multipart/encrypted"):
            u = unframe(raw)
            if u is None:
                return st, raw.decode(errors="replace"), "unframed"
            otype, length, sig, wrapped, layout = u
            plain = self.ctx.unwrap(wrapped).message
            how = "sealed" if layout and sig == 16 and len(plain) == length else "bad-layout"
            return st, plain.decode(errors="replace"), how
        return st, raw.decode(errors="replace"), how

    def close(self):
        self.c.close()


def pywinrm(lab, user, password, bodies, encryption="auto"):
    """python3-winrm over HTTP (transport ntlm): BODIES sent on one connection,
    [(what, text)] back."""
    script = r"""
import sys, json
from winrm.protocol import Protocol
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError
p = Protocol(endpoint=sys.argv[1], transport="ntlm", username=sys.argv[2],
             password=sys.argv[3], message_encryption=sys.argv[4])
out = []
for body in json.loads(sys.stdin.read()):
    try:
        r = p.send_message(body)
        out.append(["ok", r.decode() if isinstance(r, bytes) else r])
    except InvalidCredentialsError as e:
        out.append(["denied", str(e)])
    except WinRMTransportError as e:
        out.append(["transport", str(e)])
    except WinRMError as e:
        out.append(["fault", str(e)])
    except Exception as e:
        out.append(["error", "%s: %s" % (type(e).__name__, e)])
print(json.dumps(out))
"""
    env = dict(os.environ, OPENSSL_CONF=lab.legacy)
    p = subprocess.run(["/usr/bin/python3", "-c", script, "http://127.0.0.1:%d/wsman" % lab.http,
                        user, password, encryption],
                       input=json.dumps(bodies), capture_output=True, text=True, env=env,
                       timeout=180)
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [["crash", (p.stdout + p.stderr)[-600:]]] * len(bodies)


def wql_req(query):
    return we.wsl_envelope(we.ACT_ENUM, we.WMI_URI, body=(
        "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>100</wsman:MaxElements>"
        '<wsman:Filter Dialect="%s">%s</wsman:Filter></wsen:Enumerate>' % (we.WQL, query)))


# ---- the scenarios -------------------------------------------------------------------

def test_pywinrm(lab, s1, audit):
    audit.mark()
    title = "sealed-%d" % os.getpid()
    res = pywinrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], [
        lab_mod.IDENTIFY, we.enum_req(), we.get_req(s1),
        wql_req("SELECT * FROM Win32_VirtualDesktopSession WHERE UserName = '%s'" % U1),
        we.invoke_req(s1, "SendMessage", {"Title": title, "Message": "over an encrypted link"}),
        we.get_req(999999)])
    names = ["Identify", "Enumerate", "Get", "WQL", "SendMessage", "Get of no session (fault)"]
    for n, (what, text) in zip(names, res):
        log("pywinrm %s: %s %s" % (n, what, text[:160]))
    ok = [r[0] == "ok" for r in res]
    check("pywinrm ntlm over HTTP, encrypted: Identify", ok[0] and "IdentifyResponse" in res[0][1],
          repr(res[0])[:300])
    check("... Enumerate finds the real session", ok[1] and
          s1 in (we.sids(we.parse(res[1][1])) or []), repr(res[1])[:300])
    check("... Get of the session", ok[2] and we.sids(we.parse(res[2][1])) == [s1],
          repr(res[2])[:300])
    check("... WQL on UserName", ok[3] and we.sids(we.parse(res[3][1])) == [s1],
          repr(res[3])[:300])
    check("... SendMessage: ReturnValue 0", ok[4] and
          we.return_value(we.parse(res[4][1]), "SendMessage") == 0, repr(res[4])[:300])
    check("... a SOAP fault comes back encrypted too (pywinrm decrypts and reports it)",
          res[5][0] == "fault" and "NotFound" in res[5][1] or "2147749890" in res[5][1],
          repr(res[5])[:300])
    rows = audit.new()
    check("... the SendMessage is audited under the NTLM login's account, protocol wsman",
          any(r["method"] == "SendMessage" and r["user"] == ADMIN and r["protocol"] == "wsman"
              and r["result"] == 0 for r in rows), repr(rows))
    # the authorisation matrix as for Basic: the owner acts on their own session,
    # a non-admin on no one else's (every call audited under the mapped account)
    audit.mark()
    own = pywinrm(lab, U1, lab.pw[U1], [we.invoke_req(s1, "SendMessage", {
        "Title": title + "-own", "Message": "from the owner"}), we.enum_req()])
    check("the session's owner (NTLM, no domain), encrypted: SendMessage to their own "
          "session returns 0, and Enumerate shows them only their own",
          own[0][0] == "ok" and we.return_value(we.parse(own[0][1]), "SendMessage") == 0 and
          own[1][0] == "ok" and we.sids(we.parse(own[1][1])) == [s1], repr(own)[:400])
    other = pywinrm(lab, USER, lab.pw[USER], [we.invoke_req(s1, "SendMessage", {
        "Title": "x", "Message": "not yours"}), we.enum_req()])
    check("a non-admin who owns no session: SendMessage to another's is "
          "WBEM_E_ACCESS_DENIED, and Enumerate shows nothing",
          other[0][0] == "fault" and "2147749891" in other[0][1] and other[1][0] == "ok" and
          we.sids(we.parse(other[1][1])) == [], repr(other)[:400])
    rows = [(r["user"], r["method"], r["result"]) for r in audit.new()]
    check("... both audited under the mapped local accounts", (U1, "SendMessage", 0) in rows and
          any(u == USER and m == "SendMessage" and res != 0 for u, m, res in rows), repr(rows))
    res = pywinrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], [we.enum_req()], encryption="always")
    check("pywinrm message_encryption='always' over HTTP: Enumerate", res[0][0] == "ok" and
          s1 in (we.sids(we.parse(res[0][1])) or []), repr(res[0])[:300])


def test_gssapi_client(lab, s1):
    for spnego in (False, True):
        kind = "SPNEGO" if spnego else "raw NTLM"
        s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN], spnego=spnego)
        st = s.login()
        check("python3-gssapi %s login over HTTP: 200 after %d legs%s" %
              (kind, s.legs, ", the final token on the 200" if spnego else ""),
              st == 200 and s.legs == 2 and
              (s.final_token or not spnego), "status %d, %d legs" % (st, s.legs))
        replies = [s.send(b) for b in (we.enum_req(), we.get_req(s1), we.enum_req(),
                                       lab_mod.IDENTIFY)]
        check("... four encrypted messages in order on one connection, each reply "
              "encrypted and framed as MS-WSMV says",
              all(st == 200 and how == "sealed" for st, _, how in replies) and
              s1 in (we.sids(we.parse(replies[0][1])) or []) and
              we.sids(we.parse(replies[1][1])) == [s1],
              repr([(st, how, t[:80]) for st, t, how in replies]))
        s.close()


def test_utf16(lab, s1):
    """Windows' WinRM client writes UTF-16 (MS-WSMV's example: OriginalContent
    type=application/soap+xml;charset=UTF-16)."""
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    body = ('<?xml version="1.0" encoding="utf-16"?>' + we.get_req(s1)).encode("utf-16")
    st, text, how = s.send(body, ctype="application/soap+xml;charset=UTF-16")
    check("an encrypted Get in UTF-16 (BOM, XML declaration), as Windows sends it: served",
          st == 200 and how == "sealed" and we.sids(we.parse(text)) == [s1],
          "%d %s %s" % (st, how, text[:300]))
    st, text, how = s.send(we.get_req(s1).encode("utf-16-le"),
                           ctype="application/soap+xml;charset=UTF-16")
    check("... and in UTF-16LE without a BOM", st == 200 and we.sids(we.parse(text)) == [s1],
          "%d %s %s" % (st, how, text[:300]))
    st, text, how = s.send(b"<\x00\x00\xd8a\x00", ctype="application/soap+xml;charset=UTF-16")
    check("... a body that is not UTF-16: 400 with the reason (encrypted, as every reply "
          "to an encrypted request)", st == 400 and how == "sealed" and
          "not valid UTF-16" in text, "%d %s %s" % (st, how, text[:200]))
    s.close()
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=30)
    c.request("POST", "/wsman", body=we.get_req(s1).encode("utf-16"), headers={
        "Content-Type": "application/soap+xml;charset=UTF-16",
        "Authorization": lab_mod.basic(ADMIN, lab.pw[ADMIN])})
    r = c.getresponse()
    text = r.read().decode(errors="replace")
    check("a plain UTF-16 Get with Basic: served", r.status == 200 and
          we.sids(we.parse(text)) == [s1], "%d %s" % (r.status, text[:300]))
    c.close()


def test_cimxml(lab):
    s = Sealed(lab.cim_http, "LAB\\" + ADMIN, lab.pw[ADMIN], path="/cimom")
    st = s.login(ctype="application/xml;charset=utf-8")
    body = ('<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
            '<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances">'
            '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/>'
            '<NAMESPACE NAME="rdms"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName">'
            '<CLASSNAME NAME="Win32_VirtualDesktopSession"/></IPARAMVALUE></IMETHODCALL>'
            '</SIMPLEREQ></MESSAGE></CIM>')
    st2, text, how = s.send(body, ctype="application/xml;charset=utf-8", headers={
        "CIMOperation": "MethodCall", "CIMMethod": "EnumerateInstances",
        "CIMObject": "root%2Fcimv2%2Frdms"}) if st == 200 else (st, "", "")
    check("CIM-XML on its HTTP port: Negotiate login, an encrypted EnumerateInstances, "
          "an encrypted reply with the instances", st == 200 and st2 == 200 and how == "sealed"
          and "VALUE.NAMEDINSTANCE" in text and "Win32_VirtualDesktopSession" in text,
          "%s %s %s %s" % (st, st2, how, text[:300]))
    s.close()


def test_bad_input(lab, s1, audit):
    # a flipped ciphertext byte in a Disconnect: 400, the connection closed
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    audit.mark()
    body = bytearray(s.wrap(we.invoke_req(s1, "Disconnect")))
    body[-60] ^= 0x01
    st, hdrs, raw = s.post(bytes(body))
    check("a tampered encrypted Disconnect: 400, says it does not verify, connection closed",
          st == 400 and b"does not verify" in raw and
          (hdrs.get("Connection") or "").lower() == "close", "%d %r %s" % (st, dict(hdrs), raw[:200]))
    check("... nothing executed: the session is still Active, no audit row",
          we.state(lab, s1) == we.ACTIVE and audit.new() == [], "state %r" % we.state(lab, s1))
    s.close()
    # a replayed message
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    msg = s.wrap(we.get_req(s1))
    st1, _, _ = s.post(msg)
    st2, hdrs, raw = s.post(msg)
    check("an encrypted message replayed on its connection: 400, connection closed",
          st1 == 200 and st2 == 400 and (hdrs.get("Connection") or "").lower() == "close",
          "%d %d %s" % (st1, st2, raw[:200]))
    s.close()
    # lengths that lie: refused before decrypting; the context survives
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    good = s.wrap(we.get_req(s1))
    lying = good.replace(b";Length=", b";Length=9", 1)
    st, hdrs, raw = s.post(lying)
    check("OriginalContent's Length lying: 400 malformed encrypted body", st == 400 and
          b"malformed encrypted body" in raw, "%d %s" % (st, raw[:200]))
    st, _, raw = s.post(good)
    check("... the connection's keys are untouched: the true message is served next",
          st == 200 and unframe(raw) is not None, "%d %s" % (st, raw[:200]))
    at = good.index(b"octet-stream\r\n") + 14
    huge_sig = good[:at] + (100000).to_bytes(4, "little") + good[at + 4:]
    st, _, raw = s.post(huge_sig)
    check("a signature length past the body: 400 with the reason", st == 400 and
          b"out of range" in raw or b"shorter" in raw, "%d %s" % (st, raw[:200]))
    s.close()
    # an envelope of max_envelope_size is served encrypted too (its framing comes on top);
    # one bigger is refused once decrypted
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    req = we.get_req(s1)
    at = req.index("</s:Envelope>") if "</s:Envelope>" in req else len(req)
    fill = lab_mod.MAX_ENVELOPE - len(req.encode()) - 7
    full = req[:at] + "<!--" + "x" * fill + "-->" + req[at:]
    st, text, how = s.send(full)
    check("an encrypted envelope of exactly max_envelope_size (%d) is served" %
          len(full.encode()), st == 200 and how == "sealed" and we.sids(we.parse(text)) == [s1],
          "%d %s %s" % (st, how, text[:200]))
    st, _, raw = s.post(s.wrap(full.replace("<!--", "<!--" + "y" * 100)))
    check("... one 100 bytes over it: 400 naming max_envelope_size", st == 400 and
          b"max_envelope_size" in raw, "%d %s" % (st, raw[:200]))
    s.close()
    # an encrypted body with Basic credentials, and a plain one after Negotiate
    st, text = we.send(lab, "junk", user=ADMIN, password=lab.pw[ADMIN],
                       headers={"Content-Type": SEALED_CT})
    check("an encrypted body with Basic credentials: 400 (needs a Negotiate login)",
          st == 400 and "Negotiate" in text, "%d %s" % (st, text[:200]))
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    audit.mark()
    st, _, raw = s.post(we.invoke_req(s1, "Disconnect").encode(),
                        ctype="application/soap+xml;charset=UTF-8")
    check("a plain Disconnect after Negotiate on HTTP: 400, nothing executed",
          st == 400 and b"unencrypted" in raw and audit.new() == [] and
          we.state(lab, s1) == we.ACTIVE, "%d %s" % (st, raw[:200]))
    s.close()
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=30)
    c.request("POST", "/wsman", body=b"x" * 100, headers={"Content-Type": SEALED_CT})
    r = c.getresponse()
    r.read()
    check("an encrypted body on a connection that never logged in: 401", r.status == 401,
          "%d" % r.status)
    c.close()


def test_switch_users(lab, s1, audit):
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    st, text, how = s.send(we.get_req(s1))
    first_ok = st == 200 and we.sids(we.parse(text)) == [s1]
    old = s.ctx
    other = Sealed(lab.http, USER, lab.pw[USER])
    other.c.close()
    other.c = s.c                      # the same TCP connection
    audit.mark()
    st2 = other.login()
    st3, text3, how3 = other.send(we.invoke_req(s1, "Disconnect"))
    root = we.parse(text3)
    check("a second login on an established connection (another user): its rights apply -- "
          "Disconnect of someone else's session refused",
          first_ok and st2 == 200 and st3 in (200, 500) and how3 == "sealed" and
          ("2147749891" in text3 or (root is not None and we.return_value(root, "Disconnect")
                                     not in (None, 0))),
          "%s %d %d %s %s" % (first_ok, st2, st3, how3, text3[:300]))
    rows = audit.new()
    check("... audited under the second user", any(r["user"] == USER for r in rows) and
          not any(r["user"] == ADMIN for r in rows), repr(rows))
    s.ctx = old
    st4, _, raw4 = s.post(s.wrap(we.get_req(s1)))
    check("... the first login's keys no longer work on it (400)", st4 == 400, "%d %s"
          % (st4, raw4[:200]))
    s.close()


def test_disconnect(lab, s1, c1, audit):
    audit.mark()
    res = pywinrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], [we.invoke_req(s1, "Disconnect")])
    what, text = res[0]
    check("pywinrm, encrypted: Disconnect of the real session, ReturnValue 0",
          what == "ok" and we.return_value(we.parse(text), "Disconnect") == 0, text[:300])
    check("... the xfreerdp client ends", we.client_gone(c1) is not None)
    check("... the session shows Disconnected",
          wait_for(10, lambda: we.state(lab, s1) == we.DISCONNECTED), repr(we.state(lab, s1)))
    rows = audit.new()
    check("... audited: Disconnect by %s over wsman, done" % ADMIN,
          any(r["method"] == "Disconnect" and r["user"] == ADMIN and r["result"] == 0
              for r in rows), repr(rows))


def test_large(lab):
    """Restarted on 5,000 fixture sessions: the whole of them through encrypted
    Enumerate and Pulls of about 500 KB each."""
    lab.stop()
    fixture = os.path.join(lab.dir, "big-sessions.txt")
    with open(fixture, "w") as f:
        for i in range(FIXTURE_SESSIONS):
            f.write("%d fxuser%04d %d client-%04d-%s\n" % (100000 + i, i, i % 2 * 4, i, "x" * 40))
    with open(lab.conf) as f:
        lines = [l for l in f if l.split("=")[0].strip() not in ("backends", "fixture_file")]
    lines += ["backends = fixture\n", "fixture_file = %s\n" % fixture]
    with open(lab.conf, "w") as f:
        f.writelines(lines)
    if not check("rdmsd restarts on %d fixture sessions" % FIXTURE_SESSIONS, lab.start(),
                 lab.log()[-1500:]):
        return
    first = pywinrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], [we.mi_envelope(
        we.ACT_ENUM, we.WMI_URI, body=we.MI_ENUM_BODY, port=lab.http)])[0]
    check("pywinrm decrypts an encrypted Enumerate reply of about 500 KB",
          first[0] == "ok" and len(first[1]) > 400000, "%s %d %s" % (first[0], len(first[1]),
                                                                     first[1][:200]))
    s = Sealed(lab.http, "LAB\\" + ADMIN, lab.pw[ADMIN])
    s.login()
    st, text, how = s.send(we.mi_envelope(we.ACT_ENUM, we.WMI_URI, body=we.MI_ENUM_BODY,
                                          port=lab.http))
    seen, sizes, ok = set(), [], st == 200 and how == "sealed"
    for _ in range(100):
        root = we.parse(text)
        if root is None:
            ok = False
            break
        seen.update(we.sids(root))
        sizes.append(len(text))
        ctx = we.find_text(root, "EnumerationContext")
        if not ctx or we.find_all(root, "EndOfSequence"):
            break
        st, text, how = s.send(we.mi_envelope(we.ACT_PULL, we.WMI_URI, body=(
            "<n:Pull><n:EnumerationContext>%s</n:EnumerationContext>"
            "<n:MaxElements>32000</n:MaxElements></n:Pull>" % ctx), port=lab.http))
        if not (st == 200 and how == "sealed"):
            log("Pull: %d %s %s" % (st, how, text[:600]))
            ok = False
    check("all %d sessions through an encrypted Enumerate and %d Pulls on one connection"
          % (FIXTURE_SESSIONS, len(sizes) - 1), ok and len(seen) == FIXTURE_SESSIONS,
          "%d seen; reply sizes %r" % (len(seen), sizes[:6]))
    log("encrypted enumeration reply sizes: %r" % sizes)
    s.close()


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    lab.legacy = os.path.join(lab.dir, "openssl-legacy.cnf")
    with open(lab.legacy, "w") as f:
        f.write(ne.LEGACY_CNF)
    for user, args in ((ADMIN, ["--domain", "LAB"]), (USER, []), (U1, [])):
        rc, out, err = ne.user_cmd(lab, ["set", user] + args, lab.pw[user])
        if not check("rdms user set %s" % user, rc == 0, out + err):
            return
    c1 = lab.connect("e1", U1, "/client-hostname:SEALED1", "/size:800x600")
    s1 = we.wait_session(lab, U1)
    if not check("the session is up", s1 is not None):
        return
    lab.clients_of[s1] = c1
    audit = we.Audit(lab)
    test_pywinrm(lab, s1, audit)
    test_gssapi_client(lab, s1)
    test_cimxml(lab)
    test_utf16(lab, s1)
    test_bad_input(lab, s1, audit)
    test_switch_users(lab, s1, audit)
    test_disconnect(lab, s1, c1, audit)
    log("rdmsd log, encryption lines:\n" + "\n".join(
        l for l in lab.log().splitlines() if "encrypt" in l or "Negotiate" in l)[-3000:])
    test_large(lab)


def main():
    if not common.ready("test_ntlm_sealed_e2e", [RDMS, RDMSD], ["xfreerdp", "runuser"]):
        return 1
    try:
        import gssapi  # noqa: F401
    except ImportError:
        check("python3-gssapi is installed (make deps)", False)
        return finish()
    if not we.xrdp_lab_ready():
        return finish()
    return we.run_scenario(ne.Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
