#!/usr/bin/python3
"""test_ntlm_e2e.py -- Negotiate/NTLM authentication (issue 18, item 1)
against a running rdmsd serving REAL xrdp sessions.

Reuses test_wsman_e2e's lab (rdmsd on free loopback ports, the xrdp
back-end of lab.sh, accounts rdmsadm -- admin -- and rdmsusr) with an
NT-hash store made by `rdms user set` (password on stdin).  One real
session of rdmstest1 is opened with xfreerdp.

Checked:
  rdms user   set (stdin; --domain), list (--json), remove; the store is
              0600 and holds no password; a bad name is a usage error (2);
  python3-winrm, transport='ntlm' (raw NTLMSSP under Negotiate, 3 legs on
              one connection) over HTTPS: Identify, Enumerate (the real
              session), Get; wrong password, unknown user, wrong domain ->
              InvalidCredentialsError;
  curl --negotiate (SPNEGO through gss-ntlmssp) over HTTPS: Enumerate;
  http.client: 401 offers Basic and Negotiate, never NTLM; a truncated
              SPNEGO token and a bad base64 token -> 400; an AUTHENTICATE
              replayed on a new connection -> 400 (no handshake there);
              a plain body after Negotiate on HTTP -> 400 (allow_unencrypted
              = false: such requests must come encrypted, test_ntlm_sealed_e2e);
  authorisation and audit: the NTLM login maps to the local account -- a
              non-admin's Get of someone else's session is WBEM_E_ACCESS_DENIED
              and audited under that account's name, protocol wsman;
  privilege separation: the handshakes leave no rdmsd-ntlm process behind.
"""
import base64
import http.client
import json
import os
import ssl
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as common       # noqa: E402
import test_rdmsd_auth as lab_mod  # noqa: E402
import test_wsman_e2e as we       # noqa: E402
import test_xrdp_e2e as xe        # noqa: E402
from e2e_common import RDMS, RDMSD, check, finish, log, wait_for  # noqa: E402

U1 = we.U1
ADMIN, USER = lab_mod.ADMIN, lab_mod.USER
LEGACY_CNF = """openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
"""


class WithNtlmStore:
    """A lab (test_rdmsd_auth's or one derived from it) whose config names an
    NT-hash store in its directory (lab.store), for `rdms user set`."""

    def write_config(self, http_port=None):
        super().write_config(http_port)
        self.store = os.path.join(self.dir, "ntlm-users")
        with open(self.conf, "a") as f:
            f.write("ntlm_users = %s\n" % self.store)


class Lab(WithNtlmStore, we.Lab):
    """test_wsman_e2e's lab with an NT-hash store."""


