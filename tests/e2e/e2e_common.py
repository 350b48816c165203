"""e2e_common.py -- what the e2e programs here share, in one place: the
built binaries, the PASS/FAIL counters with check/log/summary/finish, the
start of a main() (root, binaries, tools), groups of checks run one after
another, polling, a free port (claimed, below the ephemeral range), /proc
readers and a window lookup.

Not a test itself.  Importing it does no work beyond reading $RDMS_BIN and
$RDMSD_BIN; run as `e2e_common.py free-port PID` it prints a free port for
a shell script.  The counters are this module's: every program counts into the
same two, whichever of the other test_*.py modules its checks live in, and
its summary() prints them.
"""
import fcntl
import os
import random
import shutil
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RDMS = os.environ.get("RDMS_BIN", os.path.join(ROOT, "build", "rdms"))
RDMSD = os.environ.get("RDMSD_BIN",
                       os.path.join(os.path.dirname(os.path.abspath(RDMS)), "rdmsd"))

# Read them as e2e_common.passed / .failed: a name imported with `from` would
# keep the value it had then.
passed = failed = 0


def log(msg):
    print(msg, flush=True)


def check(what, cond, detail=""):
    """Counts and prints one check ("  PASS: WHAT" or "  FAIL: WHAT -- DETAIL");
    returns COND."""
    global passed, failed
    if cond:
        passed += 1
        log("  PASS: " + what)
    else:
        failed += 1
        log("  FAIL: " + what + (" -- " + str(detail) if detail else ""))
    return cond


def summary(require_pass=False):
    """Prints the closing "N passed, M failed" line; returns the exit status:
    0 when nothing failed (and, with REQUIRE_PASS, something passed)."""
    log("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and (passed > 0 or not require_pass) else 1


def finish():
    """summary() where a run in which nothing passed fails too."""
    return summary(require_pass=True)


def ready(name, built=(), tools=()):
    """The start of program NAME's main(): True when it runs as root, every
    file of BUILT is executable and every command of TOOLS is on PATH; else
    logs the first thing missing ("NAME: needs root", "NAME: X is not built",
    "NAME: X is not installed") and returns False."""
    if os.geteuid() != 0:
        log("%s: needs root" % name)
        return False
    for path in built:
        if not os.access(path, os.X_OK):
            log("%s: %s is not built" % (name, path))
            return False
    for tool in tools:
        if shutil.which(tool) is None:
            log("%s: %s is not installed" % (name, tool))
            return False
    return True


def run_groups(groups, *args):
    """Calls every group of checks with ARGS; one that raises is a failed
    check and does not stop the others."""
    for group in groups:
        try:
            group(*args)
        except Exception as e:   # a crash of one group must not hide the others
            check("%s ran without an exception" % group.__name__, False, repr(e))


def wait_for(seconds, pred, step=0.1):
    """PRED() once it is true, polled every STEP seconds for SECONDS at the
    most; else its last (false) value."""
    end = time.monotonic() + seconds
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            return v
        time.sleep(step)


PORT_CLAIMS = "/tmp/rdms-test-ports"


def _port_range():
    """Ports to hand out: below the kernel's ephemeral range.  A port the
    kernel picked (bind to port 0) is free only until the server binds it;
    any outgoing connection in between -- curl, a client, PostgreSQL -- may
    take it as its source port, and the server's start then fails with
    "address already in use".  Outgoing connections never take a port below
    that range."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low - 1 >= 20000 + 1000:
        return 20000, low - 1
    if 65535 - high >= 1000:
        return high + 1, 65535
    return 20000, 65535


def _claim(port, owner):
    """True when PORT is now OWNER's (a process id): a claim file, made
    under a lock on the claims folder, so two test programs running at once
    never get the same port.  A claim whose process has ended is taken
    over."""
    os.makedirs(PORT_CLAIMS, mode=0o1777, exist_ok=True)
    path = os.path.join(PORT_CLAIMS, str(port))
    with open(os.path.join(PORT_CLAIMS, ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # released when the file closes
        try:
            with open(path) as f:
                holder = int(f.read().strip() or 0)
        except (OSError, ValueError):
            holder = 0
        if holder and os.path.exists("/proc/%d" % holder):
            return False
        with open(path, "w") as f:
            f.write("%d\n" % owner)
    return True


def _bindable(port):
    for addr in ("127.0.0.1", "0.0.0.0"):
        with socket.socket() as s:
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def free_port(owner=None):
    """A TCP port nobody listens on and no other running test holds, below
    the ephemeral range (see _port_range), held for OWNER (a process id;
    this process by default) until that process ends."""
    low, high = _port_range()
    owner = owner or os.getpid()
    rng = random.Random(owner ^ time.monotonic_ns())
    for _ in range(2000):
        port = rng.randint(low, high)
        if _bindable(port) and _claim(port, owner):
            return port
    raise RuntimeError("no free port in %d-%d" % (low, high))


# ---- the system's own view: /proc -------------------------------------------

def read(path):
    """The text of PATH, or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def alive(pid):
    """Running and not a zombie (backends.md P11)."""
    st = read("/proc/%d/status" % pid) if pid else None
    if st is None:
        return False
    for line in st.splitlines():
        if line.startswith("State:"):
            return line.split()[1] not in ("Z", "X")
    return False


def children(pid):
    """The children of every thread of PID."""
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            c = read("/proc/%d/task/%s/children" % (pid, t)) or ""
            out += [int(x) for x in c.split()]
    except OSError:
        pass
    return out


def comm(pid):
    return (read("/proc/%d/comm" % pid) or "").strip()


def cpu_ticks(pids):
    """User + system CPU time of PIDS so far, in clock ticks (SC_CLK_TCK)."""
    t = 0
    for pid in pids:
        st = read("/proc/%d/stat" % pid)
        if st:
            f = st.rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12])
    return t


def window_on(user, display, title, xauth=None):
    """The X window called TITLE on :DISPLAY, asked as USER with XAUTH
    (default ~USER/.Xauthority) (P10: with a timeout)."""
    env = {"DISPLAY": ":%d" % display,
           "XAUTHORITY": xauth if xauth is not None else "/home/%s/.Xauthority" % user,
           "HOME": "/home/" + user, "PATH": "/usr/bin:/bin"}
    try:
        p = subprocess.run(["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
                            "xdotool", "search", "--name", "^%s$" % title],
                           env=env, capture_output=True, text=True, timeout=5)
        return p.stdout.split()
    except subprocess.TimeoutExpired:
        return []


if __name__ == "__main__":
    # `python3 e2e_common.py free-port PID`: a port for a shell script (the
    # lab scripts), held until process PID ends.
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "free-port":
        print(free_port(int(sys.argv[2])))
    else:
        sys.exit("usage: e2e_common.py free-port PID")
