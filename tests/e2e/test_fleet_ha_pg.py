#!/usr/bin/python3
"""test_fleet_ha_pg.py -- two fleet brokers active/active on one PostgreSQL 15
(issue 16, items 2-4; spec/fleet.md 3.9, 4.6), on the fleet lab's fixture
hosts, with haproxy (TCP, health check = WS-Man Identify) in front of them
in the client namespace.  Checked:
  a second broker started under a name whose lease is live (b1 in b2's
      namespace) is refused: exit 2 (rdmsd's failure to start), the log
      naming the holder;
  both brokers converge; haproxy sees both healthy;
  under load -- hosts changing sessions, clients calling Disconnect through
      haproxy (each call its own MessageID, retried with the same one on a
      transport error or an unknown outcome) and enumerating through it --
      b1 is killed (SIGKILL, both its processes), then restarted:
        the directory equals the hosts' truth afterwards (every property);
        every change was seen (the last marker of each host);
        every MessageID ran exactly once (one Disconnect per session in the
            hosts' audits) and every client call got an answer;
        the directory's calls are all done or unknown, none pending
            (b1's in-flight ones swept to unknown by b2);
        the clients' error window is at most 5 s;
        the restarted b1 took its name over at once (its dead holder) and
            resumed most hosts by bookmark (no resync);
  PostgreSQL stopped for 20 s under load: every request fails within 5 s
      (no hang), Identify answers 503 (haproxy drains both), requests give
      WBEM_E_NOT_AVAILABLE; when it returns both are healthy again, resume
      by bookmark (no resync) and a change made meanwhile shows: nothing lost.

Needs root, postgresql-15 and haproxy; run under the lab lock (run.sh does).
Output: one PASS/FAIL line per check, and last `N passed, M failed`.
"""
import calendar
import email.utils
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fleet_lab as fl             # noqa: E402
import test_rdmsd_auth as ra       # noqa: E402  (accounts, PAM service)
import test_wsman_e2e as tw        # noqa: E402
import test_fleet_broker as fb     # noqa: E402  (table, host_audit, path)
from e2e_common import RDMS, RDMSD, check, children, finish, log, read, ready, wait_for  # noqa: E402

N_HOSTS = int(os.environ.get("RDMS_FLEET_HA_HOSTS", "6"))
SESSIONS = 200
LB_ADDR = fl.CLIENT_ADDR
LB = "http://%s:5985/wsman" % LB_ADDR
HAPROXY = "/usr/sbin/haproxy"
# Debian's faketime: the multi-threaded library (rdmsd's threads), preloaded into a
# process and, through exec's environment, into the rdmsd-net it starts
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
IDENTIFY = ("<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope' "
            "xmlns:wsmid='http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd'>"
            "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>")


class Broker(fb.Broker):
    """A broker named NAME in namespace NS (b1, b2) on the lab's PostgreSQL;
    test_fleet_broker's, but for its place (rdms on its socket, hosts())."""

    def __init__(self, lab, accounts, dsn, ns, name, tag=None):   # pylint: disable=super-init-not-called
        self.lab, self.ns, self.name = lab, ns, name
        self.addr, certname = fl.BROKERS[ns]
        self.dir = os.path.join(lab.dir, tag or ns)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "rdmsd.conf")
        self.logname = "broker-" + (tag or ns)
        self.logf = os.path.join(lab.dir, self.logname + ".log")
        self.pw = accounts.pw
        self.dsn = dsn
        cert, key = lab.certs[certname]
        with open(self.conf, "w") as f:
            f.write("role = broker\nbroker_name = %s\nstore = postgresql\nstore_dsn = %s\n"
                    "store_path = %s/fleet.db\naudit_db = %s/audit.db\n"
                    "socket_path = %s/rdmsd.sock\nfleet_cert = %s\nfleet_key = %s\n"
                    "listen_address = %s\nallow_remote_http = true\n"
                    "https_listen_address = %s\nadmin_group = %s\npam_service = %s\n"
                    "hooks_dir = %s/hooks\nforward_timeout_s = 3\n"
                    % (name, dsn, self.dir, self.dir, self.dir, cert, key, self.addr,
                       self.addr, ra.ADMIN_GROUP, ra.PAM_SERVICE, self.dir))
        self.proc = None

    def start(self, wait=True, env=None):
        before = len(self.log())
        self.proc = self.lab.spawn(self.ns, self.logname, [RDMSD, "--config", self.conf,
                                                           "--foreground", "--debug"], env=env)
        if not wait:
            return before
        wait_for(20, lambda: "ready" in self.log()[before:] or self.proc.poll() is not None)
        return "ready" in self.log()[before:] and self.proc.poll() is None

    def kill9(self):
        """SIGKILL to both processes of the broker, the network one first."""
        pids = children(self.proc.pid) + [self.proc.pid]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(10)

    def identify(self):
        """(HTTP status, body) of an unauthenticated Identify, from cl."""
        _, code, text, _ = self.lab.curl(fl.CLIENT, "http://%s:5985/wsman" % self.addr,
                                         IDENTIFY, max_time=8)
        return code, text