def user_cmd(lab, args, password=None):
    p = subprocess.run([RDMS, "--config", lab.conf, "user"] + args, capture_output=True,
                       text=True, input=(password + "\n") if password is not None else "",
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def winrm(lab, user, password, body, https=True, encryption="auto"):
    """python3-winrm (Debian's /usr/bin/python3) with transport='ntlm', in a
    child (it needs OpenSSL's legacy provider for MD4).  (status, text)."""
    script = r"""
import sys, json
from winrm.protocol import Protocol
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError
p = Protocol(endpoint=sys.argv[1], transport="ntlm", username=sys.argv[2],
             password=sys.argv[3], server_cert_validation="ignore",
             message_encryption=sys.argv[4])
try:
    out = p.send_message(sys.stdin.read())
    print(json.dumps(["ok", out.decode() if isinstance(out, bytes) else out]))
except InvalidCredentialsError as e:
    print(json.dumps(["denied", str(e)]))
except WinRMTransportError as e:
    print(json.dumps(["transport", str(e)]))
except WinRMError as e:
    print(json.dumps(["fault", str(e)]))
except Exception as e:
    print(json.dumps(["error", "%s: %s" % (type(e).__name__, e)]))
"""
    url = ("https://127.0.0.1:%d/wsman" % lab.https) if https else \
        ("http://127.0.0.1:%d/wsman" % lab.http)
    # (pywinrm 0.3.0 lets these override server_cert_validation='ignore')
    env = {k: v for k, v in os.environ.items()
           if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env["OPENSSL_CONF"] = lab.legacy
    p = subprocess.run(["/usr/bin/python3", "-c", script, url, user, password, encryption],
                       input=body, capture_output=True, text=True, env=env, timeout=60)
    try:
        what, text = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "crash", p.stdout + p.stderr
    if isinstance(text, bytes):
        text = text.decode()
    return what, text


def https_conn(lab):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection("127.0.0.1", lab.https, timeout=30, context=ctx)


def post(c, body, auth):
    h = {"Content-Type": "application/soap+xml;charset=UTF-8"}
    if auth is not None:
        h["Authorization"] = auth
    c.request("POST", "/wsman", body=body.encode(), headers=h)
    r = c.getresponse()
    return r.status, r.msg.get_all("WWW-Authenticate") or [], r.read().decode(errors="replace")


def ntlm_negotiate():
    """A raw NTLM NEGOTIATE (flags: unicode, NTLM, always sign, extended, 128, 56, key exch),
    40 bytes with the version field, as gss-ntlmssp wants it."""
    flags = 0x00000001 | 0x00000200 | 0x00008000 | 0x00080000 | 0x20000000 | 0x80000000 | \
        0x40000000 | 0x02000000
    return (b"NTLMSSP\0" + (1).to_bytes(4, "little") + flags.to_bytes(4, "little") +
            bytes(16) + bytes([6, 1, 0, 0, 0, 0, 0, 15]))


def test_user_cli(lab):
    rc, out, err = user_cmd(lab, ["set", ADMIN, "--domain", "LAB"], lab.pw[ADMIN])
    check("rdms user set NAME --domain D (password on stdin)", rc == 0, out + err)
    rc, out, err = user_cmd(lab, ["set", USER], lab.pw[USER])
    check("rdms user set NAME (any domain)", rc == 0, out + err)
    rc, out, err = user_cmd(lab, ["set", U1], lab.pw[U1])
    check("rdms user set for the session's owner", rc == 0, out + err)
    st = os.stat(lab.store)
    with open(lab.store) as f:
        text = f.read()
    check("the store is root's, mode 0600", st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600,
          oct(st.st_mode))
    check("... and holds no password", all(lab.pw[u] not in text for u in (ADMIN, USER, U1)))
    rc, out, err = user_cmd(lab, ["list", "--json"])
    try:
        got = json.loads(out)
    except ValueError:
        got = None
    check("rdms user list --json names them with their domains",
          got is not None and {(g["User"], g["Domain"]) for g in got} ==
          {(ADMIN, "LAB"), (USER, ""), (U1, "")}, out + err)
    rc, out, err = user_cmd(lab, ["set", "no-such-account-x"], "pw")
    check("rdms user set of no local account fails (1)", rc == 1 and "no local account" in err,
          "rc=%d %s" % (rc, err))
    rc, out, err = user_cmd(lab, ["frob"])
    check("rdms user frob is a usage error (2)", rc == 2, "rc=%d %s" % (rc, err))
    rc, out, err = user_cmd(lab, ["set", "a", "b", "c"])
    check("rdms user set with extra arguments is a usage error (2)", rc == 2, "rc=%d" % rc)
    rc, out, err = user_cmd(lab, ["set", "tmpx", "--domain", "L:B"], "pw")
    rc2, _, _ = user_cmd(lab, ["remove", "nobody-here"])
    check("rdms user remove of no entry fails (1)", rc2 == 1, "rc=%d" % rc2)


def test_winrm(lab, s1):
    what, text = winrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], lab_mod.IDENTIFY)
    check("pywinrm ntlm over HTTPS: Identify", what == "ok" and "IdentifyResponse" in text,
          "%s %s" % (what, text[:300]))
    what, text = winrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], we.enum_req())
    ids = we.sids(we.parse(text)) if what == "ok" else None
    check("pywinrm ntlm over HTTPS: Enumerate finds the real session", ids is not None and
          s1 in ids, "%s %s" % (what, text[:300]))
    what, text = winrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], we.get_req(s1))
    check("pywinrm ntlm over HTTPS: Get of the session", what == "ok" and
          we.sids(we.parse(text)) == [s1] if what == "ok" else False, "%s %s" % (what, text[:300]))
    what, text = winrm(lab, U1, lab.pw[U1], we.get_req(s1))
    check("pywinrm ntlm: the owner (no domain sent) Gets their own session",
          what == "ok" and "Win32_VirtualDesktopSession" in text, "%s %s" % (what, text[:300]))
    for name, user, pw in (("wrong password", "LAB\\" + ADMIN, "wrong-" + lab.pw[ADMIN]),
                           ("unknown user", "LAB\\nosuchuser", lab.pw[ADMIN]),
                           ("wrong domain", "OTHER\\" + ADMIN, lab.pw[ADMIN])):
        what, text = winrm(lab, user, pw, we.get_req(s1))
        check("pywinrm ntlm, %s: InvalidCredentialsError (401)" % name, what == "denied",
              "%s %s" % (what, text[:200]))
    what, text = winrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], we.enum_req(), https=False,
                       encryption="never")
    check("pywinrm ntlm over HTTP without encryption: refused (400, allow_unencrypted)",
          what == "transport" and "400" in text, "%s %s" % (what, text[:200]))


