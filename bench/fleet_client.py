#!/usr/bin/python3
"""fleet_client.py -- the clients of bench/fleet_bench.py that cannot be wrk
or curl, run inside the fleet lab's client namespace (`ip netns exec cl`).
Each prints one JSON object on stdout; the account is FLEET_BENCH_USER with
the password in FLEET_BENCH_PW (HTTP Basic, keep-alive: one connection).

  enum URL RUNS
      Enumerate every session in PowerShell's shape (Get-CimInstance over
      WS-Man: MaxEnvelopeSize 512000, MaxElements 32000, optimized,
      EnumerateObjectAndEPR), then Pull until EndOfSequence; RUNS times.
      -> {"secs": [time to the last byte of each run], "items" (of the
          first run: the others do not count them), "bytes", "requests"}
  calls URL KEYS METHOD
      METHOD (Disconnect) on each "VMHostName SessionId" line of file KEYS,
      one after the other, each with a fresh MessageID.
      -> {"ms": [latency of each call], "ok": calls that returned 0,
          "failed": [the first replies that did not]}
  churn SPEC
      The change driver and the watcher of spec/fleet.md 4.7, for SPEC (a
      JSON file: broker URL, hosts' names and fixture files, rate, batch,
      seconds, inflight, poll_ms).  The driver rewrites fixture files
      atomically (temp file, rename), round-robin over the hosts, BATCH
      changes in each rewrite, RATE changes/s fleet-wide; each change is a
      marker m-HOST-N in a session's ClientMachineName (sessions 2..500 of
      each host in SessionId order); t0 = CLOCK_MONOTONIC just before the
      rename.  Up to INFLIGHT changes at a time are traced (one of a
      rewrite's): a watcher polls the broker's Get of that session every
      POLL_MS until the marker shows (t1).  -> {"ms": [t1 - t0 of each
      traced change], "lost": traced changes not seen within 10 s,
      "changes", "writes", "secs"}
"""
import base64
import http.client
import json
import os
import queue
import re
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import test_rdmsd_auth as ra       # noqa: E402  (SOAP_TYPE)
import test_wsman_e2e as tw        # noqa: E402  (envelopes)

CONTEXT = re.compile(rb"<(?:\w+:)?EnumerationContext>([^<]+)<")
END = re.compile(rb"<(?:\w+:)?EndOfSequence\b")
ITEM = re.compile(rb"</(?:\w+:)?Item>")
CLIENT = re.compile(rb"<(?:\w+:)?ClientMachineName>([^<]*)<")
RETURN_OK = re.compile(rb"<(?:\w+:)?ReturnValue>0<")
PULL_BODY = ("<n:Pull><n:EnumerationContext>%s</n:EnumerationContext>"
             "<n:MaxElements>32000</n:MaxElements></n:Pull>")
LOST_AFTER = 10.0          # seconds a traced change may take before it counts as lost


class Client:
    """One keep-alive HTTP connection to URL, as the benchmark's account."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port or 80, u.path or "/wsman"
        cred = "%s:%s" % (os.environ["FLEET_BENCH_USER"], os.environ["FLEET_BENCH_PW"])
        self.headers = {"Content-Type": ra.SOAP_TYPE,
                        "Authorization": "Basic " + base64.b64encode(cred.encode()).decode()}
        self.conn = None

    def post(self, body):
        """(HTTP status, reply bytes); reconnects once on a dropped connection."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request("POST", self.path, body.encode(), self.headers)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        return 0, b""


def enum(url, runs):
    c = Client(url)
    secs = []
    items = size = requests = first_items = 0
    for run in range(int(runs)):
        items = size = requests = 0
        body = tw.mi_envelope(tw.ACT_ENUM, tw.WMI_URI, body=tw.MI_ENUM_BODY)
        t0 = time.monotonic()
        while True:
            st, reply = c.post(body)
            requests += 1
            size += len(reply)
            if st != 200:
                raise SystemExit("enum: HTTP %d: %s" % (st, reply[:400]))
            if run == 0:       # the timed runs leave the counting out
                items += len(ITEM.findall(reply))
            ctx = CONTEXT.search(reply)
            if END.search(reply) or ctx is None:
                break
            body = tw.mi_envelope(tw.ACT_PULL, tw.WMI_URI,
                                  body=PULL_BODY % ctx.group(1).decode())
        secs.append(time.monotonic() - t0)
        if run == 0:
            first_items = items
    return {"secs": secs, "items": first_items, "bytes": size, "requests": requests}


