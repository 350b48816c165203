#!/usr/bin/python3
"""test_cockpit_broker.py -- the Remote Desktop Sessions page of Cockpit on a
fleet broker, in a real browser (issue 17: "on a broker host the same page
shows the whole fleet").

test_cockpit_e2e's Cockpit (cockpit-ws in the foreground on loopback, a real
PAM login, headless Chromium through Selenium, the page as `make install`
installs it), but the rdms the page runs talks to a broker: rdmsd with
role = broker in the fleet lab's namespace b1 (fleet_lab.py, as
test_fleet_broker builds it), with three fixture hosts of 150 sessions each
(the second host's first SessionId is also the first host's).  The page
reaches the broker's Unix socket (a path socket: the same from every network
namespace) as the logged-in user.  Checked:

  fleet      the admin's page shows the host filter with the three hosts and
             each host's state (running); the rows carry their host;
  paging     Next, page by page, reaches every session of the directory
             exactly once, in the broker's key order (host, SessionId): the
             same as `rdms list --json` on the broker and as the hosts' own
             fixtures; two hosts' equal SessionIds are two rows;
  filters    the text, state and host filters are WQL run by rdms at the
             broker: the page's rdms (a wrapper that records its arguments)
             ran `rdms query WQL`, the rows shown are exactly what that WQL
             gives root on the broker and what the fixtures hold, and they
             include sessions the browser never had (a later page, another
             host): only the server could have answered;
  disconnect Disconnect of a session of a host goes through the broker (its
             audit: the Cockpit user; the host's: via broker broker1), the
             host's session is disconnected and the row shows it;
  stopped    a host whose rdmsd is killed shows as not reachable on the open
             page, by itself, and as running again once it is back;
  owner      a non-admin sees only their own sessions, on two hosts.
Screenshots in $RDMS_E2E_DIR/cockpit-broker (default /tmp/rdms-e2e/cockpit-broker).

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root, ip netns, cockpit-ws, chromium, chromium-driver and
python3-selenium; run by run.sh beside the xrdp lab (its accounts), though
it starts no xrdp session.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("RDMS_E2E_DIR", "/tmp/rdms-e2e")
import e2e_common as common        # noqa: E402
import fleet_lab as fl             # noqa: E402
import test_cockpit_e2e as ce      # noqa: E402  (cockpit-ws, the page, the browser)
import test_fleet_broker as fb     # noqa: E402  (the broker in b1)
import test_rdmsd_auth as ra       # noqa: E402  (the admin group)
from e2e_common import RDMS, check, log, wait_for  # noqa: E402

from selenium.webdriver.common.by import By      # noqa: E402

OUT = os.path.join(os.environ["RDMS_E2E_DIR"], "cockpit-broker")
ce.OUT = OUT                        # the Browser's screenshots go here
HOSTS, PER_HOST, PAGE = 3, 150, 100
OWNER = ce.U2                       # the non-admin, with a login shell for Cockpit
OWNED = {0: (5, 6, 7), 2: (10, 40)}  # host index -> its i-th sessions given to OWNER
STATE_WORDS = {fl.ACTIVE: "Active", fl.DISCONNECTED: "Disconnected"}

# The page's rdms for the admin: records its arguments (one JSON line per
# run), then is the real rdms
WRAPPER = """#!/usr/bin/python3
import json, os, sys
with open(%r, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
os.execv(%r, [%r] + sys.argv[1:])
"""


class Lab(ce.Lab):
    """test_cockpit_e2e's lab whose rdmsd is a fleet broker in the fleet
    lab's b1, with HOSTS fixture hosts of PER_HOST sessions."""

    def __init__(self):
        super().__init__()
        self.fleet = None
        self.broker = None
        self.argv_log = os.path.join(self.dir, "page-rdms.jsonl")
        self.wrapper = os.path.join(self.dir, "rdms-recorded")

    def write_config(self, http_port=None):
        # the hosts' admin group is the broker's: each checks again whom the
        # broker acts for (README: a fleet-wide admin group)
        self.fleet = fl.FleetLab(hosts=HOSTS, sessions=PER_HOST, admin_group=ra.ADMIN_GROUP)
        self.fleet.setup()
        log("fleet lab: %d hosts of %d sessions in %.1f s" % (HOSTS, PER_HOST,
                                                             self.fleet.setup_seconds))
        for k, idx in OWNED.items():
            h = self.fleet.fixture_hosts[k]

            def give(s, h=h, idx=idx):
                for i in idx:
                    sid = h.index * 100000 + i
                    s[sid] = (OWNER,) + s[sid][1:]
            h.change(give)
        self.broker = fb.Broker(self.fleet, self)
        self.conf = self.broker.conf
        with open(self.wrapper, "w") as f:
            f.write(WRAPPER % (self.argv_log, RDMS, RDMS))
        os.chmod(self.wrapper, 0o755)
        with open(self.argv_log, "w"):
            pass
        os.chmod(self.argv_log, 0o666)

    def start(self):
        """The broker in b1, the hosts registered with their pinned
        fingerprints, until it shows them all running."""
        if not self.broker.start():
            return False
        self.proc = self.broker.proc
        for h in self.fleet.hosts:
            rc, _, err = self.broker.rdms("fleet", "host", "add", h.name, h.url,
                                          "--fingerprint", h.fingerprint)
            if rc != 0:
                log("rdms fleet host add %s: %s" % (h.name, err))
                return False
        return bool(fb.converge(self.broker, self.fleet))

    def log(self):
        return self.broker.log() if self.broker else ""

    def recorded(self):
        """The arguments of every rdms the admin's page ran, oldest first."""
        with open(self.argv_log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def cleanup(self):
        try:
            super().cleanup()
        finally:
            if self.fleet is not None:
                left = self.fleet.cleanup()
                check("cleanup: nothing outlived the fleet lab", not left, repr(left))


# ---- what the page shows, and the truth ---------------------------------------------

def js(b, script, *args):
    return b.drv.execute_script(script, *args)


def status(b):
    return b.text("status")


def shown(b):
    """[(host, SessionId, {column: text})] of the table, in its order."""
    got = js(b, """
        const keys = [...document.querySelectorAll("#sessions thead th")].map(th => th.dataset.key);
        return [...document.querySelectorAll("#sessions tbody tr")].map(tr =>
            [tr.dataset.host, +tr.dataset.sessionId,
             Object.fromEntries([...tr.cells].map((c, i) => [keys[i], c.textContent])
                                .filter(kv => kv[0]))]);""")
    return [(h, sid, cells) for h, sid, cells in got]


def keys(b):
    return [(h, sid) for h, sid, _ in shown(b)]


def truth(lab):
    """{(host, SessionId): (user, ConnectState, client)} of every fixture."""
    return {(h.name, sid): v for h in lab.fleet.hosts for sid, v in h.sessions().items()}


def broker_rows(lab, *args):
    """[(host, SessionId)] of `rdms ARGS --json` as root on the broker, in
    its order; None when it failed."""
    rc, out, err = lab.broker.rdms(*(list(args) + ["--json"]))
    if rc != 0:
        log("  rdms %s: %s" % (" ".join(args), err))
        return None
    return [(s["VMHostName"], s["SessionId"]) for s in json.loads(out or "[]")]


def set_filters(b, text="", state="", host=""):
    f = b.drv.find_element(By.ID, "filter-text")
    f.clear()
    if text:
        f.send_keys(text)
    js(b, """for (const [id, v] of [["filter-state", arguments[0]], ["filter-host", arguments[1]]]) {
            const s = document.getElementById(id);
            if (s.value !== v) { s.value = v; s.dispatchEvent(new Event("change")); } }""",
       state, host)


def last_query(lab):
    """The WQL of the last `rdms query` the admin's page ran, with its arguments."""
    for argv in reversed(lab.recorded()):
        if "query" in argv:
            i = argv.index("query")
            return argv[i + 1], argv
    return None, None


def shot(b, name, css):
    """A screenshot (OUT/NAME.png) with the element CSS at the top of the page's frame."""
    js(b, "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'start'});",
       css)
    b.shot(name)


def host_list(b):
    return js(b, "return [...document.querySelectorAll('#host-list li')].map(li => li.textContent)")


# ---- the checks ------------------------------------------------------------------------

def test_fleet(lab, b):
    log("== the fleet on the admin's page: hosts, their states, the host filter")
    names = [h.name for h in lab.fleet.hosts]
    opts = js(b, "return [...document.querySelectorAll('#filter-host option')].map(o => o.value)")
    check("the host filter is shown, with All hosts and the %d hosts" % HOSTS,
          b.drv.find_element(By.ID, "host-filter").is_displayed() and opts == [""] + names,
          repr(opts))
    want = ["%s: running" % n for n in names]
    got = b.until(lambda: host_list(b) == want and host_list(b))
    check("each host's state shows: %s" % ", ".join(want), got == want, repr(host_list(b)))
    head = js(b, "return [...document.querySelectorAll('#sessions thead th')].map(th => th.textContent)")
    check("the table has the Host column", "Host" in head, repr(head))
    ok = b.until(lambda: status(b).startswith("Sessions 1–%d (more follow)" % PAGE))
    rows = shown(b)
    check("the first page: %d rows, each with its host in the Host column" % PAGE,
          ok and len(rows) == PAGE and all(c.get("VMHostName") == h for h, _, c in rows),
          status(b) + " " + repr(rows[:2]))
    check("it says a broker's sessions are paged and filtered by rdms",
          "on a broker rdms filters and pages them" in b.text("sort-hint"), b.text("sort-hint"))
    shot(b, "fleet-first-page", "h1")


def turn_next(b, first):
    b.drv.find_element(By.ID, "page-next").click()
    return b.until(lambda: status(b).startswith("Sessions %d–" % first), 15)


def test_paging(lab, b):
    log("== paging through the directory reaches every session exactly once")
    listed = broker_rows(lab, "list")
    everything = truth(lab)
    check("rdms list on the broker gives every session of the %d hosts (%d)"
          % (HOSTS, len(everything)), listed is not None and sorted(listed) == sorted(everything),
          "%d vs %d" % (len(listed or []), len(everything)))
    ok = b.until(lambda: status(b).startswith("Sessions 1–") and keys(b) == (listed or [])[:PAGE])
    check("with no filter, the first page is the first %d of rdms list" % PAGE, ok, status(b))
    seen, pages = keys(b), 1
    while b.drv.find_element(By.ID, "page-next").is_enabled() and pages < 50:
        if not turn_next(b, len(seen) + 1):
            break
        seen += keys(b)
        pages += 1
    check("Next to the last page: %d pages of at most %d, the last says it is the last"
          % (pages, PAGE), pages == -(-len(everything) // PAGE) and "(the last)" in status(b),
          "%d pages; %s" % (pages, status(b)))
    shot(b, "fleet-last-page", "#status")
    check("the pages hold every session exactly once, in the order of rdms list on the broker "
          "(host, then SessionId)", seen == listed and len(set(seen)) == len(seen),
          "%d shown, %d distinct, %d listed; first differences %r" % (
              len(seen), len(set(seen)), len(listed or []),
              [(a, z) for a, z in zip(seen, listed or []) if a != z][:3]))
    sid, a, z = lab.fleet.shared
    check("SessionId %d of %s and of %s: two rows" % (sid, a.name, z.name),
          (a.name, sid) in seen and (z.name, sid) in seen)
    b.drv.find_element(By.ID, "page-prev").click()
    ok = b.until(lambda: status(b).startswith("Sessions %d–" % ((pages - 2) * PAGE + 1)), 15)
    check("Previous goes back a page", ok and keys(b) == listed[(pages - 2) * PAGE:(pages - 1) * PAGE],
          status(b))


def filtered(lab, b, what, want, **filters):
    """Sets FILTERS; checks that the page shows WANT ([(host, SessionId)], in
    key order; at most a page) and that the rows came from rdms running the
    page's WQL.  Returns the WQL."""
    before = len(lab.recorded())
    set_filters(b, **filters)
    ok = b.until(lambda: keys(b) == want, 20)
    check("%s: the page shows exactly the %d sessions the fixtures hold" % (what, len(want)),
          ok, "shown %r, want %r; %s" % (keys(b)[:6], want[:6], status(b)))
    wql, argv = last_query(lab)
    ran = len(lab.recorded()) > before and wql is not None
    check("... the page ran rdms query with WQL: %s" % wql,
          ran and wql.startswith("SELECT * FROM Win32_VirtualDesktopSession WHERE ") and
          "--first" in argv, repr(argv))
    check("... and that WQL, run by root on the broker, gives those same rows (first)",
          ran and (broker_rows(lab, "query", wql) or [])[:PAGE] == want, repr(argv))
    return wql


def test_filters(lab, b):
    log("== the text, state and host filters are rdms's WQL at the broker")
    t = truth(lab)
    first_page = set(keys(b)) if status(b).startswith("Sessions 1–") else set()
    h1, h2, h3 = lab.fleet.hosts
    target = (h3.name, h3.index * 100000 + 77)
    wql = filtered(lab, b, "text 'C-%s-77' (any case)" % h3.name.upper(), [target],
                   text="C-%s-77" % h3.name.upper())
    check("... a LIKE on the strings (the session on %s was on no page the browser had)"
          % h3.name, wql is not None and "LIKE '%C-HV003-77%'" in wql and target not in first_page,
          wql)
    shot(b, "fleet-filter-text", "#toolbar")
    user = "fl07"
    want = sorted(k for k, v in t.items() if v[0] == user)
    filtered(lab, b, "text '%s': that user's sessions on every host" % user, want, text=user)
    want = sorted(k for k, v in t.items() if k[0] == h2.name and v[1] == fl.DISCONNECTED)
    wql = filtered(lab, b, "state Disconnected, host %s" % h2.name, want, state="4", host=h2.name)
    check("... ConnectState = 4 AND VMHostName = '%s' in the WQL" % h2.name,
          wql is not None and "ConnectState = 4" in wql and "VMHostName = '%s'" % h2.name in wql, wql)
    cells = {c["ConnectState"] for _, _, c in shown(b)}
    check("... every row says Disconnected", cells == {"Disconnected"}, repr(cells))
    shot(b, "fleet-filter-state-host", "#toolbar")
    want = sorted(k for k in t if k[0] == h3.name)
    filtered(lab, b, "host %s, first page" % h3.name, want[:PAGE], host=h3.name)
    ok = turn_next(b, PAGE + 1)
    check("... its next page: the rest of %s's %d sessions, the last" % (h3.name, len(want)),
          ok and keys(b) == want[PAGE:] and "(the last)" in status(b), status(b))
    set_filters(b)


def test_disconnect(lab, b):
    log("== Disconnect of a host's session goes through the broker, the row updates")
    h = lab.fleet.hosts[1]
    sid = next(k for k, v in sorted(h.sessions().items()) if v[1] == fl.ACTIVE and
               v[0] != OWNER and k // 100000 == h.index)
    set_filters(b, host=h.name)
    b.until(lambda: (h.name, sid) in keys(b), 20)
    baudit = len(fb.audit_rows(os.path.join(lab.broker.dir, "audit.db"), "id"))
    haudit = len(fb.host_audit(h))
    clicked = js(b, """const b = document.querySelector(
            "#sessions tr[data-host='" + arguments[0] + "'][data-session-id='" + arguments[1] +
            "'] button.disconnect"); if (b && !b.disabled) b.click(); return !!b && !b.disabled;""",
                 h.name, sid)
    check("the row of %s/%d has an enabled Disconnect" % (h.name, sid), clicked)
    row = lambda: next((c for hh, s, c in shown(b) if (hh, s) == (h.name, sid)), {})
    ok = b.until(lambda: row().get("ConnectState") == "Disconnected", 20)
    check("the row of %s/%d shows Disconnected" % (h.name, sid), ok, repr(row()))
    check("the page says it was disconnected, naming the host",
          "disconnected" in b.text("action-result") and h.name in b.text("action-result"),
          b.text("action-result"))
    check("the host's session is disconnected (its fixture)",
          wait_for(10, lambda: h.sessions()[sid][1] == fl.DISCONNECTED))
    rows = fb.audit_rows(os.path.join(lab.broker.dir, "audit.db"),
                         "user, method, result, target")[baudit:]
    check("the broker audited the Disconnect with the Cockpit user (%s) as caller" % ce.CPADMIN,
          any(r[0] == ce.CPADMIN and r[1] == "Disconnect" and r[2] == 0 and h.name in r[3]
              for r in rows), repr(rows))
    hrows = fb.host_audit(h)[haudit:]
    check("the host audited it for %s, via broker broker1" % ce.CPADMIN,
          len(hrows) == 1 and hrows[0][0] == ce.CPADMIN and hrows[0][2:4] == ("Disconnect", 0) and
          hrows[0][1].startswith("via broker broker1 for"), repr(hrows))
    shot(b, "fleet-disconnected", "#sessions tr[data-host='%s'][data-session-id='%d']"
         % (h.name, sid))
    set_filters(b)


def test_stopped(lab, b):
    log("== a stopped host shows as such on the open page")
    h = lab.fleet.hosts[2]
    lab.fleet.kill_host(h)
    want = "%s: not reachable" % h.name
    ok = b.until(lambda: want in host_list(b), 40)
    check("%s's rdmsd killed: the page shows '%s' by itself" % (h.name, want), ok,
          repr(host_list(b)))
    others = ["%s: running" % x.name for x in lab.fleet.hosts[:2]]
    check("... the other hosts still running", all(o in host_list(b) for o in others),
          repr(host_list(b)))
    set_filters(b, host=h.name)
    ok = b.until(lambda: len(keys(b)) == PAGE and all(k[0] == h.name for k in keys(b)), 20)
    check("... its sessions stay listed (the directory keeps them)", ok, status(b))
    shot(b, "fleet-host-stopped", "#hosts")
    set_filters(b)
    lab.fleet.start_host(h)
    ok = b.until(lambda: "%s: running" % h.name in host_list(b), 60)
    check("%s started again: the page shows it running" % h.name, ok, repr(host_list(b)))


def test_owner(lab):
    log("== a non-admin sees only their own sessions, fleet-wide")
    want = sorted(k for k, v in truth(lab).items() if v[0] == OWNER)
    b = ce.Browser(lab, OWNER, "fleet-owner")
    try:
        ok = b.until(lambda: keys(b) == want, 30)
        check("%s: exactly their %d sessions, on %d hosts" % (OWNER, len(want),
                                                              len({k[0] for k in want})),
              ok and len({k[0] for k in want}) == 2, "%r vs %r; %s" % (keys(b), want, status(b)))
        check("... one page, the last", "(the last)" in status(b), status(b))
        shot(b, "fleet-owner", "h1")
    finally:
        b.quit()


def scenario(lab):
    t0 = time.monotonic()
    page = lab.serve_page((ce.CPADMIN, OWNER), "fleet broker")
    if page is None:
        return
    lab.use_page(ce.CPADMIN, page, rdms=lab.wrapper)
    log("  (broker with %d hosts and cockpit-ws up: %.1f s)" % (HOSTS, time.monotonic() - t0))
    t0 = time.monotonic()
    b = ce.Browser(lab, ce.CPADMIN, "fleet-admin")
    log("  (login to the fleet's first page: %.1f s)" % (time.monotonic() - t0))
    try:
        common.run_groups([lambda: test_fleet(lab, b),
                           lambda: test_filters(lab, b),
                           lambda: test_paging(lab, b),
                           lambda: test_disconnect(lab, b),
                           lambda: test_stopped(lab, b)])
    finally:
        b.quit()
    common.run_groups([lambda: test_owner(lab)])


def main():
    return ce.run_page_test("test_cockpit_broker", Lab, scenario, ["meson", "curl", "ip"])


if __name__ == "__main__":
    sys.exit(main())
