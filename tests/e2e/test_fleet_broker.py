#!/usr/bin/python3
"""test_fleet_broker.py -- rdmsd as a fleet broker (issue 15; spec/fleet.md 3)
on the fleet lab (fleet_lab.py): real rdmsd hosts in network namespaces, one
of them a real xrdp machine driven by xfreerdp, and a broker (role = broker,
SQLite directory) in the namespace b1, reaching the hosts over mutual TLS
with broker1's certificate and each host's pinned one.  Checked:
  hosts registered with `rdms fleet host add` (pinned fingerprints) converge:
      `rdms fleet hosts` shows each running with its session count;
  the broker lists exactly the union of the hosts, every property equal to
      the host's own (WS-Man Enumerate from the client namespace); two hosts
      sharing a SessionId stay apart (Get by both keys); WQL, wsl and
      wbemcli (CIM-XML) through the broker; Win32_RDSHServer lists the hosts;
  a Disconnect through the broker (rdms) drops the real xfreerdp client and
      the broker shows the session disconnected within about a second; the
      broker audits it pending, then done, the host "via broker broker1";
  a non-admin sees only its sessions fleet-wide and is refused on another's
      without anything reaching the host; its own is carried out;
  a killed host: a method through the broker fails fast with
      WBEM_E_TRANSPORT_FAILURE, its sessions stay listed, it is marked
      unknown; restarted with a change made while it was down, it converges;
  a silently partitioned host: the same fast fault; after the heal a change
      made meanwhile shows;
  each again with a connection to the host kept from a call just before
      (the broker's pool): the same fast fault, and after the host is back
      the next call works;
  a host registered with another host's certificate fingerprint is refused
      (ServerState 8) and none of its sessions is listed;
  reads keep no state at the broker (spec/fleet.md 3.6): a paged Enumerate
      (ObjectAndEPR, small MaxElements) and its Pulls give exactly the union,
      every context a signed one; a Pull continues after the broker
      restarted on the same directory; a tampered, truncated, expired (signed
      here with the directory's secret) or another caller's context gets
      wsen:InvalidEnumerationContext and is logged; a Release succeeds; WQL
      with a pushed-down UserName through WS-Man, paged, gives that user's
      sessions; CIM-XML ExecQuery gives them too.
With RDMS_FLEET_STORE=postgresql (test_fleet_broker_pg.py) the same on a
PostgreSQL 15 directory (store = postgresql, a server the lab starts):
before `rdms fleet db init` the broker refuses to start, naming it.

Needs root and lab.sh's xrdp lab; run under the lab lock (run.sh does).
Output: one PASS/FAIL line per check, and last `N passed, M failed`.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fleet_lab as fl             # noqa: E402
import test_rdmsd_auth as ra       # noqa: E402  (accounts, PAM service)
import test_wsman_e2e as tw        # noqa: E402
import test_cimxml as cx           # noqa: E402  (raw CIM-XML requests)
from e2e_common import RDMS, RDMSD, check, finish, log, read, ready, wait_for  # noqa: E402

BROKER_ADDR = "198.18.0.1"
WSMAN = "http://%s:5985/wsman" % BROKER_ADDR
N_HOSTS = int(os.environ.get("RDMS_FLEET_BROKER_HOSTS", "4"))
STORE = os.environ.get("RDMS_FLEET_STORE", "sqlite")
U1 = "rdmstest1"


class Broker:
    def __init__(self, lab, accounts, dsn=None):
        self.lab = lab
        self.dir = os.path.join(lab.dir, "b1")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "rdmsd.conf")
        self.logf = os.path.join(lab.dir, "broker.log")
        self.pw = accounts.pw
        self.dsn = dsn
        cert, key = lab.certs["broker1"]
        with open(self.conf, "w") as f:
            f.write("role = broker\nbroker_name = b1\nstore_path = %s/fleet.db\n"
                    "audit_db = %s/audit.db\nsocket_path = %s/rdmsd.sock\n"
                    "fleet_cert = %s\nfleet_key = %s\n"
                    "listen_address = %s\nallow_remote_http = true\nhttps_listen_address = %s\n"
                    "admin_group = %s\npam_service = %s\nhooks_dir = %s/hooks\n"
                    % (self.dir, self.dir, self.dir, cert, key, BROKER_ADDR, BROKER_ADDR,
                       ra.ADMIN_GROUP, ra.PAM_SERVICE, self.dir))
            if dsn is not None:
                f.write("store = postgresql\nstore_dsn = %s\n" % dsn)
        self.proc = None

    def start(self):
        before = len(self.log())
        self.proc = self.lab.spawn("b1", "broker", [RDMSD, "--config", self.conf,
                                                    "--foreground", "--debug"])
        wait_for(20, lambda: "ready" in self.log()[before:] or self.proc.poll() is not None)
        return "ready" in self.log()[before:] and self.proc.poll() is None

    def log(self):
        return read(self.logf) or ""

    def restart(self):
        """Stops the broker (SIGTERM) and starts it again on the same directory."""
        fl.FleetLab.stop_pids([self.proc.pid])
        return self.start()

    def rdms(self, *args, user=None):
        """The rdms CLI on the broker's socket (root), or over WS-Man as USER."""
        cmd = [RDMS, "--config", self.conf]
        env = dict(os.environ)
        if user is not None:
            cmd = ["ip", "netns", "exec", "cl"] + cmd + ["--host", WSMAN, "-u", user]
            env["RDMS_PASSWORD"] = self.pw[user]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60,
                           env=env)
        return p.returncode, p.stdout, p.stderr.strip()

    def hosts(self):
        rc, out, _ = self.rdms("fleet", "hosts", "--json")
        try:
            return {h["Name"]: h for h in json.loads(out)} if rc == 0 else {}
        except ValueError:
            return {}

    def enumerate(self, user=ra.ADMIN):
        """Every instance the broker lists to USER over WS-Man from cl."""
        return self.lab.enumerate_url(WSMAN, "cl", extra=["-u", "%s:%s" % (user, self.pw[user])],
                                      pulls=2000)

    def session(self, host, sid):
        rc, out, _ = self.rdms("get", path(host, sid), "--json")
        try:
            return json.loads(out) if rc == 0 else None
        except ValueError:
            return None