def psql(dsn, q, db="rdms"):
    """The rows of query Q in database DB (each a list of its columns' text), or None."""
    sock = re.search(r"host=(\S+)", dsn).group(1)
    p = subprocess.run([fl.PG_BIN + "/psql", "-h", sock, "-U", "rdms", "-d", db, "-At",
                        "-F", "|", "-c", q], capture_output=True, text=True, timeout=30)
    return [ln.split("|") for ln in p.stdout.splitlines()] if p.returncode == 0 else None


def haproxy(lab):
    """haproxy in cl: TCP to both brokers, each checked with an Identify;
    CIM-XML (5988) too, its servers following the WS-Man checks."""
    conf = os.path.join(lab.dir, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write("global\n  maxconn 2000\n"
                "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 60s\n"
                "  timeout server 60s\n  retries 2\n  option redispatch\n"
                "frontend wsman\n  bind %s:5985\n  default_backend brokers\n"
                "backend brokers\n  balance roundrobin\n  option httpchk\n"
                "  http-check send meth POST uri /wsman ver HTTP/1.1 hdr Host broker "
                "hdr Content-Type application/soap+xml body \"%s\"\n"
                "  http-check expect status 200\n"
                "  default-server check inter 500 fall 2 rise 2\n"
                "  server b1 %s:5985\n  server b2 %s:5985\n"
                "frontend cimxml\n  bind %s:5988\n  default_backend cimxml\n"
                "backend cimxml\n  balance roundrobin\n"
                "  server b1 %s:5988 track brokers/b1\n  server b2 %s:5988 track brokers/b2\n"
                % (LB_ADDR, IDENTIFY, fl.BROKERS["b1"][0], fl.BROKERS["b2"][0],
                   LB_ADDR, fl.BROKERS["b1"][0], fl.BROKERS["b2"][0]))
    return lab.spawn(fl.CLIENT, "haproxy", [HAPROXY, "-db", "-f", conf])


def pg_processes(lab):
    """The lab's PostgreSQL: its postmaster and every child of it."""
    return [lab.pg.pid] + children(lab.pg.pid)


class CliClient:
    """A client that talks to the brokers directly, no load balancer:
    `rdms --host B1,B2 get PATH` in cl, over and over (the CLI tries the
    next broker when one cannot be reached, gives no answer or says 503).
    Records each call's start, end and success."""

    def __init__(self, lab, accounts, conf, target):
        self.lab, self.conf, self.target = lab, conf, target
        self.env = dict(os.environ, RDMS_PASSWORD=accounts.pw[ra.ADMIN])
        self.urls = ",".join("http://%s:5985/wsman" % fl.BROKERS[b][0] for b in ("b1", "b2"))
        self.calls = []                 # (start, end, ok), monotonic
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            p = subprocess.run(["ip", "netns", "exec", fl.CLIENT, RDMS, "--config", self.conf,
                                "--host", self.urls, "-u", ra.ADMIN, "get",
                                fb.path(*self.target), "--json"], env=self.env,
                               capture_output=True, text=True, timeout=60)
            self.calls.append((t0, time.monotonic(), p.returncode == 0 and
                               '"SessionId"' in p.stdout))
            time.sleep(0.1)

    def window(self, since):
        """(seconds without an answer: the first failed call's start to the
        last one's end, 0 when none failed; the slowest call; calls) after SINCE."""
        calls = [c for c in self.calls if c[1] >= since]
        bad = [c for c in calls if not c[2]]
        span = bad[-1][1] - bad[0][0] if bad else 0.0
        return span, max((c[1] - c[0] for c in calls), default=0.0), len(calls), len(bad)


def ws_at(lab, accounts, broker, body, max_time=10):
    """BODY to BROKER's WS-Man from cl as the admin: (HTTP status, parsed reply, text, secs)."""
    _, code, text, secs = lab.curl(fl.CLIENT, "http://%s:5985/wsman" % broker.addr, body,
                                   max_time=max_time,
                                   extra=["-u", "%s:%s" % (ra.ADMIN, accounts.pw[ra.ADMIN])])
    return code, tw.parse(text), text, secs


def enumeration_begun(lab, accounts, broker, first=50):
    """An enumeration begun at BROKER with MaxElements FIRST: (its items, its context)."""
    body = tw.wsl_envelope(tw.ACT_ENUM, tw.WMI_URI, body=(
        "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>%d"
        "</wsman:MaxElements></wsen:Enumerate>" % first))
    code, root, text, _ = ws_at(lab, accounts, broker, body)
    if code != 200 or root is None:
        return [], None
    return tw.instances(root), tw.find_text(root, "EnumerationContext")


def pulled_to_end(lab, accounts, broker, ctx, n=500):
    """The rest of an enumeration, Pulled at BROKER from CTX: (items, error or None)."""
    out = []
    for _ in range(1000):
        code, root, text, _ = ws_at(lab, accounts, broker, tw.wsl_envelope(
            tw.ACT_PULL, tw.WMI_URI, body=fb.PAGED_PULL % (ctx, n)))
        if code != 200 or root is None:
            return out, "HTTP %d: %s" % (code, text[:300])
        out += tw.instances(root)
        ctx = tw.find_text(root, "EnumerationContext")
        if tw.find_all(root, "EndOfSequence") or not ctx:
            return out, None
    return out, "no end of sequence"


def keys_of(items):
    return [(i["VMHostName"], int(i["SessionId"])) for i in items]


def disconnect_body(host, sid, mid):
    return tw.wsl_envelope(tw.WMI_URI + "/Disconnect", tw.WMI_URI,
                           [("VMHostName", host), ("SessionId", str(sid))],
                           '<p:Disconnect_INPUT xmlns:p="%s"/>' % tw.WMI_URI, msgid=mid)


def disconnects(h, sid):
    """How many times host H's audit says SID was Disconnected."""
    return sum(1 for row in fb.host_audit(h) if row[2] == "Disconnect" and
               re.search(r"SessionId=%d\b" % sid, row[4]))


class Load:
    """The run's traffic through haproxy: changes on the hosts, Disconnects
    (own MessageID each, retried with the same), enumerations.  Records
    every failed attempt's time, every call's end, and each client's error
    windows (first failed attempt to its next good answer)."""

    def __init__(self, lab, accounts, targets):
        self.lab, self.user = lab, ["-u", "%s:%s" % (ra.ADMIN, accounts.pw[ra.ADMIN])]
        self.targets = targets              # [(host, sid)] each Disconnected once
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.errors = []                    # monotonic times of failed attempts
        self.slowest = 0.0                  # the longest attempt, seconds
        self.slowest_call = 0.0             # the longest method call's attempt
        self.calls = {}                     # MessageID -> (host, sid, outcome)
        self.markers = {}                   # host name -> last marker written
        self.enums = [0, 0]                 # complete, failed
        self.failing = {}                   # client -> time of its first failed attempt
        self.windows = {}                   # client -> its longest error window, seconds

    def attempt_failed(self, secs, client):
        with self.lock:
            self.errors.append(time.monotonic())
            self.slowest = max(self.slowest, secs)
            self.failing.setdefault(client, self.errors[-1])

    def attempt_ok(self, client):
        """CLIENT got a good answer: the end of its error window, if one was open."""
        with self.lock:
            since = self.failing.pop(client, None)
            if since is not None:
                self.windows[client] = max(self.windows.get(client, 0.0),
                                           time.monotonic() - since)

    def changes(self):
        n = 0
        while not self.stop.is_set():
            for h in self.lab.fixture_hosts:
                sid = sorted(h.sessions())[n % 50]
                self.markers[h.name] = h.mark(sid, n)
            n += 1
            time.sleep(0.2)

    def methods(self, k, every):
        for host, sid in self.targets[k::every]:
            if self.stop.is_set():
                return
            mid = "uuid:" + str(uuid.uuid4())
            body = disconnect_body(host, sid, mid)
            outcome = None
            for _ in range(40):
                rc, code, text, secs = self.lab.curl(fl.CLIENT, LB, body, max_time=8,
                                                     extra=self.user)
                root = tw.parse(text)
                rv = tw.return_value(root, "Disconnect")
                f = tw.fault(root)
                with self.lock:
                    self.slowest = max(self.slowest, secs)
                    self.slowest_call = max(self.slowest_call, secs)
                if rv is not None:
                    outcome = "rv %d" % rv
                    self.attempt_ok(k)
                    break
                # tw.fault's WSManFault code is a number
                if f is not None and f[1] not in (2147749897, 2147749909, 2147749993):
                    outcome = "fault %s" % f[1]          # final: not NOT_AVAILABLE,
                    self.attempt_ok(k)                    # TRANSPORT_FAILURE, TIMED_OUT
                    break
                self.attempt_failed(secs, k)
                if f is not None and f[1] == 2147749993 and "not run again" in text:
                    outcome = "unknown"                   # the retry says: ran before
                    break
                time.sleep(0.2)
            self.calls[mid] = (host, sid, outcome)

    def enumerations(self):
        while not self.stop.is_set():
            t = time.monotonic()
            items, err = self.lab.enumerate_url(LB, fl.CLIENT, extra=self.user)
            with self.lock:
                self.slowest = max(self.slowest, time.monotonic() - t)
                self.enums[err is not None] += 1
            if err is not None:
                self.attempt_failed(time.monotonic() - t, "enum")
            else:
                self.attempt_ok("enum")
            time.sleep(0.3)

    def run(self, clients=4):
        self.threads = [threading.Thread(target=self.changes, daemon=True),
                        threading.Thread(target=self.enumerations, daemon=True)]
        self.threads += [threading.Thread(target=self.methods, args=(k, clients), daemon=True)
                         for k in range(clients)]
        for t in self.threads:
            t.start()

    def end(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)

    def window(self):
        """Seconds from the first failed attempt to the last (0: none)."""
        return self.errors[-1] - self.errors[0] if self.errors else 0.0

    def client_window(self):
        """The longest time any one client spent from a failed attempt to its
        next good answer (a window still open counts up to now; 0: none)."""
        now = time.monotonic()
        with self.lock:
            return max(list(self.windows.values()) +
                       [now - t for t in self.failing.values()] + [0.0])

    def executions(self):
        """From the hosts' audits: ([(host, sid)] of calls that ran twice or
        more, [(host, sid)] of calls that never ran and were not answered
        'unknown')."""
        ran = {}
        for h in self.lab.fixture_hosts:
            for row in fb.host_audit(h):
                if row[2] == "Disconnect":
                    m = re.search(r"SessionId=(\d+)", row[4])
                    if m:
                        key = (h.name, int(m.group(1)))
                        ran[key] = ran.get(key, 0) + 1
        calls = list(self.calls.values())
        twice = [(c[0], c[1]) for c in calls if ran.get((c[0], c[1]), 0) > 1]
        never = [(c[0], c[1]) for c in calls if ran.get((c[0], c[1]), 0) == 0 and
                 c[2] != "unknown"]
        return twice, never


def truth_and_directory(lab, accounts):
    truth = {}
    for h in lab.hosts:
        items, _ = lab.enumerate(h)
        truth.update(fb.table(items))
    items, err = lab.enumerate_url(LB, fl.CLIENT, extra=["-u", "%s:%s" % (ra.ADMIN,
                                                                         accounts.pw[ra.ADMIN])])
    return truth, fb.table(items), err


def resyncs(log_text):
    return len(re.findall(r"fleet: (hv\d+): resync \(", log_text))


def scenario(lab, accounts, dsn):
    b1 = Broker(lab, accounts, dsn, "b1", "b1")
    rc, out, err = b1.rdms("fleet", "db", "init")
    check("rdms fleet db init makes the schema", rc == 0, "%s %s" % (out, err))
    for h in lab.hosts:
        rc, _, err = b1.rdms("fleet", "host", "add", h.name, h.url, "--fingerprint",
                             h.fingerprint)
        if rc != 0:
            check("rdms fleet host add %s" % h.name, False, err)
    if not check("b1 starts", b1.start(), b1.log()[-1500:]):
        return
    # ---- (a) a second process under b1's name
    dup = Broker(lab, accounts, dsn, "b2", "b1", tag="b1-again")
    dup.start(wait=False)
    try:
        dup.proc.wait(20)
    except subprocess.TimeoutExpired:
        pass
    check("a second broker named b1 on the same database is refused: exit 2 (rdmsd(8): a "
          "failure to start), the log naming the live holder", dup.proc.returncode == 2 and
          "broker name b1 is in use on the session directory" in dup.log() and
          "by pid %d on " % children(b1.proc.pid)[0] in dup.log(),
          "rc=%r %s" % (dup.proc.returncode, dup.log()[-800:]))
    b2 = Broker(lab, accounts, dsn, "b2", "b2")
    if not check("b2 starts beside it", b2.start(), b2.log()[-1500:]):
        return
    ok = wait_for(60, lambda: all(b.hosts().get(h.name, {}).get("ServerState") == 3
                                  for b in (b1, b2) for h in lab.hosts))
    check("both brokers see every host running", bool(ok), repr(b2.hosts())[:600])
    haproxy(lab)
    code1, _ = b1.identify()
    check("Identify at a healthy broker: 200", code1 == 200, str(code1))
    ok = wait_for(15, lambda: lab.curl(fl.CLIENT, LB, IDENTIFY, max_time=5)[1] == 200)
    check("haproxy serves Identify (health = Identify on both)", bool(ok), "")

    # ---- SIGKILL of b1 under load
    # the last host answers one Disconnect slowly: the call in flight at b1's death
    slow = lab.fixture_hosts[-1]
    targets = [(h.name, sid) for h in lab.fixture_hosts[:-1]
               for sid in sorted(h.sessions())[100:100 + 12]]
    load = Load(lab, accounts, targets)
    load.run()
    h0 = lab.fixture_hosts[0]
    cli = CliClient(lab, accounts, b2.conf, (h0.name, sorted(h0.sessions())[70]))
    cli.thread.start()
    time.sleep(5)
    begun, ctx = enumeration_begun(lab, accounts, b1)
    check("an enumeration begun at b1 with MaxElements 50: %d items and a context"
          % len(begun), len(begun) == 50 and bool(ctx), "")
    in_sid, in_mid, in_flight = sorted(slow.sessions())[120], "uuid:" + str(uuid.uuid4()), {}
    # SIGSTOP to the host's privileged rdmsd, which runs the back-end's Disconnect: the
    # host's rdmsd-net takes the call from b1 and waits for it (no test-only knob needed)
    os.kill(slow.pid, signal.SIGSTOP)
    try:
        sender = threading.Thread(target=lambda: in_flight.update(r=ws_at(
            lab, accounts, b1, disconnect_body(slow.name, in_sid, in_mid))), daemon=True)
        sender.start()
        pending = wait_for(2.5, lambda: psql(dsn, "SELECT state FROM calls WHERE message_id = "
                                                  "'%s'" % in_mid) == [["pending"]], step=0.05)
        t_kill = time.monotonic()
        b1.kill9()
    finally:
        os.kill(slow.pid, signal.SIGCONT)
    log("  b1 killed")
    check("a Disconnect forwarded by b1 was in flight when b1 died (pending in the directory, "
          "its host holding it)", bool(pending), "")
    rest, err = pulled_to_end(lab, accounts, b2, ctx)
    sender.join(15)
    time.sleep(8)
    before = len(b1.log())
    restarted = b1.start()
    b1_after = b1.log()[before:]
    check("b1 restarted under its name at once (its dead holder's lease taken over)",
          restarted and "broker name b1 held by" in b1_after, b1_after[-800:])
    time.sleep(6)
    load.end()
    time.sleep(3)
    n_resync = resyncs(b1.log()[before:])
    check("the restarted b1 resumed most hosts by bookmark (%d of %d resynced)"
          % (n_resync, len(lab.hosts)), n_resync * 4 <= len(lab.hosts), b1_after[-800:])
    window = load.window()
    check("clients through haproxy saw errors for at most 5 s (%.1f s; %d failed attempts)"
          % (window, len(load.errors)), window <= 5.0, "")
    cli.stop.set()
    cli.thread.join(60)
    span, slowest, n_cli, n_bad = cli.window(t_kill - 2)
    check("a client talking to the brokers directly (rdms --host b1,b2) was without an answer "
          "for %.1f s (<= 5 s) around the kill; its slowest call took %.1f s (%d calls, %d "
          "failed)" % (span, slowest, n_cli, n_bad), span <= 5.0 and slowest <= 5.0 and
          n_cli > 0, repr([c for c in cli.calls if not c[2]][:5]))
    swept = wait_for(60, lambda: (lambda r: r if r and r[0][0] == "unknown" else None)(
        psql(dsn, "SELECT state, extract(epoch FROM done_at - at) FROM calls WHERE "
                  "message_id = '%s'" % in_mid)))
    check("b1's call in flight at its death is audited unknown, %.1f s after it was claimed "
          "(<= 60 s)" % (float(swept[0][1]) if swept else -1), bool(swept) and
          float(swept[0][1]) <= 60, repr(psql(dsn, "SELECT * FROM calls WHERE message_id = "
                                             "'%s'" % in_mid)))
    code, root, text, _ = ws_at(lab, accounts, b2, disconnect_body(slow.name, in_sid, in_mid))
    rv, f = tw.return_value(root, "Disconnect"), tw.fault(root)
    check("its retry with the same MessageID at b2 answers the first outcome or 'not run "
          "again' (%s)" % (("rv %d" % rv) if rv is not None else repr(f)),
          rv is not None or (f is not None and f[1] == 2147749993 and "not run again" in text),
          text[:500])
    ran = disconnects(slow, in_sid)
    check("... and the host ran that Disconnect at most once (%d)" % ran, ran <= 1, "")
    done = [m for m, c in load.calls.items() if c[2] is not None]
    check("every Disconnect through haproxy got an answer (%d of %d calls; %d enumerations, "
          "%d failed)" % (len(done), len(load.calls), load.enums[0], load.enums[1]),
          len(done) == len(load.calls) and len(load.calls) > 0,
          repr([c for c in load.calls.values() if c[2] is None][:5]))
    twice, never = load.executions()
    check("every MessageID ran exactly once on its host (%d calls, none twice)" % len(load.calls),
          not twice and not never, "twice %r; never %r" % (twice[:5], never[:5]))
    rows = wait_for(20, lambda: (lambda r: r if r is not None and
                                 all(s != "pending" for s, _ in r) else None)(
        psql(dsn, "SELECT state, count(*) FROM calls GROUP BY state")))
    check("every call in the directory is done or unknown, none pending (%r)" % rows,
          rows is not None and {s for s, _ in rows} <= {"done", "unknown"}, repr(rows))
    missing = [m for m in load.calls if not psql(dsn, "SELECT 1 FROM calls WHERE message_id "
                                                 "= '%s'" % m)]
    check("... and every client call is among them", not missing, repr(missing[:5]))
    truth, got, err = truth_and_directory(lab, accounts)
    check("the directory equals the hosts' truth (%d sessions, every property)" % len(truth),
          err is None and got == truth,
          "%s; %r" % (err, sorted(set(got.items()) ^ set(truth.items()))[:5]))
    keys = keys_of(begun) + keys_of(rest)
    check("the enumeration begun at b1 went on at b2 with its context after b1 died: %d + %d "
          "items, none twice, their union the directory" % (len(begun), len(rest)),
          err is None and len(keys) == len(set(keys)) and set(keys) == set(got),
          "%s; %d keys, %d distinct, %d in the directory" % (err, len(keys), len(set(keys)),
                                                            len(got)))
    check("every host's last change was seen", all(
        any(v[2] == load.markers[h.name] for v in got.values() if True)
        for h in lab.fixture_hosts), repr(load.markers))

    # ---- PostgreSQL stopped for 20 s under load
    resync_before = resyncs(b1.log()) + resyncs(b2.log())
    load2 = Load(lab, accounts, [(h.name, sid) for h in lab.fixture_hosts
                                 for sid in sorted(h.sessions())[150:150 + 10]])
    load2.run(clients=2)
    time.sleep(2)
    lab.pg.send_signal(signal.SIGINT)
    lab.pg.wait(30)
    t_down = time.monotonic()
    unhealthy = wait_for(8, lambda: b2.identify()[0] == 503)
    code, text = b2.identify()
    check("PostgreSQL down: Identify at a broker answers 503 with WBEM_E_NOT_AVAILABLE "
          "(within %.1f s)" % (time.monotonic() - t_down),
          bool(unhealthy) and "unhealthy: session directory" in text, "%d %s" % (code, text[:400]))
    h = lab.fixture_hosts[0]
    sid = sorted(h.sessions())[60]
    _, code, text, secs = lab.curl(fl.CLIENT, "http://%s:5985/wsman" % b2.addr,
                                   tw.wsl_envelope(tw.ACT_GET, tw.WMI_URI,
                                                   [("VMHostName", h.name),
                                                    ("SessionId", str(sid))]),
                                   max_time=10, extra=load.user)
    check("... a Get at the broker fails in %.1f s (<= 5 s) with WBEM_E_NOT_AVAILABLE, 503"
          % secs, code == 503 and "2147749897" in text and secs <= 5.0, text[:400])
    outage_marker = h.mark(sid, 999999)
    time.sleep(max(0.0, 20 - (time.monotonic() - t_down)))
    restart_pg(lab)
    back = wait_for(20, lambda: b1.identify()[0] == 200 and b2.identify()[0] == 200)
    check("PostgreSQL back: both brokers healthy again within %.1f s"
          % (time.monotonic() - t_down - 20), bool(back), b2.log()[-600:])
    time.sleep(4)
    load2.end()
    check("during the outage no request hung: the slowest took %.1f s (<= 5.5 s)"
          % load2.slowest, load2.slowest <= 5.5, "")
    seen = wait_for(20, lambda: (lambda t: t[1].get((h.name, sid), (0, 0, ""))[2] ==
                                 outage_marker)(truth_and_directory(lab, accounts)))
    check("a change made while PostgreSQL was down shows after it returned", bool(seen), "")
    resync_after = resyncs(b1.log()) + resyncs(b2.log())
    check("both brokers resumed by bookmark, no resync (%d)" % (resync_after - resync_before),
          resync_after == resync_before, "")
    truth, got, err = truth_and_directory(lab, accounts)
    check("nothing lost: the directory equals the hosts' truth (%d sessions)" % len(truth),
          err is None and got == truth,
          "%s; %r" % (err, sorted(set(got.items()) ^ set(truth.items()))[:5]))
    rows = wait_for(20, lambda: (lambda r: r if r is not None and
                                 all(s != "pending" for s, _ in r) else None)(
        psql(dsn, "SELECT state, count(*) FROM calls GROUP BY state")))
    twice = []
    for h2 in lab.fixture_hosts:
        n = {}
        for row in fb.host_audit(h2):
            if row[2] == "Disconnect":
                n[row[4]] = n.get(row[4], 0) + 1
        twice += [k for k, v in n.items() if v > 1]
    check("after the outage: no call pending, none ran twice", rows is not None and not twice,
          "%r %r" % (rows, twice[:5]))
    hung(lab, accounts, dsn, b1, b2)
    skew(lab, accounts, dsn, b1, b2)


def hung(lab, accounts, dsn, b1, b2, seconds=15):
    """PostgreSQL hung for SECONDS under load: SIGSTOP to its postmaster and
    every process of it, so its socket stays open and nothing answers
    (libpq's blocking calls would wait for ever).  Always SIGCONT after."""
    load = Load(lab, accounts, [(h.name, sid) for h in lab.fixture_hosts
                                for sid in sorted(h.sessions())[170:170 + 6]])
    load.run(clients=2)
    time.sleep(2)
    resync_before = resyncs(b1.log()) + resyncs(b2.log())
    h = lab.fixture_hosts[0]
    sid = sorted(h.sessions())[61]
    get = tw.wsl_envelope(tw.ACT_GET, tw.WMI_URI, [("VMHostName", h.name),
                                                   ("SessionId", str(sid))])
    enum = tw.wsl_envelope(tw.ACT_ENUM, tw.WMI_URI, body=fl.ENUM_BODY)
    stopped, probes, first_503 = pg_processes(lab), [], {}

    def watch_identify():
        while len(first_503) < 2 and time.monotonic() - t_hang < seconds:
            for b in (b1, b2):
                if b.name not in first_503 and b.identify()[0] == 503:
                    first_503[b.name] = time.monotonic() - t_hang
            time.sleep(0.2)
    try:
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        t_hang = time.monotonic()
        watcher = threading.Thread(target=watch_identify, daemon=True)
        watcher.start()
        for b, what, body in ((b1, "Get", get), (b2, "Get", get), (b2, "Enumerate", enum)):
            code, _, text, secs = ws_at(lab, accounts, b, body, max_time=30)
            probes.append((b.name, what, code, "2147749897" in text, secs))
        watcher.join(seconds)
        t_unhealthy = max(first_503.values()) if len(first_503) == 2 else -1
        unhealthy = 0 <= t_unhealthy <= 10
        code, text = b2.identify()
        outage_marker = h.mark(sid, 888888)
        time.sleep(max(0.0, seconds - (time.monotonic() - t_hang)))
    finally:
        for pid in reversed(stopped):
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
    for name, what, code_p, na, secs in probes:
        check("PostgreSQL hung: a %s at %s faults in %.1f s (<= 5.5 s) with "
              "WBEM_E_NOT_AVAILABLE, HTTP %d" % (what, name, secs, code_p),
              secs <= 5.5 and na and code_p == 503, "")
    check("PostgreSQL hung: Identify answers 503 at both brokers %.1f s after the hang "
          "began (<= 10 s: the next lease refresh, failed by its deadline) %r"
          % (t_unhealthy, first_503), bool(unhealthy) and "unhealthy: session directory" in text,
          "%d %s" % (code, text[:300]))
    back = wait_for(20, lambda: b1.identify()[0] == 200 and b2.identify()[0] == 200)
    check("PostgreSQL going on: both brokers healthy again within %.1f s of SIGCONT"
          % (time.monotonic() - t_hang - seconds), bool(back), b2.log()[-600:])
    time.sleep(3)
    load.end()
    check("during the hang no request hung: the slowest method call took %.1f s (<= 5.5 s)"
          % load.slowest_call, load.slowest_call <= 5.5, "")
    check("both brokers still run", b1.proc.poll() is None and b2.proc.poll() is None, "")
    seen = wait_for(30, lambda: (lambda t: t[1].get((h.name, sid), (0, 0, ""))[2] ==
                                 outage_marker)(truth_and_directory(lab, accounts)))
    check("a change made while PostgreSQL hung shows after it went on", bool(seen), "")
    truth, got, err = wait_for(30, lambda: (lambda t: t if t[0] == t[1] else None)(
        truth_and_directory(lab, accounts))) or truth_and_directory(lab, accounts)
    check("after the hang the directory equals the hosts' truth (%d sessions; %d resyncs)"
          % (len(truth), resyncs(b1.log()) + resyncs(b2.log()) - resync_before),
          err is None and got == truth,
          "%s; %r" % (err, sorted(set(got.items()) ^ set(truth.items()))[:5]))
    rows = wait_for(30, lambda: (lambda r: r if r is not None and
                                 all(s != "pending" for s, _ in r) else None)(
        psql(dsn, "SELECT state, count(*) FROM calls GROUP BY state")))
    twice = [t for t in load.targets if disconnects(lab.host(t[0]), t[1]) > 1]
    check("after the hang: no call pending, none ran twice (%r)" % rows,
          rows is not None and not twice, repr(twice[:5]))


def clock_of(ns, url, cert=None):
    """What the rdmsd-net serving URL (from NS) thinks the time is, less
    this machine's, in seconds: its HTTP Date header."""
    p = subprocess.run(["ip", "netns", "exec", ns, "curl", "-s", "-k", "-D", "-", "-o",
                        "/dev/null", "-H", "Content-Type: " + ra.SOAP_TYPE, "--data-binary",
                        IDENTIFY, "--max-time", "5"] + (["--cert", cert[0], "--key", cert[1]]
                                                       if cert else []) + [url],
                       capture_output=True, text=True, timeout=20)
    m = re.search(r"^Date: (.+?)\r?$", p.stdout, re.M | re.I)
    return email.utils.parsedate_to_datetime(m.group(1)).timestamp() - time.time() if m else None


def audit_skew(h):
    """The newest audit row of host H (written by its privileged rdmsd): its
    time less this machine's now, in seconds."""
    rows = fb.audit_rows(h.audit, "time")
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)", rows[-1][0]) if rows else None
    return calendar.timegm(tuple(int(x) for x in m.groups())) - time.time() if m else None


