#!/usr/bin/python3
"""test_cockpit_e2e.py -- the Remote Desktop Sessions page of Cockpit
(cockpit/rdms) in a real browser: Debian's cockpit-ws started here in the
foreground on loopback (no systemd), a real PAM login, headless Chromium
driven by Selenium, rdmsd on the xrdp lab with real xfreerdp sessions.

The page is what `make install` installs (meson install into a temporary
DESTDIR), linked into each Cockpit user's ~/.local/share/cockpit, with
~/.config/cockpit/rdms.override.json pointing it at the built rdms and the
lab's config -- the page runs `rdms` as the logged-in user, as it does on a
real host.

Checked (issue 17, items 1, 2, 4):
  admin     an admin (rdms-e2e-admins) sees both real sessions with the
            values `rdms list --json` gives (state as words), live updates on;
  xss       a session whose client name is markup is shown as that text: no
            img element, no alert;
  message   Send message (Title + Message dialog) puts the window on the
            session's X display (xdotool, as the session's user);
  disconnect the real xfreerdp client ends and the row shows Disconnected;
  logoff    Log off asks first (Cancel keeps the session), then the row goes
            and the session ends;
  audit     the audit view lists those calls with the Cockpit user as caller;
            a time filter in the future shows none;
  refused   an admin taken out of the group gets "Access denied:
            WBEM_E_ACCESS_DENIED" on the page, and the session stays;
  owner     a non-admin sees only their own session, and is told that the
            audit is for admins;
  bad input a user with no sessions, rdmsd stopped, rdms missing: the page
            says so in words.
Each check group saves a screenshot in $RDMS_E2E_DIR/cockpit (default
/tmp/rdms-e2e/cockpit).

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root, the xrdp lab (run.sh starts it), cockpit-ws, chromium,
chromium-driver and python3-selenium (make deps).
"""
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_common as common        # noqa: E402
import test_message_e2e as tm      # noqa: E402  (dialogs on a session's display)
import test_rdmsd_auth as lab_mod  # noqa: E402  (accounts, admin group)
import test_wsman_e2e as we        # noqa: E402  (the rdmsd lab on xrdp)
import test_xrdp_e2e as xe         # noqa: E402  (the xrdp lab: /proc truth, clients)
from e2e_common import RDMS, RDMSD, alive, check, children, log, wait_for  # noqa: E402

from selenium import webdriver                                  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service           # noqa: E402
from selenium.webdriver.common.by import By                     # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait         # noqa: E402

WS = "/usr/lib/cockpit/cockpit-ws"
U1, U2 = we.U1, we.U2
CPADMIN = "rdmscpadm"               # the Cockpit admin: a home for ~/.local/share/cockpit
CPUSER = "rdmscpusr"                # a Cockpit user with no sessions
COCKPIT_PROCS = ("dbus-daemon", "cockpit-bridge", "cockpit-session", "ssh-agent")
# RDP carries at most 15 characters of client name: xrdp logs (and rdms
# shows) "<img src=x oner" for the whole of "<img src=x onerror=alert(1)>",
# so the test sends markup that fits and would make an img element
HOSTILE = "<img src=x>"
OUT = os.path.join(os.environ.get("RDMS_E2E_DIR", "/tmp/rdms-e2e"), "cockpit")
FRAME = "iframe[name='cockpit1:localhost/rdms']"