def path(host, sid):
    return 'Win32_VirtualDesktopSession.VMHostName="%s",SessionId=%d' % (host, sid)


def table(items):
    return {(i["VMHostName"], int(i["SessionId"])): (i["UserName"], int(i["ConnectState"]),
                                                     i["ClientMachineName"]) for i in items}


def audit_rows(db, columns):
    """COLUMNS of every row of the audit database DB, oldest first."""
    return ra.read_audit(types.SimpleNamespace(audit=db), columns) or []


def host_audit(h):
    return audit_rows(h.audit, "user, source, method, result, target")


def converge(broker, lab, seconds=60):
    def done():
        hs = broker.hosts()
        return hs if all(h.name in hs and hs[h.name]["ServerState"] == 3 and
                         (h.kind != "fixture" or hs[h.name]["Sessions"] == len(h.sessions()))
                         for h in lab.hosts) else None
    return wait_for(seconds, done)


def active_session(h, but=()):
    """A session of H that is connected (a Disconnect of it returns 0)."""
    return next(k for k, v in sorted(h.sessions().items()) if v[1] == 0 and k not in but)


def fault_and_back(lab, broker, h, what, fault, back, unknown_within=None, warm=False):
    """Host H after FAULT: a method through the broker fails fast, its
    sessions stay listed (and, with UNKNOWN_WITHIN, it is marked unknown);
    a change made meanwhile shows at the broker once BACK has run.  WARM:
    a method went to H just before, so the broker holds a kept connection
    to it when the fault comes, and after BACK the next method works (on a
    new connection)."""
    sid = sorted(h.sessions())[1]
    marker = "m-%s-%s" % (h.name, what)
    if warm:
        k = active_session(h, (sid,))
        rc, _, err = broker.rdms("disconnect", path(h.name, k))
        check("%s: a Disconnect through the broker returns 0 (a connection to it kept)"
              % h.name, rc == 0, err)
        what += " with a kept connection"
    fault()
    t = time.monotonic()
    rc, _, err = broker.rdms("disconnect", path(h.name, sid))
    dt = time.monotonic() - t
    check("%s %s: a Disconnect through the broker fails in %.2f s (<= 2 s) with "
          "WBEM_E_TRANSPORT_FAILURE" % (h.name, what, dt),
          rc == 1 and "TRANSPORT_FAILURE" in err and dt < 2.5, err)
    check("... its sessions stay listed", broker.session(h.name, sid) is not None, "")
    if unknown_within is not None:
        st = wait_for(unknown_within,
                      lambda: broker.hosts().get(h.name, {}).get("ServerState") == 1)
        check("... it is marked unknown (ServerState 1)", bool(st), repr(broker.hosts()))
    h.change(lambda s: s.update({sid: (s[sid][0], s[sid][1], marker)}))
    back()
    ok = wait_for(60, lambda: (broker.session(h.name, sid) or {}).get("ClientMachineName") ==
                  marker)
    check("back again, with a change made meanwhile: the broker converges", bool(ok),
          "%r\n  the broker's log of %s:\n%s" % (
              broker.session(h.name, sid), h.name,
              "\n".join([ln for ln in broker.log().splitlines() if h.name in ln][-25:])))
    if warm:
        k = active_session(h, (sid,))
        t = time.monotonic()
        rc, _, err = broker.rdms("disconnect", path(h.name, k))
        check("... and the next Disconnect through the broker returns 0 (%.2f s)"
              % (time.monotonic() - t), rc == 0, err)


