#!/usr/bin/python3
"""test_make_run.py -- `make run` (scripts/run.sh) as a new admin meets it
(issue 12, items 1, 2, 11 and 15), with real xrdp sessions.

Runs the script as `make run` does, in the background on free loopback
ports with its own directory (RDMS_RUN_DIR, RDMS_RUN_PORTS,
RDMS_RUN_SOCKET), waits for it to say it serves, runs the commands it
printed exactly as printed, stops it as Ctrl-C does and checks what is left.

1. On a host whose xrdp already runs (lab.sh's, which run.sh started):
   it serves that xrdp -- no "ports in use" refusal -- and says so; it reads
   the client names from the log xrdp's own config names; HTTP and HTTPS
   listen on loopback only; a real session survives stopping rdmsd and is
   listed again by the next run.
2. On a host with nothing to serve (lab.sh's lab stopped for the while): it
   starts the demonstration lab and says so; every printed command works as
   printed (a test session, the list, WS-Man); the lab's accounts have no
   login shell and their passwords appear on no command line; stopping
   rdmsd leaves the lab and its session, the next run serves them again;
   the printed stop command ends the lab and removes its accounts.
   lab.sh's lab is started again afterwards.
After both: no account with a login shell was added, nothing listens on
the ports used, nothing was written to /var/lib/rdms; the admin group and
the PAM service rdmsd relies on exist.

Needs root and the lab of lab.sh running.  Output: PASS/FAIL lines and
`N passed, M failed`.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import e2e_common as common  # (the PASS/FAIL counters)
from e2e_common import RDMS, alive, check, finish, free_port, log, read, ready, wait_for
import make_run as mr

HERE = os.path.dirname(os.path.abspath(__file__))
LABSH = os.path.join(HERE, "lab.sh")
STATE = "/var/lib/rdms"


def lab_env():
    out = subprocess.run([LABSH, "env"], capture_output=True, text=True).stdout
    return dict(w.split("=", 1) for w in out.split() if "=" in w)


def lab_running():
    st = subprocess.run([LABSH, "status"], capture_output=True, text=True).stdout
    return "sesman: running" in st


def sessions(conf):
    """{SessionId: instance} as `rdms --config CONF list --json` shows them."""
    # (stdout only: stderr may say which configured servers are not running)
    p = subprocess.run([RDMS, "--config", conf, "list", "--json"], capture_output=True,
                       text=True, timeout=30)
    try:
        return {s["SessionId"]: s for s in json.loads(p.stdout)} if p.returncode == 0 else {}
    except ValueError:
        return {}


def session_of(conf, user, client=None):
    """USER's Active session (with CLIENT as ClientMachineName, if given)."""
    for sid, s in sessions(conf).items():
        if s["UserName"] == user and s["ConnectState"] == 0 and \
                (client is None or s["ClientMachineName"] == client):
            return sid
    return None


def check_loopback(what, ports):
    ls = mr.listeners_on(ports)
    check("%s: HTTP and HTTPS (WS-Man, CIM-XML) listen on loopback only" % what,
          len({p for _, p in ls}) == len(ports) and all(a in mr.LOOPBACK for a, _ in ls),
          repr(ls))


def run_printed(run, what, skip=()):
    """Runs every command RUN printed (but those ending in SKIP) as printed."""
    cmds = run.commands()
    check("%s: it printed commands to try" % what, bool(cmds), run.output())
    outs = []
    for c in cmds:
        if any(c.endswith(s) for s in skip):
            continue
        rc, out = mr.run_shell(c)
        check("%s: printed command works as printed: %s" % (what, c), rc == 0,
              "rc=%d: %s" % (rc, out))
        outs.append((c, out))
    return outs


# ---- 1. xrdp already runs on this host ---------------------------------------