class Lab(we.Lab):
    """test_wsman_e2e's lab, plus cockpit-ws, the installed page and a
    Cockpit admin account with a home."""

    def __init__(self):
        super().__init__()
        self.pw[CPADMIN] = "C-" + secrets.token_urlsafe(12)
        self.pw[CPUSER] = "D-" + secrets.token_urlsafe(12)
        self.ws = None
        self.ws_port = common.free_port()
        self.dest = tempfile.mkdtemp(prefix="rdms-cockpit-")
        os.chmod(self.dest, 0o755)
        self.linked = []        # users whose ~/.local/share/cockpit/rdms we made
        self.made_users = []
        self.shells = {}        # lab users given a login shell for Cockpit: the old one

    def accounts(self):
        super().accounts()
        for user in (CPADMIN, CPUSER):
            if subprocess.run(["id", user], capture_output=True).returncode:
                lab_mod.run(["useradd", "-m", "-s", "/bin/bash", user])
                self.made_users.append(user)
            lab_mod.run(["chpasswd"], input=("%s:%s\n" % (user, self.pw[user])).encode())
        lab_mod.run(["usermod", "-aG", lab_mod.ADMIN_GROUP, CPADMIN])
        # cockpit-session starts the bridge through the login shell: lab.sh's
        # users have none (nologin), so U2 gets one while the test runs
        self.shells[U2] = pwd.getpwnam(U2).pw_shell
        lab_mod.run(["usermod", "-s", "/bin/bash", U2])

    def install_page(self):
        """`make install`'s rule (meson install) into a DESTDIR; the page's
        directory there, or None."""
        build = os.path.dirname(os.path.abspath(RDMS))
        p = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--destdir",
                            self.dest], capture_output=True, text=True)
        found = glob.glob(os.path.join(self.dest, "**", "cockpit", "rdms", "manifest.json"),
                          recursive=True)
        if p.returncode or not found:
            log(p.stdout[-1000:] + p.stderr[-1000:])
            return None
        for dirpath, dirs, files in os.walk(self.dest):
            os.chmod(dirpath, 0o755)
        return os.path.dirname(found[0])

    def use_page(self, user, page, rdms=RDMS):
        """USER's bridge finds PAGE first (~/.local/share/cockpit) and runs
        RDMS with the lab's config (~/.config/cockpit/rdms.override.json)."""
        home = os.path.expanduser("~" + user)
        share, conf = home + "/.local/share/cockpit", home + "/.config/cockpit"
        for d in (home + "/.local", home + "/.local/share", share, home + "/.config", conf):
            if not os.path.isdir(d):
                os.mkdir(d)
                shutil.chown(d, user, user)
        link = share + "/rdms"
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(page, link)
        with open(conf + "/rdms.override.json", "w") as f:
            json.dump({"config": {"rdms": rdms, "rdms_config": self.conf}}, f)
        self.linked.append(user)

    def serve_page(self, users, backend):
        """The page installed (make install's rule) for USERS, rdmsd started
        (on BACKEND, for the check's words) and cockpit-ws: the page's
        directory, or None after a failed check."""
        os.makedirs(OUT, exist_ok=True)
        page = self.install_page()
        if not check("make install's rule installs the page (cockpit/rdms)", page):
            return None
        for user in users:
            self.use_page(user, page)
        if not check("rdmsd starts on the %s back-end" % backend, self.start(), self.log()[-2000:]):
            return None
        if not check("cockpit-ws listens on loopback", self.start_ws()):
            return None
        return page

    def start_ws(self):
        self.ws_log = open(os.path.join(OUT, "cockpit-ws.log"), "w")
        self.ws = subprocess.Popen([WS, "--no-tls", "--port", str(self.ws_port),
                                    "--address", "127.0.0.1"], stdout=self.ws_log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        return wait_for(10, lambda: subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:%d/" % self.ws_port]).returncode == 0)

    def stop_ws(self):
        """cockpit-ws and what it started (cockpit-session, the bridges, their
        dbus-daemons), by PID."""
        if self.ws is None:
            return
        tree, todo = [], [self.ws.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children(pid)
        self.ws.terminate()
        try:
            self.ws.wait(10)
        except subprocess.TimeoutExpired:
            self.ws.kill()
            self.ws.wait()
        for pid in tree[1:]:
            if alive(pid):
                os.kill(pid, 15)
        for pid in tree[1:]:
            if not wait_for(3, lambda: not alive(pid)):
                os.kill(pid, 9)
        self.ws = None
        # a bridge's own dbus-daemon (and ssh-agent) outlive it, as PID 1's
        # children: end those of the users that logged in here, by PID
        users = {pwd.getpwnam(u).pw_uid for u in set(self.linked)}
        for d in os.listdir("/proc"):
            if d.isdigit() and common.comm(int(d)) in COCKPIT_PROCS and tm.ppid(int(d)) == 1:
                try:
                    if os.stat("/proc/" + d).st_uid in users:
                        os.kill(int(d), 15)
                except OSError:
                    pass

    def cleanup(self):
        self.stop_ws()
        for user in set(self.linked):
            home = os.path.expanduser("~" + user)
            for f in (home + "/.local/share/cockpit/rdms",
                      home + "/.config/cockpit/rdms.override.json"):
                if os.path.lexists(f):
                    os.unlink(f)
        for user, shell in self.shells.items():
            subprocess.run(["usermod", "-s", shell, user], capture_output=True)
        for user in self.made_users:
            subprocess.run(["userdel", "-r", user], capture_output=True)
        shutil.rmtree(self.dest, ignore_errors=True)
        super().cleanup()


# ---- the browser ----------------------------------------------------------------

class Browser:
    """Headless Chromium logged into Cockpit as USER, switched into the rdms
    page's frame."""

    def __init__(self, lab, user, tag):
        self.tag = tag
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        self.profile = tempfile.mkdtemp(prefix="rdms-chromium-")
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                  "--window-size=1400,900", "--user-data-dir=" + self.profile, "--no-first-run"):
            opts.add_argument(a)
        self.drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.wait = WebDriverWait(self.drv, 30)
        base = "http://127.0.0.1:%d" % lab.ws_port
        self.drv.get(base + "/rdms")
        self.wait.until(lambda d: d.find_element(By.ID, "login-user-input").is_displayed())
        # no "Administrative access": the page must work without it
        self.drv.execute_script('window.localStorage.setItem("superuser:%s", "none");' % user)
        self.drv.find_element(By.ID, "login-user-input").send_keys(user)
        self.drv.find_element(By.ID, "login-password-input").send_keys(lab.pw[user])
        self.drv.find_element(By.ID, "login-button").click()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, FRAME))
        self.drv.switch_to.frame(self.drv.find_element(By.CSS_SELECTOR, FRAME))
        # a loaded machine (CI runs beside other work) may take long for Cockpit's shell
        try:
            WebDriverWait(self.drv, 90).until(
                lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            WebDriverWait(self.drv, 90).until(lambda d: not self.text("status").startswith("Loading"))
        except Exception:
            self.drv.save_screenshot(os.path.join(OUT, "login-%s-timeout.png" % user))
            for entry in self.drv.get_log("browser") if hasattr(self.drv, "get_log") else []:
                log("  browser console: %s" % entry.get("message", entry))
            raise

    def text(self, el_id):
        return self.drv.find_element(By.ID, el_id).text

    def rows(self):
        """{SessionId: {column: text}} of the session table."""
        # read in one script: the page re-renders the table as events come
        got = self.drv.execute_script("""
            const keys = [...document.querySelectorAll("#sessions thead th")]
                .map(th => th.dataset.key);
            return [...document.querySelectorAll("#sessions tbody tr")].map(tr =>
                [tr.dataset.sessionId, [...tr.cells].map((c, i) => [keys[i], c.textContent])
                    .filter(kv => kv[0])]);""")
        return {int(sid): dict(cells) for sid, cells in got}

    def until(self, pred, seconds=20):
        try:
            return WebDriverWait(self.drv, seconds).until(lambda d: pred())
        except Exception:
            return pred()

    def click(self, sid, cls):
        self.until(lambda: self.drv.execute_script(
            "const b = document.querySelector(\"#sessions tr[data-session-id='%d'] button.%s\");"
            "if (b) b.click(); return !!b;" % (sid, cls)))

    def shot(self, name):
        """A screenshot of the whole Cockpit window, OUT/NAME.png."""
        self.drv.switch_to.default_content()
        path = os.path.join(OUT, name + ".png")
        self.drv.save_screenshot(path)
        self.drv.switch_to.frame(self.drv.find_element(By.CSS_SELECTOR, FRAME))
        log("  screenshot: " + path)

    def alert(self):
        try:
            return self.drv.switch_to.alert.text
        except NoAlertPresentException:
            return None

    def quit(self):
        self.drv.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


# ---- the checks -------------------------------------------------------------------

def truth_of(lab):
    """{SessionId: instance} as root lists them through rdmsd."""
    rc, out, err = we.cli(lab, ["list", "--json"])
    return {s["SessionId"]: s for s in json.loads(out)} if rc == 0 else {}


def test_admin(lab, b, s1, s2):
    log("== the admin's page: both real sessions, with rdms's values")
    want = truth_of(lab)
    rows = b.until(lambda: len(b.rows()) == 2 and b.rows())
    check("admin: the table has exactly the two sessions", set(rows or {}) == {s1, s2},
          repr(rows))
    words = {0: "Active", 4: "Disconnected"}
    for sid in (s1, s2):
        got, w = (rows or {}).get(sid, {}), want.get(sid, {})
        exp = {k: str(w.get(k, "")) for k in ("SessionId", "UserName", "DomainName",
                                              "ClientMachineName", "VMName", "VMHostName",
                                              "CollectionId")}
        exp["ConnectState"] = words.get(w.get("ConnectState"), "?")
        check("admin: row %d shows rdms's values (%s, %s, %s)" % (sid, exp["UserName"],
              exp["ConnectState"], exp["ClientMachineName"]), got == exp,
              "got %r want %r" % (got, exp))
    check("admin: live updates from rdms watch", b.text("live") == "Live updates", b.text("live"))
    b.shot("admin-sessions")


def test_xss(lab, b, s2):
    log("== a client name full of markup is shown as text")
    name = truth_of(lab).get(s2, {}).get("ClientMachineName", "")
    log("  rdms says ClientMachineName = %r" % name)
    check("rdmsd reports the client name with its markup", "<img" in name, repr(name))
    cell = b.drv.find_element(By.CSS_SELECTOR, "#sessions tr[data-session-id='%d'] td:nth-child(5)"
                              % s2)
    check("the cell's text is exactly the client name", cell.text == name, repr(cell.text))
    check("no img element anywhere in the page",
          not b.drv.find_elements(By.TAG_NAME, "img"))
    check("no alert", b.alert() is None)
    b.shot("xss-client-name")


def test_message(lab, b, s1, d1):
    log("== Send message: a dialog with Title and Message, shown on the session's display")
    title = "Cockpit says hello"
    b.click(s1, "message")
    check("the message dialog opens with a Title and a Message field",
          b.drv.find_element(By.ID, "dlg-message").get_attribute("open") is not None and
          b.drv.find_element(By.CSS_SELECTOR, "label[for=msg-title]").text == "Title" and
          b.drv.find_element(By.CSS_SELECTOR, "label[for=msg-text]").text == "Message")
    b.drv.find_element(By.ID, "msg-title").send_keys(title)
    b.drv.find_element(By.ID, "msg-text").send_keys("Sent from the web console <b>now</b>")
    b.shot("message-dialog")
    b.drv.find_element(By.ID, "msg-send").click()
    res = b.until(lambda: "Message shown" in b.text("action-result") and b.text("action-result"))
    check("the page says the message was shown", res, b.text("action-result"))
    check("a window titled %r is on :%d (xdotool, as %s)" % (title, d1, U1),
          we.window(U1, d1, title))
    b.shot("message-sent")
    tm.close_all(U1, d1)


def test_disconnect(lab, b, s1):
    log("== Disconnect drops the real xfreerdp client")
    b.click(s1, "disconnect")
    state = b.until(lambda: b.rows().get(s1, {}).get("ConnectState") == "Disconnected")
    check("the row of %d shows Disconnected" % s1, state, repr(b.rows().get(s1)))
    check("the page says it was disconnected", "disconnected" in b.text("action-result"),
          b.text("action-result"))
    rc = we.client_gone(lab.clients_of[s1])
    check("the xfreerdp client of %d has ended" % s1, rc is not None, rc)
    check("the session stays (xrdp still has it)", s1 in xe.truth())
    b.shot("disconnected")


def test_refused(lab, b, s2):
    log("== a refused action shows the WMI error in words")
    lab_mod.run(["gpasswd", "-d", CPADMIN, lab_mod.ADMIN_GROUP])
    try:
        time.sleep(11)      # rdmsd keeps group answers 10 s (AUTHZ_TTL_S)
        b.drv.find_element(By.ID, "tab-sessions").click()   # the audit view ran before
        b.click(s2, "logoff")
        b.drv.find_element(By.ID, "logoff-confirm").click()
        res = b.until(lambda: "failed" in b.text("action-result") and b.text("action-result"))
        check("the page says: Access denied: WBEM_E_ACCESS_DENIED",
              "Access denied: WBEM_E_ACCESS_DENIED" in (res or ""), b.text("action-result"))
        check("the session of %d is still there" % s2, s2 in xe.truth())
        b.shot("refused")
    finally:
        lab_mod.run(["usermod", "-aG", lab_mod.ADMIN_GROUP, CPADMIN])


def test_logoff(lab, b, s1):
    log("== Log off asks first, then the row goes")
    b.click(s1, "logoff")
    dlg = b.drv.find_element(By.ID, "dlg-logoff")
    check("Log off opens a confirmation naming the session",
          dlg.get_attribute("open") is not None and str(s1) in b.text("dlg-logoff-text"),
          b.text("dlg-logoff-text"))
    b.shot("logoff-confirm")
    b.drv.find_element(By.ID, "logoff-cancel").click()
    time.sleep(1)
    check("Cancel: the session stays", s1 in xe.truth() and s1 in b.rows())
    b.click(s1, "logoff")
    b.drv.find_element(By.ID, "logoff-confirm").click()
    gone = b.until(lambda: s1 not in b.rows(), 30)
    check("after confirming, the row of %d is gone" % s1, gone, repr(b.rows()))
    check("the session has ended", wait_for(15, lambda: s1 not in xe.truth()))
    b.shot("logged-off")


def test_audit(lab, b, s1, s2):
    log("== the audit view: the calls, with the Cockpit user as caller")
    b.drv.find_element(By.ID, "tab-audit").click()
    b.until(lambda: "audit records" in b.text("audit-status"))
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in b.drv.find_elements(By.CSS_SELECTOR, "#audit tbody tr")]
    mine = [(r[4], r[5]) for r in rows if r[1].startswith(CPADMIN + " ")]
    check("audit: SendMessage, Disconnect and Logoff, by %s" % CPADMIN,
          ("SendMessage", "Done") in mine and ("Disconnect", "Done") in mine and
          ("Logoff", "Done") in mine, repr(rows))
    check("audit: every call of the page went through the local socket",
          all(r[2] == "local" for r in rows if r[1].startswith(CPADMIN + " ")), repr(rows))
    b.shot("audit")
    since = b.drv.find_element(By.ID, "audit-since")
    b.drv.execute_script("arguments[0].value = '2099-01-01T00:00:00'", since)
    b.drv.find_element(By.CSS_SELECTOR, "#audit-form button[type=submit]").click()
    empty = b.until(lambda: "No audit records since 2099" in b.text("audit-status"))
    check("audit: a time filter in the future shows none", empty and
          not b.drv.find_elements(By.CSS_SELECTOR, "#audit tbody tr"), b.text("audit-status"))


