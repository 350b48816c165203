#!/usr/bin/python3
"""test_wsman_e2e.py -- WS-Management end to end: real clients against a
running rdmsd that serves REAL xrdp sessions (never the fixture back-end).

Needs the lab of lab.sh running (run.sh starts it).  The test reuses the
rdmsd lab of test_rdmsd_auth.py (PAM accounts rdmsadm -- admin group -- and
rdmsusr with random passwords, a test PAM service, rdmsd on free loopback
ports, audit database and socket in a temporary directory) and points its
config at the xrdp lab instead of the fixture.  Two real sessions are
opened with xfreerdp: rdmstest1 (Xorg) and rdmstest2 (Xvnc); the lab users
authenticate through PAM with their lab passwords, so they are the session
owners of the authorisation matrix.

Checked, against /proc and the clients' exit codes as well as the replies:
  wsl        Identify (with and without credentials), Enumerate (plain with
             Pulls, optimized, WQL and CQL filters, EPR and ObjectAndEPR
             modes), Get, Invoke SendMessage (EPR file) and Disconnect
             (-filter), over HTTP and HTTPS, and the fault paths (unknown
             instance, bad selector, bad WQL);
  MI/PowerShell-style requests (http.client and python3-winrm's
             Protocol.send_message): DMTF ResourceURI + __cimnamespace,
             /wsman/, upper-case wsa:To, MS OptionSet and headers, wildcard
             WQL URI, empty-body invoke, default-namespace SOAP with numeric
             MessageIDs, and a re-sent MessageID (after an invoke and after a
             fault) that does not run the method twice;
  curl       over HTTPS (-k): good, bad and missing credentials, a non-admin
             acting on someone else's session;
  the authorisation matrix: callers root (Unix socket), admin, owner, other
             user, wrong password, none x enumerate, get, Disconnect,
             Logoff, SendMessage -- results and the audit rows each leaves
             (SQLite, and `rdms audit --json`); cached replies and
             enumeration contexts belong to their caller; bad arguments are
             refused (and audited) before anything runs;
  the lifecycle: Disconnect drops the real xfreerdp (exit 12), session and
             X server survive with ConnectState 4, the reconnect keeps the
             SessionId (ConnectState 0), Logoff ends the session; a second
             Disconnect of the disconnected session is no fault but
             ReturnValue 2147749910 in _OUTPUT with its reason in the
             response header rdms:ReturnValueText (http.client, pywinrm, wsl,
             curl), which the CLI prints through rdmsd as --direct does;
  the rdms CLI without --direct: Unix socket as root (list, disconnect,
             logoff) and as non-admin users (runuser), and
             --host https://... -u USER --insecure with RDMS_PASSWORD.

Everything created is removed at the end: sessions (logged off), clients,
accounts, PAM file, rdmsd and its directory.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import http.client
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402  (check/log/summary, /proc, polling)
import test_rdmsd_auth as lab_mod  # noqa: E402  (the rdmsd lab: accounts, config, daemon)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: /proc truth, clients)
from e2e_common import (RDMS, RDMSD, alive, check, finish, log, wait_for,  # noqa: E402
                        window_on)

ADMIN, USER, CLASS = lab_mod.ADMIN, lab_mod.USER, lab_mod.CLASS
U1, U2 = "rdmstest1", "rdmstest2"           # lab.sh's users, sessions s1 and s2
VMHOST = xe.VMHOST
NS = "root/cimv2/rdms"
WMI_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/" + CLASS
WILDCARD_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/*"
DMTF_URI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/" + CLASS
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
ANON = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
ACT_ENUM = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
ACT_PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
ACT_GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
RDMS_NS = "urn:rdms:wsman:1"   # rdms's response headers (ReturnValueText)
ACTIVE, DISCONNECTED = xe.ACTIVE, xe.DISCONNECTED
E_NOT_FOUND, E_ACCESS_DENIED, E_INVALID_OPERATION = 0x80041002, 0x80041003, 0x80041016
UNIX = "unix"                               # send()'s caller "root over the Unix socket"


def pw_of(user):
    """A lab user's password, as lab.sh sets it."""
    p = subprocess.run([xe.LABSH, "password", user], capture_output=True, text=True)
    return p.stdout.strip()


# ---- the rdmsd lab, on the xrdp back-end ---------------------------------------

class Lab(lab_mod.Lab):
    """test_rdmsd_auth's lab with the xrdp back-end of lab.sh's config."""

    def __init__(self):
        super().__init__()
        self.pw.update({U1: pw_of(U1), U2: pw_of(U2)})
        self.clients = []       # lab.sh client names started here
        self.clients_of = {}    # SessionId -> the name of its current client
        self.sessions = {}      # SessionId -> user, of the sessions started here

    def write_config(self, http_port=None):
        super().write_config(http_port)
        # lab.sh's settings, but only the xrdp back-end: never the fixture
        # (nor any other back-end the lab may also serve)
        with open(xe.CONF) as f:
            xrdp = [l for l in f if l.strip() and not l.startswith("#") and
                    l.split("=")[0].strip() not in ("backends", "fixture_file")]
        mine = {l.split("=")[0].strip() for l in xrdp} | {"backends", "fixture_file"}
        with open(self.conf) as f:
            lines = [l for l in f if l.split("=")[0].strip() not in mine]
        lines += xrdp + ["backends = xrdp\n"]
        with open(self.conf, "w") as f:
            f.writelines(lines)

    def connect(self, name, user, *extra):
        name = "ws-" + name
        self.clients.append(name)
        xe.connect(name, user, *extra)
        return name

    def mine(self):
        """The sessions started here that still run."""
        return [sid for sid, info in xe.truth().items()
                if self.sessions.get(sid) == info.get("user")]

    def cleanup(self):
        # a failed test may leave sessions: log off ours (rdms --direct on the
        # lab's config), then stop our clients by PID
        for sid in self.mine():
            subprocess.run([RDMS, "--direct", "--config", xe.CONF, "logoff", str(sid)],
                           capture_output=True, timeout=60)
        wait_for(10, lambda: not self.mine())
        for name in self.clients:
            pid = xe.lab_pid("client-" + name)
            if alive(pid):
                os.kill(pid, 15)
                if not wait_for(5, lambda: not alive(pid)):
                    os.kill(pid, 9)
            if wait_for(5, lambda: not alive(pid)):
                # gone: its PID file must not point lab.sh stop at a reused PID
                for ext in (".pid", ".rc"):
                    try:
                        os.unlink(os.path.join(xe.RUN, "client-%s%s" % (name, ext)))
                    except OSError:
                        pass
        super().cleanup()


# ---- requests --------------------------------------------------------------------

def conn(lab, https=False):
    if https:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection("127.0.0.1", lab.https, timeout=60, context=ctx)
    return http.client.HTTPConnection("127.0.0.1", lab.http, timeout=60)


def send(lab, body, user=ADMIN, password=None, https=False, path="/wsman", headers=None,
         c=None):
    """One POST; USER None: no credentials; UNIX: over the Unix socket as root.
    Returns (HTTP status, body text)."""
    auth = None
    if user is not None and user != UNIX:
        auth = lab_mod.basic(user, password if password is not None else lab.pw[user])
    own = c is None
    if own:
        c = lab_mod.UnixHTTPConnection(lab.sock) if user == UNIX else conn(lab, https)
    try:
        st, _, text, _ = lab_mod.post(c, body, auth, path=path, extra=headers)
    finally:
        if own:
            c.close()
    return st, text


def wsl_envelope(action, uri, selectors=(), body="", msgid=None):
    """A request as wsl writes it (prefixes s/wsa/wsman/wsen, bare UUID)."""
    sel = "".join('<wsman:Selector Name="%s">%s</wsman:Selector>' % kv for kv in selectors)
    return ('<?xml version="1.0"?><s:Envelope xmlns:s="%s" '
            'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
            'xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Header>'
            '<wsa:Action s:mustUnderstand="true">%s</wsa:Action>'
            '<wsa:To s:mustUnderstand="true">http://127.0.0.1/wsman</wsa:To>'
            '<wsman:ResourceURI s:mustUnderstand="true">%s</wsman:ResourceURI>'
            '<wsa:MessageID s:mustUnderstand="true">%s</wsa:MessageID>'
            '<wsa:ReplyTo><wsa:Address>%s</wsa:Address></wsa:ReplyTo>%s</s:Header>'
            '<s:Body>%s</s:Body></s:Envelope>'
            % (SOAP_NS, action, uri, msgid or str(uuid.uuid4()), ANON,
               "<wsman:SelectorSet>%s</wsman:SelectorSet>" % sel if sel else "", body))


ENUM_ALL = ("<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>100"
            "</wsman:MaxElements></wsen:Enumerate>")


def keys(sid):
    return [("VMHostName", VMHOST), ("SessionId", str(sid))]


def enum_req():
    return wsl_envelope(ACT_ENUM, WMI_URI, body=ENUM_ALL)


def get_req(sid):
    return wsl_envelope(ACT_GET, WMI_URI, keys(sid))


def invoke_req(sid, method, args=None):
    inner = "".join("<p:%s>%s</p:%s>" % (k, v, k) for k, v in (args or {}).items())
    return wsl_envelope(WMI_URI + "/" + method, WMI_URI, keys(sid),
                        '<p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT>'
                        % (method, WMI_URI, inner, method))