def host_xrdp(tmp):
    log("== make run on a host whose xrdp already runs")
    env = lab_env()
    rundir = os.path.join(tmp, "host")
    ports = [free_port() for _ in range(4)]
    conf = os.path.join(rundir, "rdmsd.conf")
    run = mr.MakeRun(rundir, ports, os.path.join(rundir, "rdmsd.sock")).start()
    try:
        check("it starts and says it serves (no 'ports in use' refusal)", run.wait_serving(),
              run.output())
        check("it says it serves the xrdp already running (xrdp-sesman %s)"
              % env.get("SESMAN_PID"),
              "already running on this host: xrdp (xrdp-sesman %s" % env.get("SESMAN_PID")
              in run.output(), run.output())
        check("it started no demonstration lab", "demonstration lab" not in run.output(),
              run.output())
        check("it reads the xrdp log xrdp's own config names",
              "xrdp_log = %s/xrdp.log" % env.get("LOGD") in (read(conf) or ""), read(conf))
        check_loopback("host xrdp", ports)
        run_printed(run, "host xrdp")
        pid = int(subprocess.run([LABSH, "connect", "mr1", "rdmstest1",
                                  "/client-hostname:MRPC1"],
                                 capture_output=True, text=True).stdout.strip() or 0)
        sid = wait_for(30, lambda: session_of(conf, "rdmstest1", "MRPC1"), step=0.5)
        check("a real session shows, client name from xrdp's log (MRPC1)", bool(sid),
              repr(sessions(conf)))
        rc = run.stop()
        check("Ctrl-C stops make run (status 0)", rc == 0, "%r: %s" % (rc, run.output()[-500:]))
        check("... and the session lives on (item 15)", bool(sid) and alive(sid) and alive(pid))
        run = mr.MakeRun(rundir, ports, os.path.join(rundir, "rdmsd.sock")).start()
        check("make run again: it serves", run.wait_serving(), run.output())
        got = sessions(conf).get(sid, {})
        check("... and lists the same session %s, still Active" % sid,
              bool(sid) and got.get("ConnectState") == 0 and got.get("UserName") == "rdmstest1",
              repr(got))
    finally:
        run.stop()   # (the session goes when lab.sh's lab stops, next)
    check("host xrdp: nothing listens on its ports once it stopped",
          not mr.listeners_on(ports), repr(mr.listeners_on(ports)))
    state = os.listdir(os.path.join(rundir, "state")) if os.path.isdir(
        os.path.join(rundir, "state")) else []
    check("its audit trail and certificate are in RDMS_RUN_DIR/state",
          "audit.db" in state and "rdmsd-cert.pem" in state, repr(state))


# ---- 2. nothing to serve: the demonstration lab -------------------------------

def nothing_to_serve(tmp):
    log("== make run on a host with nothing to serve")
    e2e_dir = lab_env().get("LAB")
    subprocess.run([LABSH, "stop"], capture_output=True, text=True, timeout=120)
    try:
        others = mr.servers_running()
        check("no xrdp or X2Go runs here now (lab.sh's lab stopped)", not others, repr(others))
        demo(tmp)
    finally:
        p = subprocess.run([LABSH, "start"], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, RDMS_E2E_DIR=e2e_dir or "/tmp/rdms-e2e"))
        check("lab.sh's lab started again for the tests after this one", p.returncode == 0,
              p.stdout + p.stderr)