def calls(url, keys, method):
    c = Client(url)
    ms, ok, failed = [], 0, []
    with open(keys) as f:
        targets = [line.split() for line in f if line.strip()]
    for host, sid in targets:
        body = tw.wsl_envelope(tw.WMI_URI + "/" + method, tw.WMI_URI,
                               [("VMHostName", host), ("SessionId", sid)],
                               '<p:%s_INPUT xmlns:p="%s"></p:%s_INPUT>'
                               % (method, tw.WMI_URI, method))
        t0 = time.monotonic()
        st, reply = c.post(body)
        ms.append((time.monotonic() - t0) * 1000)
        if st == 200 and RETURN_OK.search(reply):
            ok += 1
        elif len(failed) < 3:
            failed.append("%s %s: HTTP %d %s" % (host, sid, st, reply[-300:].decode("utf-8",
                                                                                  "replace")))
    return {"ms": ms, "ok": ok, "failed": failed}


class Fixture:
    """A host's fixture file, held by the driver (its only writer meanwhile)."""

    def __init__(self, name, path):
        self.name, self.path = name, path
        with open(path) as f:
            self.lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
        self.lines.sort(key=lambda l: int(l.split()[0]))
        self.next = 1          # the first session may be the one two hosts share: left alone
        self.tmp = "%s.churn.%d" % (path, os.getpid())

    def change(self, n, k):
        """Marks the next K sessions m-HOST-N.., written atomically in one
        rewrite; ([(SessionId, marker)], t0)."""
        done = []
        for i in range(k):
            sid, user, state, _ = self.lines[self.next].split()
            marker = "m-%s-%d" % (self.name, n + i)
            self.lines[self.next] = "%s %s %s %s" % (sid, user, state, marker)
            self.next = self.next + 1 if self.next + 1 < min(500, len(self.lines)) else 1
            done.append((sid, marker))
        with open(self.tmp, "w") as f:
            f.write("\n".join(self.lines) + "\n")
        t0 = time.monotonic()
        os.rename(self.tmp, self.path)
        return done, t0


def churn(spec_file):
    with open(spec_file) as f:
        spec = json.load(f)
    hosts = [Fixture(h["name"], h["fixture"]) for h in spec["hosts"]]
    rate, seconds, poll = spec["rate"], spec["seconds"], spec["poll_ms"] / 1000.0
    slots = threading.Semaphore(spec["inflight"])
    traced = queue.Queue()
    ms, lost = [], []
    lock = threading.Lock()

    def watcher():
        c = Client(spec["url"])
        while True:
            job = traced.get()
            if job is None:
                return
            host, sid, marker, t0 = job
            body = tw.wsl_envelope(tw.ACT_GET, tw.WMI_URI,
                                   [("VMHostName", host), ("SessionId", sid)])
            seen = None
            while time.monotonic() - t0 < LOST_AFTER:
                st, reply = c.post(body)
                now = time.monotonic()
                m = CLIENT.search(reply) if st == 200 else None
                if m and m.group(1).decode() == marker:
                    seen = now
                    break
                time.sleep(max(0.0, poll - (time.monotonic() - now)))
            with lock:
                if seen is None:
                    lost.append(marker)
                else:
                    ms.append((seen - t0) * 1000)
            slots.release()

    threads = [threading.Thread(target=watcher, daemon=True) for _ in range(spec["inflight"])]
    for t in threads:
        t.start()
    batch = spec["batch"]
    start = time.monotonic()
    n = writes = 0
    while True:
        due = start + n / rate
        now = time.monotonic()
        if now - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        h = hosts[writes % len(hosts)]
        done, t0 = h.change(n, batch)
        if slots.acquire(blocking=False):
            sid, marker = done[writes % len(done)]
            traced.put((h.name, sid, marker, t0))
        n += batch
        writes += 1
    secs = time.monotonic() - start
    for _ in threads:
        traced.put(None)
    for t in threads:
        t.join(LOST_AFTER + 5)
    return {"ms": ms, "lost": len(lost), "changes": n, "writes": writes, "secs": secs}


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "enum" and len(args) == 2:
        out = enum(*args)
    elif cmd == "calls" and len(args) == 3:
        out = calls(*args)
    elif cmd == "churn" and len(args) == 1:
        out = churn(*args)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
