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

    def start(self, wait=True):
        before = len(self.log())
        self.proc = self.lab.spawn(self.ns, self.logname, [RDMSD, "--config", self.conf,
                                                           "--foreground", "--debug"])
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
            body = tw.wsl_envelope(tw.WMI_URI + "/Disconnect", tw.WMI_URI,
                                   [("VMHostName", host), ("SessionId", str(sid))],
                                   '<p:Disconnect_INPUT xmlns:p="%s"/>' % tw.WMI_URI, msgid=mid)
            outcome = None
            for _ in range(40):
                rc, code, text, secs = self.lab.curl(fl.CLIENT, LB, body, max_time=8,
                                                     extra=self.user)
                root = tw.parse(text)
                rv = tw.return_value(root, "Disconnect")
                f = tw.fault(root)
                with self.lock:
                    self.slowest = max(self.slowest, secs)
                if rv is not None:
                    outcome = "rv %d" % rv
                    self.attempt_ok(k)
                    break
                if f is not None and f[1] not in ("2147749897", "2147749909", "2147749993"):
                    outcome = "fault %s" % f[1]          # final: not NOT_AVAILABLE,
                    self.attempt_ok(k)                    # TRANSPORT_FAILURE, TIMED_OUT
                    break
                self.attempt_failed(secs, k)
                if f is not None and f[1] == "2147749993" and "not run again" in text:
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
    targets = [(h.name, sid) for h in lab.fixture_hosts
               for sid in sorted(h.sessions())[100:100 + 12]]
    load = Load(lab, accounts, targets)
    load.run()
    time.sleep(6)
    t_kill = time.monotonic()
    b1.kill9()
    log("  b1 killed at t=%.1f s" % (t_kill - t_kill))
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
    check("clients saw errors for at most 5 s (%.1f s; %d failed attempts)"
          % (window, len(load.errors)), window <= 5.0, "")
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
