#!/usr/bin/python3
"""test_systemd_unit.py -- the systemd unit `make install` puts in place.

Nothing here runs systemd as PID 1, so the unit cannot be started; what can
be checked without it is checked with systemd's own tools, on the unit as
meson renders it (build/rdmsd.service) with ExecStart pointed at the built
rdmsd:

- `systemd-analyze verify` accepts it without a single message (unknown
  keys, bad values, a command that is not there are all reported there);
- the same check does report a misspelt key, so a silent pass means
  something;
- `systemd-analyze security --offline` rates its sandbox "OK" or better
  (exposure at most 4.0): the root process keeps only what its job needs;
- it starts rdmsd in the foreground (Type=exec) and reloads with SIGHUP,
  as rdmsd(8) says.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Exit status 0 only when nothing failed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e_common import RDMSD, check, log, summary  # noqa: E402

EXPOSURE_MAX = 4.0


def analyze(*args):
    r = subprocess.run(["systemd-analyze"] + list(args), capture_output=True, text=True,
                       timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    build = os.path.dirname(os.path.abspath(RDMSD))
    rendered = os.path.join(build, "rdmsd.service")
    if not check("meson rendered the unit", os.path.exists(rendered), rendered):
        return summary()
    if not check("systemd-analyze is installed", shutil.which("systemd-analyze") is not None):
        return summary()
    with open(rendered) as f:
        text = f.read()
    exec_start = re.search(r"^ExecStart=(\S+)(.*)$", text, re.M)
    check("ExecStart runs rdmsd --foreground",
          exec_start is not None and exec_start.group(1).endswith("/rdmsd") and
          "--foreground" in exec_start.group(2), exec_start and exec_start.group(0))
    check("Type=exec and ExecReload sends SIGHUP",
          re.search(r"^Type=exec$", text, re.M) is not None and
          re.search(r"^ExecReload=.*kill -HUP \$MAINPID$", text, re.M) is not None)

    tmp = tempfile.mkdtemp(prefix="rdms-unit-")
    try:
        unit = os.path.join(tmp, "rdmsd.service")
        local = (text.replace(exec_start.group(1), os.path.abspath(RDMSD))
                 if exec_start else text)
        with open(unit, "w") as f:
            f.write(local)
        rc, out = analyze("verify", "--man=no", unit)
        check("systemd-analyze verify accepts the unit without a message",
              rc == 0 and out == "", "rc %d: %s" % (rc, out))

        bad = os.path.join(tmp, "rdmsd-bad.service")
        with open(bad, "w") as f:
            f.write(local.replace("NoNewPrivileges=", "NoNewPrivilegez="))
        rc, out = analyze("verify", "--man=no", bad)
        check("... and the same check reports a misspelt key",
              "Unknown key" in out and "NoNewPrivilegez" in out, out)

        rc, out = analyze("security", "--offline=yes", unit)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", out)
        check("systemd-analyze security rates the sandbox at most %.1f" % EXPOSURE_MAX,
              m is not None and float(m.group(1)) <= EXPOSURE_MAX,
              m.group(0) if m else out[-500:])
        if m:
            log("  (exposure %s %s)" % (m.group(1), m.group(2)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
