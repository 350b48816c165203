#!/usr/bin/env python3
"""password_hash_kib.py USER: the memory (KiB) one check of USER's password
hash takes on its own -- what PAM's pam_unix adds to the high-water mark
(VmHWM) of the process that checks a password: rdmsd-pam, started for the
one check (src/privsep/pam_relay.h), so it is in neither rdmsd process's
peak any more (it was in the privileged process's until PAM moved out).  Debian 12 hashes passwords with
yescrypt, memory-hard by design: 16 MiB a check.

Measured: a fresh Python's VmHWM before and after computing that hash once
(VmHWM, not ru_maxrss, which keeps the peak of the image before exec).
Prints nothing and exits 1 when USER has no hash to read (run as root)."""
import os
import subprocess
import sys

CHECK = """
import sys, warnings
warnings.simplefilter("ignore")       # crypt is deprecated, and still the libc's
import crypt

def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))

before = hwm()
crypt.crypt("x", sys.argv[1])
print(hwm() - before)
"""


def password_hash_kib(user):
    """The KiB one check of USER's password hash takes; None if unknown."""
    try:
        with open("/etc/shadow") as f:
            entry = next((l.split(":")[1] for l in f if l.startswith(user + ":")), "")
    except OSError:
        return None
    if entry.count("$") < 3:
        return None
    setting = entry[:entry.rindex("$")]     # $id$params$salt, without the hash itself
    p = subprocess.run([sys.executable, "-c", CHECK, setting], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONWARNINGS="ignore"))
    return int(p.stdout) if p.returncode == 0 and p.stdout.strip().isdigit() else None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: password_hash_kib.py USER")
    kib = password_hash_kib(sys.argv[1])
    if kib is None:
        sys.exit(1)
    print(kib)