# MI client (PowerShell Get-CimInstance / Invoke-CimMethod) style, protocols.md 4.4
MI_OPTIONS = ('<w:OptionSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
              's:mustUnderstand="true">'
              '<w:Option Name="__MI_CallbackRegistration" Type="xs:unsignedInt">0</w:Option>'
              '<w:Option Name="wmiarray:__MI_OPERATIONOPTIONS_CHANNELVALUE" '
              'Type="xs:unsignedInt">1</w:Option>'
              '<w:Option Name="wmi:__MI_OPERATIONOPTIONS_WRITEERRORMODE" '
              'Type="xs:unsignedInt">1</w:Option>'
              '<w:Option Name="msftwinrm:UsePreciseArrays" Type="xs:boolean">true</w:Option>'
              '</w:OptionSet>')
MI_HEADERS = {"Connection": "Keep-Alive", "User-Agent": "Microsoft WinRM Client"}


def mi_envelope(action, uri, selectors=(), body="", msgid=None, options=MI_OPTIONS,
                ns_selector=True, port=5985):
    sel = ([("__cimnamespace", NS)] if ns_selector else []) + list(selectors)
    sel = "".join('<w:Selector Name="%s">%s</w:Selector>' % kv for kv in sel)
    return ('<s:Envelope xmlns:s="%s" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
            'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" '
            'xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"><s:Header>'
            '<a:To>HTTP://127.0.0.1:%d/wsman/</a:To>'
            '<w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>'
            '<a:ReplyTo><a:Address s:mustUnderstand="true">%s</a:Address></a:ReplyTo>'
            '<a:Action s:mustUnderstand="true">%s</a:Action>'
            '<w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>'
            '<a:MessageID>%s</a:MessageID>'
            '<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>'
            '<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>'
            '<p:SessionId s:mustUnderstand="false">uuid:%s</p:SessionId>'
            '<p:OperationID s:mustUnderstand="false">uuid:%s</p:OperationID>'
            '<p:SequenceId s:mustUnderstand="false">1</p:SequenceId>'
            '%s%s<w:OperationTimeout>PT1M30S</w:OperationTimeout></s:Header>'
            '<s:Body>%s</s:Body></s:Envelope>'
            % (SOAP_NS, port, uri, ANON, action, msgid or "uuid:%s" % uuid.uuid4(),
               uuid.uuid4(), uuid.uuid4(),
               "<w:SelectorSet>%s</w:SelectorSet>" % sel if sel else "", options or "", body))


MI_ENUM_BODY = ("<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>"
                "<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode></n:Enumerate>")


def mi_wql(query):
    return ('<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>'
            '<w:Filter Dialect="%s">%s</w:Filter></n:Enumerate>' % (WQL, query))


def npm_envelope(action, uri, selectors=(), body="", msgid="0"):
    """The npm wsman-messages builder: SOAP in the default namespace, numeric ids."""
    sel = "".join('<w:Selector Name="%s">%s</w:Selector>' % kv for kv in selectors)
    return ('<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="%s" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
            'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><Header>'
            '<a:Action>%s</a:Action><a:To>/wsman</a:To><w:ResourceURI>%s</w:ResourceURI>'
            '<a:MessageID>%s</a:MessageID><a:ReplyTo><a:Address>%s</a:Address></a:ReplyTo>'
            '<w:OperationTimeout>PT60S</w:OperationTimeout>%s</Header><Body>%s</Body></Envelope>'
            % (SOAP_NS, action, uri, msgid, ANON,
               "<w:SelectorSet>%s</w:SelectorSet>" % sel if sel else "", body))


# ---- replies ---------------------------------------------------------------------

def local(tag):
    return tag.rsplit("}", 1)[-1]


def parse(text):
    try:
        return ET.fromstring(text.encode() if isinstance(text, str) else text)
    except ET.ParseError:
        return None


def find_all(root, name):
    return [] if root is None else [e for e in root.iter() if local(e.tag) == name]


def find_text(root, name):
    els = find_all(root, name)
    return els[0].text if els else None


def instances(root):
    """Every Win32_VirtualDesktopSession in a reply: {property: text or None}."""
    out = []
    for el in find_all(root, CLASS):
        d = {}
        for child in el:
            nil = child.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
            d[local(child.tag)] = None if nil else (child.text or "")
        d["_ns"] = el.tag[1:].split("}")[0] if el.tag.startswith("{") else ""
        out.append(d)
    return out


def sids(root):
    return sorted(int(i["SessionId"]) for i in instances(root))


def epr_selectors(root):
    """[{selector name: value}] of every wsa:EndpointReference."""
    out = []
    for epr in find_all(root, "EndpointReference"):
        out.append({s.get("Name"): s.text for s in find_all(epr, "Selector")})
    return out


def fault(root):
    """(subcode, WSManFault Code, CIMStatusCode) of a SOAP fault, or None."""
    if root is None or not find_all(root, "Fault"):
        return None
    sub = None
    for s in find_all(root, "Subcode"):
        sub = find_text(s, "Value")
    wf = find_all(root, "WSManFault")
    code = int(wf[0].get("Code")) if wf and (wf[0].get("Code") or "").isdigit() else None
    cim = find_text(root, "CIMStatusCode")
    return sub, code, int(cim) if cim and cim.isdigit() else None


def return_value(root, method):
    for out in find_all(root, method + "_OUTPUT"):
        rv = find_text(out, "ReturnValue")
        return int(rv) if rv is not None and rv.isdigit() else None
    return None


def return_value_text(root):
    """(text, s:mustUnderstand) of the response header rdms:ReturnValueText
    -- the reason of a ReturnValue other than 0 -- or None."""
    if root is None:
        return None
    for el in root.iter("{%s}ReturnValueText" % RDMS_NS):
        return el.text or "", el.get("{%s}mustUnderstand" % SOAP_NS)
    return None


def is_fault(st, text, subcode, code=None):
    f = fault(parse(text))
    return (st == 500 and f is not None and (f[0] or "").endswith(subcode.split(":")[-1]) and
            (code is None or f[1] == code))


# ---- the system ------------------------------------------------------------------

def ws_sessions(lab):
    """{SessionId: instance} as the admin sees them over WS-Man."""
    st, text = send(lab, enum_req())
    root = parse(text)
    if st != 200:
        return {}
    return {int(i["SessionId"]): i for i in instances(root)}


def state(lab, sid):
    s = ws_sessions(lab).get(sid)
    return int(s["ConnectState"]) if s else None


def active_session(lab, user):
    for sid, s in ws_sessions(lab).items():
        if s["UserName"] == user and int(s["ConnectState"]) == ACTIVE:
            return sid
    return None


def wait_session(lab, user):
    """The SessionId of USER's session once it is enumerated Active; noted
    as one of ours, for the clean-up."""
    sid = wait_for(30, lambda: active_session(lab, user), step=0.3)
    if sid:
        lab.sessions[sid] = user
    return sid


def client_gone(name):
    """The exit status of client NAME once it has ended (None: still running)."""
    wait_for(15, lambda: xe.client_rc(name) is not None)
    return xe.client_rc(name)


def window(user, display, title):
    return bool(wait_for(10, lambda: window_on(user, display, title), step=0.3))


class Audit:
    """The audit rows since the last mark(), read with sqlite3."""

    def __init__(self, lab):
        self.lab, self.seen = lab, 0

    def rows(self):
        try:
            db = sqlite3.connect("file:%s?mode=ro" % self.lab.audit, uri=True)
            try:
                rows = db.execute("SELECT id, time, user, uid, source, protocol, target, method,"
                                  " result, detail FROM audit ORDER BY id").fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            return []
        names = ("id", "time", "user", "uid", "source", "protocol", "target", "method",
                 "result", "detail")
        return [dict(zip(names, r)) for r in rows]

    def mark(self):
        self.seen = len(self.rows())

    def new(self):
        rows = self.rows()
        out, self.seen = rows[self.seen:], len(rows)
        return out

    def expect(self, what, want):
        """WANT: [(user, protocol, sid, method, result)] -- exactly these new rows."""
        got = self.new()
        summary = [(r["user"], r["protocol"], r["method"], r["result"]) for r in got]
        ok = len(got) == len(want)
        for r, (user, proto, sid, method, result) in zip(got, want):
            ok = ok and (r["user"], r["protocol"], r["method"], r["result"]) == \
                (user, proto, method, result)
            ok = ok and ("SessionId=%d" % sid) in r["target"] and VMHOST in r["target"]
        check("audit: %s" % what, ok, "got %r, want %r" % (summary, want))
        return got


# ---- wsl ---------------------------------------------------------------------------