def test_curl(lab, s1):
    d = tempfile.mkdtemp(prefix="ntlm-curl-")
    users = os.path.join(d, "client-users")
    with open(users, "w") as f:
        f.write("LAB:%s:%s\n" % (ADMIN, lab.pw[ADMIN]))
    os.chmod(users, 0o600)
    env = dict(os.environ, NTLM_USER_FILE=users)
    p = subprocess.run(["curl", "-sk", "--negotiate", "-u", ":", "-o", "-", "-w", "\n%{http_code}",
                        "-H", "Content-Type: application/soap+xml;charset=UTF-8",
                        "--data-binary", we.enum_req(),
                        "https://127.0.0.1:%d/wsman" % lab.https],
                       capture_output=True, text=True, env=env, timeout=60)
    body, _, code = p.stdout.rpartition("\n")
    ok = code == "200" and s1 in (we.sids(we.parse(body)) if "<" in body else [])
    check("curl --negotiate (SPNEGO) over HTTPS: Enumerate", ok, code + " " + body[:200] + p.stderr[-300:])
    os.unlink(users)
    os.rmdir(d)


def test_framing(lab, s1, audit):
    c = https_conn(lab)
    st, wa, _ = post(c, we.get_req(s1), None)
    check("401 offers Basic and Negotiate, not NTLM", st == 401 and "Negotiate" in wa and
          any(w.startswith("Basic") for w in wa) and not any(w.startswith("NTLM") for w in wa),
          "%d %r" % (st, wa))
    st, wa, text = post(c, we.get_req(s1), "Negotiate " + base64.b64encode(ntlm_negotiate()).decode())
    check("NEGOTIATE leg: 401 with the CHALLENGE, connection kept", st == 401 and
          len(wa) == 1 and wa[0].startswith("Negotiate TlRMTVNTUAAC"), "%d %r" % (st, wa))
    c.close()
    for name, tok in (("truncated SPNEGO token", base64.b64encode(b"\x60\x30\x06\x06\x2b").decode()),
                      ("bad base64", "TlRMTVNTUAABAAAA="),
                      ("a CHALLENGE sent back", "TlRMTVNTUAACAAAAAAAAAA==")):
        c = https_conn(lab)
        audit.mark()
        st, _, text = post(c, we.get_req(s1), "Negotiate " + tok)
        check("%s: 400, nothing executed" % name, st == 400 and audit.new() == [],
              "%d %s" % (st, text[:200]))
        c.close()
    # an AUTHENTICATE (raw NTLMSSP type 3) on a connection with no handshake
    auth3 = b"NTLMSSP\0" + (3).to_bytes(4, "little") + bytes(52)
    c = https_conn(lab)
    st, _, text = post(c, we.get_req(s1), "Negotiate " + base64.b64encode(auth3).decode())
    check("an AUTHENTICATE replayed on a new connection: 400 (out of order)",
          st == 400 and "out of order" in text, "%d %s" % (st, text[:200]))
    c.close()


