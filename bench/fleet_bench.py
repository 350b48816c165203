#!/usr/bin/python3
"""fleet_bench.py -- the fleet broker's figures (issue 15 item 7;
spec/fleet.md 4.7 and 8.3), printed with their targets beside them.  A
benchmark, not a test: it fails only when the lab cannot be built or the
broker answers wrongly.  Run it through bench/fleet.sh (`make bench-fleet`),
which takes the locks; needs root, wrk and curl.

The lab is tests/e2e/fleet_lab.py's: FLEET_BENCH_HOSTS (100) fixture hosts
of FLEET_BENCH_SESSIONS (1,000) sessions each, every host a real rdmsd in its
network namespace, and one broker (role = broker, the SQLite directory) in
b1, configured as tests/e2e/test_fleet_broker.py's.  Clients run in the
namespace cl: wrk, curl and bench/fleet_client.py, as an admin account (HTTP
Basic, PAM).  The first host also serves clients over HTTP itself, for the
direct figures beside the broker's.  In order:

  cold start      FLEET_BENCH_RUNS times: an empty directory, the broker
                  started, every host registered (`rdms fleet host add`, one
                  by one) and polled (`rdms fleet hosts --json`) until each is
                  running with its sessions counted
  Enumerate       every session in PowerShell's shape (fleet_client.py enum)
                  and by CIM-XML EnumerateInstances (curl); time to last byte
  Get             wrk on 1 and 8 connections, through the broker and against
                  the first host directly
  WQL             wrk on 1 connection: SELECT * ... WHERE UserName = a user
                  with one session on each of up to 10 hosts, and one of the
                  fixture users (20 sessions on every host)
  change          fleet_client.py churn: changes at FLEET_BENCH_CHURN_RATE
                  (1,000) /s fleet-wide for FLEET_BENCH_CHURN_SECONDS (10),
                  FLEET_BENCH_CHURN_BATCH (10) in each atomic rewrite of a
                  fixture file, traced by a watcher polling the broker's Get
                  every 5 ms (8 changes in flight)
  Disconnect      FLEET_BENCH_CALLS (100) calls one after the other on the
                  first host's sessions, directly and through the broker
                  (the broker's added latency); then wrk on 1 and 8
                  connections through the broker, each call a fresh session
                  of another host (bench/wrk_post.lua's BENCH_KEYS), after
                  an unmeasured second of such calls (the broker's TLS
                  connections to its hosts opened, as in service);
                  FLEET_BENCH_THREADS=1 adds each thread role's context
                  switches and CPU per call, and the TCP connections the
                  broker opened
  RSS, idle CPU   the broker's two processes: RSS once converged, after the
                  enumerations and at the end; CPU over FLEET_BENCH_IDLE_SECONDS
                  (20) windows with every host idle

FLEET_BENCH_ONLY (cold,enum,get,wql,churn,disconnect,idle: all) picks the
stages (without cold, the broker is started and converged once, untimed);
FLEET_BENCH_BROKER_RDMSD (RDMSD_BIN) is the rdmsd the broker runs, e.g.
another build's for a before/after comparison (the hosts run RDMSD_BIN);
FLEET_BENCH_PERF=DIR records the broker's 8-connection Get runs and its
WS-Man enumerations with `perf record -g` in DIR/get-broker-8.data and
DIR/enum-broker.data, and the whole machine during the Disconnect rate runs
in DIR/disconnect-8.data and DIR/disconnect-1.data (FLEET_BENCH_PERF_GRAPH=dwarf: call graphs through
libc's functions too, which have no frame pointers; =none: no call graphs).
FLEET_BENCH_PERF_EVENTS records those events instead of the CPU clock, e.g.
raw_syscalls:sys_enter,sched:sched_switch for system calls and switches per
process (`perf script -F comm,pid,event,trace`; the broker's PIDs are logged).
Every figure is the median of FLEET_BENCH_RUNS (3) runs (a latency
percentile: the median of the runs' percentiles).  FLEET_BENCH_DURATION (4)
is the length of each wrk run in seconds.  The lab is removed on any exit.
"""
import base64
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import fleet_lab as fl             # noqa: E402
import test_fleet_broker as tfb    # noqa: E402  (the broker's config and rdms fleet)
import test_fleet_ha_pg as ha      # noqa: E402  (two brokers on PostgreSQL, haproxy, Load)
import test_rdmsd_auth as ra       # noqa: E402  (accounts, PAM service)
import test_wsman_e2e as tw        # noqa: E402  (envelopes)
from e2e_common import RDMS, RDMSD, children, cpu_ticks, read, wait_for  # noqa: E402
from password_hash_kib import password_hash_kib  # noqa: E402  (HERE is on sys.path)


def env_int(name, default):
    try:
        v = int(os.environ.get(name, default))
    except ValueError:
        sys.exit("fleet_bench: %s must be a number" % name)
    if v < 1:
        sys.exit("fleet_bench: %s must be at least 1" % name)
    return v


HOSTS = env_int("FLEET_BENCH_HOSTS", 100)
SESSIONS = env_int("FLEET_BENCH_SESSIONS", 1000)
RUNS = env_int("FLEET_BENCH_RUNS", 3)
DURATION = env_int("FLEET_BENCH_DURATION", 4)
CHURN_RATE = env_int("FLEET_BENCH_CHURN_RATE", 1000)
CHURN_SECONDS = env_int("FLEET_BENCH_CHURN_SECONDS", 10)
CHURN_BATCH = env_int("FLEET_BENCH_CHURN_BATCH", 10)
CALLS = env_int("FLEET_BENCH_CALLS", 100)
IDLE_SECONDS = env_int("FLEET_BENCH_IDLE_SECONDS", 20)
STORE = os.environ.get("FLEET_BENCH_STORE", "sqlite")
if STORE not in ("sqlite", "postgresql"):
    sys.exit("fleet_bench: FLEET_BENCH_STORE is sqlite or postgresql")
PG = STORE == "postgresql"
WAL_SECONDS = env_int("FLEET_BENCH_WAL_SECONDS", 120)
KILL_CLIENTS = env_int("FLEET_BENCH_KILL_CLIENTS", 4)
STAGES = ("cold", "enum", "get", "wql", "churn", "disconnect", "idle") + (
    ("wal", "kill") if PG else ())