def scenario(lab, broker):
    t0 = time.monotonic()
    for h in lab.hosts:
        rc, _, err = broker.rdms("fleet", "host", "add", h.name, h.url, "--fingerprint",
                                 h.fingerprint)
        if rc != 0:
            check("rdms fleet host add %s" % h.name, False, err)
    hs = converge(broker, lab)
    log("  (%d hosts registered to converged: %.1f s)" % (len(lab.hosts), time.monotonic() - t0))
    check("rdms fleet hosts: every host running with its sessions counted",
          bool(hs), json.dumps(broker.hosts())[:800])

    # ---- reads: the union, every property the host's own
    truth = {}
    for h in lab.hosts:
        items, err = lab.enumerate(h)
        truth.update(table(items))
    items, err = broker.enumerate()
    got = table(items)
    check("the broker lists exactly the union of the hosts (%d sessions), every property "
          "equal to the host's own" % len(truth),
          err is None and got == truth and len(items) == len(truth),
          "%s; %d vs %d; differing %r" % (err, len(got), len(truth),
                                          sorted(set(got.items()) ^ set(truth.items()))[:5]))
    sid, a, b = lab.shared
    ga, gb = broker.session(a.name, sid), broker.session(b.name, sid)
    check("SessionId %d on %s and on %s: two sessions, each with its host's client" % (sid, a.name,
                                                                                      b.name),
          ga is not None and gb is not None and ga["VMHostName"] == a.name and
          gb["VMHostName"] == b.name and ga["ClientMachineName"] != gb["ClientMachineName"],
          "%r %r" % (ga, gb))
    user = next(iter(truth.values()))[0]
    rc, out, err = broker.rdms("query", "SELECT VMHostName, SessionId FROM "
                               "Win32_VirtualDesktopSession WHERE UserName = '%s'" % user,
                               "--json")
    want = sorted(k for k, v in truth.items() if v[0] == user)
    try:
        rows = sorted((r["VMHostName"], r["SessionId"]) for r in json.loads(out))
    except ValueError:
        rows = None
    check("WQL through the broker: UserName = '%s' gives that user's %d sessions of every host"
          % (user, len(want)), rc == 0 and rows == want, "%s %s" % (err, out[:300]))
    w = subprocess.run(["ip", "netns", "exec", "cl", "wslenum", tw.WMI_URI, "-dialect", tw.WQL,
                        "-filter", "SELECT * FROM Win32_VirtualDesktopSession WHERE UserName='%s'"
                        % user, "-opti", "5000"],
                       env={"PATH": "/usr/bin:/bin", "HOME": broker.dir, "LANG": "C",
                            "WSENDPOINT": "%s:5985" % BROKER_ADDR, "WSUSER": ra.ADMIN,
                            "WSPASS": broker.pw[ra.ADMIN], "WSNOSSL": "true",
                            "KEEPHISTORY": "0", "OUTLEVEL": "1"},
                       cwd=broker.dir, capture_output=True, text=True, timeout=120)
    check("wsl (wslenum, WQL) through the broker: exit 0, that user's sessions",
          w.returncode == 0 and w.stdout.count("<p:SessionId>") + w.stdout.count(
              ":SessionId>") >= len(want), w.stdout[-400:] + w.stderr[-300:])
    p = subprocess.run(["ip", "netns", "exec", "cl", "wbemcli", "ein",
                        "http://%s:%s@%s:5988/root/cimv2/rdms:Win32_VirtualDesktopSession"
                        % (ra.ADMIN, broker.pw[ra.ADMIN], BROKER_ADDR)],
                       capture_output=True, text=True, timeout=120)
    names = [l for l in p.stdout.splitlines() if "SessionId=" in l]
    check("wbemcli (CIM-XML EnumerateInstanceNames) through the broker: every session's path",
          p.returncode == 0 and len(names) == len(truth), "%d %d %s" % (p.returncode,
                                                                       len(names), p.stderr[-300:]))
    rc, out, _ = broker.rdms("query", "SELECT * FROM Win32_RDSHServer", "--json")
    try:
        servers = {s["Name"]: s for s in json.loads(out)}
    except ValueError:
        servers = {}
    check("Win32_RDSHServer at the broker: one per host, ServerState 3, ConnectionBroker b1",
          sorted(servers) == sorted(h.name for h in lab.hosts) and
          all(s["ServerState"] == 3 and s["ConnectionBroker"] == "b1" for s in servers.values()),
          out[:400])

    # ---- a Disconnect through the broker drops the real client
    xh = lab.xrdp_hosts[0]
    client = lab.connect_rdp(xh, U1, "/client-hostname:FLEETPC")
    row = wait_for(40, lambda: next(((k, v) for k, v in table(broker.enumerate()[0]).items()
                                     if k[0] == xh.name and v[0] == U1 and v[1] == 0), None))
    if check("%s's xfreerdp session on %s shows at the broker, Active" % (U1, xh.name), row, ""):
        (_, xsid), _ = row
        haudit = len(host_audit(xh))
        baudit = len(audit_rows(os.path.join(broker.dir, "audit.db"), "id"))
        t = time.monotonic()
        rc, _, err = broker.rdms("disconnect", path(xh.name, xsid))
        check("rdms disconnect through the broker returns 0", rc == 0, err)
        gone = wait_for(15, lambda: client.poll() is not None)
        check("... the xfreerdp client is dropped", bool(gone), "")
        seen = wait_for(10, lambda: (broker.session(xh.name, xsid) or {}).get("ConnectState") == 4,
                        step=0.05)
        dt = time.monotonic() - t
        log("  (Disconnect through the broker to Disconnected at the broker: %.2f s)" % dt)
        check("... and the broker shows it disconnected within 1 s of the client dropping "
              "(%.2f s after the call)" % dt, bool(seen) and dt < 8, "")
        rows = audit_rows(os.path.join(broker.dir, "audit.db"), "method, result, detail")[baudit:]
        check("the broker audited it pending, then done",
              [r[:2] for r in rows] == [("Disconnect", 0x40007), ("Disconnect", 0)], repr(rows))
        hrows = host_audit(xh)[haudit:]
        check("the host audited it via broker broker1",
              len(hrows) == 1 and hrows[0][2] == "Disconnect" and
              hrows[0][1].startswith("via broker broker1"), repr(hrows))

    # ---- a non-admin, fleet-wide
    h1, h2 = lab.fixture_hosts[0], lab.fixture_hosts[1]
    mine = []
    for h in (h1, h2):
        sids = sorted(h.sessions())[10:13]

        def give(s, sids=sids):
            for k in sids:
                s[k] = (ra.USER,) + s[k][1:]
        h.change(give)
        mine += [(h.name, k) for k in sids]
    wait_for(15, lambda: sorted(table(broker.enumerate(ra.USER)[0])) == sorted(mine) or None)
    items, err = broker.enumerate(ra.USER)
    check("%s (not an admin) sees exactly its %d sessions on two hosts" % (ra.USER, len(mine)),
          sorted(table(items)) == sorted(mine), "%s %r" % (err, sorted(table(items))[:8]))
    other = next(k for k in sorted(h1.sessions()) if h1.sessions()[k][0] != ra.USER)
    before = len(host_audit(h1))
    rc, _, err = broker.rdms("disconnect", path(h1.name, other), user=ra.USER)
    check("%s's Disconnect of someone else's session: refused (exit 1, ACCESS_DENIED)" % ra.USER,
          rc == 1 and "ACCESS_DENIED" in err, err)
    check("... nothing reached the host (its audit unchanged)",
          len(host_audit(h1)) == before, repr(host_audit(h1)[before:]))
    h, sid = mine[0]
    rc, _, err = broker.rdms("disconnect", path(h, sid), user=ra.USER)
    check("%s's Disconnect of its own session %s/%d through the broker returns 0"
          % (ra.USER, h, sid), rc == 0, err)

    # ---- a killed host, a silent partition
    hk = lab.fixture_hosts[-1]
    fault_and_back(lab, broker, hk, "killed", lambda: lab.kill_host(hk),
                   lambda: lab.start_host(hk), unknown_within=30)
    hp = lab.fixture_hosts[0]
    fault_and_back(lab, broker, hp, "partitioned", lambda: lab.partition(hp),
                   lambda: lab.heal(hp))
    # the same with a connection to the host kept from a call just before
    hk = lab.fixture_hosts[-2]
    fault_and_back(lab, broker, hk, "killed", lambda: lab.kill_host(hk),
                   lambda: lab.start_host(hk), warm=True)
    hp = lab.fixture_hosts[1]
    fault_and_back(lab, broker, hp, "partitioned", lambda: lab.partition(hp),
                   lambda: lab.heal(hp), warm=True)

    # ---- a host with another's certificate
    a, b = lab.fixture_hosts[0], lab.fixture_hosts[1]
    rc, _, err = broker.rdms("fleet", "host", "add", "hv-impostor", a.url, "--fingerprint",
                             b.fingerprint)
    st = wait_for(20, lambda: broker.hosts().get("hv-impostor", {}).get("ServerState") == 8
                  or None)
    check("a host registered with another host's fingerprint is refused (ServerState 8)",
          rc == 0 and bool(st), "%s %r" % (err, broker.hosts().get("hv-impostor")))
    check("... none of its sessions is listed",
          not any(i["VMHostName"] == "hv-impostor" for i in broker.enumerate()[0]), "")

    # ---- reads keep no state at the broker (a restart among them): last, on the fleet as
    # it now is, once the broker shows it
    truth = {}
    for h in lab.hosts:
        truth.update(table(lab.enumerate(h)[0]))
    wait_for(20, lambda: table(broker.enumerate()[0]) == truth or None)
    stateless_reads(lab, broker, truth)
    check("the broker converges again after its restart", bool(converge(broker, lab)),
          json.dumps(broker.hosts())[:400])


