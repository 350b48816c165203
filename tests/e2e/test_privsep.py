#!/usr/bin/python3
"""test_privsep.py -- rdmsd's privilege separation, on a running daemon.

Uses the lab of test_rdmsd_auth.py (accounts with random passwords, a test
PAM service, the fixture back-end, free loopback ports) and checks:

- two processes: the one started (priv) runs as root; its child (net) is
  the one that serves -- found from the listening HTTP port with `ss -ltnp`
  -- and runs as the `rdms` user: all four uids and gids, no supplementary
  groups, no capabilities (CapEff, CapPrm, CapInh, CapAmb all 0),
  no_new_privs set, and not dumpable (its /proc files are root's);
- net holds nothing of priv's: no regular file open (the audit database,
  the fixture file) and no shared mapping of the audit database;
- everything still works through the privileged side: PAM (a good and a
  bad password over HTTP), enumeration as admin and as a user, Disconnect
  reaching the back-end, and the audit record of it;
- PAM runs in an rdmsd-pam per check: after the checks neither priv nor
  net maps libpam or a PAM module, and priv has no child but net;
- priv is linked without the network-facing libraries: its memory maps no
  libxml2, libmicrohttpd, GnuTLS or libcurl; net is the program rdmsd-net;
  net runs no back-end: it maps no libsqlite3 and carries none of their code;
- SIGHUP starts a new net process (still `rdms`, still serving); a SIGHUP
  whose config names a certificate that cannot be loaded starts net again
  on the previous config, which still serves HTTP and HTTPS;
- SIGKILL of net makes priv exit non-zero and remove its socket; SIGTERM of
  priv (in a second daemon) stops both.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root.  Exit status 0 only when nothing failed.
"""
import http.client
import os
import ssl
import pwd
import re
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as common        # noqa: E402  (check/log/summary, the built binaries)
import test_rdmsd_auth as lab_mod  # noqa: E402  (the shared lab: accounts, config, daemon)
from e2e_common import check, log, wait_for  # noqa: E402

ADMIN, USER = lab_mod.ADMIN, lab_mod.USER
PRIV_USER = "rdms"


