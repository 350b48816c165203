#!/usr/bin/python3
"""test_rdmsd_auth.py -- rdmsd's transport, authentication, authorisation
and audit, against a running daemon with real PAM accounts and real clients
(Python's http.client/ssl and curl).

The test creates two accounts with fresh random passwords -- rdmsadm in the
admin group rdms-e2e-admins, rdmsusr not in it -- a PAM service
/etc/pam.d/rdms-e2e-auth (a copy of dist/pam.d/rdms), and runs
`rdmsd --foreground` ($RDMSD_BIN, default: next to $RDMS_BIN, else
build/rdmsd) on free loopback ports with a config, audit database and
socket in a temporary directory.  Sessions come from the fixture back-end.

Checked: 401 + Basic challenge without credentials and the anonymous
Identify exception; wrong and unknown passwords (401, delayed, logged);
good passwords over HTTP and HTTPS (self-signed certificate created on
first start, fingerprint logged); the Unix socket with peer credentials,
as root and as an ordinary user; admins see every session, users their
own; 400 for malformed Basic headers, 401 for other schemes, 404, 405,
413; keep-alive; method calls recorded in the audit database; /cimom on
the CIM-XML ports only (test_cimxml.py drives wbemcli there); SIGHUP;
"port in use"; SIGTERM removes the socket.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import base64
import hashlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import e2e_common as common  # (the PASS/FAIL counters)
from e2e_common import ROOT, RDMSD, check, free_port, log, summary

PAM_SERVICE = "rdms-e2e-auth"
PAM_FILE = "/etc/pam.d/" + PAM_SERVICE
ADMIN_GROUP = "rdms-e2e-admins"
ADMIN, USER = "rdmsadm", "rdmsusr"
VMHOST = "e2e-auth-host"
MAX_ENVELOPE = 16384
SOAP_TYPE = "application/soap+xml;charset=UTF-8"
CLASS = "Win32_VirtualDesktopSession"
WMI_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/"


# ---- SOAP requests ---------------------------------------------------------

ENVELOPE = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
            'xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
            'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
            '<s:Header>%s</s:Header><s:Body>%s</s:Body></s:Envelope>')


def header(action, uri, selectors=""):
    return ('<wsa:Action s:mustUnderstand="true">%s</wsa:Action>'
            '<wsa:To s:mustUnderstand="true">http://localhost/wsman</wsa:To>'
            '<wsman:ResourceURI s:mustUnderstand="true">%s</wsman:ResourceURI>'
            '<wsa:MessageID s:mustUnderstand="true">uuid:%s</wsa:MessageID>'
            '<wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/'
            'anonymous</wsa:Address></wsa:ReplyTo>%s'
            % (action, uri, secrets.token_hex(16), selectors))


IDENTIFY = ENVELOPE % ("", "<wsmid:Identify/>")
ENUMERATE = ENVELOPE % (
    header("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", WMI_URI + CLASS),
    "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>100</wsman:MaxElements>"
    "</wsen:Enumerate>")


def disconnect(session_id):
    sel = ('<wsman:SelectorSet><wsman:Selector Name="SessionId">%d</wsman:Selector>'
           '<wsman:Selector Name="VMHostName">%s</wsman:Selector></wsman:SelectorSet>'
           % (session_id, VMHOST))
    return ENVELOPE % (header(WMI_URI + CLASS + "/Disconnect", WMI_URI + CLASS, sel),
                       '<p:Disconnect_INPUT xmlns:p="%s%s"/>' % (WMI_URI, CLASS))


def session_users(body):
    """UserName of every instance in an EnumerateResponse, or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    users = []
    for el in root.iter():
        if el.tag.endswith("}" + CLASS):
            for child in el:
                if child.tag.endswith("}UserName"):
                    users.append(child.text or "")
    return sorted(users)


# ---- clients ---------------------------------------------------------------

