#!/usr/bin/python3
"""test_host_failover.py -- `rdms --host URL1,URL2` (issue 15, item 5): when
one endpoint (a broker) cannot be reached or gives no answer, the same
request -- the same MessageID, readdressed -- goes to the next one, and the
one that answered is kept.

An rdmsd with a fixture back-end (test_rdmsd_auth's lab) is the endpoint
that works; the others are a port where nothing listens and "droppers":
listeners that read a request, record it and close the connection without
an answer (a broker that died mid-call).  Checked:
  a closed port first: `rdms list` is answered by the rdmsd behind it;
  two droppers: a Disconnect by PATH reaches both with one MessageID (each
      request addressed, in wsa:To, to the dropper it went to), and fails
      with exit 1 and WBEM_E_TRANSPORT_FAILURE;
  a dropper, then rdmsd: the Disconnect is carried out once (one audit
      row), the dropper saw the same MessageID rdmsd was sent;
  a --host list with a URL that is no http(s) URL: usage error, exit 2.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root (accounts, PAM file).
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_rdmsd_auth as ra       # noqa: E402  (rdmsd with a fixture back-end)
from e2e_common import RDMS, RDMSD, check, finish, ready, wait_for  # noqa: E402


class Dropper:
    """Accepts connections, reads one HTTP request each, keeps it, closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                conn.settimeout(5)
                try:
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, body = data.split(b"\r\n\r\n", 1)
                    m = re.search(rb"content-length:\s*(\d+)", head, re.I)
                    while m and len(body) < int(m.group(1)):
                        body += conn.recv(65536)
                except OSError:
                    continue
                self.requests.append(body.decode("utf-8", "replace"))
                if self.answer is not None:
                    try:
                        conn.sendall(self.answer)
                    except OSError:
                        pass

    answer = None

    def close(self):
        self.sock.close()


class Unavailable(Dropper):
    """A broker whose directory fails: every request answered 503 (a fault)."""

    body = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>'
            b'<s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang="en">'
            b'session directory unavailable</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>')
    answer = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/soap+xml\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


def message_ids(requests):
    return [m for r in requests for m in re.findall(r"<wsa:MessageID>([^<]+)<", r)]


def to_of(request):
    m = re.search(r"<wsa:To>([^<]+)<", request)
    return m.group(1) if m else None


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rdms(lab, hosts, args):
    cmd = [RDMS, "--config", lab.conf, "--host", ",".join(hosts), "-u", ra.ADMIN] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, RDMS_PASSWORD=lab.pw[ra.ADMIN]))
    return p.returncode, p.stdout, p.stderr.strip()


def scenario(lab):
    url = "http://127.0.0.1:%d/wsman" % lab.http
    path = 'Win32_VirtualDesktopSession.VMHostName="%s",SessionId=%%d' % ra.VMHOST

    rc, out, err = rdms(lab, ["http://127.0.0.1:%d/wsman" % closed_port(), url],
                        ["list", "--json"])
    check("a closed port first: rdms list is answered by the next URL (exit 0, sessions "
          "1, 2, 3)", rc == 0 and all('"SessionId": %d' % i in out for i in (1, 2, 3)),
          "rc=%d %s %s" % (rc, out[:300], err))

    d1, d2 = Dropper(), Dropper()
    urls = ["http://127.0.0.1:%d/wsman" % d.port for d in (d1, d2)]
    rc, _, err = rdms(lab, urls, ["disconnect", path % 1])
    ids = message_ids(d1.requests) + message_ids(d2.requests)
    check("two droppers: the Disconnect reached both, with one MessageID",
          len(d1.requests) == 1 and len(d2.requests) == 1 and len(ids) == 2 and
          ids[0] == ids[1] and "Disconnect" in d1.requests[0], repr(ids))
    check("... each addressed (wsa:To) to the endpoint it went to",
          d1.requests and d2.requests and to_of(d1.requests[0]) == urls[0] and
          to_of(d2.requests[0]) == urls[1],
          "%r %r" % ([to_of(r) for r in d1.requests], [to_of(r) for r in d2.requests]))
    check("... and, with no endpoint left, exit 1 WBEM_E_TRANSPORT_FAILURE",
          rc == 1 and "WBEM_E_TRANSPORT_FAILURE" in err, "rc=%d %s" % (rc, err))
    d1.close()
    d2.close()

    d3 = Dropper()
    rc, _, err = rdms(lab, ["http://127.0.0.1:%d/wsman" % d3.port, url],
                      ["disconnect", path % 1])
    check("a dropper, then rdmsd: the Disconnect returns 0", rc == 0, "rc=%d %s" % (rc, err))
    rows = wait_for(5, lambda: [r for r in lab_audit(lab) if r["method"] == "Disconnect"
                                and "SessionId=1" in r["target"]] or None)
    check("... carried out once (one audit row at rdmsd)",
          rows is not None and len(rows) == 1 and rows[0]["result"] == 0, repr(rows))
    check("... the dropper got it first (one request, the Disconnect)",
          len(d3.requests) == 1 and "Disconnect" in d3.requests[0], repr(d3.requests)[:400])
    d3.close()

    u = Unavailable()
    rc, out, err = rdms(lab, ["http://127.0.0.1:%d/wsman" % u.port, url], ["list", "--json"])
    check("a broker answering 503 (its directory fails), then rdmsd: rdms list is answered "
          "by rdmsd", rc == 0 and '"SessionId": 1' in out and len(u.requests) == 1,
          "rc=%d %s %s %d" % (rc, out[:200], err, len(u.requests)))
    rc, _, err = rdms(lab, ["http://127.0.0.1:%d/wsman" % u.port, url],
                      ["disconnect", path % 2])
    rows = wait_for(5, lambda: [r for r in lab_audit(lab) if r["method"] == "Disconnect"
                                and "SessionId=2" in r["target"]] or None)
    check("... a Disconnect too, with the MessageID the 503 broker was sent, carried out once",
          rc in (0, 1) and rows is not None and len(rows) == 1 and len(u.requests) == 2 and
          "Disconnect" in u.requests[1], "rc=%d %s %r" % (rc, err, rows))
    rc, _, err = rdms(lab, ["http://127.0.0.1:%d/wsman" % u.port], ["list"])
    check("... with no endpoint left: exit 1, the fault's reason", rc == 1 and
          "session directory unavailable" in err, "rc=%d %s" % (rc, err))
    u.close()

    rc, _, err = rdms(lab, [url, "ftp://127.0.0.1/"], ["list"])
    check("--host with a URL that is no http(s) URL: exit 2 naming it",
          rc == 2 and "ftp://127.0.0.1/" in err, "rc=%d %s" % (rc, err))


def lab_audit(lab):
    """rdmsd's audit rows, read from its database as root."""
    p = subprocess.run([RDMS, "--direct", "--config", lab.conf, "audit", "--json"],
                       capture_output=True, text=True, timeout=30)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return []


def main():
    if not ready("test_host_failover", built=[RDMS, RDMSD], tools=[]):
        return 1
    lab = ra.Lab()
    try:
        if lab.setup():
            scenario(lab)
    finally:
        lab.cleanup()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