class Wsl:
    """Runs the wsl tools in a private HOME/working directory (its config,
    history and response files go there)."""

    def __init__(self, lab, user, password, https=False, anonymous=False):
        self.dir = tempfile.mkdtemp(prefix="wsl-", dir=lab.dir)
        self.env = {"PATH": "/usr/bin:/bin", "HOME": self.dir, "LANG": "C",
                    "WSENDPOINT": "127.0.0.1:%d" % (lab.https if https else lab.http),
                    "WSUSER": user, "WSPASS": password, "KEEPHISTORY": "0", "OUTLEVEL": "1"}
        if not https:
            self.env["WSNOSSL"] = "true"
        if anonymous:
            # curl --anyauth sends no credentials until challenged: an
            # Identify, served anonymously, is then never challenged
            with open(os.path.join(self.dir, ".curlrc"), "w") as f:
                f.write("anyauth\n")

    def run(self, tool, *args):
        """(exit code, [parsed replies in order], stdout)."""
        for n in os.listdir(self.dir):
            if n.startswith("response") and n.endswith(".xml"):
                os.unlink(os.path.join(self.dir, n))
        try:
            p = subprocess.run([tool] + list(args), cwd=self.dir, env=self.env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
        except subprocess.TimeoutExpired:
            return -1, [], "timed out"
        files = sorted((n for n in os.listdir(self.dir)
                        if n.startswith("response-") and n.endswith(".xml")),
                       key=lambda n: int(n[len("response-"):-4]))
        replies = []
        for n in files:
            with open(os.path.join(self.dir, n), "rb") as f:
                replies.append(parse(f.read()))
        return p.returncode, replies, p.stdout.decode("utf-8", "replace")

    def last(self):
        with open(os.path.join(self.dir, "response.xml"), "rb") as f:
            return parse(f.read())


def write_epr(directory, sid):
    """An EPR file for wslinvoke -inst, one element a line as wsl reads it."""
    path = os.path.join(directory, "epr-%d.xml" % sid)
    with open(path, "w") as f:
        f.write('<a:EndpointReference xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
                ' xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">\n'
                '<a:ReferenceParameters>\n<wsman:ResourceURI>%s</wsman:ResourceURI>\n'
                '<wsman:SelectorSet>\n<wsman:Selector Name="SessionId">%d</wsman:Selector>\n'
                '<wsman:Selector Name="VMHostName">%s</wsman:Selector>\n</wsman:SelectorSet>\n'
                '</a:ReferenceParameters>\n</a:EndpointReference>\n' % (WMI_URI, sid, VMHOST))
    return path


def all_instances(replies):
    out = []
    for r in replies:
        out += instances(r)
    return out


def test_wsl(lab, s1, s2, t, audit):
    log("== wsl")
    w = Wsl(lab, ADMIN, lab.pw[ADMIN])
    rc, rep, _ = w.run("wslid", "check")
    root = rep[-1] if rep else None
    check("wslid check: exit 0, an IdentifyResponse from rdms",
          rc == 0 and find_text(root, "ProductVendor") == "rdms", rc)
    check("wslid with credentials: SecurityProfiles listed",
          bool(find_all(root, "SecurityProfileName")))
    anon = Wsl(lab, "nobody-e2e", "x", anonymous=True)
    rc, rep, _ = anon.run("wslid", "check")
    root = rep[-1] if rep else None
    check("wslid without credentials (curl --anyauth): IdentifyResponse",
          rc == 0 and find_all(root, "IdentifyResponse"), rc)
    check("... and no SecurityProfiles for the anonymous Identify",
          root is not None and not find_all(root, "SecurityProfiles"))
    code, text = lab_mod.curl(["-H", "WSMANIDENTIFY: unauthenticated",
                               "http://127.0.0.1:%d/wsman" % lab.http],
                              lab_mod.IDENTIFY)
    check("curl Identify with WSMANIDENTIFY: unauthenticated, no credentials: 200",
          code == 200 and "IdentifyResponse" in text, code)

    rc, rep, _ = w.run("wslenum", WMI_URI)
    items = all_instances(rep)
    check("wslenum (Enumerate + Pulls): exit 0, both sessions",
          rc == 0 and sorted(int(i["SessionId"]) for i in items) == sorted([s1, s2]),
          "rc=%d %r" % (rc, [i.get("SessionId") for i in items]))
    check("wslenum pulled one item per Pull (%d replies)" % len(rep), len(rep) >= 3, len(rep))
    by = {int(i["SessionId"]): i for i in items}
    for sid, user, client in ((s1, U1, "WSCLIENT1"), (s2, U2, "WSCLIENT2")):
        i = by.get(sid, {})
        check("wslenum: %d is %s's, Active, client %s, host %s" % (sid, user, client, VMHOST),
              i.get("UserName") == user and i.get("ConnectState") == "0" and
              i.get("ClientMachineName") == client and i.get("VMHostName") == VMHOST and
              i.get("VMName") == xe.VM and i.get("DomainName") == xe.DOM, repr(i))
    rc, rep, _ = w.run("wslenum", WMI_URI, "-opti", "50")
    check("wslenum -opti 50: one EnumerateResponse with both and EndOfSequence",
          rc == 0 and len(rep) == 1 and sids(rep[0]) == sorted([s1, s2]) and
          find_all(rep[0], "EndOfSequence"), "rc=%d replies=%d" % (rc, len(rep)))
    rc, rep, _ = w.run("wslenum", WMI_URI, "-dialect", WQL, "-filter",
                       "SELECT * FROM %s WHERE UserName='%s'" % (CLASS, U2))
    check("wslenum WQL WHERE UserName='%s': only %d" % (U2, s2),
          rc == 0 and [int(i["SessionId"]) for i in all_instances(rep)] == [s2],
          "rc=%d %r" % (rc, all_instances(rep)))
    rc, rep, _ = w.run("wslenum", WMI_URI, "-opti", "10", "-filter",
                       "SELECT SessionId, UserName FROM %s WHERE SessionId=%d" % (CLASS, s1))
    got = all_instances(rep)
    check("wslenum CQL-dialect filter with a property list: only %d, projected" % s1,
          rc == 0 and [int(i["SessionId"]) for i in got] == [s1] and
          got[0].get("UserName") == U1 and "ClientMachineName" not in got[0], repr(got))
    rc, rep, _ = w.run("wslenum", WMI_URI, "-mode", "epr", "-opti", "50")
    eprs = epr_selectors(rep[-1]) if rep else []
    check("wslenum -mode epr: an EPR per session, keys as selectors, no instances",
          rc == 0 and sorted(int(e.get("SessionId", -1)) for e in eprs) == sorted([s1, s2]) and
          all(e.get("VMHostName") == VMHOST for e in eprs) and not all_instances(rep),
          repr(eprs))
    rc, rep, _ = w.run("wslenum", WMI_URI, "-mode", "objepr")
    check("wslenum -mode objepr (Pulls): instance and EPR of both",
          rc == 0 and sorted(int(i["SessionId"]) for i in all_instances(rep)) == sorted([s1, s2])
          and len([e for r in rep for e in epr_selectors(r)]) == 2)
    rc, rep, _ = w.run("wslget", WMI_URI, "VMHostName=" + VMHOST, "SessionId=%d" % s1)
    got = instances(rep[-1]) if rep else []
    check("wslget %d: exit 0, rdmstest1's session" % s1,
          rc == 0 and len(got) == 1 and got[0].get("UserName") == U1 and
          got[0].get("SessionId") == str(s1), "rc=%d %r" % (rc, got))

    log("-- wsl fault paths")
    bogus = max(s1, s2) + 100000
    rc, rep, _ = w.run("wslget", WMI_URI, "VMHostName=" + VMHOST, "SessionId=%d" % bogus)
    f = fault(rep[-1]) if rep else None
    check("wslget unknown instance: non-zero exit, DestinationUnreachable, 0x80041002",
          rc != 0 and f is not None and f[0].endswith("DestinationUnreachable") and
          f[1] == E_NOT_FOUND and f[2] == 6, "rc=%d %r" % (rc, f))
    rc, rep, _ = w.run("wslget", WMI_URI, "Bogus=1", "SessionId=%d" % s1)
    f = fault(rep[-1]) if rep else None
    check("wslget with an unknown selector: InvalidSelectors",
          rc != 0 and f is not None and f[0].endswith("InvalidSelectors"), "rc=%d %r" % (rc, f))
    rc, rep, _ = w.run("wslget", WMI_URI, "VMHostName=" + VMHOST, "SessionId=two")
    f = fault(rep[-1]) if rep else None
    check("wslget with a non-numeric SessionId: InvalidSelectors",
          rc != 0 and f is not None and f[0].endswith("InvalidSelectors"), "rc=%d %r" % (rc, f))
    rc, rep, _ = w.run("wslenum", WMI_URI, "-dialect", WQL, "-filter",
                       "SELECT FROM %s WHERE" % CLASS)
    f = fault(rep[-1]) if rep else None
    check("wslenum with bad WQL: CannotProcessFilter",
          rc != 0 and f is not None and f[0].endswith("CannotProcessFilter"), "rc=%d %r" % (rc, f))
    rc, rep, _ = w.run("wslenum", WMI_URI, "-dialect", WQL, "-filter",
                       "SELECT * FROM Win32_Process")
    f = fault(rep[-1]) if rep else None
    check("wslenum with WQL on another class: a fault, not instances",
          rc != 0 and f is not None, "rc=%d %r" % (rc, f))
    check("the faults changed nothing", state(lab, s1) == ACTIVE and state(lab, s2) == ACTIVE)

    log("-- wsl invoke")
    audit.mark()
    rc, rep, _ = w.run("wslenum", WMI_URI, "-mode", "epr", "-dialect", WQL, "-filter",
                       "SELECT * FROM %s WHERE SessionId=%d" % (CLASS, s1))
    check("wslenum -mode epr with a WQL filter: only %d's EPR" % s1,
          rc == 0 and rep and [e.get("SessionId") for e in epr_selectors(rep[-1])] == [str(s1)],
          rc)
    # the reply itself is the EPR file (wsl splices its selector lines as text)
    epr_file = os.path.join(w.dir, "epr-s1.xml")
    shutil.copy(os.path.join(w.dir, "response.xml"), epr_file)
    title = "WSL E2E %d" % s1
    rc, rep, _ = w.run("wslinvoke", WMI_URI, "SendMessage", "Title=" + title,
                       "Message=Sent by wsl over WS-Management", "-inst", epr_file)
    check("wslinvoke SendMessage -inst EPR: exit 0, ReturnValue 0",
          rc == 0 and rep and return_value(rep[-1], "SendMessage") == 0, rc)
    check("a window %r is on %d's display :%d" % (title, s1, t[s1]["display"]),
          window(U1, t[s1]["display"], title))
    audit.expect("wsl SendMessage: one row, rdmsadm, wsman, 0",
                 [(ADMIN, "wsman", s1, "SendMessage", 0)])

    log("-- lifecycle through wsl: Disconnect %d (Xvnc) and reconnect" % s2)
    rc, rep, _ = w.run("wslinvoke", WMI_URI, "Disconnect", "-filter",
                       "SELECT * FROM %s WHERE SessionId=%d" % (CLASS, s2))
    check("wslinvoke Disconnect -filter: exit 0, ReturnValue 0",
          rc == 0 and rep and return_value(rep[-1], "Disconnect") == 0, rc)
    lifecycle_disconnected(lab, s2, t, lab.clients_of[s2])
    audit.expect("wsl Disconnect: one row", [(ADMIN, "wsman", s2, "Disconnect", 0)])
    reconnect(lab, s2, U2, t, "c2-re", ["/d:Xvnc", "/size:800x600"], "WSCLIENT2B")

    log("-- wsl over HTTPS (curl --insecure)")
    ws = Wsl(lab, ADMIN, lab.pw[ADMIN], https=True)
    rc, rep, _ = ws.run("wslenum", WMI_URI, "-opti", "50")
    check("wslenum over HTTPS: both sessions", rc == 0 and rep and
          sids(rep[-1]) == sorted([s1, s2]), rc)
    wb = Wsl(lab, ADMIN, "wrong-" + lab.pw[ADMIN], https=True)
    rc, rep, _ = wb.run("wslenum", WMI_URI, "-opti", "50")
    check("wslenum over HTTPS with a wrong password: non-zero exit, no instances",
          rc != 0 and not all_instances(rep), rc)


# ---- lifecycle pieces ----------------------------------------------------------------

def lifecycle_disconnected(lab, sid, t, client):
    kind, xpid = t[sid]["kind"], t[sid]["xpid"]
    code = client_gone(client)
    check("the real xfreerdp (%s) exited with 12" % client, code == 12, repr(code))
    check("session process %d survives" % sid, alive(sid))
    check("%s server %d survives" % (kind, xpid), alive(xpid))
    s = ws_sessions(lab).get(sid)
    check("over WS-Man %d is ConnectState 4 with no client" % sid,
          s is not None and s["ConnectState"] == "4" and not s.get("ClientMachineName"),
          repr(s))


def reconnect(lab, sid, user, t, name, extra, client_name):
    client = lab.connect(name, user, "/client-hostname:" + client_name, *extra)
    got = wait_session(lab, user)
    check("reconnect of %s: same SessionId %d" % (user, sid), got == sid, repr(got))
    s = ws_sessions(lab).get(sid)
    check("after reconnect %d is ConnectState 0, client %s" % (sid, client_name),
          s is not None and s["ConnectState"] == "0" and s["ClientMachineName"] == client_name,
          repr(s))
    check("same X server %d after reconnect" % t[sid]["xpid"],
          xe.truth().get(sid, {}).get("xpid") == t[sid]["xpid"])
    lab.clients_of[sid] = client


# ---- MI / PowerShell-style requests ---------------------------------------------------

def test_mi_style(lab, s1, s2, t, audit):
    log("== MI client (PowerShell CIM cmdlet) style requests")
    c = conn(lab)
    body = mi_envelope(ACT_ENUM, DMTF_URI, body=MI_ENUM_BODY, port=lab.http)
    mid = find_text(parse(body), "MessageID")
    st, text = send(lab, body, path="/wsman/", headers=MI_HEADERS, c=c)
    root = parse(text)
    check("Enumerate, DMTF URI + __cimnamespace, /wsman/, MS options: 200, both sessions",
          st == 200 and sids(root) == sorted([s1, s2]), "%s %s" % (st, text[:300]))
    check("RelatesTo echoes the MessageID", find_text(root, "RelatesTo") == mid)
    items = find_all(root, "Item")
    check("ObjectAndEPR: a wsman:Item per session with instance and EPR",
          len(items) == 2 and all(instances(i) and find_all(i, "EndpointReference")
                                  for i in items))
    check("the instances are in the DMTF URI's namespace",
          all(i["_ns"] == DMTF_URI for i in instances(root)), [i["_ns"] for i in instances(root)])
    check("the EPRs carry __cimnamespace and both keys",
          all(e.get("__cimnamespace") == NS and e.get("VMHostName") == VMHOST
              and e.get("SessionId") for e in epr_selectors(root)), epr_selectors(root))
    sock = c.sock
    st, text = send(lab, mi_envelope(ACT_ENUM, WILDCARD_URI, port=lab.http,
                                     body=mi_wql("SELECT * FROM %s WHERE UserName='%s'"
                                                 % (CLASS, U1))),
                    path="/wsman/", headers=MI_HEADERS, c=c)
    root = parse(text)
    check("WQL to the wildcard URI with __cimnamespace: only %d" % s1,
          st == 200 and sids(root) == [s1], "%s %s" % (st, text[:300]))
    check("... answered on the same (keep-alive) connection", c.sock is sock and sock is not None)
    check("... instances in the WMI URI form of their class",
          all(i["_ns"] == WMI_URI for i in instances(root)))
    st, text = send(lab, mi_envelope(ACT_GET, DMTF_URI, keys(s2), port=lab.http,
                                     options='<w:OptionSet s:mustUnderstand="true"/>'),
                    path="/wsman/", headers=MI_HEADERS, c=c)
    got = instances(parse(text))
    check("Get, DMTF URI, empty OptionSet: %d, Active, %s" % (s2, U2),
          st == 200 and len(got) == 1 and got[0]["SessionId"] == str(s2) and
          got[0]["UserName"] == U2 and got[0]["ConnectState"] == "0", "%s %s" % (st, got))
    bogus = max(s1, s2) + 100000
    st, text = send(lab, mi_envelope(ACT_GET, DMTF_URI, keys(bogus), port=lab.http),
                    path="/wsman/", headers=MI_HEADERS, c=c)
    f = fault(parse(text))
    check("Get of an unknown key: 500, w:InvalidSelectors, WSManFault 2147749890, CIM 6",
          st == 500 and f is not None and f[0].endswith("InvalidSelectors") and
          f[1] == E_NOT_FOUND and f[2] == 6, "%s %r" % (st, f))
    st, text = send(lab, mi_envelope(ACT_GET, DMTF_URI, keys(s1), ns_selector=False,
                                     port=lab.http), path="/wsman/", headers=MI_HEADERS, c=c)
    check("DMTF URI without __cimnamespace: a fault, not a guess",
          st == 500 and fault(parse(text)) is not None, st)
    st, text = send(lab, mi_envelope(ACT_ENUM, WILDCARD_URI, port=lab.http,
                                     body=mi_wql("SELECT * FROM %s" % CLASS))
                    .replace('"__cimnamespace">%s<' % NS, '"__cimnamespace">root/other<'),
                    path="/wsman/", headers=MI_HEADERS, c=c)
    check("__cimnamespace disagreeing with the URI: a fault", st == 500, st)
    c.close()

    log("-- invoke, MI style")
    audit.mark()
    title = "MI E2E %d" % s2
    st, text = send(lab, mi_envelope(DMTF_URI + "/SendMessage", DMTF_URI, keys(s2), port=lab.http,
                                     body='<p:SendMessage_INPUT xmlns:p="%s"><p:Title>%s</p:Title>'
                                     '<p:Message>Invoke-CimMethod -Arguments @{...}</p:Message>'
                                     '</p:SendMessage_INPUT>' % (DMTF_URI, title)),
                    path="/wsman/", headers=MI_HEADERS)
    root = parse(text)
    check("SendMessage, DMTF URI, p:SendMessage_INPUT: ReturnValue 0",
          st == 200 and return_value(root, "SendMessage") == 0, "%s %s" % (st, text[:300]))
    check("the _OUTPUT is answered with the request's Action + Response",
          find_text(root, "Action") == DMTF_URI + "/SendMessageResponse",
          find_text(root, "Action"))
    check("a window %r is on %d's display" % (title, s2), window(U2, t[s2]["display"], title))
    audit.expect("MI SendMessage", [(ADMIN, "wsman", s2, "SendMessage", 0)])

    log("-- default-namespace SOAP, numeric MessageIDs (npm wsman-messages)")
    st, text = send(lab, npm_envelope(ACT_GET, WMI_URI, keys(s1), msgid="1"))
    root = parse(text)
    check("Get in the default SOAP namespace, MessageID 1: %d" % s1,
          st == 200 and sids(root) == [s1], "%s %s" % (st, text[:300]))
    check("RelatesTo is 1", find_text(root, "RelatesTo") == "1", find_text(root, "RelatesTo"))
    st, text = send(lab, npm_envelope(ACT_ENUM, WMI_URI, msgid="2",
                                      body="<n:Enumerate/>"))
    ctx = find_text(parse(text), "EnumerationContext")
    st2, text2 = send(lab, npm_envelope(ACT_PULL, WMI_URI, msgid="3",
                                        body="<n:Pull><n:EnumerationContext>%s"
                                        "</n:EnumerationContext><n:MaxElements>999</n:MaxElements>"
                                        "<n:MaxCharacters>99999</n:MaxCharacters></n:Pull>" % ctx))
    root = parse(text2)
    check("Enumerate + Pull (MaxElements 999, MaxCharacters 99999): both, EndOfSequence",
          st == 200 and ctx and st2 == 200 and sids(root) == sorted([s1, s2]) and
          find_all(root, "EndOfSequence"), "%s %s / %s %s" % (st, ctx, st2, text2[:300]))
    # a client numbering per process: the same id with another request runs anew
    q1 = mi_wql("SELECT * FROM %s WHERE UserName='%s'" % (CLASS, U1))
    st1, t1 = send(lab, npm_envelope(ACT_ENUM, WILDCARD_URI, msgid="0",
                                     selectors=[("__cimnamespace", NS)], body=q1))
    st2, t2 = send(lab, npm_envelope(ACT_ENUM, WILDCARD_URI, msgid="0",
                                     selectors=[("__cimnamespace", NS)],
                                     body=q1.replace(U1, U2)))
    check("MessageID 0 twice with different requests: each gets its own answer",
          st1 == 200 and st2 == 200 and sids(parse(t1)) == [s1] and sids(parse(t2)) == [s2],
          "%s %r / %s %r" % (st1, sids(parse(t1)), st2, sids(parse(t2))))

    log("-- python3-winrm Protocol.send_message")
    try:
        from winrm.exceptions import WinRMError
    except ImportError as e:
        check("python3-winrm is installed", False, repr(e))
        return
    p = winrm_protocol("http://127.0.0.1:%d/wsman/" % lab.http, ADMIN, lab.pw[ADMIN])
    try:
        out = p.send_message(mi_envelope(ACT_ENUM, DMTF_URI, body=MI_ENUM_BODY, port=lab.http))
        check("pywinrm plaintext: Enumerate, DMTF URI, both sessions",
              sids(parse(out)) == sorted([s1, s2]))
    except Exception as e:
        check("pywinrm plaintext: Enumerate, DMTF URI, both sessions", False, repr(e))
    ps = winrm_protocol("https://127.0.0.1:%d/wsman" % lab.https, ADMIN, lab.pw[ADMIN])
    try:
        out = ps.send_message(mi_envelope(ACT_GET, DMTF_URI, keys(s1), port=lab.https))
        check("pywinrm ssl (Basic over HTTPS): Get %d" % s1, sids(parse(out)) == [s1])
    except Exception as e:
        check("pywinrm ssl (Basic over HTTPS): Get %d" % s1, False, repr(e))
    # pywinrm's own header writer: unqualified mustUnderstand, the
    # windows-host placeholder in a:To, ResourceURI/Action after OperationTimeout
    try:
        import xmltodict
        req = {"env:Envelope": p._get_soap_header(action=ACT_GET, resource_uri=WMI_URI)}
        req["env:Envelope"]["env:Header"]["w:SelectorSet"] = {"w:Selector": [
            {"@Name": "SessionId", "#text": str(s2)}, {"@Name": "VMHostName", "#text": VMHOST}]}
        req["env:Envelope"]["env:Body"] = {}
        body = xmltodict.unparse(req)
        out = p.send_message(body)
        check("pywinrm's own SOAP header (unqualified mustUnderstand, a:To windows-host): "
              "Get %d" % s2, 'mustUnderstand="true"' in body and "windows-host" in body and
              sids(parse(out)) == [s2], body[:200])
    except Exception as e:
        check("pywinrm's own SOAP header: Get %d" % s2, False, repr(e))
    try:
        ps.send_message(mi_envelope(ACT_GET, DMTF_URI, keys(max(s1, s2) + 100000),
                                    port=lab.https))
        check("pywinrm: the unknown key raises WinRMError", False)
    except WinRMError as e:
        check("pywinrm: the unknown key raises WinRMError with InvalidSelectors and 2147749890",
              "InvalidSelectors" in str(e) and "2147749890" in str(e), str(e))
    except Exception as e:
        check("pywinrm: the unknown key raises WinRMError", False, repr(e))


def winrm_protocol(url, user, password):
    """A python3-winrm Protocol for URL (Basic; HTTPS without certificate
    checks).  pywinrm 0.3.0 lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the
    environment override server_cert_validation='ignore', so its session is
    built here with those unset."""
    from winrm.protocol import Protocol
    https = url.startswith("https:")
    p = Protocol(url, transport="ssl" if https else "plaintext", username=user,
                 password=password, server_cert_validation="ignore")
    saved = {k: os.environ.pop(k) for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
             if k in os.environ}
    try:
        p.transport.build_session()
    finally:
        os.environ.update(saved)
    return p


# ---- curl over HTTPS --------------------------------------------------------------

def test_curl_https(lab, s1, s2, audit):
    log("== curl over HTTPS (self-signed, -k)")
    url = "https://127.0.0.1:%d/wsman" % lab.https
    code, text = lab_mod.curl(["-k", "-u", "%s:%s" % (ADMIN, lab.pw[ADMIN]), url], enum_req())
    check("curl -k as rdmsadm: 200, both sessions",
          code == 200 and sids(parse(text)) == sorted([s1, s2]), code)
    code, text = lab_mod.curl(["-k", "-u", "%s:wrong-%s" % (U1, lab.pw[U1]), url], enum_req())
    check("curl -k with a bad password: 401", code == 401, code)
    # issue 13: an enumeration is sent while it is written (chunked), whole, and
    # its instances leave their namespace declarations to the Items element
    code, text = lab_mod.curl(["-k", "-D", "-", "-u", "%s:%s" % (ADMIN, lab.pw[ADMIN]), url],
                              enum_req())
    at = text.find("<s:Envelope")
    head, body = text[:max(at, 0)], text[max(at, 0):]
    check("curl -k enumeration: sent chunked, whole (both sessions, EndOfSequence)",
          code == 200 and "transfer-encoding: chunked" in head.lower() and
          sids(parse(body)) == sorted([s1, s2]) and "<wsman:EndOfSequence/>" in body,
          "%s %r" % (code, head))
    check("curl -k enumeration: namespaces declared once, each instance typed",
          body.count("xmlns:xsi=") == 1 and body.count("xmlns:p=") == 1 and
          body.count('xsi:type="p:Win32_VirtualDesktopSession_Type"') == 2, body[:600])
    code, text = lab_mod.curl(["-k", "-D", "-", url], enum_req())
    check("curl -k without credentials: 401 with the Basic challenge",
          code == 401 and 'WWW-Authenticate: Basic realm="WSMAN"' in text, code)
    audit.mark()
    code, text = lab_mod.curl(["-k", "-u", "%s:%s" % (U2, lab.pw[U2]), url],
                              invoke_req(s1, "Disconnect"))
    f = fault(parse(text))
    check("curl -k as %s: Disconnect of %s's session is AccessDenied (500, 0x80041003)"
          % (U2, U1), code == 500 and f is not None and f[0].endswith("AccessDenied") and
          f[1] == E_ACCESS_DENIED, "%s %r" % (code, f))
    code, text = lab_mod.curl(["-k", "-u", "%s:%s" % (U2, lab.pw[U2]), url], get_req(s1))
    check("curl -k as %s: Get of %s's session is AccessDenied" % (U2, U1),
          code == 500 and (fault(parse(text)) or ("",))[0].endswith("AccessDenied"), code)
    check("%d is still Active" % s1, state(lab, s1) == ACTIVE)
    audit.expect("the refused Disconnect and Get are both recorded",
                 [(U2, "wsman", s1, "Disconnect", E_ACCESS_DENIED),
                  (U2, "wsman", s1, "Get", E_ACCESS_DENIED)])


# ---- the authorisation matrix ---------------------------------------------------------

OPS = ("enumerate", "get", "Disconnect", "Logoff", "SendMessage")


def do_op(lab, op, sid, user, password=None, title="x"):
    if op == "enumerate":
        return send(lab, enum_req(), user, password)
    if op == "get":
        return send(lab, get_req(sid), user, password)
    args = {"Title": title, "Message": "matrix"} if op == "SendMessage" else None
    return send(lab, invoke_req(sid, op, args), user, password)


def test_refused_callers(lab, s1, s2, t, audit):
    """None, a wrong password and another user, on s1: nothing may happen."""
    log("== authorisation matrix: callers who may not act on %d (%s's)" % (s1, U1))
    xpid, client = t[s1]["xpid"], lab.clients_of[s1]
    for who, user, password in (("no credentials", None, None),
                                ("wrong password", U1, "wrong-" + lab.pw[U1])):
        audit.mark()
        for op in OPS:
            st, _ = do_op(lab, op, s1, user, password)
            check("%s: %s gets 401" % (who, op), st == 401, st)
        audit.expect("%s: no rows" % who, [])
    audit.mark()
    st, text = do_op(lab, "enumerate", s1, U2)
    check("other user (%s): enumerate shows only their own %d" % (U2, s2),
          st == 200 and sids(parse(text)) == [s2], "%s %r" % (st, sids(parse(text))))
    st, text = do_op(lab, "get", s1, U2)
    check("other user: get %d is AccessDenied" % s1,
          is_fault(st, text, "AccessDenied", E_ACCESS_DENIED), st)
    for op in ("Disconnect", "Logoff", "SendMessage"):
        st, text = do_op(lab, op, s1, U2, title="must not appear")
        check("other user: %s of %d is AccessDenied (500, 0x80041003)" % (op, s1),
              is_fault(st, text, "AccessDenied", E_ACCESS_DENIED), "%s %s" % (st, text[:200]))
    audit.expect("other user: a row per refused Get and method, none for enumerate",
                 [(U2, "wsman", s1, m, E_ACCESS_DENIED)
                  for m in ("Get", "Disconnect", "Logoff", "SendMessage")])
    check("%d untouched: Active, X server and xfreerdp alive" % s1,
          state(lab, s1) == ACTIVE and alive(xpid) and
          alive(xe.lab_pid("client-" + client)) and xe.client_rc(client) is None)
    check("no message window from the refused SendMessage",
          not window_on(U1, t[s1]["display"], "must not appear"))

    log("-- a re-sent refused invoke (same MessageID) is answered from the replay cache")
    audit.mark()
    req = invoke_req(s1, "Logoff")
    st1, t1 = send(lab, req, U2)
    st2, t2 = send(lab, req, U2)
    check("same MessageID after a fault: the same fault again",
          st1 == 500 and st2 == 500 and t1 == t2, "%s %s" % (st1, st2))
    audit.expect("... and it was not run (audited) twice",
                 [(U2, "wsman", s1, "Logoff", E_ACCESS_DENIED)])

    # wsl's curl --retry re-sends every request answered with HTTP 500
    w = Wsl(lab, U2, lab.pw[U2])
    epr = write_epr(w.dir, s1)
    served = lab.log().count("served %s (uid" % U2)
    rc, rep, _ = w.run("wslinvoke", WMI_URI, "Logoff", "-inst", epr)
    resent = lab.log().count("served %s (uid" % U2) - served
    f = fault(rep[-1]) if rep else None
    check("wsl as %s: wslinvoke Logoff of %d fails with AccessDenied" % (U2, s1),
          rc != 0 and f is not None and f[0].endswith("AccessDenied"), "rc=%d %r" % (rc, f))
    check("... curl --retry sent it twice", resent == 2, resent)
    audit.expect("... and it was audited once", [(U2, "wsman", s1, "Logoff", E_ACCESS_DENIED)])
    check("%d still Active" % s1, state(lab, s1) == ACTIVE)

    log("-- replies and enumerations belong to their caller")
    title = "Replayed for owner %d" % s1
    req = invoke_req(s1, "SendMessage", {"Title": title, "Message": "same MessageID"})
    st1, t1 = send(lab, req, U2)
    st2, t2 = send(lab, req, U1)
    check("the same request bytes from %s then from the owner: refused, then run (0)" % U2,
          is_fault(st1, t1, "AccessDenied") and st2 == 200 and
          return_value(parse(t2), "SendMessage") == 0, "%s / %s %s" % (st1, st2, t2[:200]))
    check("... the owner's message is shown", window(U1, t[s1]["display"], title))
    audit.expect("... one row each", [(U2, "wsman", s1, "SendMessage", E_ACCESS_DENIED),
                                      (U1, "wsman", s1, "SendMessage", 0)])
    st, text = send(lab, wsl_envelope(ACT_ENUM, WMI_URI, body="<wsen:Enumerate/>"))
    ctx = find_text(parse(text), "EnumerationContext")
    pull = wsl_envelope(ACT_PULL, WMI_URI, body="<wsen:Pull><wsen:EnumerationContext>%s"
                        "</wsen:EnumerationContext><wsen:MaxElements>10</wsen:MaxElements>"
                        "</wsen:Pull>" % ctx)
    st, text = send(lab, pull, U2)
    check("%s cannot Pull the admin's enumeration: InvalidEnumerationContext" % U2,
          ctx and st == 500 and not instances(parse(text)) and
          (fault(parse(text)) or ("",))[0].endswith("InvalidEnumerationContext"),
          "%s %s" % (st, text[:300]))
    st, text = send(lab, pull.replace("<wsa:MessageID s:mustUnderstand=\"true\">",
                                      "<wsa:MessageID s:mustUnderstand=\"true\">x"))
    check("... while the admin still can (both sessions)",
          st == 200 and sids(parse(text)) == sorted([s1, s2]), "%s %s" % (st, text[:300]))
    st, text = send(lab, wsl_envelope(ACT_ENUM, WMI_URI, body="<wsen:Enumerate/>"))
    ctx = find_text(parse(text), "EnumerationContext")
    rel = wsl_envelope("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release", WMI_URI,
                       body="<wsen:Release><wsen:EnumerationContext>%s</wsen:EnumerationContext>"
                       "</wsen:Release>" % ctx)
    st1, _ = send(lab, rel)
    st2, text = send(lab, pull.replace(find_text(parse(pull), "EnumerationContext"), ctx))
    check("Release ends an enumeration: a Pull after it is InvalidEnumerationContext",
          st1 == 200 and is_fault(st2, text, "InvalidEnumerationContext"), "%s %s" % (st1, st2))

    log("-- a bad argument is refused before anything runs, and audited")
    st, text = send(lab, invoke_req(s1, "SendMessage", {"Title": "T" * 5000, "Message": "m"}), U1)
    check("SendMessage with a 5000-byte Title: InvalidParameter fault (0x80041008)",
          is_fault(st, text, "InvalidParameter", 0x80041008), "%s %s" % (st, text[:300]))
    st, text = send(lab, invoke_req(s1, "SendMessage", {"Title": "t"}), U1)
    check("SendMessage without Message: a fault", st == 500 and fault(parse(text)), st)
    st, text = send(lab, invoke_req(s1, "Shutdown"), ADMIN)
    check("an unknown method: ActionNotSupported", is_fault(st, text, "ActionNotSupported"),
          "%s %s" % (st, text[:300]))
    rows = audit.new()
    check("audit: the refused SendMessage calls are recorded with their codes",
          [(r["user"], r["method"], r["result"]) for r in rows][:1] ==
          [(U1, "SendMessage", 0x80041008)] and all(r["result"] != 0 for r in rows),
          [(r["user"], r["method"], r["result"]) for r in rows])
    check("%d still Active" % s1, state(lab, s1) == ACTIVE)


def test_owner(lab, s1, s2, t, audit):
    log("== authorisation matrix: the owner (%s) on %d, MI style" % (U1, s1))
    audit.mark()

    def mi(action, sel=(), body=""):
        return send(lab, mi_envelope(action, DMTF_URI, sel, body, port=lab.http), U1,
                    path="/wsman/", headers=MI_HEADERS)

    st, text = mi(ACT_ENUM, body=MI_ENUM_BODY)
    check("owner: enumerate shows only %d" % s1, st == 200 and sids(parse(text)) == [s1],
          "%s %r" % (st, text[:300]))
    st, text = mi(ACT_GET, keys(s1))
    check("owner: get %d" % s1, st == 200 and sids(parse(text)) == [s1], st)
    st, text = mi(ACT_GET, keys(s2))
    check("owner: get of %s's %d is AccessDenied" % (U2, s2),
          is_fault(st, text, "AccessDenied", E_ACCESS_DENIED), st)
    title = "Owner E2E %d" % s1
    st, text = mi(DMTF_URI + "/SendMessage", keys(s1),
                  '<p:SendMessage_INPUT xmlns:p="%s"><p:Title>%s</p:Title><p:Message>own'
                  '</p:Message></p:SendMessage_INPUT>' % (DMTF_URI, title))
    check("owner: SendMessage returns 0", st == 200 and
          return_value(parse(text), "SendMessage") == 0, "%s %s" % (st, text[:300]))
    check("owner: the window %r is on :%d" % (title, t[s1]["display"]),
          window(U1, t[s1]["display"], title))
    audit.expect("owner: the refused Get and the SendMessage row",
                 [(U1, "wsman", s2, "Get", E_ACCESS_DENIED), (U1, "wsman", s1, "SendMessage", 0)])

    log("-- lifecycle: Disconnect over WS-Man (MI style, empty body) and a re-sent request")
    req = mi_envelope(DMTF_URI + "/Disconnect", DMTF_URI, keys(s1), "", port=lab.http)
    st1, t1 = send(lab, req, U1, path="/wsman/", headers=MI_HEADERS)
    check("owner: Disconnect with an empty <s:Body/> returns 0",
          st1 == 200 and return_value(parse(t1), "Disconnect") == 0, "%s %s" % (st1, t1[:300]))
    st2, t2 = send(lab, req, U1, path="/wsman/", headers=MI_HEADERS)
    check("the same request (same MessageID) again: the first reply, byte for byte",
          st2 == 200 and t1 == t2, "%s %s" % (st2, t2[:300]))
    audit.expect("the Disconnect ran once: one row", [(U1, "wsman", s1, "Disconnect", 0)])
    lifecycle_disconnected(lab, s1, t, lab.clients_of[s1])
    st3, t3 = send(lab, mi_envelope(DMTF_URI + "/Disconnect", DMTF_URI, keys(s1), "",
                                    port=lab.http), U1, path="/wsman/", headers=MI_HEADERS)
    reason = "session %d is not connected" % s1
    check("a new Disconnect (new MessageID) does run: ReturnValue WBEM_E_INVALID_OPERATION "
          "in _OUTPUT, no fault (protocols.md 1.5)",
          st3 == 200 and return_value(parse(t3), "Disconnect") == E_INVALID_OPERATION,
          "%s %s" % (st3, t3[:300]))
    check("... its reason in the header rdms:ReturnValueText, s:mustUnderstand false",
          return_value_text(parse(t3)) == (reason, "false"), t3[:600])
    try:
        p = winrm_protocol("https://127.0.0.1:%d/wsman/" % lab.https, U1, lab.pw[U1])
        shown = p.send_message(mi_envelope(DMTF_URI + "/Disconnect", DMTF_URI, keys(s1), "",
                                           port=lab.https))
    except Exception as e:
        shown = "raised %r" % e
    check("pywinrm accepts the reply: ReturnValue %d, the reason in its header"
          % E_INVALID_OPERATION, return_value(parse(shown), "Disconnect") == E_INVALID_OPERATION
          and return_value_text(parse(shown)) == (reason, "false"), shown)
    w = Wsl(lab, U1, lab.pw[U1])
    rc, rep, _ = w.run("wslinvoke", WMI_URI, "Disconnect", "-inst", write_epr(w.dir, s1))
    check("wslinvoke Disconnect: exit 0, ReturnValue %d, the reason in its header"
          % E_INVALID_OPERATION, rc == 0 and rep and
          return_value(rep[-1], "Disconnect") == E_INVALID_OPERATION and
          return_value_text(rep[-1]) == (reason, "false"), "rc=%d" % rc)
    code, text = lab_mod.curl(["-u", "%s:%s" % (U1, lab.pw[U1]),
                               "http://127.0.0.1:%d/wsman" % lab.http], invoke_req(s1, "Disconnect"))
    check("curl: 200, ReturnValue %d, the reason in the header" % E_INVALID_OPERATION,
          code == 200 and return_value(parse(text), "Disconnect") == E_INVALID_OPERATION and
          return_value_text(parse(text)) == (reason, "false"), "%s %s" % (code, text[:600]))
    rc, out, err = cli(lab, ["--config", lab_mod.other_config(lab), "disconnect", str(s1)],
                       as_user=U1)
    check("runuser -u %s -- rdms disconnect %d: the code and the reason" % (U1, s1),
          rc == 1 and err == "rdms: WBEM_E_INVALID_OPERATION (0x80041016): " + reason,
          "rc=%d %r" % (rc, err))
    rc, out, err = cli(lab, ["disconnect", str(s1), "--json"], as_user=U1)
    check("... with --json: {\"ReturnValue\": %d} on stdout, the reason on stderr"
          % E_INVALID_OPERATION, rc == 1 and json.loads(out or "{}") ==
          {"ReturnValue": E_INVALID_OPERATION} and err.endswith(reason),
          "rc=%d %r %r" % (rc, out, err))
    got = audit.expect("... each recorded", [(U1, "wsman", s1, "Disconnect", E_INVALID_OPERATION)]
                       * 4 + [(U1, "local", s1, "Disconnect", E_INVALID_OPERATION)] * 2)
    check("... with the reason", got and all(reason in r["detail"] for r in got), got)
    check("%d still disconnected" % s1, state(lab, s1) == DISCONNECTED)
    reconnect(lab, s1, U1, t, "c1-re", ["/size:1024x768"], "WSCLIENT1B")


def test_admin(lab, s1, s2, t, audit):
    log("== authorisation matrix: root (Unix socket) and the admin (rdmsadm)")
    audit.mark()
    st, text = send(lab, enum_req(), UNIX)
    check("root over the socket: enumerate shows both", st == 200 and
          sids(parse(text)) == sorted([s1, s2]), st)
    st, text = send(lab, get_req(s2), UNIX)
    check("root over the socket: get %d" % s2, st == 200 and sids(parse(text)) == [s2], st)
    title = "Root E2E %d" % s1
    st, text = do_op(lab, "SendMessage", s1, UNIX, title=title)
    check("root over the socket: SendMessage to %d returns 0" % s1,
          st == 200 and return_value(parse(text), "SendMessage") == 0, "%s %s" % (st, text[:200]))
    check("... the window is there", window(U1, t[s1]["display"], title))
    got = audit.expect("root: SendMessage row, protocol local",
                       [("root", "local", s1, "SendMessage", 0)])
    check("root's row: uid 0, source 'uid 0'",
          len(got) == 1 and got[0]["uid"] == 0 and got[0]["source"] == "uid 0", got)

    st, text = do_op(lab, "enumerate", s2, ADMIN)
    check("admin: enumerate shows both", st == 200 and sids(parse(text)) == sorted([s1, s2]), st)
    st, text = do_op(lab, "get", s2, ADMIN)
    check("admin: get %s's %d" % (U2, s2), st == 200 and sids(parse(text)) == [s2], st)
    title = "Admin E2E %d" % s2
    st, text = do_op(lab, "SendMessage", s2, ADMIN, title=title)
    check("admin: SendMessage to %s's %d returns 0" % (U2, s2),
          st == 200 and return_value(parse(text), "SendMessage") == 0, st)
    check("... the window is there", window(U2, t[s2]["display"], title))

    log("-- admin: Disconnect (npm style: h: prefix, numeric id) then Logoff (wsl) of %d" % s2)
    st, text = send(lab, npm_envelope(WMI_URI + "/Disconnect", WMI_URI, keys(s2), msgid="7",
                                      body='<h:Disconnect_INPUT xmlns:h="%s"></h:Disconnect_INPUT>'
                                      % WMI_URI))
    check("admin: Disconnect (default-namespace SOAP, <h:Disconnect_INPUT>) returns 0",
          st == 200 and return_value(parse(text), "Disconnect") == 0, "%s %s" % (st, text[:300]))
    # at once, well within session_cache_ms: rdmsd's snapshot holds the
    # method's effect (the session read again after it), not what it read before
    st, text = send(lab, get_req(s2))
    got = instances(parse(text)) if st == 200 else []
    check("a Get right after the Disconnect: %d ConnectState 4, no client" % s2,
          len(got) == 1 and got[0]["ConnectState"] == "4" and not got[0].get("ClientMachineName"),
          "%s %s" % (st, got or text[:300]))
    lifecycle_disconnected(lab, s2, t, lab.clients_of[s2])
    w = Wsl(lab, ADMIN, lab.pw[ADMIN])
    epr = write_epr(w.dir, s2)
    rc, rep, _ = w.run("wslinvoke", WMI_URI, "Logoff", "-inst", epr)
    check("admin: wslinvoke Logoff of the disconnected %d returns 0" % s2,
          rc == 0 and rep and return_value(rep[-1], "Logoff") == 0, rc)
    st, text = send(lab, get_req(s2))
    f = fault(parse(text))
    check("a Get right after the Logoff: %d is not found (500, %#x)" % (s2, E_NOT_FOUND),
          st == 500 and f is not None and f[1] == E_NOT_FOUND, "%s %r" % (st, f or text[:300]))
    check("... nor enumerated", s2 not in ws_sessions(lab))
    session_ended(lab, s2, t)
    audit.expect("admin: SendMessage, Disconnect, Logoff rows",
                 [(ADMIN, "wsman", s2, "SendMessage", 0), (ADMIN, "wsman", s2, "Disconnect", 0),
                  (ADMIN, "wsman", s2, "Logoff", 0)])


def session_ended(lab, sid, t):
    info = t[sid]
    check("session process %d is gone" % sid, wait_for(10, lambda: not alive(sid)))
    check("%s server %d is gone" % (info["kind"], info["xpid"]),
          wait_for(10, lambda: not alive(info["xpid"])))
    check("%d no longer enumerated" % sid, sid not in ws_sessions(lab))


# ---- the rdms CLI, no --direct --------------------------------------------------------

def cli(lab, args, as_user=None, env=None):
    if args[:1] == ["--config"]:
        cmd = [RDMS] + args
    else:
        cmd = [RDMS, "--config", lab.conf] + args
    if as_user is not None:
        cmd = ["runuser", "-u", as_user, "--"] + cmd
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e)
        return p.returncode, p.stdout, p.stderr.strip()
    except subprocess.TimeoutExpired:
        return -1, "", "timed out"


