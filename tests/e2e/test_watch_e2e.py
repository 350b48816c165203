#!/usr/bin/python3
"""test_watch_e2e.py -- `rdms watch` (issue 14, item 5) on REAL xrdp
sessions driven by real xfreerdp clients, through rdmsd's Unix socket.

Reuses the rdmsd lab of test_wsman_e2e.py.  Several watchers run at once,
each a real `rdms watch` process whose output is read line by line:
  root, --json: every transition of the session once, in order (logon,
      the client killed, a reconnect from another client name, logoff),
      with the reasons of rdms-hooks(7), the previous and target instances
      under the exact property names, and a bookmark on each;
  root, --event disconnect --json: the disconnect and nothing else;
  the session's user (not an admin), the default line format: its own
      session's lines ("Active -> Disconnected");
  SIGINT: exit 0 and an Unsubscribe (audited, not a reaping);
  rdmsd stopped under a watcher: exit 1, "the subscription was lost" and
      the bookmark to resume from;
  after rdmsd's restart, --since the logon's bookmark: the events after
      the logon, each once, in order, and nothing before it;
  usage errors (exit 2) for a data query, a wrong --event word, --direct.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root and the lab of lab.sh running (run.sh starts it).
"""
import json
import os
import pwd
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on xrdp)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: clients, /proc truth)
from e2e_common import RDMS, RDMSD, check, finish, log, wait_for  # noqa: E402

U1 = we.U1


