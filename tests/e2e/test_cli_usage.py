#!/usr/bin/python3
"""test_cli_usage.py -- the built `rdms`'s exit statuses and per-command
help (issue 12, item 12): usage errors exit 2, operation failures 1,
everywhere.

Checked with the real binary, as root and as an unprivileged user:
  * each usage error -- including those that exited 1 before (--host
    without -u, -u or --insecure without --host, a bad --since, even for
    a non-root caller, an ID, PATH or WQL that does not parse, `rdms get
    alice`) -- exits 2 with one line on stderr naming the error;
  * operation failures (no such session, rdmsd not running, --direct
    without root) exit 1;
  * `rdms COMMAND --help`, for every command `rdms --help` lists, exits 0
    and says what the command does with an example, and that example is
    valid usage: run (--direct, against the fixture back-end, so no real
    session is touched) it exits 0 or 1, never 2.
Output: PASS/FAIL lines and `N passed, M failed`.  Needs root.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from e2e_common import RDMS, check, finish, ready

NOBODY = "nobody"


def rdms(args, as_user=None, timeout=30, env=None):
    cmd = [RDMS] + args
    if as_user:
        cmd = ["setpriv", "--reuid=" + as_user, "--regid=nogroup", "--clear-groups"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr.strip()


def usage_errors(conf):
    cases = [
        ("--host without -u", ["--host", "https://localhost:5986/wsman", "list"], "needs -u"),
        ("-u without --host", ["-u", "admin", "list"], "goes with --host"),
        ("--insecure without --host", ["--insecure", "list"], "goes with --host"),
        ("a --since that is no time", ["audit", "--since", "yesterday"], "bad time"),
        ("a --since that is no date", ["audit", "--since", "2024-02-30"], "no such time"),
        ("a user name where an ID or PATH goes", ["get", "alice"], "neither a SessionId"),
        ("a PATH that does not parse", ["get", "Win32_VirtualDesktopSession.SessionId="],
         "WBEM_E_INVALID_OBJECT_PATH"),
        ("an ID out of range", ["disconnect", "4294967296"], "out of range"),
        ("WQL naming no property of the class",
         ["query", "SELECT Nope FROM Win32_VirtualDesktopSession"], "WBEM_E_INVALID_QUERY"),
        ("WQL that does not parse", ["query", "SELEKT * FROM Win32_VirtualDesktopSession"],
         "WBEM_E_INVALID_QUERY"),
        ("message without --message", ["message", "3", "--title", "T"], "--title T and --message"),
        ("an unknown command", ["reboot"], "unknown command"),
        ("an extra argument", ["list", "alice", "extra"], "too many arguments"),
        ("a page of no sessions", ["list", "--first", "0"], "not a count from 1"),
        ("--after without --first", ["list", "--after", "h1,3"], "goes with --first"),
        ("an --after that is no HOST,ID", ["list", "--first", "5", "--after", "h1"],
         "is not HOST,ID"),
        ("--first on a command that lists nothing", ["get", "3", "--first", "5"],
         "belong to 'rdms list' and 'rdms query'"),
    ]
    for what, args, says in cases:
        for who in (None, NOBODY):
            rc, _, err = rdms(["--config", conf] + args, as_user=who)
            check("%s%s: exit 2, one line saying %r" % (what, " (as %s)" % who if who else "", says),
                  rc == 2 and says in err and "\n" not in err, "rc=%d %r" % (rc, err))


def failures(conf):
    for what, args, who, says in (
            ("no such session", ["--direct", "get", "999999"], None, "WBEM_E_NOT_FOUND"),
            ("rdmsd not running", ["list"], None, "is not running"),
            ("--direct without root", ["--direct", "list"], NOBODY, "WBEM_E_ACCESS_DENIED"),
            ("audit --direct without root", ["--direct", "audit"], NOBODY,
             "WBEM_E_ACCESS_DENIED")):
        a = args if "--config" in args else ["--config", conf] + args
        rc, _, err = rdms(a, as_user=who)
        check("%s: exit 1 (an operation failure), %s" % (what, says),
              rc == 1 and says in err, "rc=%d %r" % (rc, err))


def help_texts(conf):
    rc, out, _ = rdms(["--help"])
    commands = re.findall(r"^  (\w+) ", out.split("Commands:", 1)[-1].split("\n\n", 1)[0], re.M)
    check("rdms --help lists the commands", rc == 0 and len(commands) >= 8, out)
    for name in commands:
        rc, out, err = rdms([name, "--help"])
        m = re.search(r"^Example:\n  (rdms .*)$", out, re.M)
        lines = out.split("\n")
        check("rdms %s --help: exit 0, what it does (%r) and an example" % (name, lines[2][:60]),
              rc == 0 and m and m.group(1).startswith("rdms " + name) and len(lines[2]) > 10,
              "rc=%d %r" % (rc, out[:300]))
        if not m:
            continue
        example = shlex.split(m.group(1))[1:]
        if name == "fleet":
            # it works on a broker's directory, never --direct: here the test's own
            rc, _, err = rdms(["--config", conf] + example)
        elif name == "watch":
            # its events come from an rdmsd (--direct has none), and it runs until
            # stopped: asked of an endpoint where none listens, it fails at once
            rc, _, err = rdms(["--config", conf, "--host", "http://127.0.0.1:9/wsman", "-u",
                               "nobody"] + example, env={"RDMS_PASSWORD": "x"})
        else:
            rc, _, err = rdms(["--direct", "--config", conf] + example)
        check("... its example is valid usage (exit %d, not 2): %s" % (rc, m.group(1)),
              rc in (0, 1), "rc=%d %r" % (rc, err))


def main():
    if not ready("test_cli_usage", built=[RDMS], tools=["setpriv"]):
        return 1
    tmp = tempfile.mkdtemp(prefix="rdms-cli-usage-")
    os.chmod(tmp, 0o755)
    try:
        fixture = os.path.join(tmp, "sessions.txt")
        with open(fixture, "w") as f:
            f.write("1 root 0 pc1\n")
        conf = os.path.join(tmp, "rdms.conf")
        with open(conf, "w") as f:
            f.write("backends = fixture\nfixture_file = %s\nvm_host_name = usage-host\n"
                    "socket_path = %s/none.sock\naudit_db = %s/audit.db\n"
                    "store_path = %s/fleet.db\n" % (fixture, tmp, tmp, tmp))
        os.chmod(conf, 0o644)
        usage_errors(conf)
        failures(conf)
        help_texts(conf)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