def cli_sids(out):
    try:
        return sorted(s["SessionId"] for s in json.loads(out))
    except (ValueError, TypeError, KeyError):
        return None


def test_cli(lab, s1, s2, audit):
    log("== rdms CLI without --direct")
    rc, out, err = cli(lab, ["list", "--json"])
    check("root: rdms list (Unix socket) shows both", rc == 0 and cli_sids(out) == sorted([s1, s2]),
          "rc=%d %s %s" % (rc, err, out[:200]))
    rc, out, err = cli(lab, ["list", "--json"], as_user=USER)
    check("runuser -u %s -- rdms list: none of the sessions are theirs: []" % USER,
          rc == 0 and cli_sids(out) == [], "rc=%d %s %s" % (rc, err, out[:200]))
    rc, out, err = cli(lab, ["list", "--json"], as_user=U2)
    check("runuser -u %s -- rdms list: only their own %d" % (U2, s2),
          rc == 0 and cli_sids(out) == [s2], "rc=%d %s %s" % (rc, err, out[:200]))
    rc, out, err = cli(lab, ["get", str(s2), "--json"], as_user=U2)
    check("runuser -u %s -- rdms get %d" % (U2, s2), rc == 0 and json.loads(out or "{}")
          .get("UserName") == U2, "rc=%d %s" % (rc, err))
    audit.mark()
    rc, out, err = cli(lab, ["disconnect", str(s1)], as_user=U2)
    check("runuser -u %s -- rdms disconnect %d (bare id of someone else's session): "
          "WBEM_E_ACCESS_DENIED" % (U2, s1), rc not in (0, -1) and "WBEM_E_ACCESS_DENIED" in err,
          "rc=%d %s" % (rc, err))
    audit.expect("the refused bare-id call is audited",
                 [(U2, "local", s1, "Disconnect", E_ACCESS_DENIED)])
    path = '%s.VMHostName="%s",SessionId=%d' % (CLASS, VMHOST, s1)
    rc, out, err = cli(lab, ["disconnect", path], as_user=U2)
    check("runuser -u %s -- rdms disconnect PATH of %d: WBEM_E_ACCESS_DENIED" % (U2, s1),
          rc not in (0, -1) and "WBEM_E_ACCESS_DENIED" in err and "\n" not in err,
          "rc=%d %s" % (rc, err))
    got = audit.expect("the CLI's refused call: protocol local",
                       [(U2, "local", s1, "Disconnect", E_ACCESS_DENIED)])
    check("... source names the peer uid",
          len(got) == 1 and got[0]["source"].startswith("uid "), got)
    check("%d still Active" % s1, state(lab, s1) == ACTIVE)
    url = "https://127.0.0.1:%d/wsman" % lab.https
    rc, out, err = cli(lab, ["--host", url, "-u", ADMIN, "--insecure", "list", "--json"],
                       env={"RDMS_PASSWORD": lab.pw[ADMIN]})
    check("rdms --host %s -u rdmsadm --insecure list: both" % url,
          rc == 0 and cli_sids(out) == sorted([s1, s2]), "rc=%d %s %s" % (rc, err, out[:200]))
    rc, out, err = cli(lab, ["--host", url, "-u", U2, "--insecure", "list", "--json"],
                       env={"RDMS_PASSWORD": lab.pw[U2]})
    check("rdms --host as %s: only %d" % (U2, s2), rc == 0 and cli_sids(out) == [s2],
          "rc=%d %s" % (rc, err))
    rc, out, err = cli(lab, ["--host", url, "-u", ADMIN, "--insecure", "list"],
                       env={"RDMS_PASSWORD": "wrong"})
    check("rdms --host with a wrong password: non-zero exit, one line on stderr",
          rc not in (0, -1) and err and "\n" not in err, "rc=%d %r" % (rc, err))
    rc, out, err = cli(lab, ["--host", url, "-u", ADMIN, "list"],
                       env={"RDMS_PASSWORD": lab.pw[ADMIN]})
    check("rdms --host without --insecure refuses the self-signed certificate",
          rc not in (0, -1), "rc=%d %s" % (rc, err))

    log("-- bare ids with a CLI config whose vm_host_name is not rdmsd's (issue 12, 4)")
    other = ["--config", lab_mod.other_config(lab)]
    rc, out, err = cli(lab, other + ["list", "--json"])
    listed = json.loads(out) if rc == 0 else []
    check("rdms list: both, with rdmsd's VMHostName %s" % VMHOST,
          sorted(s["SessionId"] for s in listed) == sorted([s1, s2]) and
          all(s["VMHostName"] == VMHOST for s in listed), "rc=%d %s %s" % (rc, err, out[:300]))
    rc, out, err = cli(lab, other + ["get", str(s1), "--json"])
    check("rdms get %d (the id rdms list showed)" % s1,
          rc == 0 and json.loads(out or "{}").get("SessionId") == s1, "rc=%d %s" % (rc, err))
    audit.mark()
    title = "Bare id %d" % s1
    rc, out, err = cli(lab, other + ["message", str(s1), "--title", title, "--message", "m"])
    check("rdms message %d: 0, and the window is on its display" % s1,
          rc == 0 and window(U1, xe.truth()[s1]["display"], title), "rc=%d %s" % (rc, err))
    rc, out, err = cli(lab, other + ["get", str(s1)], as_user=U2)
    check("runuser -u %s -- rdms get %d: WBEM_E_ACCESS_DENIED" % (U2, s1),
          rc == 1 and "WBEM_E_ACCESS_DENIED" in err and U1 not in err, "rc=%d %s" % (rc, err))
    audit.expect("the message and the refused Get, with rdmsd's host in the target",
                 [("root", "local", s1, "SendMessage", 0), (U2, "local", s1, "Get", E_ACCESS_DENIED)])


