#!/usr/bin/python3
"""test_docs.py -- every command in README.md and the man pages, run
exactly as written against a real rdmsd serving real xrdp sessions, so the
documentation cannot rot (issue 12, item 5).

What counts as a command:
  README.md   every fenced code block: ```sh blocks are commands, run;
              ```powershell and ```cmd blocks are Windows commands (the
              README says so beside them), counted and skipped -- no Windows
              here; ```text blocks are pictures.  Any other code block
              (unfenced, or fenced with another tag) fails: a reader could
              not tell whether it is meant to run.
  man/*.[1-8] every .nf/.fi block of an EXAMPLES section; one whose
              paragraph starts "On Windows" is a Windows command, counted
              and skipped.  Roff escapes are undone as the reader sees them.
A command is a logical line (continuation lines joined; `\\` for sh, a
backtick for PowerShell, `^` for cmd).

How they run: `make run` from README's set-up runs first, as written and
in the background, on the default ports and socket, and is the rdmsd every
other command talks to (it serves lab.sh's xrdp, which run.sh started);
`make check` is skipped and counted (this test runs inside it).  Each
other block runs in one bash, as a reader pasting it into a root shell
would, in an empty folder, with the built `rdms` first on PATH, SID set
to a fresh Active session of the lab (when the block uses $SID) and
RDMS_PASSWORD to a random password; each command must exit 0.  Meanwhile
the session's user sits at its screen: every message dialog is read for a
moment and then closed (Escape), so an example that waits for the user
(`rdms message --wait`) ends as it would for a reader.  The
README's own commands create the admin account `rdmsadmin`; the test
removes it again at the end.

Needs root, the lab of lab.sh running, and rdmsd's default ports and socket
free.  Output: PASS/FAIL lines and `N passed, M failed`.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from e2e_common import ROOT, RDMS, check, finish, log, ready, wait_for
import make_run as mr
import test_message_e2e as msg   # (the dialogs on a session's display, closed as a user does)
import test_xrdp_e2e as xe       # (the lab's sessions from /proc: their displays)

HERE = os.path.dirname(os.path.abspath(__file__))
LABSH = os.path.join(HERE, "lab.sh")
README = os.path.join(ROOT, "README.md")
MAN_DIR = os.path.join(ROOT, "man")
ADMIN = "rdmsadmin"                      # the README's example admin account
DEFAULT_PORTS = [5985, 5986, 5988, 5989]
DEFAULT_SOCKET = "/run/rdms/rdmsd.sock"
DEFAULT_RUNDIR = "/run/rdms-run"
LAB_USER = "rdmstest1"
SERVER = "make run"                      # the README command that is the server
INSIDE = "make check"                    # the README command this test runs inside
WINDOWS = {"powershell": "`", "cmd": "^"}
CONTINUATION = dict(WINDOWS, sh="\\")


class Block:
    def __init__(self, where, kind, lines):
        self.where, self.kind, self.lines = where, kind, lines

    def commands(self):
        """Logical lines: continuations joined, blank and comment lines dropped."""
        cont = CONTINUATION.get(self.kind, "\\")
        out, cur = [], ""
        for line in self.lines:
            cur += line + "\n"
            if line.rstrip().endswith(cont):
                continue
            if cur.strip() and not cur.strip().startswith("#"):
                out.append(cur.rstrip("\n"))
            cur = ""
        if cur.strip():
            out.append(cur.rstrip("\n"))
        return out


# ---- finding the commands ---------------------------------------------------

def readme_blocks(path):
    """(blocks, problems) of a Markdown file."""
    blocks, problems = [], []
    with open(path) as f:
        lines = f.read().split("\n")
    i, prev = 0, ""
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^```(\S*)\s*$", line)
        if m:
            start, kind, body = i + 1, m.group(1), []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            where = "%s:%d" % (os.path.basename(path), start)
            if kind in ("sh", "text") or kind in WINDOWS:
                blocks.append(Block(where, kind, body))
            else:
                problems.append("%s: a code block marked %r (sh, powershell, cmd or text?)"
                                % (where, kind))
        elif (line.startswith("    ") or line.startswith("\t")) and prev.strip() == "" and \
                line.strip() and not re.match(r"^\s*([*-]|\d+\.)\s", line):
            problems.append("%s:%d: an unfenced code block" % (os.path.basename(path), i + 1))
        prev = line
        i += 1
    return blocks, problems


ROFF_ESCAPES = [("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\(ga", "`"), ("\\(ti", "~"),
                ("\\(ha", "^"), ("\\&", ""), ("\\e", "\\")]


def unroff(text):
    out, i = "", 0
    while i < len(text):
        for esc, plain in ROFF_ESCAPES:
            if text.startswith(esc, i):
                out += plain
                i += len(esc)
                break
        else:
            if text[i] == "\\":
                raise ValueError("unknown roff escape in %r" % text)
            out += text[i]
            i += 1
    return out


def man_blocks(path):
    """(blocks, problems) of the EXAMPLES section of a man page."""
    blocks, problems = [], []
    name = os.path.basename(path)
    with open(path) as f:
        lines = f.read().split("\n")
    section, para, body, start = "", "", None, 0
    for n, line in enumerate(lines, 1):
        if line.startswith(".SH"):
            section, para = line[3:].strip().strip('"'), ""
        elif section != "EXAMPLES":
            continue
        elif line.startswith(".nf"):
            body, start = [], n + 1
        elif line.startswith(".fi") and body is not None:
            kind = "powershell" if para.lstrip().startswith("On Windows") else "sh"
            try:
                blocks.append(Block("%s:%d" % (name, start), kind, [unroff(l) for l in body]))
            except ValueError as e:
                problems.append("%s:%d: %s" % (name, start, e))
            body, para = None, ""
        elif body is not None:
            body.append(line)
        elif line.startswith((".PP", ".P", ".LP")):
            pass
        elif line.startswith("."):
            para += " " + " ".join(line.split()[1:])
        else:
            para += " " + line
    return blocks, problems


def all_blocks():
    blocks, problems = readme_blocks(README)
    for name in sorted(os.listdir(MAN_DIR)):
        if re.match(r".*\.[1-8]$", name):
            b, p = man_blocks(os.path.join(MAN_DIR, name))
            blocks += b
            problems += p
    return blocks, problems


# ---- sessions ------------------------------------------------------------------

def lab_conf():
    out = subprocess.run([LABSH, "env"], capture_output=True, text=True).stdout
    return dict(w.split("=", 1) for w in out.split() if "=" in w).get("RDMS_CONF")


def lab_sessions(conf):
    p = subprocess.run([RDMS, "--direct", "--config", conf, "list", "--json"],
                       capture_output=True, text=True, timeout=30)
    try:
        return json.loads(p.stdout) if p.returncode == 0 else []
    except ValueError:
        return []


def fresh_session(conf, name):
    """A new Active session of LAB_USER (a new xfreerdp client NAME); its id."""
    logoff_all(conf)
    subprocess.run([LABSH, "connect", name, LAB_USER, "/client-hostname:DOCS"],
                   capture_output=True, text=True, timeout=60)
    return wait_for(30, lambda: next((s["SessionId"] for s in lab_sessions(conf)
                                      if s["UserName"] == LAB_USER and s["ConnectState"] == 0
                                      and s["ClientMachineName"] == "DOCS"), None), step=0.5)


def logoff_all(conf):
    for s in lab_sessions(conf):
        if s["UserName"] == LAB_USER:
            subprocess.run([RDMS, "--direct", "--config", conf, "logoff", str(s["SessionId"])],
                           capture_output=True, timeout=60)
    wait_for(15, lambda: not any(s["UserName"] == LAB_USER for s in lab_sessions(conf)), step=0.5)


class SessionUser(threading.Thread):
    """The user at session SID's screen: closes each message dialog after
    reading it for READ seconds."""

    READ = 1.5

    def __init__(self, sid):
        super().__init__(daemon=True)
        self.display = xe.truth().get(sid, {}).get("display")
        self.done = threading.Event()

    def run(self):
        seen = {}
        while self.display is not None and not self.done.is_set():
            now = time.monotonic()
            # X reuses a gone client's ids: a dialog that went is forgotten,
            # so the next one with its window id is read for READ seconds too
            seen = {w: seen.get(w, now) for w in msg.dialogs(LAB_USER, self.display)}
            for w, since in seen.items():
                if now - since >= self.READ:
                    msg.close_dialog(LAB_USER, self.display, w)
            self.done.wait(0.5)

    def stop(self):
        self.done.set()
        self.join(15)


# ---- running a block ------------------------------------------------------------

def run_block(block, cmds, env, cwd):
    """Runs CMDS in one bash (a reader pasting the block); [(cmd, status, output)]."""
    script = []
    for n, c in enumerate(cmds):
        script.append("echo '@@docs-begin %d'" % n)
        script.append(c)
        script.append("echo \"@@docs-end %d $?\"" % n)
    try:
        p = subprocess.run(["bash"], input="\n".join(script) + "\n", cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60 + 30 * len(cmds))
        out = p.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or "")
        out += "\n(timed out)"
    results = []
    for n, c in enumerate(cmds):
        m = re.search(r"@@docs-begin %d\n(.*?)@@docs-end %d (\d+)\n" % (n, n), out, re.S)
        results.append((c, int(m.group(2)) if m else None, m.group(1).strip() if m else out))
    return results


def main():
    if not ready("test_docs", built=[RDMS], tools=["xfreerdp", "wsl", "wbemcli", "curl", "make"]):
        return 1
    blocks, problems = all_blocks()
    for p in problems:
        check("every code block says what it is: " + p, False)
    shell = [b for b in blocks if b.kind == "sh"]
    windows = [b for b in blocks if b.kind in WINDOWS]
    nwin = sum(len(b.commands()) for b in windows)
    ncmds = sum(len(b.commands()) for b in shell)
    log("  %d commands in README.md and man/: %d to run; %d Windows-only (%s) skipped: "
        "PowerShell and winrm run on Windows only, and there is no Windows here"
        % (ncmds + nwin, ncmds, nwin, ", ".join(b.where for b in windows)))
    check("the documentation holds commands to run", ncmds > 0)
    conf = lab_conf()
    if not conf or not os.path.exists(conf):
        check("the xrdp lab is running (tests/e2e/lab.sh start)", False)
        return finish()
    busy = mr.listeners_on(DEFAULT_PORTS)
    if not check("rdmsd's default ports and socket are free",
                 not busy and not os.path.exists(DEFAULT_SOCKET), repr(busy)):
        return finish()

    had_rundir = os.path.exists(DEFAULT_RUNDIR)
    if ADMIN in mr.accounts():   # a crashed run's: the README makes it anew
        subprocess.run(["userdel", ADMIN], capture_output=True)
    tmp = tempfile.mkdtemp(prefix="rdms-docs-")
    os.chmod(tmp, 0o755)
    build = os.path.dirname(os.path.abspath(RDMS))
    env = dict(os.environ, PATH=build + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
               HOME=tmp, RDMS_PASSWORD="D-" + secrets.token_urlsafe(15))
    server = None
    try:
        servers = [c for b in shell for c in b.commands() if c.split("#")[0].strip() == SERVER]
        if not check("README's set-up says '%s'" % SERVER, len(servers) == 1, servers):
            return finish()
        server = mr.MakeRun(argv=["bash", "-c", servers[0]], env={"HOME": tmp}).start()
        if not check("%s (as written, in the background) serves" % servers[0],
                     server.wait_serving(300), server.output()[-2000:]):
            return finish()
        skipped = 0
        for i, b in enumerate(shell):
            cmds = [c for c in b.commands()
                    if c.split("#")[0].strip() not in (SERVER, INSIDE)]
            skipped += len(b.commands()) - len(cmds)
            if not cmds:
                continue
            benv, user = dict(env), None
            if any("$SID" in c for c in cmds):
                sid = fresh_session(conf, "docs%d" % i)
                if not check("%s: a fresh Active session for $SID" % b.where, bool(sid)):
                    continue
                benv["SID"] = str(sid)
                user = SessionUser(sid)
                user.start()
            cwd = tempfile.mkdtemp(dir=tmp)
            try:
                results = run_block(b, cmds, benv, cwd)
            finally:
                if user is not None:
                    user.stop()
            for c, status, out in results:
                check("%s: works as written: %s" % (b.where, " ".join(c.split())),
                      status == 0, "status %s: %s" % (status, out[-1500:]))
        log("  skipped as well: %d command(s) this test runs itself or inside (%s, %s)"
            % (skipped, SERVER, INSIDE))
    finally:
        if server is not None:
            check("%s stops on Ctrl-C" % SERVER, server.stop() is not None)
        logoff_all(conf)
        subprocess.run(["userdel", ADMIN], capture_output=True)
        if not had_rundir:
            shutil.rmtree(DEFAULT_RUNDIR, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