def status_of(pid):
    """/proc/PID/status as a dict of field -> text, or {} when gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def listeners(port):
    """PIDs that have the TCP listener on PORT (ss -ltnp)."""
    out = subprocess.run(["ss", "-Hltnp", "sport = :%d" % port], capture_output=True,
                         text=True).stdout
    return sorted({int(p) for p in re.findall(r"pid=(\d+)", out)})


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def net_pid(lab):
    """The network process: the child of rdmsd that listens on lab.http."""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        kids = [p for p in children(lab.proc.pid) if p in listeners(lab.http)]
        if len(kids) == 1:
            return kids[0]
        time.sleep(0.1)
    return None


def wait_gone(pid, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not os.path.exists("/proc/%d" % pid) or status_of(pid).get("State", "").startswith("Z"):
            return True
        time.sleep(0.05)
    return False


def enumerate_users(lab, user):
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, body, _ = lab_mod.post(c, lab_mod.ENUMERATE, lab_mod.basic(user, lab.pw[user]))
    c.close()
    return st, lab_mod.session_users(body)


# ---- the checks ----------------------------------------------------------------

def threads_named(pid, who, must, may):
    """PID's threads bear every name of MUST, and no name but those and MAY's (threads
    started under load or by configuration)."""
    got = {(common.read("/proc/%d/task/%s/comm" % (pid, t)) or "").strip()
           for t in os.listdir("/proc/%d/task" % pid)}
    check("%s's threads are named by their jobs (%s; maybe %s)"
          % (who, ", ".join(sorted(must)), ", ".join(sorted(may))),
          must <= got <= must | may, sorted(got))


def test_processes(lab):
    log("two processes")
    rdms = pwd.getpwnam(PRIV_USER)
    priv = lab.proc.pid
    pst = status_of(priv)
    check("priv (the process started) runs as root",
          pst.get("Uid", "").split() == ["0"] * 4, pst.get("Uid"))
    net = net_pid(lab)
    check("the HTTP listener is served by a child of priv", net is not None,
          "listeners %s, children %s" % (listeners(lab.http), children(priv)))
    if net is None:
        return None
    st = status_of(net)
    check("net's uids are all rdms (%d)" % rdms.pw_uid,
          st.get("Uid", "").split() == [str(rdms.pw_uid)] * 4, st.get("Uid"))
    check("net's gids are all rdms's group",
          st.get("Gid", "").split() == [str(rdms.pw_gid)] * 4, st.get("Gid"))
    check("net has no supplementary groups", st.get("Groups", "x").strip() == "",
          st.get("Groups"))
    for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        check("net's %s is 0" % cap, int(st.get(cap, "1"), 16) == 0, st.get(cap))
    check("net has no_new_privs", st.get("NoNewPrivs") == "1", st.get("NoNewPrivs"))
    check("net is not dumpable (its /proc files are root's)",
          os.stat("/proc/%d/status" % net).st_uid == 0)
    check("the Unix socket is served by net too",
          str(net) in subprocess.run(["ss", "-Hlxp"], capture_output=True, text=True).stdout)

    fds = []
    for fd in os.listdir("/proc/%d/fd" % net):
        try:
            fds.append(os.readlink("/proc/%d/fd/%s" % (net, fd)))
        except OSError:
            pass
    files = [t for t in fds if t.startswith("/") and t not in ("/dev/null", lab.logf)]
    check("net holds no file of priv's open (audit database, fixture)", files == [], files)
    with open("/proc/%d/maps" % net) as f:
        maps = f.read()
    check("net has no mapping of the audit database", "audit.db" not in maps)
    pfds = [os.readlink("/proc/%d/fd/%s" % (priv, fd)) for fd in os.listdir("/proc/%d/fd" % priv)]
    check("priv holds the audit database", any(t == lab.audit for t in pfds), pfds)

    check("net is the program rdmsd-net",
          os.path.basename(os.readlink("/proc/%d/exe" % net)) == "rdmsd-net",
          os.readlink("/proc/%d/exe" % net))
    with open("/proc/%d/maps" % priv) as f:
        pmaps = f.read()
    for lib in ("libxml2", "libmicrohttpd", "libgnutls", "libcurl"):
        check("priv (root) does not map %s" % lib, lib not in pmaps)
    check("... but net does (libxml2, libmicrohttpd)",
          "libxml2" in maps and "libmicrohttpd" in maps)
    # net names the back-ends but runs none (src/backend/backend_names.c):
    # neither their code nor SQLite, which X2Go's session database brings
    check("net does not map libsqlite3", "libsqlite3" not in maps)
    exe = os.readlink("/proc/%d/exe" % net)
    syms = subprocess.run(["nm", exe], capture_output=True, text=True).stdout
    backend_code = sorted({ln.split()[-1] for ln in syms.splitlines()
                           if re.search(r" [Tt] (xrdp|x2go|fixture|userexec)_", ln)})
    check("net carries no back-end's code", backend_code == [] and "rdms_backends" in syms,
          backend_code[:8])

    # each thread named by its job, as rdmsd(8) lists them
    threads_named(net, "net", {"rdmsd-net", "rdmsd-worker", "rdmsd-connwatch", "rdmsd-pump",
                               "rdmsd-dispatch", "MHD-worker"}, {"rdmsd-cache"})
    threads_named(priv, "priv", {"rdmsd", "rdmsd-channel", "rdmsd-audit", "rdmsd-watch",
                                 "rdmsd-follow", "rdmsd-hook"}, {"rdmsd-syslog"})
    return net


def test_service(lab):
    log("serving through the privileged side")
    st, users = enumerate_users(lab, ADMIN)
    check("PAM through priv: the admin's password works, sees every session",
          st == 200 and users == sorted([ADMIN, USER, USER]), "%s %s" % (st, users))
    st, users = enumerate_users(lab, USER)
    check("the user sees their own sessions", st == 200 and users == [USER, USER],
          "%s %s" % (st, users))
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, _, _ = lab_mod.post(c, lab_mod.ENUMERATE, lab_mod.basic(USER, "wrong"))
    check("a wrong password is refused (401)", st == 401, st)
    c = http.client.HTTPConnection("127.0.0.1", lab.http, timeout=15)
    st, _, body, _ = lab_mod.post(c, lab_mod.disconnect(1), lab_mod.basic(ADMIN, lab.pw[ADMIN]))
    check("Disconnect through priv succeeds", st == 200, "%s %s" % (st, body[:300]))
    with open(lab.fixture) as f:
        line = [ln for ln in f if ln.startswith("1 ")]
    check("... and reached the back-end (fixture file rewritten by root)",
          line and line[0].split()[2] == "4", line)
    db = sqlite3.connect("file:%s?mode=ro" % lab.audit, uri=True)
    rows = db.execute("SELECT user, method, result FROM audit WHERE method = 'Disconnect'"
                      " ORDER BY id DESC LIMIT 1").fetchall()
    db.close()
    check("... and is in the audit database", rows == [(ADMIN, "Disconnect", 0)], rows)
    check("nothing was refused on the privsep channels",
          "refused a request of the network process" not in lab.log())
    # PAM ran in an rdmsd-pam per check (src/privsep/pam_relay.h), never in rdmsd itself
    net = net_pid(lab)
    for who, pid in (("priv", lab.proc.pid), ("net", net)):
        if pid is None:
            continue
        with open("/proc/%d/maps" % pid) as f:
            maps = f.read()
        check("%s maps neither libpam nor a PAM module after the checks" % who,
              "libpam" not in maps and "pam_unix" not in maps,
              sorted({ln.split()[-1] for ln in maps.splitlines() if "pam" in ln}))
    kids = [p for p in children(lab.proc.pid) if p != net]
    check("each check's rdmsd-pam is gone and reaped (priv's one child is net)", kids == [],
          [(p, common.read("/proc/%d/comm" % p)) for p in kids])
    check("no password check failed in its relay", "password check failed" not in lab.log())


def test_reload(lab, net):
    log("SIGHUP")
    lab.proc.send_signal(signal.SIGHUP)
    check("the old net process ends", wait_gone(net, 10))
    new = net_pid(lab)
    check("a new net process serves", new is not None and new != net, new)
    if new is not None:
        # (between fork and exec the new process is still root: read it once it
        # has dropped, or after 10 s whatever it is)
        rdms_uid = str(pwd.getpwnam(PRIV_USER).pw_uid)
        wait_for(10, lambda: status_of(new).get("Uid", "").split()[:1] == [rdms_uid], step=0.05)
        st = status_of(new)
        check("... as rdms with no capabilities",
              st.get("Uid", "").split()[0] == str(pwd.getpwnam(PRIV_USER).pw_uid) and
              int(st.get("CapEff", "1"), 16) == 0, st.get("Uid"))
    st, users = enumerate_users(lab, ADMIN)
    check("... and answers", st == 200, st)
    return new


def https_answers(lab):
    """Status of an anonymous Identify over HTTPS (certificate not checked)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", lab.https, timeout=15, context=ctx)
    try:
        st, _, _, _ = lab_mod.post(c, lab_mod.IDENTIFY, None)
    except OSError as e:
        return repr(e)
    finally:
        c.close()
    return st