def test_logoff_owner(lab, s1, t, audit):
    log("== lifecycle: the owner logs %d off over WS-Man (pywinrm, HTTPS, empty body)" % s1)
    audit.mark()
    client = lab.clients_of[s1]
    try:
        p = winrm_protocol("https://127.0.0.1:%d/wsman/" % lab.https, U1, lab.pw[U1])
        out = p.send_message(mi_envelope(DMTF_URI + "/Logoff", DMTF_URI, keys(s1), "",
                                         port=lab.https))
        rv = return_value(parse(out), "Logoff")
    except Exception as e:
        rv = repr(e)
    check("owner: Logoff returns 0", rv == 0, rv)
    session_ended(lab, s1, t)
    code = client_gone(client)
    check("its xfreerdp (%s) exited (%r)" % (client, code), code is not None)
    audit.expect("owner: Logoff row", [(U1, "wsman", s1, "Logoff", 0)])
    # not an admin: an ended session is answered as any other that is not
    # theirs (issue 12, 8), so the answer tells nothing of other users' ones
    st, text = do_op(lab, "Logoff", s1, U1)
    check("Logoff of the ended session: 500, AccessDenied, as for any session not theirs",
          is_fault(st, text, "AccessDenied", E_ACCESS_DENIED), "%s %s" % (st, text[:300]))