def demo(tmp):
    rundir = os.path.join(tmp, "demo")
    ports = [free_port() for _ in range(4)]
    conf = os.path.join(rundir, "rdmsd.conf")
    labenv = dict(os.environ, RDMS_RUN_DIR=rundir)
    run = mr.MakeRun(rundir, ports, os.path.join(rundir, "rdmsd.sock")).start()
    stop_cmd = None
    try:
        check("it starts the demonstration lab and serves it", run.wait_serving(), run.output())
        check("it says it started the demonstration lab, and why",
              "the demonstration lab, started now: no xrdp or X2Go server was running here"
              in run.output(), run.output())
        check_loopback("demo lab", ports)
        stops = [c for c in run.commands() if c.endswith(" stop")]
        stop_cmd = stops[0] if stops else None
        check("it prints the command that ends the lab", stop_cmd is not None, run.output())
        outs = run_printed(run, "demo lab", skip=(" stop",))
        lists = [o for c, o in outs if c.endswith(" list")]
        # `connect` returns once the session's window manager runs; under load xrdp may
        # attach the client to it a moment later (Active, with its name, only then), so
        # the printed lists are run again for a while, as a user would type them
        again = [c for c, _ in outs if c.endswith(" list")]
        start = time.monotonic()
        while again and not any("rdmsdemo1" in o and "PC1" in o for o in lists) and \
                time.monotonic() - start < 15:
            time.sleep(0.5)
            lists += [mr.run_shell(c)[1] for c in again]
        check("the printed list after the printed connect shows the test session (rdmsdemo1, "
              "PC1), at once or within 15 s (%.1f s)" % (time.monotonic() - start),
              any("rdmsdemo1" in o and "PC1" in o for o in lists), repr(lists[-4:]))
        sid = session_of(conf, "rdmsdemo1", "PC1")
        accts = mr.accounts()
        check("the lab's accounts have no login shell",
              all(accts.get(u) not in mr.LOGIN_SHELLS for u in ("rdmsdemo1", "rdmsdemo2")) and
              "rdmsdemo1" in accts, repr({u: accts.get(u) for u in ("rdmsdemo1", "rdmsdemo2")}))
        pw = subprocess.run([mr.DEMO_LAB, "password", "rdmsdemo1"], env=labenv,
                            capture_output=True, text=True).stdout.strip()
        check("... and random passwords, on no command line",
              len(pw) >= 16 and not mr.process_with_arg(pw), pw and "seen in a command line")
        pwfile = os.path.join(rundir, "lab", "etc", "passwords")
        check("... kept in a file only root reads",
              os.path.exists(pwfile) and os.stat(pwfile).st_mode & 0o077 == 0)
        rc = run.stop()
        check("Ctrl-C stops make run (status 0)", rc == 0, "%r: %s" % (rc, run.output()[-500:]))
        st = subprocess.run([mr.DEMO_LAB, "status"], env=labenv, capture_output=True,
                            text=True).stdout
        check("... the lab keeps running, and its session %s with it (item 15)" % sid,
              "sesman: running" in st and bool(sid) and alive(sid), st)
        run = mr.MakeRun(rundir, ports, os.path.join(rundir, "rdmsd.sock")).start()
        check("make run again: it serves", run.wait_serving(), run.output())
        check("... says it serves the lab an earlier make run started",
              "started by an earlier make run" in run.output(), run.output())
        got = sessions(conf).get(sid, {})
        check("... and lists the same session %s, Active, client PC1" % sid,
              got.get("ConnectState") == 0 and got.get("ClientMachineName") == "PC1", repr(got))
    finally:
        run.stop()
        if stop_cmd:
            rc, out = mr.run_shell(stop_cmd)
            check("the printed stop command works as printed: %s" % stop_cmd, rc == 0, out)
        else:
            subprocess.run([mr.DEMO_LAB, "stop"], env=labenv, capture_output=True)
    accts = mr.accounts()
    check("the lab's accounts are gone", "rdmsdemo1" not in accts and "rdmsdemo2" not in accts)
    check("demo lab: nothing listens on rdmsd's ports or xrdp's (3350, 3389)",
          not mr.listeners_on(ports + [3350, 3389]), repr(mr.listeners_on(ports + [3350, 3389])))


def main():
    if not ready("test_make_run", built=[RDMS], tools=["xfreerdp", "xrdp", "ss"]):
        return 1
    if not lab_running():
        check("the xrdp lab is running (tests/e2e/lab.sh start)", False)
        return finish()
    tmp = tempfile.mkdtemp(prefix="rdms-make-run-")
    state = mr.tree(STATE)
    before = mr.accounts()
    try:
        common.run_groups([host_xrdp, nothing_to_serve], tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    after = mr.accounts()
    check("no account with a login shell was added or changed",
          not mr.login_accounts(before, after), repr(mr.login_accounts(before, after)))
    check("nothing written to %s" % STATE, mr.tree(STATE) == state and
          (state or not os.path.exists(STATE)), repr(mr.tree(STATE)))
    check("the admin group rdms-admins exists",
          subprocess.run(["getent", "group", "rdms-admins"], capture_output=True).returncode == 0)
    check("the PAM service /etc/pam.d/rdms is installed", os.path.exists("/etc/pam.d/rdms"))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