def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def post(conn, body, auth=None, path="/wsman", method="POST", extra=None):
    """One request on CONN; returns (status, headers, body text, seconds)."""
    hdrs = {"Content-Type": SOAP_TYPE}
    if auth is not None:
        hdrs["Authorization"] = auth
    hdrs.update(extra or {})
    t0 = time.monotonic()
    conn.request(method, path, body=body.encode() if isinstance(body, str) else body,
                 headers=hdrs)
    resp = conn.getresponse()
    data = resp.read().decode("utf-8", "replace")
    return resp.status, resp.headers, data, time.monotonic() - t0


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=15)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(15)
        self.sock.connect(self.unix_path)


def curl(args, body, as_user=None):
    """Runs curl (as AS_USER when given); returns (status code, body)."""
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-H", "Content-Type: " + SOAP_TYPE,
           "--data-binary", "@-"] + args
    if as_user is not None:
        cmd = ["setpriv", "--reuid=" + as_user, "--regid=" + as_user, "--init-groups"] + cmd
    p = subprocess.run(cmd, input=body.encode(), capture_output=True, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    text, _, code = out.rpartition("\n")
    return (int(code) if code.isdigit() else 0), text


# ---- set-up ----------------------------------------------------------------

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


class Lab:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rdmsd-auth-")
        os.chmod(self.dir, 0o755)   # rdmsusr must reach the socket
        self.http, self.https = free_port(), free_port()
        self.cim_http, self.cim_https = free_port(), free_port()
        self.sock = os.path.join(self.dir, "run", "rdmsd.sock")
        self.audit = os.path.join(self.dir, "state", "audit.db")
        self.conf = os.path.join(self.dir, "rdmsd.conf")
        self.logf = os.path.join(self.dir, "rdmsd.log")
        self.fixture = os.path.join(self.dir, "sessions.txt")
        self.created_users = []
        self.created_group = False
        self.created_pam = False
        self.proc = None
        self.pw = {ADMIN: "A-" + secrets.token_urlsafe(12), USER: "U-" + secrets.token_urlsafe(12)}

    def accounts(self):
        if subprocess.run(["getent", "group", ADMIN_GROUP], capture_output=True).returncode:
            run(["groupadd", ADMIN_GROUP])
            self.created_group = True
        for user in (ADMIN, USER):
            if subprocess.run(["id", user], capture_output=True).returncode:
                run(["useradd", "-M", "-s", "/usr/sbin/nologin", user])
                self.created_users.append(user)
        run(["usermod", "-aG", ADMIN_GROUP, ADMIN])
        run(["chpasswd"], input=("%s:%s\n%s:%s\n" % (ADMIN, self.pw[ADMIN], USER,
                                                      self.pw[USER])).encode())
        if not os.path.exists(PAM_FILE):
            shutil.copy(os.path.join(ROOT, "dist", "pam.d", "rdms"), PAM_FILE)
            self.created_pam = True

    def write_config(self, http_port=None):
        with open(self.fixture, "w") as f:
            f.write("1 %s 0 client-a\n2 %s 0 client-u\n3 %s 4 -\n" % (ADMIN, USER, USER))
        with open(self.conf, "w") as f:
            f.write("backends = fixture\nfixture_file = %s\n" % self.fixture)
            f.write("vm_host_name = %s\nadmin_group = %s\npam_service = %s\n"
                    % (VMHOST, ADMIN_GROUP, PAM_SERVICE))
            f.write("listen_address = 127.0.0.1\nhttp_port = %d\n" % (http_port or self.http))
            f.write("https_listen_address = 127.0.0.1\nhttps_port = %d\n" % self.https)
            f.write("cimxml_http_port = %d\ncimxml_https_port = %d\n"
                    % (self.cim_http, self.cim_https))
            f.write("socket_path = %s\naudit_db = %s\nmax_envelope_size = %d\n"
                    % (self.sock, self.audit, MAX_ENVELOPE))

    def start(self):
        self.logfh = open(self.logf, "w")
        self.proc = subprocess.Popen([RDMSD, "--config", self.conf, "--foreground", "--debug"],
                                     stdout=self.logfh, stderr=subprocess.STDOUT)
        end = time.monotonic() + 15
        while time.monotonic() < end and self.proc.poll() is None:
            if "ready" in self.log():
                return True
            time.sleep(0.1)
        return False

    def log(self):
        try:
            with open(self.logf, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        for user in self.created_users:
            subprocess.run(["userdel", user], capture_output=True)
        if self.created_group:
            subprocess.run(["groupdel", ADMIN_GROUP], capture_output=True)
        if self.created_pam:
            os.unlink(PAM_FILE)
        shutil.rmtree(self.dir, ignore_errors=True)

    def setup(self):
        """accounts(), write_config() and start(); checks that rdmsd started."""
        self.accounts()
        self.write_config()
        return check("rdmsd starts", self.start(), self.log())


def other_config(lab):
    """LAB's config with another vm_host_name: the config of a CLI that is not
    the daemon's (issue 12, 4: bare ids are resolved by rdmsd)."""
    conf = os.path.join(lab.dir, "cli-other.conf")
    with open(lab.conf) as f:
        lines = [l for l in f if not l.startswith("vm_host_name")]
    with open(conf, "w") as f:
        f.writelines(lines + ["vm_host_name = not-the-daemons-name\n"])
    return conf


def read_audit(lab, columns):
    """COLUMNS of every row of LAB's audit database, oldest first; None (and a
    failed check) when it cannot be read."""
    try:
        db = sqlite3.connect("file:%s?mode=ro" % lab.audit, uri=True)
        rows = db.execute("SELECT %s FROM audit ORDER BY id" % columns).fetchall()
        db.close()
    except sqlite3.Error as e:
        check("audit database readable", False, e)
        return None
    return rows


# ---- the checks -------------------------------------------------------------

def test_anonymous(lab):
    log("anonymous requests")
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, hd, body, _ = post(c, IDENTIFY)
    check("Identify without credentials is answered (200)", st == 200, st)
    check("Identify answer is an IdentifyResponse", "IdentifyResponse" in body, body[:200])
    st, hd, body, _ = post(c, ENUMERATE)
    check("Enumerate without credentials gets 401", st == 401, st)
    check("401 carries WWW-Authenticate: Basic realm=\"WSMAN\"",
          hd.get("WWW-Authenticate") == 'Basic realm="WSMAN"', hd.get("WWW-Authenticate"))
    c.close()


def test_passwords(lab):
    log("passwords")
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, _, secs = post(c, ENUMERATE, basic(ADMIN, "wrong-" + lab.pw[ADMIN]))
    check("wrong password gets 401", st == 401, st)
    check("wrong password is answered after a delay (>= 1 s)", secs >= 1.0, "%.2f s" % secs)
    check("failed login is logged with user and address",
          re.search(r"login failed for '%s'" % ADMIN, lab.log()) and "127.0.0.1:" in lab.log())
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, _, _ = post(c, ENUMERATE, basic("no-such-user-e2e", "x"))
    check("unknown user gets 401", st == 401, st)
    st, _, _, _ = post(c, ENUMERATE, basic(ADMIN, ""))
    check("empty password gets 401", st == 401, st)
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, body, _ = post(c, ENUMERATE, basic(ADMIN, lab.pw[ADMIN]))
    check("good password over loopback HTTP gets 200", st == 200, "%s %s" % (st, body[:300]))
    check("the admin sees every session", session_users(body) == sorted([ADMIN, USER, USER]),
          session_users(body))
    # Keep-alive: a second request on the same connection, served from the
    # credential cache (fast).
    sock_before = c.sock
    st, _, body, secs = post(c, ENUMERATE, basic(USER, lab.pw[USER]))
    check("keep-alive: second request on the same connection", st == 200 and c.sock is sock_before,
          st)
    check("an ordinary user sees only their own sessions",
          session_users(body) == [USER, USER], session_users(body))
    st, _, _, secs = post(c, ENUMERATE, basic(USER, lab.pw[USER]))
    check("repeated credentials are answered quickly (cache)", st == 200 and secs < 1.0,
          "%s %.2f s" % (st, secs))
    c.close()


def test_https(lab):
    log("HTTPS")
    cert = os.path.join(os.path.dirname(lab.audit), "rdmsd-cert.pem")
    key = os.path.join(os.path.dirname(lab.audit), "rdmsd-key.pem")
    check("a self-signed certificate was created next to the audit database",
          os.path.exists(cert) and os.path.exists(key))
    if os.path.exists(key):
        check("its key is mode 0600", (os.stat(key).st_mode & 0o777) == 0o600,
              oct(os.stat(key).st_mode))
    if os.path.exists(cert):
        with open(cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        fp = ":".join("%02X" % b for b in hashlib.sha256(der).digest())
        check("its SHA-256 fingerprint is logged", fp in lab.log(), fp)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", lab.https, timeout=15, context=ctx)
    st, _, body, _ = post(c, ENUMERATE, basic(USER, lab.pw[USER]), path="/wsman/")
    check("Basic over HTTPS (/wsman/) gets 200", st == 200, st)
    check("TLS 1.2 or newer", c.sock is not None and c.sock.version() in ("TLSv1.2", "TLSv1.3"),
          c.sock.version() if c.sock else None)
    c.close()
    code, _ = curl(["-k", "-u", "%s:%s" % (ADMIN, lab.pw[ADMIN]),
                    "https://127.0.0.1:%d/wsman" % lab.https], ENUMERATE)
    check("curl -k over HTTPS gets 200", code == 200, code)
    before = len(lab.log())
    code, _ = curl(["https://127.0.0.1:%d/wsman" % lab.https], ENUMERATE)
    check("curl without -k refuses the self-signed certificate", code == 0, code)
    # Issue 12 (14): logged once, as what it is, with the client -- not as
    # libmicrohttpd's "received handshake message out of context".
    for client in ("curl", "python"):
        if client == "python":
            before = len(lab.log())
            try:
                ssl.create_default_context().wrap_socket(
                    socket.create_connection(("127.0.0.1", lab.https), timeout=15),
                    server_hostname="localhost").close()
                refused = False
            except ssl.SSLCertVerificationError:
                refused = True
            check("python's default ssl context refuses the certificate", refused)
        common.wait_for(5, lambda: "TLS handshake" in lab.log()[before:])
        new = lab.log()[before:]
        lines = [l for l in new.splitlines() if "TLS handshake" in l]
        check("%s's refusal is logged once, with the client's address" % client,
              len(lines) == 1 and re.search(r"TLS handshake with 127\.0\.0\.1:\d+ failed", lines[0]),
              new)
        check("... as the client not trusting the certificate",
              len(lines) == 1 and "this server's certificate" in lines[0] and "trust" in lines[0],
              lines)
        check("... and not as libmicrohttpd's error", "libmicrohttpd" not in new, new)


def test_unix_socket(lab):
    log("Unix socket")
    st = os.stat(lab.sock)
    check("socket is mode 0666", (st.st_mode & 0o777) == 0o666, oct(st.st_mode))
    c = UnixHTTPConnection(lab.sock)
    st, _, body, _ = post(c, ENUMERATE)
    check("root over the socket, no password: 200", st == 200, st)
    check("root sees every session", session_users(body) == sorted([ADMIN, USER, USER]),
          session_users(body))
    c.close()
    code, body = curl(["--unix-socket", lab.sock, "http://localhost/wsman"], ENUMERATE,
                      as_user=USER)
    check("rdmsusr over the socket (curl, peer credentials): 200", code == 200, code)
    check("rdmsusr over the socket sees only their sessions",
          session_users(body) == [USER, USER], session_users(body))
    code, body = curl(["--unix-socket", lab.sock, "http://localhost/wsman"], ENUMERATE,
                      as_user=ADMIN)
    check("rdmsadm over the socket is an admin", session_users(body) == sorted([ADMIN, USER, USER]),
          session_users(body))
    code, _ = curl(["--unix-socket", lab.sock, "-H", "Authorization: Basic !!!",
                    "http://localhost/wsman"], ENUMERATE, as_user=USER)
    check("the socket ignores Authorization headers", code == 200, code)


def test_protocol_errors(lab):
    log("HTTP errors")
    auth = basic(ADMIN, lab.pw[ADMIN])
    cases = [
        ("Basic with bad base64 gets 400", "Basic !!!!", 400),
        ("Basic without a colon gets 400", "Basic " + base64.b64encode(b"rdmsadm").decode(), 400),
        ("Basic with a NUL byte gets 400",
         "Basic " + base64.b64encode(b"rdmsadm\0:x").decode(), 400),
        ("Basic with non-canonical padding gets 400", "Basic dTp=", 400),
        ("overlong Basic header gets 400", "Basic " + "QUFB" * 400, 400),
        ("empty Basic gets 400", "Basic", 400),
        ("an NTLM NEGOTIATE message gets 401", "Negotiate "
         "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==", 401),
    ]
    for what, value, want in cases:
        c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
        st, hd, _, _ = post(c, ENUMERATE, value)
        check(what, st == want, st)
        if want == 401 and value.startswith("Negotiate"):
            # the handshake's next leg (MS-WSMV): the CHALLENGE in the client's own scheme
            check("... with the server's CHALLENGE", (hd.get("WWW-Authenticate") or "")
                  .startswith("Negotiate TlRMTVNTUAAC"), hd.get_all("WWW-Authenticate"))
        elif want == 401:
            check("... with the Basic challenge", hd.get("WWW-Authenticate") == 'Basic realm="WSMAN"')
        c.close()
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, _, _ = post(c, ENUMERATE, auth, path="/other")
    check("other paths get 404", st == 404, st)
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, hd, _, _ = post(c, "", auth, method="GET")
    check("GET gets 405 with Allow: POST", st == 405 and hd.get("Allow") == "POST", st)
    big = ENUMERATE.replace("<s:Body>", "<s:Body><!--" + "x" * (MAX_ENVELOPE + 10) + "-->")
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, _, _ = post(c, big, auth)
    check("a body over max_envelope_size gets 413", st == 413, st)
    code, _ = curl(["-H", "Transfer-Encoding: chunked", "-u", "%s:%s" % (ADMIN, lab.pw[ADMIN]),
                    "http://127.0.0.1:%d/wsman" % lab.http], big)
    check("a chunked body over max_envelope_size gets 413", code == 413, code)
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, _, _ = post(c, ENUMERATE, auth)
    check("the daemon still serves after all that", st == 200, st)


def test_audit(lab):
    log("audit")
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, body, _ = post(c, disconnect(1), basic(USER, lab.pw[USER]))
    check("rdmsusr's Disconnect of rdmsadm's session is answered", st in (200, 500), st)
    st, _, body, _ = post(c, disconnect(2), basic(USER, lab.pw[USER]))
    check("rdmsusr's Disconnect of their own session succeeds", st == 200, "%s %s" % (st, body[:300]))
    c.close()
    rows = read_audit(lab, "time, user, uid, source, protocol, target, method, result, detail")
    if rows is None:
        return
    mine = [r for r in rows if r[1] == USER and r[6] == "Disconnect"]
    check("both method calls are in the audit database", len(mine) >= 2, rows)
    if len(mine) >= 2:
        t, user, uid, source, proto, target, method, result, detail = mine[-1]
        check("audit time is ISO 8601 UTC",
              re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", t) is not None, t)
        import pwd
        check("audit uid is the caller's", uid == pwd.getpwnam(USER).pw_uid, uid)
        check("audit source is ip:port", re.fullmatch(r"127\.0\.0\.1:\d+", source) is not None, source)
        check("audit protocol is wsman", proto == "wsman", proto)
        check("audit target names the session", "2" in target, target)
        check("the successful call has result 0", result == 0, result)
        check("the refused call has result WBEM_E_ACCESS_DENIED",
              mine[-2][7] == 0x80041003, hex(mine[-2][7]))
        check("... and its detail says whose session it was (for the audit only)",
              "is %s's" % ADMIN in mine[-2][8], mine[-2][8])
    st = os.stat(lab.audit)
    check("audit database is mode 0600", (st.st_mode & 0o777) == 0o600, oct(st.st_mode))


def test_cimxml(lab):
    """The transport side of CIM-XML; test_cimxml.py drives wbemcli."""
    log("CIM-XML listeners")
    c = http.client.HTTPConnection("127.0.0.1", lab.cim_http, timeout=15)
    cim = {"CIMOperation": "MethodCall", "Content-Type": 'application/xml; charset="utf-8"'}
    st, hd, _, _ = post(c, "<CIM/>", extra=cim, path="/cimom")
    check("CIM-XML without credentials gets 401 with the Basic challenge",
          st == 401 and hd.get("WWW-Authenticate") == 'Basic realm="WSMAN"', st)
    st, hd, _, _ = post(c, "<CIM/>", basic(ADMIN, lab.pw[ADMIN]), extra=cim, path="/cimom")
    check("a malformed CIM-XML request gets 400 with CIMError",
          st == 400 and hd.get("CIMError") is not None and
          hd.get("CIMOperation") == "MethodResponse", "%s %s" % (st, dict(hd)))
    c = http.client.HTTPConnection("127.0.0.1", lab.cim_http, timeout=15)
    st, _, _, _ = post(c, ENUMERATE, basic(ADMIN, lab.pw[ADMIN]))
    check("the CIM-XML port does not serve /wsman (404)", st == 404, st)
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, _, _ = post(c, "<CIM/>", basic(ADMIN, lab.pw[ADMIN]), path="/cimom")
    check("the WS-Man port does not serve /cimom (404)", st == 404, st)
    c = http.client.HTTPConnection("127.0.0.1", lab.cim_http, timeout=15)
    st, _, _, _ = post(c, "<CIM/>", basic(ADMIN, lab.pw[ADMIN]), path="/cimom", method="M-POST")
    check("M-POST gets 501", st == 501, st)


def test_signals(lab):
    log("signals and start-up errors")
    p = subprocess.run([RDMSD, "--config", lab.conf, "--foreground"], capture_output=True,
                       timeout=30)
    err = p.stderr.decode(errors="replace")
    check("a second rdmsd on the same ports exits non-zero", p.returncode != 0, p.returncode)
    check("... saying the address is in use", "already in use" in err, err)
    bad = os.path.join(lab.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write("http_port = many\n")
    p = subprocess.run([RDMSD, "--config", bad, "--foreground"], capture_output=True, timeout=30)
    check("a bad config exits non-zero naming file and line",
          p.returncode != 0 and "bad.conf:1" in p.stderr.decode(errors="replace"), p.stderr)
    p = subprocess.run([RDMSD, "--config", os.path.join(lab.dir, "missing.conf")],
                       capture_output=True, timeout=30)
    check("a missing --config file exits non-zero", p.returncode != 0, p.returncode)

    new_http = free_port()
    lab.write_config(http_port=new_http)
    lab.proc.send_signal(signal.SIGHUP)
    ok = False
    end = time.monotonic() + 10
    while time.monotonic() < end and not ok:
        try:
            c = http.client.HTTPConnection("127.0.0.1", new_http, timeout=15)
            st, _, _, _ = post(c, ENUMERATE, basic(ADMIN, lab.pw[ADMIN]))
            ok = st == 200
        except OSError:
            time.sleep(0.2)
    check("SIGHUP with a new http_port serves on the new port", ok)
    try:
        c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=5)
        post(c, ENUMERATE)
        check("... and no longer on the old one", False)
    except OSError:
        check("... and no longer on the old one", True)
    c = UnixHTTPConnection(lab.sock)
    st, _, _, _ = post(c, ENUMERATE)
    check("the Unix socket kept serving across SIGHUP", st == 200, st)
    c.close()
    rc = lab.stop()
    check("SIGTERM: exit status 0", rc == 0, rc)
    check("SIGTERM: the socket file is removed", not os.path.exists(lab.sock))


def close_lab(lab):
    """Shows rdmsd's log when anything failed, then removes the lab."""
    if common.failed:
        log("---- rdmsd log ----\n" + lab.log()[-4000:])
    lab.cleanup()


def main():
    if not common.ready("test_rdmsd_auth", [RDMSD]):
        return 1
    lab = Lab()
    try:
        if not lab.setup():
            return 1
        common.run_groups((test_anonymous, test_passwords, test_https, test_unix_socket,
                           test_protocol_errors, test_audit, test_cimxml, test_signals), lab)
    finally:
        close_lab(lab)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