def test_root_cli(lab, t_old, audit):
    """Root's Disconnect and Logoff, through the CLI over the Unix socket, on
    a new session of rdmstest1 (its first one is gone by now)."""
    log("== authorisation matrix: root, rdms disconnect/logoff over the Unix socket")
    client = lab.connect("c3", U1, "/d:Xvnc", "/client-hostname:WSCLIENT3", "/size:800x600")
    s3 = wait_session(lab, U1)
    if not check("a new session of %s after the logoff" % U1, s3 and s3 not in t_old, s3):
        return
    t = xe.truth()
    lab.clients_of[s3] = client
    audit.mark()
    # bare ids, resolved by rdmsd whatever the CLI's config says (issue 12, 4)
    other = ["--config", lab_mod.other_config(lab)]
    rc, out, err = cli(lab, other + ["disconnect", str(s3)])
    check("root: rdms disconnect %d (socket) exits 0" % s3, rc == 0, "rc=%d %s" % (rc, err))
    lifecycle_disconnected(lab, s3, t, client)
    rc, out, err = cli(lab, other + ["logoff", str(s3)])
    check("root: rdms logoff %d (socket) exits 0" % s3, rc == 0, "rc=%d %s" % (rc, err))
    session_ended(lab, s3, t)
    audit.expect("root: Disconnect and Logoff rows, protocol local",
                 [("root", "local", s3, "Disconnect", 0), ("root", "local", s3, "Logoff", 0)])