def test_owner(lab, s2):
    log("== a non-admin sees only their own session")
    b = Browser(lab, U2, "owner")
    try:
        rows = b.until(lambda: b.rows())
        check("%s: the table has their session only" % U2, set(rows or {}) == {s2}, repr(rows))
        b.shot("owner-sessions")
        b.drv.find_element(By.ID, "tab-audit").click()
        msg = b.until(lambda: "WBEM_E_ACCESS_DENIED" in b.text("audit-status") and
                      b.text("audit-status"))
        check("%s: the audit view says it is for admins, in words" % U2,
              msg and "admin group" in msg and "Access denied" in msg, b.text("audit-status"))
        b.shot("owner-audit")
    finally:
        b.quit()


def test_bad_input(lab, page):
    log("== bad input: no sessions, rdmsd stopped, rdms missing")
    b = Browser(lab, CPUSER, "nosessions")
    try:
        check("%s (no session): the page says there are none" % CPUSER,
              b.text("status").startswith("No sessions"), b.text("status"))
        b.shot("no-sessions")
        lab.stop()
        b.drv.find_element(By.ID, "refresh").click()
        msg = b.until(lambda: "rdmsd is not running" in b.text("status") and b.text("status"))
        check("rdmsd stopped: the page says rdmsd is not running", msg, b.text("status"))
        live = b.until(lambda: "live updates unavailable" in b.text("live"))
        check("... and that live updates stopped", live, b.text("live"))
        b.shot("rdmsd-stopped")
    finally:
        b.quit()
    lab.use_page(CPUSER, page, rdms="/nonexistent/rdms")
    b = Browser(lab, CPUSER, "nordms")
    try:
        check("rdms missing: the page says the command is not installed",
              "rdms command is not installed" in b.text("status"), b.text("status"))
        b.shot("rdms-missing")
    finally:
        b.quit()