ONLY = [x for x in os.environ.get("FLEET_BENCH_ONLY", ",".join(STAGES)).split(",") if x]
if not ONLY or any(x not in STAGES for x in ONLY):
    sys.exit("fleet_bench: FLEET_BENCH_ONLY is a comma-separated list of %s" % ",".join(STAGES))
# the broker's rdmsd, e.g. another build's for a before/after comparison (the hosts stay RDMSD)
BROKER_RDMSD = os.environ.get("FLEET_BENCH_BROKER_RDMSD", RDMSD)
PERF_DIR = os.environ.get("FLEET_BENCH_PERF")   # perf record -g of the broker's Get runs there
PERF_GRAPH = os.environ.get("FLEET_BENCH_PERF_GRAPH", "fp")   # or dwarf: through libc too
PERF_EVENTS = os.environ.get("FLEET_BENCH_PERF_EVENTS")   # e.g. raw_syscalls:sys_enter
THREADS = os.environ.get("FLEET_BENCH_THREADS") == "1"   # the Disconnect stage's costs by thread

CL = fl.CLIENT
# where clients go: the broker, or haproxy in front of both
FRONT = ha.LB_ADDR if PG else tfb.BROKER_ADDR
BROKER = "http://%s:5985" % FRONT
BROKER_CIM = "http://%s:5988/cimom" % FRONT
LUA = os.path.join(HERE, "wrk_post.lua")
CLIENT = os.path.join(HERE, "fleet_client.py")
WQL_USER, WQL_HOSTS = "fbwql", 10     # a user with one session on each of the first 10 hosts
HZ = os.sysconf("SC_CLK_TCK")
CIM_TYPE = 'application/xml; charset="utf-8"'
CIM_EI = ('<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
          '<MESSAGE ID="4711" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
          '<IMETHODCALL NAME="EnumerateInstances"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/>'
          '<NAMESPACE NAME="cimv2"/><NAMESPACE NAME="rdms"/></LOCALNAMESPACEPATH>'
          '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Win32_VirtualDesktopSession"/>'
          '</IPARAMVALUE><IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE>'
          '</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>')
BIG_ENVELOPE = ('<wsman:MaxEnvelopeSize s:mustUnderstand="true">1000000000'
                '</wsman:MaxEnvelopeSize></s:Header>')


def log(msg):
    print(msg, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def to_ms(v):
    """wrk's "123.45us", "1.20ms", "1.01s" or "2.00m" in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v or "")
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def pct(xs, p):
    """The P-th percentile of XS (nearest rank)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


# ---- the lab --------------------------------------------------------------------------------

class BenchLab(fl.FleetLab):
    """The fleet lab, with the first host answering clients over HTTP too (the
    direct figures) and WQL_USER owning the last session of the first hosts."""

    def write_host(self, h):
        super().write_host(h)
        with open(h.conf, "a") as f:
            # the fleet's admins are admins on every host (a host re-checks the owner rule)
            f.write("admin_group = %s\n" % ra.ADMIN_GROUP)
            if h is self.hosts[0]:
                f.write("listen_address = %s\nallow_remote_http = true\npam_service = %s\n"
                        % (h.addr, ra.PAM_SERVICE))

    def fixture_of(self, h):
        out = super().fixture_of(h)
        if h.index <= WQL_HOSTS:
            sid = max(out)
            out[sid] = (WQL_USER,) + out[sid][1:]
        return out


class Running:
    """A broker of the benchmark: started without --debug (BROKER_RDMSD) in
    its namespace NS, logging to LOGNAME, stopped by PID."""
    ns, logname = "b1", "broker"

    def start(self):
        before = len(self.log())
        self.proc = self.lab.spawn(self.ns, self.logname, [BROKER_RDMSD, "--config", self.conf,
                                                           "--foreground"])
        return bool(wait_for(20, lambda: fl.READY_LINE.search(self.log()[before:]) or
                             self.proc.poll() is not None)) and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            fl.FleetLab.stop_pids([self.proc.pid])
            self.proc.wait(10)
            self.proc = None

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid) if self.proc is not None else []


class Broker(Running, tfb.Broker):
    """test_fleet_broker's broker (SQLite) in b1."""

    def empty(self):
        """The directory removed: the next start is a cold one."""
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(os.path.join(self.dir, "fleet.db" + suffix))
            except FileNotFoundError:
                pass


class PgBroker(Running, ha.Broker):
    """test_fleet_ha_pg's broker NAME in namespace NAME, on the lab's PostgreSQL."""

    def __init__(self, lab, accounts, dsn, name):
        super().__init__(lab, accounts, dsn, name, name)