# ---- reads without state at the broker -------------------------------------------------

CTX_PREFIX = "rdms-ctx1:"
PAGED_ENUM = ("<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>%d"
              "</wsman:MaxElements><wsman:EnumerationMode>EnumerateObjectAndEPR"
              "</wsman:EnumerationMode>%s</wsen:Enumerate>")
PAGED_PULL = ("<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext>"
              "<wsen:MaxElements>%d</wsen:MaxElements></wsen:Pull>")


def ws(lab, broker, body, user=ra.ADMIN):
    """BODY to the broker's WS-Man from cl as USER: (HTTP status, parsed reply, text)."""
    _, code, text, _ = lab.curl("cl", WSMAN, body, extra=["-u", "%s:%s" % (user,
                                                                        broker.pw[user])])
    return code, tw.parse(text), text


def paged(lab, broker, first, pull_max, user=ra.ADMIN, uri=None, max_pulls=2000):
    """Enumerate (body FIRST) and Pull (MAX_ELEMENTS PULL_MAX) to the end:
    (instances, contexts seen, error or None)."""
    uri = uri or tw.WMI_URI
    body = tw.wsl_envelope(tw.ACT_ENUM, uri, body=first)
    out, ctxs = [], []
    for _ in range(max_pulls):
        code, root, text = ws(lab, broker, body, user)
        if code != 200 or root is None:
            return out, ctxs, "HTTP %d: %s" % (code, text[:300])
        out += tw.instances(root)
        ctx = tw.find_text(root, "EnumerationContext")
        if tw.find_all(root, "EndOfSequence") or not ctx:
            return out, ctxs, None
        ctxs.append(ctx)
        body = tw.wsl_envelope(tw.ACT_PULL, tw.WMI_URI, body=PAGED_PULL % (ctx, pull_max))
    return out, ctxs, "no end of sequence"