class Watcher:
    """A running `rdms watch ARGS` (after PREFIX: `ip netns exec NS`, say):
    the lines it printed, as they came, and when each was read (TIMES,
    Unix seconds)."""

    def __init__(self, lab, args, as_user=None, env=None, prefix=()):
        cmd = list(prefix) + [RDMS, "--config", lab.conf, "watch"] + args
        who = {}
        if as_user is not None:   # the user's own process (signals reach rdms itself)
            pw = pwd.getpwnam(as_user)
            who = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.json = "--json" in args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=dict(os.environ, **(env or {})), **who)
        self.lines, self.times, self.err = [], [], ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        time.sleep(0.5)          # the Subscribe is answered at once

    def _read(self):
        for line in self.proc.stdout:
            self.times.append(time.time())
            self.lines.append(line.rstrip("\n"))

    def events(self):
        return [json.loads(l) for l in self.lines] if self.json else list(self.lines)

    def until(self, pred, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for ev in self.events():
                if pred(ev):
                    return ev
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return None

    def finish(self, sig=None, timeout=10):
        """Sends SIG (None: none), waits; (exit status, stderr)."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.reader.join(5)
        self.err = self.proc.stderr.read()
        return rc, self.err


def tv(ev, prop, which="target"):
    return (ev.get(which) or {}).get(prop)


def of(sid):
    return lambda ev: tv(ev, "SessionId") == sid


def scenario(lab):
    if not check("rdmsd starts on the xrdp back-end", lab.start(), lab.log()[-2000:]):
        return
    audit = we.Audit(lab)
    audit.mark()

    # ---- usage errors, before anything is asked
    for args, what in ((["--query", "SELECT * FROM Win32_VirtualDesktopSession"],
                        "a data query"),
                       (["--event", "logon,nap"], "an unknown --event word"),
                       (["--event", "logon", "--query", we.WQL], "--event with --query"),
                       (["--direct"], "--direct")):
        rc, _, err = we.cli(lab, ["watch"] + args)
        check("rdms watch with %s: usage error (exit 2) saying why" % what,
              rc == 2 and "rdms:" in err and "\n" not in err, "rc=%d %s" % (rc, err))

    every = Watcher(lab, ["--json"])
    disc = Watcher(lab, ["--event", "disconnect", "--json"])
    mine = Watcher(lab, [], as_user=U1)
    remote = Watcher(lab, ["--json", "--event", "logon", "--host",
                           "http://127.0.0.1:%d" % lab.http, "-u", we.ADMIN],
                     env={"RDMS_PASSWORD": lab.pw[we.ADMIN]})
    check("four watchers run (root --json, root --event disconnect, %s, %s over HTTP "
          "with --host)" % (U1, we.ADMIN),
          all(w.proc.poll() is None for w in (every, disc, mine, remote)),
          every.err + disc.err + mine.err + remote.err)

    # ---- logon
    lab.connect("w1", U1, "/client-hostname:WCLIENT1", "/size:800x600")
    sid = we.wait_session(lab, U1)
    if not check("%s's session is listed Active" % U1, sid):
        return
    logon = every.until(lambda e: of(sid)(e) and e["event"] == "Creation")
    check("--json: the logon, reason session-logon, target with the exact property "
          "names, no previous, an RFC 3339 time and a bookmark",
          logon is not None and logon["reason"] == "session-logon" and
          logon["previous"] is None and tv(logon, "UserName") == U1 and
          set(logon["target"]) == {"VMHostName", "SessionId", "VMName", "ConnectState",
                                   "UserName", "DomainName", "CollectionId",
                                   "ClientMachineName"} and
          len(logon["time"]) == 20 and logon["time"].endswith("Z") and
          (logon["bookmark"] or "").startswith("rdms:"), repr(every.lines[-3:]))
    active = every.until(lambda e: of(sid)(e) and tv(e, "ConnectState") == 0 and
                         tv(e, "ClientMachineName") == "WCLIENT1")
    check("... and the session Active from WCLIENT1", active is not None, repr(every.lines))
    ev = remote.until(of(sid))
    check("--host http://...: %s's watcher over WS-Man with Basic gets the logon" % we.ADMIN,
          ev is not None and ev["event"] == "Creation", repr(remote.lines) + remote.err)

    # ---- the client killed
    pid = xe.lab_pid("client-ws-w1")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    gone = every.until(lambda e: of(sid)(e) and e["event"] == "Modification" and
                       tv(e, "ConnectState") == 4)
    log("  (client kill to the watcher's line: %.2f s)" % (time.monotonic() - t0))
    # xrdp clears the client's name and drops the state in two updates; a scan
    # between them makes two true events (the name, then the state), else one.
    cleared = [e for e in every.events() if of(sid)(e) and e["event"] == "Modification"
               and tv(e, "ConnectState") == 0 and tv(e, "ClientMachineName") in ("", None)
               and tv(e, "ClientMachineName", "previous") == "WCLIENT1"]
    split = len(cleared) == 1 and gone is not None and \
        tv(gone, "ClientMachineName", "previous") in ("", None)
    check("the client killed: Modification, reason remote-disconnect, previous Active "
          "from WCLIENT1 (or the name cleared by an event just before), target Disconnected",
          gone is not None and gone["event"] == "Modification" and
          gone["reason"] == "remote-disconnect" and tv(gone, "ConnectState", "previous") == 0
          and (tv(gone, "ClientMachineName", "previous") == "WCLIENT1" or split),
          repr(every.lines))
    ev = disc.until(of(sid))
    check("--event disconnect: the disconnect", ev is not None and
          tv(ev, "ConnectState") == 4 and ev["reason"] == "remote-disconnect", repr(disc.lines))
    if split:
        want = " Active -> Disconnected"
        name = mine.until(lambda l: " %d %s " % (sid, U1) in l and
                          l.endswith(" ClientMachineName WCLIENT1 -> -"))
    else:
        want = " Active -> Disconnected, ClientMachineName WCLIENT1 -> -"
        name = True
    line = mine.until(lambda l: " %d %s " % (sid, U1) in l and l.endswith(want))
    check("%s's own watcher (not an admin, default lines): '... Modification HOST %d %s "
          "Active -> Disconnected, ClientMachineName WCLIENT1 -> -' (or the two as "
          "lines of their own when xrdp's updates came apart)" % (U1, sid, U1),
          line is not None and " Modification " in line and name is not None,
          repr(mine.lines))

    # ---- reconnect under another name
    lab.connect("w1b", U1, "/client-hostname:WCLIENT2", "/size:800x600")
    back = every.until(lambda e: of(sid)(e) and tv(e, "ConnectState") == 0 and
                       tv(e, "ClientMachineName") == "WCLIENT2", timeout=40)
    check("a reconnect from WCLIENT2: Modification, reason remote-connect, 4 -> 0",
          back is not None and back["reason"] == "remote-connect" and
          tv(back, "ConnectState", "previous") == 4, repr(every.lines[-3:]))

    # ---- logoff
    rc, _, err = we.cli(lab, ["logoff", str(sid)])
    check("rdms logoff %d returns 0" % sid, rc == 0, err)
    end = every.until(lambda e: of(sid)(e) and e["event"] == "Deletion")
    check("the logoff: Deletion, reason session-logoff, the last instance as target",
          end is not None and end["reason"] == "session-logoff" and
          tv(end, "UserName") == U1 and end["previous"] is None, repr(every.lines[-3:]))
    line = mine.until(lambda l: " Deletion " in l and " %d %s " % (sid, U1) in l)
    check("%s's watcher: the logoff line" % U1, line is not None and "logoff" in line,
          repr(mine.lines))

    # ---- each transition once, in order
    seq = [(e["event"], tv(e, "ConnectState"), tv(e, "ClientMachineName"))
           for e in every.events() if of(sid)(e)]
    check("--json saw each transition of %d once, in order (logon, disconnect, reconnect, "
          "logoff), every event with a bookmark of its own" % sid,
          _in_order(seq) and
          len(set(e["bookmark"] for e in every.events())) == len(every.events()), repr(seq))
    check("--event disconnect printed only disconnects",
          all(e["reason"] == "remote-disconnect" for e in disc.events()), repr(disc.lines))
    users = {l.split()[4] for l in mine.lines if len(l.split()) > 4}
    check("%s's watcher printed only %s's sessions" % (U1, U1), users == {U1},
          repr(mine.lines))

    # ---- SIGINT: a clean Unsubscribe
    audit.mark()
    rc, err = disc.finish(signal.SIGINT)
    check("SIGINT: rdms watch exits 0", rc == 0, "rc=%d %s" % (rc, err))
    rows = wait_for(5, lambda: [r for r in audit.new() if r["method"] == "Unsubscribe"]
                    or None)
    check("... after an Unsubscribe (audited by root, not a reaping)",
          rows is not None and len(rows) == 1 and rows[0]["user"] == "root" and
          "reaped" not in rows[0]["detail"], repr(rows))
    check("--event logon over --host printed only the logon",
          [e["event"] for e in remote.events()] == ["Creation"], repr(remote.lines))
    rc, err = remote.finish(signal.SIGINT)
    check("SIGINT: the --host watcher exits 0", rc == 0, "rc=%d %s" % (rc, err))
    rc, err = mine.finish(signal.SIGTERM)
    check("SIGTERM: %s's watcher exits 0" % U1, rc == 0, "rc=%d %s" % (rc, err))

    # ---- rdmsd goes away under a watcher
    lab.stop()
    rc, err = every.finish(None, timeout=15)
    check("rdmsd stopped: rdms watch exits 1, the subscription lost, with the bookmark "
          "to resume from",
          rc == 1 and "subscription was lost" in err and "--since rdms:" in err,
          "rc=%d %s" % (rc, err))

    # ---- after the restart: --since the logon's bookmark
    if not check("rdmsd starts again", lab.start(), lab.log()[-2000:]):
        return
    again = Watcher(lab, ["--json", "--since", logon["bookmark"]])
    last = again.until(lambda e: of(sid)(e) and e["event"] == "Deletion", timeout=10)
    resumed = [(e["event"], tv(e, "ConnectState"), tv(e, "ClientMachineName"))
               for e in again.events() if of(sid)(e)]
    check("--since the logon's bookmark, across the restart: the events after the "
          "logon, each once, in order, up to the logoff",
          last is not None and resumed == seq[1:], "got %r, wanted %r" % (resumed, seq[1:]))
    rc, err = again.finish(signal.SIGINT)
    check("... and SIGINT ends it with exit 0", rc == 0, "rc=%d %s" % (rc, err))


def _in_order(states):
    """Creation, then Active from WCLIENT1, Disconnected, Active from WCLIENT2, Deletion:
    each of these milestones once, in this order."""
    marks = []
    for ev, st, cl in states:
        if ev == "Creation":
            marks.append("logon")
        elif ev == "Deletion":
            marks.append("logoff")
        elif st == 4:
            marks.append("disconnect")
        elif st == 0 and cl == "WCLIENT2":
            marks.append("reconnect")
    return marks == ["logon", "disconnect", "reconnect", "logoff"]


def main():
    if not common.ready("test_watch_e2e", [RDMS, RDMSD], ["xfreerdp", "runuser"]):
        return 1
    if not we.xrdp_lab_ready():
        return finish()
    return we.run_scenario(we.Lab, scenario)


if __name__ == "__main__":
    sys.exit(main())