def scenario(lab):
    page = lab.serve_page((CPADMIN, CPUSER, U2), "xrdp")
    if page is None:
        return
    c1 = lab.connect("cp1", U1, "/client-hostname:CPCLIENT1", "/size:1024x768")
    s1 = we.wait_session(lab, U1)
    c2 = lab.connect("cp2", U2, "/client-hostname:" + HOSTILE, "/size:800x600")
    s2 = we.wait_session(lab, U2)
    if not check("both sessions are Active", s1 and s2, "%r %r" % (s1, s2)):
        return
    lab.clients_of.update({s1: c1, s2: c2})
    d1 = xe.truth()[s1]["display"]
    t0 = time.monotonic()
    b = Browser(lab, CPADMIN, "admin")
    log("  login to a filled page: %.1f s" % (time.monotonic() - t0))
    try:
        common.run_groups([lambda: test_admin(lab, b, s1, s2),
                           lambda: test_xss(lab, b, s2),
                           lambda: test_message(lab, b, s1, d1),
                           lambda: test_disconnect(lab, b, s1),
                           lambda: test_logoff(lab, b, s1),
                           lambda: test_audit(lab, b, s1, s2),
                           lambda: test_refused(lab, b, s2)])
    finally:
        b.quit()
    common.run_groups([lambda: test_owner(lab, s2),
                       lambda: test_bad_input(lab, page)])


def run_page_test(name, make_lab, scenario, tools, lab_ready=None):
    """The main() of a test of the page: root, the built rdms, cockpit-ws,
    Chromium and TOOLS there (and LAB_READY(), when given, true), then
    SCENARIO on a new MAKE_LAB() (test_wsman_e2e.run_scenario), cleaned up
    on SIGTERM too; its exit status."""
    if not common.ready(name, [RDMS, RDMSD, WS, "/usr/bin/chromium", "/usr/bin/chromedriver"],
                        tools):
        return 1
    if lab_ready is not None and not lab_ready():
        return common.finish()
    log("artefacts (screenshots, cockpit-ws.log): " + OUT)
    # run.sh's timeout sends SIGTERM: clean up (cockpit-ws, accounts, shells) all the same
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(name + ": terminated"))
    os.makedirs(OUT, exist_ok=True)
    return we.run_scenario(make_lab, scenario)


def main():
    return run_page_test("test_cockpit_e2e", Lab, scenario,
                         ["xfreerdp", "xdotool", "meson", "curl"], we.xrdp_lab_ready)


if __name__ == "__main__":
    sys.exit(main())