def test_authz_audit(lab, s1, audit):
    audit.mark()
    what, text = winrm(lab, USER, lab.pw[USER], we.get_req(s1))
    check("a non-admin NTLM login's Get of someone else's session: WBEM_E_ACCESS_DENIED fault",
          what == "fault" and "2147749891" in text,
          "%s %s" % (what, text[:300]))
    rows = audit.new()
    check("... audited under the mapped local account, protocol wsman",
          any(r["user"] == USER and r["protocol"] == "wsman" and r["result"] != 0 for r in rows),
          repr(rows))


def ntlm_procs(running_only=False, parent=None):
    """PIDs of rdmsd-ntlm processes (RUNNING_ONLY: not zombies; PARENT: its children only)."""
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        name, rest = st[st.find("(") + 1:st.rfind(")")], st[st.rfind(")") + 2:].split()
        if name == "rdmsd-ntlm" and not (running_only and rest[0] == "Z") and \
                (parent is None or int(rest[1]) == parent):
            out.append(int(p))
    return out


def first_leg(lab):
    """A kept HTTPS connection with a handshake's first leg answered: (conn, status)."""
    c = https_conn(lab)
    st, wa, _ = post(c, lab_mod.IDENTIFY, "Negotiate " + base64.b64encode(ntlm_negotiate()).decode())
    return c, st


def test_slots(lab):
    """Half-done handshakes: given up when their client goes; at most 16 per address."""
    def ntlm_procs(running_only=False):
        return globals()["ntlm_procs"](running_only, parent=lab.proc.pid)
    wait_for(40, lambda: not ntlm_procs(running_only=True))
    c, st = first_leg(lab)
    held = len(ntlm_procs(running_only=True))
    c.close()
    check("a handshake whose client closes its connection after the first leg: its "
          "rdmsd-ntlm ends at once (not after 30 s)", st == 401 and held == 1 and
          wait_for(3, lambda: not ntlm_procs(running_only=True)),
          "status %d, %d running, then %r" % (st, held, ntlm_procs()))
    conns = [first_leg(lab) for _ in range(16)]
    over, st17 = first_leg(lab)
    check("16 half-done handshakes from one address are served; a 17th is refused (401)",
          all(st == 401 for _, st in conns) and st17 == 401 and
          len(ntlm_procs(running_only=True)) == 16 and
          "from this address" in lab.log(), "%r %d %d" % ([st for _, st in conns], st17,
                                                          len(ntlm_procs(running_only=True))))
    over.close()
    for c, _ in conns:
        c.close()
    check("... closing them frees every slot at once",
          wait_for(5, lambda: not ntlm_procs(running_only=True)), repr(ntlm_procs()))
    what, text = winrm(lab, "LAB\\" + ADMIN, lab.pw[ADMIN], lab_mod.IDENTIFY)
    check("... and a login works again", what == "ok", "%s %s" % (what, text[:200]))


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    lab.legacy = os.path.join(lab.dir, "openssl-legacy.cnf")
    with open(lab.legacy, "w") as f:
        f.write(LEGACY_CNF)
    c1 = lab.connect("n1", U1, "/client-hostname:NTLMCLIENT1", "/size:800x600")
    s1 = we.wait_session(lab, U1)
    if not check("the session is up", s1 is not None):
        return
    lab.clients_of[s1] = c1
    audit = we.Audit(lab)
    test_user_cli(lab)
    test_winrm(lab, s1)
    test_curl(lab, s1)
    test_framing(lab, s1, audit)
    test_authz_audit(lab, s1, audit)
    test_slots(lab)
    # a handshake abandoned after its first leg (test_framing): its process
    # exits within NTLM_RELAY_IDLE_S (30 s); completed and failed ones end at once
    check("an abandoned handshake's rdmsd-ntlm exits within 30 s",
          wait_for(40, lambda: not ntlm_procs(running_only=True)), repr(ntlm_procs()))
    log("rdmsd log, Negotiate lines:\n" + "\n".join(
        l for l in lab.log().splitlines() if "Negotiate" in l or "NTLM" in l)[-3000:])


def main():
    if not common.ready("test_ntlm_e2e", [RDMS, RDMSD], ["curl", "xfreerdp", "runuser"]):
        return 1
    if not we.xrdp_lab_ready():
        return finish()
    return we.run_scenario(Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