def test_reload_bad_tls(lab, net):
    log("SIGHUP with a certificate that cannot be loaded")
    with open(lab.conf) as f:
        good = f.read()
    missing = os.path.join(lab.dir, "missing")
    with open(lab.conf, "a") as f:
        f.write("tls_cert = %s-cert.pem\ntls_key = %s-key.pem\n" % (missing, missing))
    lab.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 15
    while time.monotonic() < end and "going back to the previous config" not in lab.log():
        time.sleep(0.1)
    with open(lab.conf, "w") as f:
        f.write(good)
    text = lab.log()
    check("net cannot start on it, and priv says so",
          "going back to the previous config" in text, text[-1500:])
    check("... naming the certificate", missing + "-cert.pem" in text)
    check("priv is still running", lab.proc.poll() is None, lab.proc.poll())
    new = net_pid(lab)
    check("a net process on the previous config serves", new is not None and new != net, new)
    st, users = enumerate_users(lab, ADMIN)
    check("... HTTP answers", st == 200, st)
    st = https_answers(lab)
    check("... HTTPS answers with the previous certificate", st == 200, st)
    return new


def test_kill_net(lab, net):
    log("net dies")
    os.kill(net, signal.SIGKILL)
    try:
        rc = lab.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    check("killing net makes priv exit", rc is not None, rc)
    check("... with a non-zero status", rc not in (None, 0), rc)
    check("... logging why", "network process killed by signal 9" in lab.log())
    check("... and removing the socket", not os.path.exists(lab.sock))


def test_term_priv(lab):
    log("SIGTERM")
    if not check("rdmsd starts again", lab.start(), lab.log()[-2000:]):
        return
    net = net_pid(lab)
    lab.proc.send_signal(signal.SIGTERM)
    try:
        rc = lab.proc.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
    check("SIGTERM to priv: exit status 0", rc == 0, rc)
    check("... and net is gone too", net is not None and wait_gone(net, 5), net)


def main():
    if not common.ready("test_privsep", [common.RDMSD]):
        return 1
    lab = lab_mod.Lab()
    try:
        if not lab.setup():
            return 1
        net = test_processes(lab)
        test_service(lab)
        if net is not None:
            net = test_reload(lab, net)
        if net is not None:
            net = test_reload_bad_tls(lab, net)
        if net is not None:
            test_kill_net(lab, net)
        test_term_priv(lab)
    except Exception as e:   # report, then clean up
        check("test_privsep ran without an exception", False, repr(e))
    finally:
        lab_mod.close_lab(lab)
    return common.summary()


if __name__ == "__main__":
    sys.exit(main())
