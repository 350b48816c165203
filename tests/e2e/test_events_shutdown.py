#!/usr/bin/python3
"""test_events_shutdown.py -- rdmsd's network process stops cleanly with
session events running (issue 14, items 3 and 8).

The lab of test_rdmsd_auth.py (fixture back-end) with rdmsd-net run under
valgrind: rdmsd starts the rdmsd-net beside it, so a copy of rdmsd sits in
a directory of its own beside a wrapper of that name that execs valgrind
on the real one.  Subscribers hold Pulls, an event reaches them through
the events pump (net's mirror of priv's change feed, which waits in a
long poll on priv), and then rdmsd gets SIGTERM while the pump waits.
Checked:
  the held Pull gets its answer (an event) through the pump;
  on SIGTERM rdmsd exits 0 within 5 s: net stopped the pump at once,
      without waiting out its 30 s long poll (priv kills a net that takes
      longer than 10 s);
  net was not killed (priv logs no "does not stop; killing it");
  valgrind finds no error in net and no leak of any kind but "still
      reachable": every thread joined (a running one leaves its stack
      "possibly lost"), the mirror and the subscriptions freed.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root and valgrind.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import events_common as ec         # noqa: E402
import test_rdmsd_auth as lab_mod  # noqa: E402  (the fixture lab)
from e2e_common import RDMSD, check, wait_for  # noqa: E402

ADMIN = lab_mod.ADMIN
NET = os.path.join(os.path.dirname(os.path.abspath(RDMSD)), "rdmsd-net")
PAM = os.path.join(os.path.dirname(os.path.abspath(RDMSD)), "rdmsd-pam")   # password checks


class Lab(lab_mod.Lab):
    """The fixture lab, its rdmsd-net under valgrind."""

    def start(self):
        self.bin = os.path.join(self.dir, "bin")
        self.vg = os.path.join(self.dir, "vg")
        os.makedirs(self.bin, exist_ok=True)
        os.makedirs(self.vg, exist_ok=True)
        os.chmod(self.vg, 0o1777)           # net writes its report as the rdms user
        shutil.copy(RDMSD, os.path.join(self.bin, "rdmsd"))
        os.symlink(PAM, os.path.join(self.bin, "rdmsd-pam"))   # found beside rdmsd, as net is
        with open(os.path.join(self.bin, "rdmsd-net"), "w") as f:
            f.write("#!/bin/sh\nexec valgrind --error-exitcode=99 --leak-check=full "
                    "--show-leak-kinds=definite,indirect,possible --vgdb=no "
                    "--log-file=%s/net.%%p %s \"$@\"\n" % (self.vg, NET))
        os.chmod(os.path.join(self.bin, "rdmsd-net"), 0o755)
        os.chmod(self.bin, 0o755)
        self.logfh = open(self.logf, "w")
        self.proc = subprocess.Popen([os.path.join(self.bin, "rdmsd"), "--config", self.conf,
                                      "--foreground", "--debug"],
                                     stdout=self.logfh, stderr=subprocess.STDOUT)
        # valgrind makes net slow to start
        return wait_for(90, lambda: "ready" in self.log() or self.proc.poll() is not None,
                        step=0.2) and self.proc.poll() is None

    def reports(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.vg, "net.*"))):
            with open(path, errors="replace") as f:
                out.append(f.read())
        return out


def leaks(report):
    """{kind: bytes} of valgrind's LEAK SUMMARY, and its ERROR SUMMARY count."""
    kinds = {}
    for kind in ("definitely lost", "indirectly lost", "possibly lost"):
        m = re.search(r"%s: ([\d,]+) bytes" % kind, report)
        kinds[kind] = int(m.group(1).replace(",", "")) if m else 0
    m = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    return kinds, int(m.group(1)) if m else None


def scenario(lab):
    if not check("rdmsd starts with rdmsd-net under valgrind", lab.start(), lab.log()[-2000:]):
        return
    sub = ec.Subscriber(lab, ADMIN, ec.Q_ALL)
    idle = ec.Subscriber(lab, ADMIN, ec.Q_MOD)
    check("two subscriptions", sub.st == 200 and idle.st == 200, sub.text[:500])
    got = {}

    def pull():
        got["ev"] = sub.until(lambda e: e["class"] == ec.MODIFICATION, timeout=60)
    th = threading.Thread(target=pull)
    th.start()
    time.sleep(1.0)        # the Pull is held now
    with open(lab.fixture, "w") as f:
        f.write("1 %s 4 -\n2 %s 0 client-u\n3 %s 4 -\n" % (ADMIN, lab_mod.USER, lab_mod.USER))
    th.join(70)
    ev = got.get("ev")
    check("a held Pull gets the fixture's change through the events pump",
          ev is not None and ec.t(ev, "SessionId") == "1" and ec.t(ev, "ConnectState") == "4",
          repr(sub.events))

    # the pump waits in its long poll on priv again; the idle subscription holds a Pull
    held = {}

    def hold():
        held["r"] = idle.pull()
    th = threading.Thread(target=hold)
    th.start()
    time.sleep(2.0)
    t0 = time.monotonic()
    lab.proc.send_signal(signal.SIGTERM)
    try:
        rc = lab.proc.wait(30)
    except subprocess.TimeoutExpired:
        rc = None
    dt = time.monotonic() - t0
    th.join(30)
    check("on SIGTERM rdmsd exits 0 within 5 s (%.1f s): net stops its events pump at once, "
          "without waiting out the 30 s long poll" % dt, rc == 0 and dt < 5.0,
          "rc %r; %s" % (rc, lab.log()[-1500:]))
    check("net was not killed", "killing it" not in lab.log(), lab.log()[-1500:])
    r = held.get("r")
    check("the Pull held at shutdown got an answer or its connection closed",
          not th.is_alive(), repr(r))
    reports = lab.reports()
    if not check("valgrind wrote a report for rdmsd-net", len(reports) == 1, len(reports)):
        return
    kinds, errors = leaks(reports[0])
    check("valgrind: no error in rdmsd-net", errors == 0, reports[0][-3000:])
    check("valgrind: rdmsd-net leaks nothing, definitely, indirectly or possibly "
          "(every thread joined, the mirror and subscriptions freed): %r" % kinds,
          not any(kinds.values()), reports[0][-6000:])


def main():
    if not common.ready("test_events_shutdown", [RDMSD, NET, PAM], ["valgrind"]):
        return 1
    return ec.run_lab(Lab(), scenario)


if __name__ == "__main__":
    sys.exit(main())
