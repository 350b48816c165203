#!/usr/bin/python3
"""test_sesman_restart.py -- sessions left behind by a restart of xrdp-sesman.

When xrdp-sesman is stopped or restarted, its session processes live on as
children of PID 1 with their X servers, window managers and (for a while)
their clients (backends.md P8).  The new sesman knows nothing of them, so
they are exactly the sessions an admin needs to find and log off.  This
test makes them for real: two xfreerdp sessions (Xorg and Xvnc), then
`lab.sh restart-sesman`, then checks that rdms still lists both with the
same SessionIds and their real state, that Disconnect and Logoff act on
them, and that the new sesman's own sessions are listed beside them.

Needs the lab of lab.sh running (run.sh starts and stops it); drives
`rdms --direct` with the lab's config, checked against /proc.
"""
import os
import subprocess
import sys

from e2e_common import alive, check, finish, log, read, wait_for
import test_xrdp_e2e as xe

ACTIVE, DISCONNECTED = xe.ACTIVE, xe.DISCONNECTED


def ppid(pid):
    st = read("/proc/%d/stat" % pid) or ""
    try:
        return int(st[st.rindex(")") + 2:].split()[1])
    except (ValueError, IndexError):
        return 0


def restart_sesman():
    p = subprocess.run([xe.LABSH, "restart-sesman"], capture_output=True, text=True)
    log("  " + (p.stdout.strip() or p.stderr.strip()))
    return p.returncode == 0


def main():
    log("rdms e2e: sessions left by a sesman restart (lab %s)" % xe.LAB)
    old_sesman = xe.lab_pid("sesman")
    if not alive(old_sesman) or not alive(xe.lab_pid("xrdp")):
        check("the lab is running (tests/e2e/lab.sh start)", False)
        return finish()
    if xe.truth():
        check("no sessions left over before the test", False, repr(xe.truth()))
        return finish()

    xe.connect("o1", "rdmstest1", "/client-hostname:ORPHAN1", "/size:1024x768")
    sid1 = wait_for(30, lambda: xe.attached_session("rdmstest1"), step=0.3)
    xe.connect("o2", "rdmstest2", "/d:Xvnc", "/client-hostname:ORPHAN2", "/size:800x600")
    sid2 = wait_for(30, lambda: xe.attached_session("rdmstest2"), step=0.3)
    if not check("two sessions are Active before the restart", sid1 and sid2,
                 repr((sid1, sid2))):
        return finish()
    t = xe.truth()

    log("== restart xrdp-sesman")
    check("lab.sh restart-sesman", restart_sesman())
    new_sesman = xe.lab_pid("sesman")
    check("a new sesman runs (%d -> %d)" % (old_sesman, new_sesman),
          new_sesman != old_sesman and alive(new_sesman) and not alive(old_sesman))
    for sid in (sid1, sid2):
        check("session process %d lives on, no longer sesman's child (parent %d)"
              % (sid, ppid(sid)), alive(sid) and ppid(sid) != new_sesman and
              ppid(sid) != old_sesman)
        check("its X server %d lives on" % t[sid]["xpid"], alive(t[sid]["xpid"]))

    log("== rdms still sees them")
    s = xe.sessions()
    for sid, user, client in ((sid1, "rdmstest1", "ORPHAN1"), (sid2, "rdmstest2", "ORPHAN2")):
        got = s.get(sid)
        check("session %d (%s) still listed with its SessionId" % (sid, user),
              got is not None and got["UserName"] == user, repr(got))
        check("session %d still Active with client %s (the client stayed attached)"
              % (sid, client), got is not None and got["ConnectState"] == ACTIVE and
              got["ClientMachineName"] == client, repr(got))
    v, err = xe.rdms_json("get", str(sid1))
    check("get %d (bare id) finds the orphan" % sid1,
          isinstance(v, dict) and v.get("SessionId") == sid1, err or repr(v))

    log("== Disconnect and Logoff act on them")
    rc, _, err = xe.rdms("disconnect", str(sid1))
    check("disconnect %d returns 0" % sid1, rc == 0, "rc=%d %s" % (rc, err))
    check("its xfreerdp exited with 12",
          wait_for(10, lambda: xe.client_rc("o1") is not None) and xe.client_rc("o1") == 12,
          repr(xe.client_rc("o1")))
    check("session %d is listed Disconnected (4)" % sid1, xe.state_of(sid1) == DISCONNECTED,
          repr(xe.sessions().get(sid1)))

    for sid, client in ((sid1, "o1"), (sid2, "o2")):
        info = t[sid]
        rc, _, err = xe.rdms("logoff", str(sid))
        check("logoff %d returns 0" % sid, rc == 0, "rc=%d %s" % (rc, err))
        check("session process %d is gone" % sid, wait_for(5, lambda: not alive(sid)))
        check("%s server %d is gone" % (info["kind"], info["xpid"]),
              wait_for(5, lambda: not alive(info["xpid"])))
        if info["wm"]:
            check("window manager %d is gone" % info["wm"],
                  wait_for(5, lambda: not alive(info["wm"])))
        check("session %d no longer listed" % sid, sid not in xe.sessions())
        check("display socket :%d removed" % info["display"],
              wait_for(5, lambda: not os.path.exists("/tmp/.X11-unix/X%d" % info["display"])))

    log("== the new sesman's sessions are listed as before")
    xe.connect("o3", "rdmstest1", "/client-hostname:AFTER", "/size:1024x768")
    sid3 = wait_for(30, lambda: xe.attached_session("rdmstest1"), step=0.3)
    check("a new session of rdmstest1 is listed Active", sid3 is not None and
          sid3 not in (sid1, sid2), repr(sid3))
    if sid3:
        check("it is a child of the new sesman", ppid(sid3) == new_sesman, repr(ppid(sid3)))
        rc, _, err = xe.rdms("logoff", str(sid3))
        check("logoff %d returns 0" % sid3, rc == 0, "rc=%d %s" % (rc, err))
    v, err = xe.rdms_json("list")
    check("list is empty at the end", v == [], err or repr(v))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