def test_audit_cli(lab, audit):
    log("== rdms audit --json against the database")
    rc, out, err = cli(lab, ["--help"])
    if "audit" not in out + err:
        log("  (rdms has no audit command here: the database was checked with sqlite3)")
        return
    rc, out, err = cli(lab, ["audit", "--json"])
    try:
        got = json.loads(out)
    except ValueError:
        got = None
    rows = audit.rows()
    check("rdms audit --json: every row of the database, in order",
          isinstance(got, list) and [(g["id"], g["user"], g["protocol"], g["method"],
                                      g["result"], g["target"]) for g in got] ==
          [(r["id"], r["user"], r["protocol"], r["method"], r["result"], r["target"])
           for r in rows], "rc=%d %s" % (rc, err))
    check("... with the WBEM_E names of the failures",
          isinstance(got, list) and all(g["result"] == 0 or g["result_name"].startswith("WBEM_E_")
                                        for g in got))
    rc, out, err = cli(lab, ["audit", "--json"], as_user=USER)
    check("rdms audit as a non-root user is refused", rc != 0 and "WBEM_E_ACCESS_DENIED" in err,
          "rc=%d %s" % (rc, err))


# ---- main ----------------------------------------------------------------------------

def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    before = ws_sessions(lab)
    check("no sessions over WS-Man before connecting", before == {}, repr(before))
    log("== connect: %s (Xorg), %s (Xvnc) with xfreerdp" % (U1, U2))
    c1 = lab.connect("c1", U1, "/client-hostname:WSCLIENT1", "/size:1024x768")
    s1 = wait_session(lab, U1)
    c2 = lab.connect("c2", U2, "/d:Xvnc", "/client-hostname:WSCLIENT2", "/size:800x600")
    s2 = wait_session(lab, U2)
    if not check("both sessions are enumerated Active over WS-Man", s1 and s2,
                 "%r %r" % (s1, s2)):
        return
    t = xe.truth()
    if not check("SessionIds are the sesman session processes", set(t) == {s1, s2},
                 "%r vs %r" % ((s1, s2), sorted(t))):
        return
    lab.clients_of.update({s1: c1, s2: c2})
    audit = Audit(lab)
    for step in (lambda: test_wsl(lab, s1, s2, t, audit),
                 lambda: test_mi_style(lab, s1, s2, t, audit),
                 lambda: test_curl_https(lab, s1, s2, audit),
                 lambda: test_refused_callers(lab, s1, s2, t, audit),
                 lambda: test_cli(lab, s1, s2, audit),
                 lambda: test_owner(lab, s1, s2, t, audit),
                 lambda: test_admin(lab, s1, s2, t, audit),
                 lambda: test_logoff_owner(lab, s1, t, audit),
                 lambda: test_root_cli(lab, t, audit),
                 lambda: test_audit_cli(lab, audit)):
        try:
            step()
        except Exception:   # one group's crash must not hide the others
            check("a test group ran without an exception", False,
                  traceback.format_exc(limit=3))
    check("no sessions left over WS-Man", ws_sessions(lab) == {})