def by_thread(pids):
    """{thread name: [context switches, CPU ticks]} of every thread of PIDS so
    far: rdmsd names its threads by role (rdms_thread_name), so this says
    which part of a call wakes how often and costs what."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            base = "/proc/%d/task/%s/" % (pid, tid)
            status, stat = read(base + "status") or "", read(base + "stat") or ""
            name, n = "?", 0
            for line in status.splitlines():
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1] if len(line.split()) > 1 else "?"
                elif "ctxt_switches:" in line:
                    n += int(line.split()[1])
            fields = stat.rsplit(")", 1)[-1].split()
            ticks = int(fields[11]) + int(fields[12]) if len(fields) > 12 else 0
            row = out.setdefault(name, [0, 0])
            row[0] += n
            row[1] += ticks
    return out


def switches(pids):
    """Context switches (voluntary and not) of every thread of PIDS so far."""
    return sum(n for n, _ in by_thread(pids).values())


def active_opens(ns):
    """TCP connections opened from network namespace NS so far (TcpActiveOpens)."""
    p = subprocess.run(["ip", "netns", "exec", ns, "nstat", "-az", "TcpActiveOpens"],
                       capture_output=True, text=True)
    m = re.search(r"^TcpActiveOpens\s+(\d+)", p.stdout, re.M)
    return int(m.group(1)) if m else 0


def by_thread_delta(after, before):
    return {k: [v[0] - before.get(k, [0, 0])[0], v[1] - before.get(k, [0, 0])[1]]
            for k, v in after.items()}


def status_kib(pids, key):
    """KEY (VmRSS, VmHWM) of /proc/PID/status, summed over PIDS, in KiB."""
    total = 0
    for pid in pids:
        for line in (read("/proc/%d/status" % pid) or "").splitlines():
            if line.startswith(key + ":"):
                total += int(line.split()[1])
    return total


def host_pids(lab):
    return [p for h in lab.hosts if h.proc is not None for p in [h.pid] + children(h.pid)]


class Bench:
    def __init__(self, lab, brokers, accounts, dsn=None):
        self.lab, self.brokers, self.accounts, self.dsn = lab, brokers, accounts, dsn
        self.broker = brokers[0]       # the one registering hosts and reading the host list
        self.user, self.pw = ra.ADMIN, accounts.pw[ra.ADMIN]
        self.direct = lab.hosts[0]
        self.files = os.path.join(lab.dir, "bench")
        os.makedirs(self.files, exist_ok=True)
        self.rows = []          # (label, value text, target text, verdict)

    # ---- output -------------------------------------------------------------------------

    def row(self, label, value, target="", ok=None):
        verdict = "" if ok is None else ("ok" if ok else "MISS")
        self.rows.append((label, value, target, verdict))
        log("  %-56s %20s   %s %s" % (label, value, target, verdict))

    def table(self):
        log("")
        log("fleet benchmark results: %d fixture hosts x %d sessions, store %s; medians of %d "
            "runs" % (HOSTS, SESSIONS, "PostgreSQL 15 (two brokers, clients through haproxy; "
                      "'broker CPU' is both brokers')" if PG else "SQLite (one broker)", RUNS))
        log("  %-56s %20s   %s" % ("figure", "measured", "target"))
        for label, value, target, verdict in self.rows:
            log("  %-56s %20s   %s %s" % (label, value, target, verdict))

    # ---- clients --------------------------------------------------------------------------

    def file(self, name, text):
        path = os.path.join(self.files, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def client(self, *args, timeout=600):
        env = dict(os.environ, FLEET_BENCH_USER=self.user, FLEET_BENCH_PW=self.pw)
        p = subprocess.run(["ip", "netns", "exec", CL, sys.executable, CLIENT] + list(args),
                           env=env, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("fleet_client %s: exit %d: %s" % (args[0], p.returncode,
                                                                p.stderr[-1500:]))
        return json.loads(p.stdout)

    def curl(self, url, body_file, out="/dev/null", extra=()):
        """curl in cl POSTing BODY_FILE as the admin: (HTTP status, seconds)."""
        p = subprocess.run(["ip", "netns", "exec", CL, "curl", "-s", "-o", out, "-w",
                            "%{http_code} %{time_total}", "-u", "%s:%s" % (self.user, self.pw),
                            "--data-binary", "@" + body_file] + list(extra) + [url],
                           capture_output=True, text=True, timeout=300)
        code, _, secs = p.stdout.partition(" ")
        return int(code) if code.isdigit() else 0, float(secs or "nan")

    def wrk(self, url, body_file, conns, pids, keys=None, seconds=None):
        """One wrk run in cl: {rps, p50, p99 (ms), reqs, errors, reused, cpu_us
        (of PIDS per request)}."""
        env = dict(os.environ, BENCH_BODY=body_file, BENCH_PATH="/wsman",
                   BENCH_CTYPE=ra.SOAP_TYPE, BENCH_NONCE="%04x" % random.randrange(65536),
                   BENCH_AUTH="Basic " + base64.b64encode(
                       ("%s:%s" % (self.user, self.pw)).encode()).decode())
        if keys:
            env["BENCH_KEYS"] = keys
        seconds = seconds or DURATION
        env["BENCH_THREADS"] = str(min(2, conns))
        c0 = cpu_ticks(pids)
        p = subprocess.run(["ip", "netns", "exec", CL, "wrk", "-t%s" % env["BENCH_THREADS"],
                            "-c%d" % conns, "-d%ds" % seconds, "--latency", "-s", LUA, url],
                           env=env, capture_output=True, text=True, timeout=seconds + 120)
        c1 = cpu_ticks(pids)
        out = p.stdout

        def grab(pattern, default=None):
            m = re.search(pattern, out, re.M)
            return m.group(1) if m else default
        rps = grab(r"^Requests/sec:\s+([\d.]+)")
        if rps is None:
            raise RuntimeError("wrk %s failed: %s %s" % (url, out[-800:], p.stderr[-400:]))
        reqs = int(grab(r"^\s*(\d+) requests in", "0"))
        errors = int(grab(r"Non-2xx or 3xx responses:\s+(\d+)", "0"))
        errors += sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                                  grab(r"Socket errors:(.*)$", "")))
        return {"rps": float(rps), "p50": to_ms(grab(r"^\s+50%\s+(\S+)")),
                "p99": to_ms(grab(r"^\s+99%\s+(\S+)")), "reqs": reqs, "errors": errors,
                "reused": int(grab(r"^keys reused: (\d+)", "0")),
                "cpu_us": (c1 - c0) / HZ * 1e6 / reqs if reqs else float("nan")}

    def wrk_runs(self, url, body_file, conns, pids, keys=None):
        return [self.wrk(url, body_file, conns, pids, k) for k in (keys or [None] * RUNS)]

    def wrk_rows(self, label, runs, target_rps=None, target_p99=None):
        rps, p50, p99 = (median([r[k] for r in runs]) for k in ("rps", "p50", "p99"))
        errors = sum(r["errors"] for r in runs)
        self.row(label, "%.0f req/s" % rps, ">= %d req/s" % target_rps if target_rps else "",
                 rps >= target_rps if target_rps else None)
        self.row("    p50 / p99", "%.2f / %.2f ms" % (p50, p99),
                 "p99 <= %g ms" % target_p99 if target_p99 else "",
                 p99 <= target_p99 if target_p99 else None)
        self.row("    server CPU per request", "%.0f us" % median([r["cpu_us"] for r in runs]))
        if errors:
            self.row("    non-2xx answers or socket errors (all runs)", str(errors), "", False)
        return rps, p50, p99

    def perf(self, name, pids):
        """perf record -g on PIDS (None: the whole machine) until perf_done(), when
        FLEET_BENCH_PERF names a directory (the profile: DIR/NAME.data); None otherwise."""
        if not PERF_DIR:
            return None
        out = os.path.join(PERF_DIR, name + ".data")
        who = ["-p", ",".join(map(str, pids))] if pids else ["-a"]
        how = (["-e", PERF_EVENTS] if PERF_EVENTS else []) + \
            (["--call-graph", PERF_GRAPH] if PERF_GRAPH != "none" else [])
        p = subprocess.Popen(["perf", "record", "-q"] + how + ["-o", out] + who,
                             stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        return p

    @staticmethod
    def perf_done(p):
        if p is not None:
            p.send_signal(2)
            p.wait(60)
            log("  profile written by perf record (FLEET_BENCH_PERF)")

    # ---- the stages -------------------------------------------------------------------------

    def bpids(self):
        """The PIDs of every broker's processes (CPU per request, through haproxy)."""
        return [p for b in self.brokers for p in b.pids()]

    def psql(self, q, db="rdms"):
        rows = ha.psql(self.dsn, q, db)
        if rows is None:
            raise RuntimeError("psql %s: failed" % q)
        return rows

    def empty(self):
        """An empty directory: SQLite's files removed, or the PostgreSQL
        database made again (C locale) with `rdms fleet db init`."""
        if not PG:
            self.broker.empty()
            return
        self.psql("DROP DATABASE IF EXISTS rdms WITH (FORCE)", "postgres")
        self.psql("CREATE DATABASE rdms TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'",
                  "postgres")
        rc, out, err = self.broker.rdms("fleet", "db", "init")
        if rc != 0:
            raise RuntimeError("rdms fleet db init: %s %s" % (out, err))

    def converged(self):
        hs = self.broker.hosts()
        return all(h.name in hs and hs[h.name]["ServerState"] == 3 and
                   hs[h.name]["Sessions"] == len(h.sessions()) for h in self.lab.hosts)

    def cold_start(self, runs):
        log("cold start: %d runs (empty directory, %d hosts registered one by one)"
            % (runs, len(self.lab.hosts)))
        starts, regs, totals = [], [], []
        for r in range(runs):
            for b in self.brokers:
                b.stop()
            self.empty()
            t0 = time.monotonic()
            for i, b in enumerate(self.brokers):
                if not b.start():
                    raise RuntimeError("broker %d did not start: %s" % (i + 1, b.log()[-1500:]))
                if i == 0:
                    t1 = time.monotonic()
            for h in self.lab.hosts:
                rc, _, err = self.broker.rdms("fleet", "host", "add", h.name, h.url,
                                              "--fingerprint", h.fingerprint)
                if rc != 0:
                    raise RuntimeError("rdms fleet host add %s: %s" % (h.name, err))
            t2 = time.monotonic()
            if not wait_for(120, self.converged, step=0.2):
                raise RuntimeError("not converged after 120 s: %s"
                                   % json.dumps(self.broker.hosts())[:1500])
            t3 = time.monotonic()
            starts.append(t1 - t0)
            regs.append(t2 - t1)
            totals.append(t3 - t1)
            log("  run %d: broker ready %.2f s, registered %.1f s, converged %.1f s after the "
                "first registration" % (r + 1, t1 - t0, t2 - t1, t3 - t1))
        self.row("broker start to ready (empty directory%s)" % (", b1" if PG else ""),
                 "%.2f s" % median(starts))
        self.row("registering %d hosts (rdms fleet host add each)" % len(self.lab.hosts),
                 "%.1f s" % median(regs))
        self.row("cold start: first registration to converged", "%.1f s" % median(totals),
                 "<= 30 s", median(totals) <= 30)

    def memory(self, when):
        for b in self.brokers:
            pids = b.pids()
            rss = status_kib(pids, "VmRSS")
            self.row("%sbroker RSS %s (2 processes)" % (b.name + " " if PG else "", when),
                     "%.1f MiB" % (rss / 1024.0), "<= 64 MiB", rss <= 64 * 1024)
            self.row("    peak RSS (VmHWM) of each process, up to here", ", ".join(
                "%s %.1f MiB" % ((read("/proc/%d/comm" % p) or "?").strip(),
                                 status_kib([p], "VmHWM") / 1024.0) for p in pids))

    def enumerate(self, total):
        log("Enumerate of %d: PowerShell's shape (WS-Man), CIM-XML EnumerateInstances" % total)
        pids = self.bpids()
        c0 = cpu_ticks(pids)
        perf = self.perf("enum-broker", pids)
        e = self.client("enum", BROKER + "/wsman", str(RUNS + 1))
        self.perf_done(perf)
        cpu = (cpu_ticks(pids) - c0) / HZ / (RUNS + 1)
        if e["items"] != total:
            raise RuntimeError("the broker's Enumerate gave %d items, not %d" % (e["items"], total))
        t = median(e["secs"][1:])
        self.row("Enumerate %d, WS-Man, PowerShell's shape" % total, "%.2f s" % t, "<= 2.0 s",
                 t <= 2.0)
        self.row("    requests (Enumerate + Pulls), reply bytes",
                 "%d, %.1f MB" % (e["requests"], e["bytes"] / 1e6))
        self.row("    broker CPU per enumeration", "%.2f s" % cpu)
        body = self.file("cim-ei.xml", CIM_EI)
        hdrs = ["-H", "Content-Type: " + CIM_TYPE, "-H", "CIMProtocolVersion: 1.0",
                "-H", "CIMOperation: MethodCall", "-H", "CIMMethod: EnumerateInstances",
                "-H", "CIMObject: root%2Fcimv2%2Frdms"]
        first = os.path.join(self.files, "cim-ei.out")
        code, _ = self.curl(BROKER_CIM, body, first, hdrs)
        with open(first, "rb") as f:
            n = f.read().count(b"<VALUE.NAMEDINSTANCE>")
        os.unlink(first)
        if code != 200 or n != total:
            raise RuntimeError("CIM-XML EnumerateInstances: HTTP %d, %d instances" % (code, n))
        c0 = cpu_ticks(pids)
        secs = [self.curl(BROKER_CIM, body, extra=hdrs)[1] for _ in range(RUNS)]
        cpu = (cpu_ticks(pids) - c0) / HZ / RUNS
        self.row("Enumerate %d, CIM-XML EnumerateInstances" % total, "%.2f s" % median(secs),
                 "<= 3.0 s", median(secs) <= 3.0)
        self.row("    broker CPU per enumeration", "%.2f s" % cpu)

    def get(self):
        log("Get by key (wrk, %d s x %d runs each): through the broker, and %s directly"
            % (DURATION, RUNS, self.direct.name))
        mid = len(self.lab.hosts) // 2
        h = self.lab.hosts[mid]
        via = self.file("get-broker.xml", tw.wsl_envelope(
            tw.ACT_GET, tw.WMI_URI, [("VMHostName", h.name), ("SessionId", str(max(h.sessions())))],
            msgid="uuid:6d3b1c2e-0000-4000-8000-00000000f1ee"))
        d = self.direct
        direct = self.file("get-direct.xml", tw.wsl_envelope(
            tw.ACT_GET, tw.WMI_URI, [("VMHostName", d.name), ("SessionId", str(max(d.sessions())))],
            msgid="uuid:6d3b1c2e-0000-4000-8000-00000000f1ef"))
        for body, url in ((via, BROKER), (direct, "http://%s:5985" % d.addr)):
            code, _ = self.curl(url + "/wsman", body, extra=["-H", "Content-Type: " + ra.SOAP_TYPE])
            if code != 200:
                raise RuntimeError("Get at %s: HTTP %d" % (url, code))
        bp, hp = self.bpids(), [d.pid] + children(d.pid)
        perf = self.perf("get-broker-8", bp)
        runs = self.wrk_runs(BROKER, via, 8, bp)
        self.perf_done(perf)
        self.wrk_rows("Get via the broker, 8 connections", runs, 5000, 5)
        self.wrk_rows("Get via the broker, 1 connection", self.wrk_runs(BROKER, via, 1, bp))
        self.wrk_rows("Get from one host directly, 8 connections",
                      self.wrk_runs("http://%s:5985" % d.addr, direct, 8, hp))
        self.wrk_rows("Get from one host directly, 1 connection",
                      self.wrk_runs("http://%s:5985" % d.addr, direct, 1, hp))

    def wql(self):
        log("WQL through the broker (wrk, 1 connection, %d s x %d runs each)" % (DURATION, RUNS))
        truth = {}
        for h in self.lab.hosts:
            for _, (u, _, _) in h.sessions().items():
                truth[u] = truth.get(u, 0) + 1
        users = [WQL_USER, "fl07"] if "fl07" in truth else [WQL_USER]
        for i, user in enumerate(users):
            q = "SELECT * FROM Win32_VirtualDesktopSession WHERE UserName = '%s'" % user
            body = self.file("wql-%d.xml" % i, tw.wsl_envelope(
                tw.ACT_ENUM, tw.WMI_URI, body='<wsen:Enumerate><wsman:OptimizeEnumeration/>'
                '<wsman:MaxElements>32000</wsman:MaxElements><wsman:Filter Dialect="%s">%s'
                '</wsman:Filter></wsen:Enumerate>' % (tw.WQL, q),
                msgid="uuid:6d3b1c2e-0000-4000-8000-0000000a%04d" % i).replace(
                    "</s:Header>", BIG_ENVELOPE, 1))
            out = os.path.join(self.files, "wql.out")
            code, _ = self.curl(BROKER + "/wsman", body, out,
                                ["-H", "Content-Type: " + ra.SOAP_TYPE])
            text = read(out) or ""
            n = len(re.findall(r"<p:SessionId>", text))
            if code != 200 or n != truth[user] or "EndOfSequence" not in text:
                raise RuntimeError("WQL %s: HTTP %d, %d sessions of %d, %s" %
                                   (q, code, n, truth[user], text[-400:]))
            runs = self.wrk_runs(BROKER, body, 1, self.bpids())
            p50, p99 = median([r["p50"] for r in runs]), median([r["p99"] for r in runs])
            label = "WQL UserName = '%s' (%d of %d sessions)" % (user, n, sum(truth.values()))
            self.row(label, "%.2f / %.2f ms" % (p50, p99), "p99 <= 10 ms" if i == 0 else "",
                     p99 <= 10 if i == 0 else None)
            self.row("    queries/s on 1 connection", "%.0f" % median([r["rps"] for r in runs]))

    def churn(self):
        log("change on a host to visible at the broker: %d changes/s fleet-wide (%d in each "
            "rewrite of a fixture file), %d s x %d runs" % (CHURN_RATE, CHURN_BATCH,
                                                            CHURN_SECONDS, RUNS))
        spec = self.file("churn.json", json.dumps({
            "url": BROKER + "/wsman", "rate": CHURN_RATE, "batch": CHURN_BATCH,
            "seconds": CHURN_SECONDS,
            "inflight": 8, "poll_ms": 5,
            "hosts": [{"name": h.name, "fixture": h.fixture} for h in self.lab.fixture_hosts]}))
        bp, hp = self.bpids(), host_pids(self.lab)
        p50s, p99s, maxes, rates, writes, bcpu, hcpu = [], [], [], [], [], [], []
        lost = seen = 0
        for _ in range(RUNS):
            b0, h0, t0 = cpu_ticks(bp), cpu_ticks(hp), time.monotonic()
            c = self.client("churn", spec)
            dt = time.monotonic() - t0
            bcpu.append((cpu_ticks(bp) - b0) / HZ / dt * 100)
            hcpu.append((cpu_ticks(hp) - h0) / HZ / dt * 100)
            p50s.append(pct(c["ms"], 50))
            p99s.append(pct(c["ms"], 99))
            maxes.append(max(c["ms"] or [float("nan")]))
            rates.append(c["changes"] / c["secs"])
            writes.append(c["writes"] / c["secs"])
            lost += c["lost"]
            seen += len(c["ms"])
            wait_for(15, self.converged_markers, step=0.5)
        self.row("change -> visible via broker Get, p50 / p99",
                 "%.0f / %.0f ms" % (median(p50s), median(p99s)), "p50 <= 100, p99 <= 500 ms",
                 median(p50s) <= 100 and median(p99s) <= 500)
        self.row("    max", "%.0f ms" % median(maxes), "<= 2000 ms", median(maxes) <= 2000)
        self.row("    changes/s made (file rewrites/s)",
                 "%.0f (%.0f)" % (median(rates), median(writes)), ">= %d" % CHURN_RATE,
                 median(rates) >= 0.95 * CHURN_RATE)
        self.row("    traced changes seen, lost", "%d, %d" % (seen, lost), "0 lost", lost == 0)
        self.row("    CPU meanwhile: broker, all hosts (% of a core)",
                 "%.0f %%, %.0f %%" % (median(bcpu), median(hcpu)))
        self.row("    hosts' CPU per fixture rewrite",
                 "%.1f ms" % (median(hcpu) * 10 / max(1.0, median(writes))))

    def converged_markers(self):
        """True once the broker lists, for a sample of hosts, what their files say."""
        for h in self.lab.fixture_hosts[:: max(1, len(self.lab.fixture_hosts) // 5)]:
            sid = sorted(h.sessions())[1]
            got, _, _ = self.get_broker(h, sid)
            if got is None or got.get("ClientMachineName") != h.sessions()[sid][2]:
                return False
        return True

    def get_broker(self, h, sid):
        body = tw.wsl_envelope(tw.ACT_GET, tw.WMI_URI, [("VMHostName", h.name),
                                                          ("SessionId", str(sid))])
        _, code, text, _ = self.lab.curl(CL, BROKER + "/wsman", body,
                                         extra=["-u", "%s:%s" % (self.user, self.pw)])
        found = tw.instances(tw.parse(text))
        return (found[0] if found else None), code, text

    def active(self, h):
        """Host H's connected sessions but its first, by SessionId."""
        return [sid for sid, (_, st, _) in sorted(h.sessions().items())[1:] if st == fl.ACTIVE]

    def disconnect(self):
        d = self.direct
        log("Disconnect: %d calls one after the other on %s's sessions, directly and through "
            "the broker, x %d runs" % (CALLS, d.name, RUNS))
        mine = self.active(d)
        if len(mine) < 2 * CALLS * RUNS:
            raise RuntimeError("%s has %d connected sessions, %d needed"
                               % (d.name, len(mine), 2 * CALLS * RUNS))
        p50d, p99d, p50b, p99b, fails = [], [], [], [], []
        for r in range(RUNS):
            for url, p50s, p99s, part in (("http://%s:5985/wsman" % d.addr, p50d, p99d, 0),
                                          (BROKER + "/wsman", p50b, p99b, 1)):
                chunk = mine[(2 * r + part) * CALLS:(2 * r + part + 1) * CALLS]
                keys = self.file("calls.keys", "".join("%s %d\n" % (d.name, s) for s in chunk))
                c = self.client("calls", url, keys, "Disconnect")
                p50s.append(pct(c["ms"], 50))
                p99s.append(pct(c["ms"], 99))
                if c["ok"] != len(chunk):
                    fails.append("%s: %d of %d returned 0: %s" % (url, c["ok"], len(chunk),
                                                                 c["failed"]))
        self.row("Disconnect directly on a host, 1 connection, p50 / p99",
                 "%.2f / %.2f ms" % (median(p50d), median(p99d)))
        self.row("Disconnect via the broker, 1 connection, p50 / p99",
                 "%.2f / %.2f ms" % (median(p50b), median(p99b)))
        added = median(p99b) - median(p99d)
        self.row("    the broker's added latency, p50 / p99",
                 "%.2f / %.2f ms" % (median(p50b) - median(p50d), added), "p99 <= 20 ms",
                 added <= 20)
        for f in fails:
            self.row("    calls that did not return 0", f[:60], "", False)

        others = [h for h in self.lab.fixture_hosts if h is not d]
        per_host = [self.active(h) for h in others]
        pool = [(h.name, s) for i in range(max(map(len, per_host)) if per_host else 0)
                for h, sids in zip(others, per_host) if i < len(sids) for s in [sids[i]]]
        if not pool:
            return
        log("Disconnect rate via the broker (wrk, %d s x %d runs, 1 and 8 connections; %d "
            "connected sessions on %d hosts)" % (DURATION, RUNS, len(pool), len(others)))
        # a chunk of sessions for each run, and one for the warm-up
        size = len(pool) // (2 * RUNS + 1)
        chunks = [pool[i * size:(i + 1) * size] for i in range(2 * RUNS + 1)]
        keys = [self.file("disconnect-%d.keys" % i, "".join("%s %d\n" % k for k in c))
                for i, c in enumerate(chunks)]
        warm_keys, keys, chunks = keys[-1], keys[:-1], chunks[:-1]
        body = self.file("disconnect.xml", tw.wsl_envelope(
            tw.WMI_URI + "/Disconnect", tw.WMI_URI,
            [("VMHostName", "@@HOST@@"), ("SessionId", "@@SID@@")],
            '<p:Disconnect_INPUT xmlns:p="%s"></p:Disconnect_INPUT>' % tw.WMI_URI,
            msgid="@@ID@@"))
        bp, hp = self.bpids(), host_pids(self.lab)
        if PERF_DIR:
            log("  broker PIDs %s" % " ".join(map(str, bp)))
        # Not measured: a second's calls first, so that the runs find the broker
        # as it is in service -- a kept TLS connection to each host (~100 mutual
        # TLS handshakes on both sides otherwise fall into the first run)
        self.wrk(BROKER, body, 8, bp, warm_keys, seconds=1)
        for conns, ks, chs in ((8, keys[:RUNS], chunks[:RUNS]), (1, keys[RUNS:], chunks[RUNS:])):
            h0, s0 = cpu_ticks(hp), (switches(bp), switches(hp))
            t0 = (by_thread(bp), by_thread(hp), active_opens(self.broker.ns)) if THREADS else None
            prof = self.perf("disconnect-%d" % conns, None)
            runs = self.wrk_runs(BROKER, body, conns, bp, ks)
            self.perf_done(prof)
            hcpu = (cpu_ticks(hp) - h0) / HZ * 1e3
            s1 = (switches(bp), switches(hp))
            self.wrk_rows("Disconnect via the broker, %d connection%s" %
                          (conns, "s" if conns > 1 else ""), runs,
                          1000 if conns == 8 else None)
            reqs = sum(r["reqs"] for r in runs)
            done = sum(self.disconnected(c) for c in chs)
            reused = sum(r["reused"] for r in runs)
            self.row("    all hosts' CPU per call", "%.1f ms" % (hcpu / max(1, reqs)))
            self.row("    context switches per call, broker / all hosts",
                     "%.1f / %.1f" % ((s1[0] - s0[0]) / max(1, reqs), (s1[1] - s0[1]) / max(1, reqs)))
            if t0 is not None:
                log("      TCP connections the broker opened, per call: %.3f"
                    % ((active_opens(self.broker.ns) - t0[2]) / max(1, reqs)))
                for side, pids, before in (("broker", bp, t0[0]), ("hosts", hp, t0[1])):
                    d = by_thread_delta(by_thread(pids), before)
                    for name, (sw, ticks) in sorted(d.items(), key=lambda kv: -kv[1][1]):
                        if sw or ticks:
                            log("      %-6s %-18s switches/call %5.1f  CPU/call %6.0f us"
                                % (side, name, sw / max(1, reqs), ticks / HZ * 1e6 / max(1, reqs)))
            # calls still in flight when wrk stopped counting may have been carried out
            self.row("    calls answered; sessions disconnected at the hosts",
                     "%d; %d" % (reqs, done), "", abs(done - reqs) <= conns * RUNS + reused)
            if reused:
                self.row("    calls on sessions used already (too few sessions)", str(reused),
                         "", False)

    def disconnected(self, keys):
        """How many sessions of KEYS ((host, SessionId)) their hosts' files show
        disconnected."""
        files = {}
        n = 0
        for name, sid in keys:
            if name not in files:
                files[name] = self.lab.host(name).sessions()
            n += files[name].get(sid, ("", -1, ""))[1] == fl.DISCONNECTED
        return n

    def idle(self):
        log("idle: broker CPU over %d windows of %d s, every host idle" % (RUNS, IDLE_SECONDS))
        time.sleep(5)
        hp = host_pids(self.lab)
        b, hs = [[] for _ in self.brokers], []
        for _ in range(RUNS):
            b0 = [cpu_ticks(x.pids()) for x in self.brokers]
            h0, t0 = cpu_ticks(hp), time.monotonic()
            time.sleep(IDLE_SECONDS)
            dt = time.monotonic() - t0
            for i, x in enumerate(self.brokers):
                b[i].append((cpu_ticks(x.pids()) - b0[i]) / HZ / dt * 100)
            hs.append((cpu_ticks(hp) - h0) / HZ / dt * 100)
        for i, x in enumerate(self.brokers):
            self.row("%sbroker CPU, %d idle hosts" % (x.name + " " if PG else "",
                                                      len(self.lab.hosts)),
                     "%.2f %% of a core" % median(b[i]), "<= 2 %", median(b[i]) <= 2)
        self.row("    all hosts' rdmsd meanwhile", "%.1f %% of a core" % median(hs))

    # ---- PostgreSQL only ----------------------------------------------------------------------

    def wait_lb(self):
        """haproxy passes requests (both brokers' Identify checks up)."""
        if not wait_for(30, lambda: self.lab.curl(CL, BROKER + "/wsman", ha.IDENTIFY,
                                                  max_time=5)[1] == 200):
            raise RuntimeError("haproxy does not pass Identify to the brokers")

    def db_size(self, when):
        (db, sessions), = self.psql("SELECT pg_database_size('rdms'), "
                                    "pg_total_relation_size('sessions')")
        n = int(self.psql("SELECT count(*) FROM sessions")[0][0])
        self.row("PostgreSQL database size %s" % when, "%.1f MB" % (int(db) / 1e6),
                 "<= 100 MB", int(db) <= 100e6)
        self.row("    sessions table with its indexes (%d rows)" % n,
                 "%.1f MB" % (int(sessions) / 1e6))

    def wal_counters(self):
        """(WAL position in bytes, {counter: value}) of the database now."""
        (lsn, records, fpi, commits), = self.psql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'), w.wal_records, w.wal_fpi, "
            "d.xact_commit FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = 'rdms'")
        out = {"records": int(records), "fpi": int(fpi), "commits": int(commits)}
        for rel, upd, hot, ins, dele in self.psql(
                "SELECT relname, n_tup_upd, n_tup_hot_upd, n_tup_ins, n_tup_del "
                "FROM pg_stat_user_tables"):
            out[rel] = (int(upd), int(hot), int(ins) + int(dele))
        return float(lsn), out

    def wal(self):
        log("WAL: pg_current_wal_lsn() over %d s, both brokers and every host connected and "
            "idle" % WAL_SECONDS)
        time.sleep(5)
        lsn0, c0 = self.wal_counters()
        t0 = time.monotonic()
        time.sleep(WAL_SECONDS)
        lsn1, c1 = self.wal_counters()
        dt = time.monotonic() - t0
        per_day = (lsn1 - lsn0) / dt * 86400
        self.row("WAL per day, %d idle hosts, 2 brokers (%d s window)"
                 % (len(self.lab.hosts), WAL_SECONDS), "%.0f MB/day" % (per_day / 1e6),
                 "<= 200 MB/day", per_day <= 200e6)
        self.row("    WAL bytes/s; records/s; full-page images in the window",
                 "%.0f; %.1f; %d" % ((lsn1 - lsn0) / dt, (c1["records"] - c0["records"]) / dt,
                                     c1["fpi"] - c0["fpi"]))
        self.row("    transactions/s committed (reads too; both brokers)",
                 "%.1f" % ((c1["commits"] - c0["commits"]) / dt))
        for rel in sorted(k for k in c1 if isinstance(c1[k], tuple)):
            upd, hot, insdel = (a - b for a, b in zip(c1[rel], c0.get(rel, (0, 0, 0))))
            if upd or insdel:
                self.row("    %s: updates/s (HOT of them), inserts+deletes/s" % rel,
                         "%.2f (%.2f), %.2f" % (upd / dt, hot / dt, insdel / dt))

    def kill(self):
        """spec/fleet.md 4.6: SIGKILL of b1 under load, then restarted."""
        b1 = self.brokers[0]
        targets = []
        for h in self.lab.fixture_hosts:
            upper = sorted(h.sessions())[SESSIONS // 2]
            targets += [(h.name, sid) for sid in self.active(h) if sid >= upper][:40]
        log("kill -9: changes on every host (sessions 1-50), %d clients calling Disconnect "
            "through haproxy (own MessageID, retried with the same), one enumerating; b1 "
            "killed after 10 s, restarted 8 s later, load for 10 s more" % KILL_CLIENTS)
        load = ha.Load(self.lab, self.accounts, targets)
        load.run(clients=KILL_CLIENTS)
        time.sleep(10)
        before = len(b1.log())
        b1.kill9()
        time.sleep(8)
        restarted = b1.start()
        time.sleep(10)
        load.end()
        after = b1.log()[before:]
        n_resync = ha.resyncs(after)
        calls = len(load.calls)
        twice, never = load.executions()
        unanswered = [m for m, c in load.calls.items() if c[2] is None]
        pending = wait_for(70, lambda: (lambda r: r if r is not None and
                                        all(st != "pending" for st, _ in r) else None)(
            ha.psql(self.dsn, "SELECT state, count(*) FROM calls GROUP BY state")))
        states = dict(ha.psql(self.dsn, "SELECT state, count(*) FROM calls GROUP BY state")
                      or [])
        # the hosts' truth against the directory, once the brokers have caught up
        for _ in range(4):
            truth, got, err = ha.truth_and_directory(self.lab, self.accounts)
            diff = {k for k in set(truth) | set(got) if truth.get(k) != got.get(k)}
            if err is None and not diff:
                break
            time.sleep(10)
        unseen = [h.name for h in self.lab.fixture_hosts
                  if h.name in load.markers and
                  not any(v[2] == load.markers[h.name] for v in got.values())]
        self.row("kill -9 of b1: restarted under its name", "yes" if restarted else "NO",
                 "", restarted)
        self.row("    changes lost (directory vs hosts' truth, %d sessions)" % len(truth),
                 "%d" % len(diff) if err is None else "? (%s)" % err[:40], "0",
                 err is None and not diff)
        self.row("    hosts whose last change is not in the directory", str(len(unseen)),
                 "0", not unseen)
        self.row("    duplicate executions (host audits, %d MessageIDs)" % calls,
                 str(len(twice)), "0", not twice)
        self.row("    calls never run and not answered 'unknown'; unanswered",
                 "%d; %d" % (len(never), len(unanswered)), "0; 0",
                 not never and not unanswered)
        self.row("    client error window (per client, the longest)",
                 "%.1f s" % load.client_window(), "<= 5 s", load.client_window() <= 5)
        self.row("    failed attempts; enumerations complete / failed",
                 "%d; %d / %d" % (len(load.errors), load.enums[0], load.enums[1]))
        self.row("    directory's calls: done / unknown / pending (after <= 70 s)",
                 "%s / %s / %s" % (states.get("done", 0), states.get("unknown", 0),
                                   states.get("pending", 0)), "0 pending", bool(pending))
        self.row("    hosts resumed by bookmark / full resync (b1's log)",
                 "%d / %d" % (len(self.lab.hosts) - n_resync, n_resync), ">= 95 % by bookmark",
                 n_resync * 20 <= len(self.lab.hosts))


def main():
    if os.geteuid() != 0:
        log("fleet_bench: needs root (network namespaces, accounts)")
        return 1
    for f in (RDMS, RDMSD):
        if not os.access(f, os.X_OK):
            log("fleet_bench: %s is not built (make build)" % f)
            return 1
    fl.exit_on_sigterm()
    log("fleet benchmark: %d fixture hosts x %d sessions, %d CPUs, load %s" %
        (HOSTS, SESSIONS, os.cpu_count(), " ".join(read("/proc/loadavg").split()[:3])))
    accounts = ra.Lab()
    try:
        accounts.accounts()
        with BenchLab(hosts=HOSTS, sessions=SESSIONS) as lab:
            log("fleet lab: %d hosts up in %.1f s" % (len(lab.hosts), lab.setup_seconds))
            dsn = None
            if PG:
                dsn = lab.postgresql()
                brokers = [PgBroker(lab, accounts, dsn, name) for name in ("b1", "b2")]
                ha.haproxy(lab)
            else:
                brokers = [Broker(lab, accounts)]
            bench = Bench(lab, brokers, accounts, dsn)
            total = sum(len(h.sessions()) for h in lab.hosts)
            # the other stages need a converged broker: without "cold", one start
            bench.cold_start(RUNS if "cold" in ONLY else 1)
            if PG:
                bench.wait_lb()
                bench.db_size("once converged (%d sessions)" % total)
            bench.memory("once converged (%d sessions)" % total)
            if "enum" in ONLY:
                bench.enumerate(total)
                bench.memory("after the enumerations")
                hwm = max(status_kib(b.pids(), "VmHWM") for b in brokers)
                bench.row("broker peak RSS up to here: cold start and enumerations (VmHWM)",
                          "%.1f MiB" % (hwm / 1024.0), "<= 64 MiB", hwm <= 64 * 1024)
            for stage in ("get", "wql", "churn", "disconnect"):
                if stage in ONLY:
                    getattr(bench, stage)()
            bench.memory("at the end")
            bench.row("    broker peak RSS (VmHWM, 2 processes%s)" % (", the higher broker"
                                                                   if PG else ""),
                      "%.1f MiB" % (max(status_kib(b.pids(), "VmHWM") for b in brokers) / 1024.0))
            scratch = password_hash_kib(bench.user)
            if scratch is not None:
                bench.row("      one PAM password check's hash, alone",
                          "%.1f MiB" % (scratch / 1024.0), "in rdmsd-pam's peak, not the broker's")
            for stage in ("idle", "wal", "kill"):
                if stage in ONLY:
                    getattr(bench, stage)()
            if PG:
                bench.db_size("at the end")
            bench.table()
    finally:
        accounts.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