def fault_of(code, root):
    subs = tw.find_all(root, "Subcode")
    vals = [e.text for e in subs[0].iter() if tw.local(e.tag) == "Value"] if subs else []
    return code, (vals[0] if vals else "").strip()


def pull_once(lab, broker, ctx, user=ra.ADMIN, n=10):
    code, root, text = ws(lab, broker, tw.wsl_envelope(tw.ACT_PULL, tw.WMI_URI,
                                                       body=PAGED_PULL % (ctx, n)), user)
    return code, root, text


def reseal(broker, ctx, expires_ms):
    """CTX with its expiry set to EXPIRES_MS and signed again with the
    directory's secret (read from its table: meta in SQLite, secrets in
    PostgreSQL): the payload is version, mode, flags, expiry (8 bytes,
    big-endian), ... (src/wsman/wsman_ctx.c)."""
    if broker.dsn is not None:
        p = subprocess.run([fl.PG_BIN + "/psql", broker.dsn, "-Atc", "SELECT encode(value, "
                            "'hex') FROM secrets WHERE name = 'enumeration-context'"],
                           capture_output=True, text=True, timeout=30)
        key = bytes.fromhex(p.stdout.strip()) if p.returncode == 0 else b""
    else:
        db = sqlite3.connect(os.path.join(broker.dir, "fleet.db"))
        try:
            key = db.execute("SELECT value FROM meta WHERE name = "
                             "'enumeration-context'").fetchone()[0]
        finally:
            db.close()
    b64 = ctx[len(CTX_PREFIX):]
    raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    payload = bytearray(raw[:-32])
    if hmac.new(key, bytes(payload), hashlib.sha256).digest() != raw[-32:]:
        return None     # not signed with that secret: the format or the key moved
    payload[3:11] = struct.pack(">q", expires_ms)
    sealed = bytes(payload) + hmac.new(key, bytes(payload), hashlib.sha256).digest()
    return CTX_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def stateless_reads(lab, broker, truth):
    # a paged enumeration in PowerShell's shape, smaller pages: exactly the union
    items, ctxs, err = paged(lab, broker, PAGED_ENUM % (700, ""), 900)
    got = table(items)
    check("paged Enumerate/Pull through the broker (MaxElements 700/900, ObjectAndEPR): "
          "exactly the union (%d sessions in %d replies)" % (len(truth), len(ctxs) + 1),
          err is None and got == truth and len(items) == len(truth) and len(ctxs) >= 2,
          "%s; %d vs %d" % (err, len(items), len(truth)))
    check("... every context a signed stateless one (%s...), none kept at the broker"
          % CTX_PREFIX, bool(ctxs) and all(c.startswith(CTX_PREFIX) for c in ctxs),
          repr([c[:60] for c in ctxs[:3]]))

    # a Pull after the broker restarted on the same directory
    code, root, _ = ws(lab, broker, tw.wsl_envelope(tw.ACT_ENUM, tw.WMI_URI,
                                                    body=PAGED_ENUM % (32000, "")))
    first = tw.instances(root) if root is not None else []
    ctx = tw.find_text(root, "EnumerationContext") if root is not None else None
    restarted = bool(ctx) and broker.restart()
    rest, err = [], "no context"
    if restarted:
        body = tw.wsl_envelope(tw.ACT_PULL, tw.WMI_URI, body=PAGED_PULL % (ctx, 32000))
        for _ in range(100):
            code, root, text = ws(lab, broker, body)
            if code != 200 or root is None:
                err = "HTTP %d: %s" % (code, text[:300])
                break
            rest += tw.instances(root)
            nxt = tw.find_text(root, "EnumerationContext")
            if tw.find_all(root, "EndOfSequence") or not nxt:
                err = None
                break
            body = tw.wsl_envelope(tw.ACT_PULL, tw.WMI_URI, body=PAGED_PULL % (nxt, 32000))
    check("a Pull after the broker restarted (same directory) goes on: the first reply's "
          "and the rest are exactly the union", restarted and err is None and len(first) > 0 and
          table(first + rest) == truth and len(first) + len(rest) == len(truth),
          "%s %s %d+%d vs %d" % (restarted, err, len(first), len(rest), len(truth)))

    # refused contexts: the host's fault, logged
    before = len(broker.log())
    cases = []
    if ctx:
        mid = len(CTX_PREFIX) + 30
        cases.append(("a tampered", ctx[:mid] + ("A" if ctx[mid] != "A" else "B") + ctx[mid + 1:],
                      ra.ADMIN))
        cases.append(("a truncated", ctx[:len(ctx) - 7], ra.ADMIN))
        cases.append(("another caller's", ctx, ra.USER))
        expired = reseal(broker, ctx, int(time.time() * 1000) - 1000)
        check("the context is signed with the directory's secret (HMAC-SHA256, checked here)",
              expired is not None, ctx[:80])
        if expired:
            cases.append(("an expired", expired, ra.ADMIN))
    for what, c, user in cases:
        code, root, text = pull_once(lab, broker, c, user)
        check("a Pull with %s context: HTTP 500 wsen:InvalidEnumerationContext" % what,
              fault_of(code, root) == (500, "wsen:InvalidEnumerationContext"), text[:400])
    log_text = broker.log()[before:]
    check("... each refusal logged with its reason",
          log_text.count("enumeration context refused") >= len(cases) and
          "expired" in log_text and "another caller" in log_text, log_text[-800:])
    if ctx:
        rel = ("<wsen:Release><wsen:EnumerationContext>%s</wsen:EnumerationContext>"
               "</wsen:Release>" % ctx)
        code, root, text = ws(lab, broker, tw.wsl_envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release", tw.WMI_URI, body=rel))
        check("Release of a stateless context: HTTP 200", code == 200, text[:300])

    # WQL through WS-Man, UserName pushed down, paged from the wildcard URI
    user = next(iter(truth.values()))[0]
    want = {k: v for k, v in truth.items() if v[0].lower() == user.lower()}
    q = "SELECT * FROM Win32_VirtualDesktopSession WHERE UserName = '%s'" % user.upper()
    flt = '<wsman:Filter Dialect="%s">%s</wsman:Filter>' % (tw.WQL, q)
    items, ctxs, err = paged(lab, broker, PAGED_ENUM % (7, flt), 9, uri=tw.WILDCARD_URI)
    check("WQL %s through WS-Man at the broker, paged by 7/9: exactly that user's %d sessions"
          % (q, len(want)), err is None and table(items) == want and len(items) == len(want),
          "%s %d vs %d" % (err, len(items), len(want)))
    body = cx.exec_query("WQL", q.replace("'", "&apos;"))
    p = subprocess.run(["ip", "netns", "exec", "cl", "curl", "-s", "--max-time", "60",
                        "-u", "%s:%s" % (ra.ADMIN, broker.pw[ra.ADMIN]),
                        "-H", 'Content-Type: application/xml; charset="utf-8"',
                        "-H", "CIMProtocolVersion: 1.0", "-H", "CIMOperation: MethodCall",
                        "-H", "CIMMethod: ExecQuery", "-H", "CIMObject: root%2Fcimv2%2Frdms",
                        "--data-binary", "@-", "http://%s:5988/cimom" % BROKER_ADDR],
                       input=body, capture_output=True, text=True, timeout=90)
    n = p.stdout.count("<VALUE.OBJECTWITHPATH>")
    check("... and through CIM-XML ExecQuery at the broker: the same %d" % len(want),
          p.returncode == 0 and n == len(want), "%d %d %s" % (p.returncode, n,
                                                             (p.stdout + p.stderr)[-400:]))


def postgresql_schema(broker):
    """A broker on a database without the schema refuses to start, naming
    `rdms fleet db init`; that command makes it.  True when it did."""
    started = broker.start()
    check("on PostgreSQL without the schema the broker refuses to start, naming "
          "'rdms fleet db init'", not started and "run 'rdms fleet db init'" in broker.log(),
          broker.log()[-800:])
    rc, out, err = broker.rdms("fleet", "db", "init")
    return check("rdms fleet db init makes the schema in PostgreSQL",
                 rc == 0 and 'PostgreSQL database "rdms"' in out and "is ready" in out,
                 "%d %s %s" % (rc, out, err))


def main():
    pg_tools = [fl.PG_BIN + "/postgres", "setpriv"] if STORE == "postgresql" else []
    if not ready("test_fleet_broker", built=[RDMS, RDMSD], tools=["ip", "curl", "openssl",
                                                                   "xfreerdp", "wslenum",
                                                                   "wbemcli"] + pg_tools):
        return 1
    accounts = ra.Lab()
    try:
        accounts.accounts()
        with fl.FleetLab(hosts=N_HOSTS, xrdp_hosts=1, sessions=1000) as lab:
            log("fleet lab: %d hosts in %.1f s" % (len(lab.hosts), lab.setup_seconds))
            broker = Broker(lab, accounts, lab.postgresql() if STORE == "postgresql" else None)
            if STORE == "postgresql" and not postgresql_schema(broker):
                return finish()
            if check("the broker (role = broker) starts in b1", broker.start(),
                     broker.log()[-1500:]):
                try:
                    scenario(lab, broker)
                finally:
                    if fl_failed():
                        log(broker.log()[-4000:])
    finally:
        accounts.cleanup()
    return finish()


def fl_failed():
    import e2e_common
    return e2e_common.failed


if __name__ == "__main__":
    sys.exit(main())
