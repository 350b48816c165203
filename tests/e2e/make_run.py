"""make_run.py -- `make run` (scripts/run.sh) driven as a user drives it,
for test_make_run.py and test_docs.py: started in the background, waited
for until it says it serves, its printed commands read back, stopped as
Ctrl-C stops it (SIGINT to the script, by PID); and the host's state a run
must not change: accounts and their shells, TCP listeners, /var/lib/rdms.

Not a test itself.
"""
import os
import pwd
import signal
import subprocess
import threading

from e2e_common import ROOT, children, log, read, wait_for

RUN_SH = os.path.join(ROOT, "scripts", "run.sh")
DEMO_LAB = os.path.join(ROOT, "scripts", "demo-lab.sh")
READY = "make run: serving."
LOGIN_SHELLS = set()
try:
    with open("/etc/shells") as _f:
        LOGIN_SHELLS = {l.strip() for l in _f if l.strip().startswith("/")}
except OSError:
    pass


class MakeRun:
    """scripts/run.sh in the background.  RUNDIR, PORTS (4 ints) and SOCK,
    when given, go to RDMS_RUN_DIR, RDMS_RUN_PORTS and RDMS_RUN_SOCKET; ARGV
    replaces the command (e.g. ["make", "run"])."""

    def __init__(self, rundir=None, ports=None, sock=None, argv=None, env=None):
        self.env = dict(os.environ)
        self.env.update(env or {})
        if rundir:
            self.env["RDMS_RUN_DIR"] = rundir
        if ports:
            self.env["RDMS_RUN_PORTS"] = " ".join(str(p) for p in ports)
        if sock:
            self.env["RDMS_RUN_SOCKET"] = sock
        self.argv = argv or ["bash", RUN_SH]
        self.lines = []
        self.proc = None

    def start(self):
        self.lines = []
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def output(self):
        return "\n".join(self.lines)

    def wait_serving(self, seconds=120):
        """True once it printed that it serves (and still runs)."""
        wait_for(seconds, lambda: READY in self.output() or self.proc.poll() is not None,
                 step=0.2)
        # the commands follow the READY line in two writes (the demonstration
        # lab's come second, ending with its stop command): wait for the last
        wait_for(5, lambda: any(l.startswith("    $ ") and l.endswith(" stop") or
                                "Connect to this host with an RDP client" in l
                                for l in self.lines), step=0.1)
        return READY in self.output() and self.proc.poll() is None

    def commands(self):
        """The commands it printed for the user to run: lines '    $ CMD'."""
        return [l.strip()[2:] for l in self.lines if l.startswith("    $ ")]

    def script_pid(self):
        """The PID of scripts/run.sh: the process started, or (under make)
        its descendant."""
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop(0)
            if "scripts/run.sh" in (read("/proc/%d/cmdline" % pid) or ""):
                return pid
            todo += children(pid)
        return self.proc.pid

    def stop(self, seconds=30):
        """Ctrl-C: SIGINT to the script (by PID; under make, make then ends
        with it); the exit status of what was started, or None when it did
        not end (then it is killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.script_pid(), signal.SIGINT)
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            log("  make run did not stop within %d s: SIGKILL %d" % (seconds, self.proc.pid))
            self.proc.kill()
            self.proc.wait()
            return None


def run_shell(cmd, timeout=120, cwd=ROOT, env=None):
    """CMD run by bash exactly as written; (exit status, stdout+stderr)."""
    try:
        p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).strip()
    except subprocess.TimeoutExpired:
        return -1, "timed out after %d s" % timeout


# ---- what a run must leave as it found it -----------------------------------

def accounts():
    """{name: shell} of every account."""
    return {p.pw_name: p.pw_shell for p in pwd.getpwall()}


def login_accounts(before, after):
    """Accounts that are new or changed in AFTER and have a login shell."""
    return sorted(n for n, sh in after.items()
                  if before.get(n) != sh and sh in LOGIN_SHELLS)


def tcp_listeners():
    """{(address, port)} of every listening TCP socket (IPv4 and IPv6), the
    address in hex as /proc/net/tcp* shows it."""
    out = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    cols = line.split()
                    if cols[3] == "0A":
                        addr, port = cols[1].split(":")
                        out.add((addr, int(port, 16)))
        except OSError:
            pass
    return out


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}   # 127.0.0.1, ::1


def listeners_on(ports):
    """[(address, port)] listening on any of PORTS."""
    return sorted(a for a in tcp_listeners() if a[1] in ports)


def servers_running():
    """PIDs of the xrdp and X2Go servers running here (make run would serve them)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                name = f.read().strip()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                args = f.read()
        except OSError:
            continue
        if name in ("xrdp-sesman", "xrdp", "x2goagent") or b"x2gocleansessions" in args:
            out.append(int(d))
    return out


def tree(path):
    """{relative name: (size, mtime)} of everything under PATH ({} when absent)."""
    out = {}
    for top, dirs, files in os.walk(path):
        for n in dirs + files:
            full = os.path.join(top, n)
            try:
                st = os.lstat(full)
                out[os.path.relpath(full, path)] = (st.st_size, st.st_mtime)
            except OSError:
                pass
    return out


def process_with_arg(text):
    """PIDs whose command line contains TEXT."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if text.encode() in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out