def skew(lab, accounts, dsn, b1, b2, offset=600):
    """Clock skew (spec/fleet.md 3.9): a host OFFSET s ahead and broker b2
    OFFSET s behind (libfaketime, monotonic clocks left true), under load:
    nothing changes -- leases are judged by the database's clock, contexts
    sealed on one broker are good on the other, the directory equals the
    hosts' truth, every change is delivered, every call audited done."""
    ft = dict(os.environ, LD_PRELOAD=LIBFAKETIME, FAKETIME_DONT_FAKE_MONOTONIC="1")
    ahead = lab.fixture_hosts[1]
    b2.proc.send_signal(signal.SIGTERM)
    b2.proc.wait(20)
    lab.kill_host(ahead, signal.SIGTERM)
    lab.start_host(ahead, env=dict(ft, FAKETIME="+%ds" % offset))
    if not check("b2 starts %d s behind (libfaketime)" % offset,
                 b2.start(env=dict(ft, FAKETIME="-%ds" % offset)), b2.log()[-1500:]):
        return
    b2_clock = clock_of(fl.CLIENT, "http://%s:5985/wsman" % b2.addr)
    host_clock = clock_of("b1", ahead.url, lab.certs["broker1"])
    check("the skew took, in rdmsd-net too (its HTTP Date): b2 %s s, host %s %s s"
          % (b2_clock and round(b2_clock), ahead.name, host_clock and round(host_clock)),
          b2_clock is not None and abs(b2_clock + offset) < 30 and host_clock is not None and
          abs(host_clock - offset) < 30, "")
    ok = wait_for(60, lambda: all(b.hosts().get(h.name, {}).get("ServerState") == 3
                                  for b in (b1, b2) for h in lab.hosts))
    check("skewed: both brokers see every host running", bool(ok), repr(b2.hosts())[:600])
    begun1, ctx1 = enumeration_begun(lab, accounts, b2)
    load = Load(lab, accounts, [(h.name, sid) for h in lab.fixture_hosts
                                for sid in sorted(h.sessions())[180:180 + 5]])
    load.run(clients=2)
    time.sleep(8)
    load.end()
    rest1, err1 = pulled_to_end(lab, accounts, b1, ctx1)
    begun2, ctx2 = enumeration_begun(lab, accounts, b1)
    rest2, err2 = pulled_to_end(lab, accounts, b2, ctx2)
    truth, got, err = wait_for(30, lambda: (lambda t: t if t[0] == t[1] else None)(
        truth_and_directory(lab, accounts))) or truth_and_directory(lab, accounts)
    check("skewed: the directory equals the hosts' truth (%d sessions)" % len(truth),
          err is None and got == truth,
          "%s; %r" % (err, sorted(set(got.items()) ^ set(truth.items()))[:5]))
    check("skewed: every host's last change was delivered", all(
        any(v[2] == load.markers[h.name] for v in got.values())
        for h in lab.fixture_hosts), repr(load.markers))
    for name, begun, rest, e in (("b2 (behind) Pulled at b1", begun1, rest1, err1),
                                 ("b1 Pulled at b2 (behind)", begun2, rest2, err2)):
        keys = keys_of(begun) + keys_of(rest)
        check("skewed: an enumeration begun at %s: the rest, none twice, the directory "
              "(contexts expire by the database's clock)" % name,
              e is None and len(keys) == len(set(keys)) and set(keys) == set(got),
              "%s; %d keys, %d in the directory" % (e, len(keys), len(got)))
    ages = psql(dsn, "SELECT name, extract(epoch FROM now() - seen) FROM brokers")
    check("skewed: no broker is taken for dead: both leases fresh by the database's clock "
          "(%r), both healthy" % ages, ages is not None and len(ages) == 2 and
          all(float(a) < 10 for _, a in ages) and b1.identify()[0] == 200 and
          b2.identify()[0] == 200 and "no longer held" not in b1.log() + b2.log(), "")
    states = psql(dsn, "SELECT state, count(*) FROM calls WHERE message_id IN (%s) GROUP BY "
                  "state" % ",".join("'%s'" % m for m in load.calls) if load.calls else None)
    check("skewed: every call audited done (%d calls: %r)" % (len(load.calls), states),
          states is not None and len(load.calls) > 0 and
          [s for s, _ in states] == ["done"] and int(states[0][1]) == len(load.calls), "")
    a_skew = audit_skew(ahead)
    check("... the skewed host's own audit is %s s ahead (its privileged rdmsd skewed too)"
          % (a_skew and round(a_skew)), a_skew is not None and abs(a_skew - offset) < 60, "")