def xrdp_lab_ready():
    """Checks that lab.sh's xrdp lab runs and holds no sessions."""
    if not alive(xe.lab_pid("sesman")) or not alive(xe.lab_pid("xrdp")):
        check("the xrdp lab is running (tests/e2e/lab.sh start)", False)
        return False
    if xe.truth():
        check("no xrdp sessions left over before the test", False, repr(xe.truth()))
        return False
    return True


def run_scenario(make_lab, scenario, before_cleanup=None):
    """SCENARIO(lab) on a new MAKE_LAB() (accounts and config written; an
    exception is a failed check); then rdmsd's log when anything failed,
    BEFORE_CLEANUP(lab), the lab's cleanup, checked against /proc, and the
    time taken.  Returns finish()."""
    t0 = time.monotonic()
    lab = make_lab()
    try:
        lab.accounts()
        lab.write_config()
        scenario(lab)
    except Exception:
        check("the test ran without an exception", False, traceback.format_exc(limit=5))
    finally:
        if common.failed:
            log("---- rdmsd log ----\n" + lab.log()[-4000:])
        if before_cleanup is not None:
            before_cleanup(lab)
        lab.cleanup()
        check("cleanup: no xrdp sessions left", not xe.truth(), repr(xe.truth()))
        log("elapsed %.1f s" % (time.monotonic() - t0))
    return finish()


def main():
    if not common.ready("test_wsman_e2e", [RDMS, RDMSD],
                        ["wslenum", "uuidgen", "xsltproc", "curl", "xfreerdp", "runuser"]):
        return 1
    if not xrdp_lab_ready():
        return finish()
    return run_scenario(Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