def restart_pg(lab):
    """The lab's PostgreSQL again, on the same data directory."""
    data, sock = os.path.join(lab.dir, "pg", "data"), os.path.join(lab.dir, "pg", "sock")
    logf = open(os.path.join(lab.dir, "postgresql.log"), "a")
    lab.pg = subprocess.Popen(["setpriv", "--reuid=postgres", "--regid=postgres",
                               "--init-groups", fl.PG_BIN + "/postgres", "-D", data,
                               "-c", "unix_socket_directories=" + sock,
                               "-c", "listen_addresses=", "-c", "fsync=off"],
                              stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                              cwd=os.path.join(lab.dir, "pg"))
    logf.close()
    wait_for(30, lambda: subprocess.run([fl.PG_BIN + "/pg_isready", "-q", "-h", sock,
                                         "-U", "rdms"]).returncode == 0)


def main():
    if not ready("test_fleet_ha_pg", built=[RDMS, RDMSD],
                 tools=["ip", "curl", "openssl", "setpriv", HAPROXY, fl.PG_BIN + "/postgres"]):
        return 1
    fl.exit_on_sigterm()
    accounts = ra.Lab()
    t0 = time.monotonic()
    try:
        accounts.accounts()
        with fl.FleetLab(hosts=N_HOSTS, sessions=SESSIONS) as lab:
            log("fleet lab: %d hosts in %.1f s" % (len(lab.hosts), lab.setup_seconds))
            dsn = lab.postgresql()
            try:
                scenario(lab, accounts, dsn)
            finally:
                import e2e_common
                if e2e_common.failed:
                    for name in ("broker-b1", "broker-b2", "haproxy"):
                        log("---- %s.log (end)\n%s" % (name, (read(os.path.join(
                            lab.dir, name + ".log")) or "")[-3000:]))
    finally:
        accounts.cleanup()
    log("  (%.0f s)" % (time.monotonic() - t0))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
