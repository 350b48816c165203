/* rdms.js -- the Remote Desktop Sessions page of Cockpit.
 *
 * Every call runs the rdms command through cockpit.spawn as the logged-in
 * user (never with "superuser": that would make rdmsd see root and lose the
 * person from the audit), so rdmsd's own rules decide what the user may see
 * and do.  Every value is put into the page with textContent: client names,
 * user names and messages are chosen by other people.
 */
/* global cockpit */
"use strict";

const $ = id => document.getElementById(id);

/* The manifest's "config" (overridable in /etc/cockpit/rdms.override.json):
 * the program, and a config file for it when not /etc/rdms/rdmsd.conf. */
const CONFIG = Object.assign({ rdms: "rdms", rdms_config: "" },
                             ((cockpit.manifests || {}).rdms || {}).config || {});

/* Win32_VirtualDesktopSession's ConnectState (WTS_CONNECTSTATE_CLASS), as
 * src/backend/backend.c names them. */
const STATES = ["Active", "Connected", "ConnectQuery", "Shadow", "Disconnected",
    "Idle", "Listen", "Reset", "Down", "Init"];
const ACTIVE = 0;
const stateWord = s => STATES[s] || ("Unknown (" + s + ")");

const COLUMNS = [
    ["SessionId", "Session"], ["UserName", "User"], ["DomainName", "Domain"],
    ["ConnectState", "State"], ["ClientMachineName", "Client"], ["VMName", "VM name"],
    ["VMHostName", "Host"], ["CollectionId", "Collection"],
];
const PAGE_SIZE = 100;
/* Up to this many sessions the page holds them all (sorts any column, filters
 * as you type); beyond, and always on a broker, rdms pages, filters (WQL) and
 * orders them (by host and SessionId): `rdms query WQL --first --after`. */
const ALL_MAX = 1000;
const POLL_MS = 5000;

const model = {
    sessions: new Map(),     /* "host\nid" -> instance (all of them, when not paged) */
    sort: { key: "SessionId", dir: 1 },
    page: 0,
    fleet: false,            /* a broker */
    paged: false,            /* rdms pages and filters (a broker, or over ALL_MAX sessions) */
    pageRows: [],            /* paged: the page shown */
    pageAfter: [null],       /* paged: --after of each page seen (null: the first) */
    more: false,             /* paged: a next page may follow */
    live: false,
    loadError: null,
    loads: 0,                /* answers to older loads are dropped */
};
const keyOf = s => s.VMHostName + "\n" + s.SessionId;

/* ---- running rdms ---------------------------------------------------------- */

/* "WBEM_E_ACCESS_DENIED" -> "Access denied" */
function wbemWords(name) {
    const w = name.replace(/^WBEM_[A-Z]_/, "").toLowerCase().replace(/_/g, " ");
    return w.charAt(0).toUpperCase() + w.slice(1);
}

/* An rdms failure (or the spawn's) in words. */
function describe(ex) {
    if (ex && ex.problem === "not-found")
        return "The rdms command is not installed here (" + CONFIG.rdms +
            " was not found): install rdms on this host.";
    if (ex && ex.problem)
        return "rdms could not be run: " + cockpit.message(ex);
    const text = String((ex && ex.message) || ex || "").trim();
    const m = /(WBEM_[EF]_[A-Z_]+) \((0x[0-9a-fA-F]+)\): ?([^]*)/.exec(text);
    if (m) {
        let words = wbemWords(m[1]) + ": " + m[1];
        if (m[1] === "WBEM_E_TRANSPORT_FAILURE")
            words = "rdmsd is not running or cannot be reached: " + m[1];
        return words + (m[3] ? " (" + m[3].trim() + ")" : "");
    }
    return text.replace(/^rdms: /, "") || "rdms failed (exit status " +
        (ex && ex.exit_status) + ")";
}

function rdmsArgs(args) {
    const argv = [CONFIG.rdms];
    if (CONFIG.rdms_config)
        argv.push("--config", CONFIG.rdms_config);
    return argv.concat(args);
}

function rdms(args) {
    return new Promise((resolve, reject) => {
        cockpit.spawn(rdmsArgs(args), { err: "message" })
                .then(out => resolve(out))
                .catch(ex => reject(ex));
    });
}

const rdmsJson = args => rdms(args.concat("--json")).then(out => JSON.parse(out || "[]"));

/* ---- WQL (a broker filters there, not in the browser) ---------------------- */

const wqlString = s => "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
const likeEscape = s => s.replace(/[[%_]/g, c => "[" + c + "]");

function wqlQuery() {
    const where = [];
    const text = $("filter-text").value.trim();
    const state = $("filter-state").value;
    const host = $("filter-host").value;
    if (host)
        where.push("VMHostName = " + wqlString(host));
    if (state !== "")
        where.push("ConnectState = " + Number(state));
    if (text) {
        const pat = wqlString("%" + likeEscape(text) + "%");
        const any = ["UserName", "ClientMachineName", "VMHostName", "VMName",
            "DomainName", "CollectionId"].map(p => p + " LIKE " + pat);
        if (/^[0-9]{1,10}$/.test(text) && Number(text) <= 4294967295)
            any.push("SessionId = " + text);
        const word = STATES.findIndex(w => w.toLowerCase() === text.toLowerCase());
        if (word >= 0)
            any.push("ConnectState = " + word);
        where.push("(" + any.join(" OR ") + ")");
    }
    return "SELECT * FROM Win32_VirtualDesktopSession" +
        (where.length ? " WHERE " + where.join(" AND ") : "");
}

/* ---- the session list ------------------------------------------------------ */

function setStatus(id, text, isError) {
    const el = $(id);
    el.textContent = text;
    el.classList.toggle("error", !!isError);
}

/* Reloads what is shown: every session, or (paged) the current page. */
function load() {
    const seq = ++model.loads;
    const current = () => seq === model.loads;
    const failed = ex => {
        if (!current())
            return;
        model.loadError = describe(ex);
        render();
    };
    if (model.paged)
        return loadPage(current).catch(failed);
    /* one more than ALL_MAX: whether there are too many to hold */
    return rdmsJson(["list", "--first", String(ALL_MAX + 1)]).then(list => {
        if (!current())
            return;
        if (list.length > ALL_MAX) {
            model.paged = true;
            return load();
        }
        model.sessions = new Map(list.map(s => [keyOf(s), s]));
        model.loadError = null;
        render();
    }).catch(failed);
}

/* Paged: the page after model.pageAfter[model.page], filtered by rdms. */
function loadPage(current) {
    const after = model.pageAfter[model.page];
    const args = ["query", wqlQuery(), "--first", String(PAGE_SIZE + 1)];
    if (after)
        args.push("--after", after);
    return rdmsJson(args).then(list => {
        if (!current())
            return;
        model.more = list.length > PAGE_SIZE;
        model.pageRows = list.slice(0, PAGE_SIZE);
        const last = model.pageRows[model.pageRows.length - 1];
        model.pageAfter.length = model.page + 1;
        if (last)
            model.pageAfter.push(last.VMHostName + "," + last.SessionId);
        if (model.pageRows.length === 0 && model.page > 0) {   /* the sessions went away */
            model.page--;
            return loadPage(current);
        }
        model.loadError = null;
        render();
    });
}

/* Paged: from the first page again (the filter changed). */
function firstPage() {
    model.page = 0;
    model.pageAfter = [null];
    return load();
}

function matches(s) {
    if (model.paged)
        return true;          /* rdms filtered already */
    const state = $("filter-state").value;
    if (state !== "" && Number(state) !== s.ConnectState)
        return false;
    const text = $("filter-text").value.trim().toLowerCase();
    if (!text)
        return true;
    return COLUMNS.some(([key]) => {
        const v = key === "ConnectState" ? stateWord(s[key]) : s[key];
        return String(v == null ? "" : v).toLowerCase().includes(text);
    });
}

function compare(a, b) {
    const { key, dir } = model.sort;
    const x = a[key];
    const y = b[key];
    if (typeof x === "number" && typeof y === "number")
        return (x - y) * dir;
    return String(x == null ? "" : x).localeCompare(String(y == null ? "" : y)) * dir ||
        (a.SessionId - b.SessionId);
}

/* A cell with TEXT as text; a long value is cut with an ellipsis (rdms.css),
 * the whole of it in the title. */
function cell(tr, text, header, cls) {
    const td = document.createElement(header ? "th" : "td");
    const value = text == null ? "" : String(text);
    if (header)
        td.scope = "row";
    td.textContent = value;
    if (cls) {
        td.className = cls;
        if (value.length > 12)
            td.title = value;
    }
    tr.appendChild(td);
    return td;
}

function button(label, cls, onClick, what) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "pf-c-button pf-m-secondary pf-m-small btn secondary " + cls;
    b.textContent = label;
    b.setAttribute("aria-label", label + " " + what);
    b.addEventListener("click", onClick);
    return b;
}

/* Paged, rdms orders by the key (host, then SessionId): no column sorts. */
const sortedKey = () => model.paged ? (model.fleet ? "VMHostName" : "SessionId") : model.sort.key;

function renderHead() {
    const tr = $("sessions-head");
    const focused = document.activeElement && document.activeElement.closest("#sessions-head th");
    const refocus = focused ? focused.dataset.key : null;
    tr.replaceChildren();
    for (const [key, label] of COLUMNS) {
        const th = document.createElement("th");
        th.scope = "col";
        th.dataset.key = key;
        const sorted = sortedKey() === key;
        const dir = model.paged ? 1 : model.sort.dir;
        th.setAttribute("aria-sort", sorted ? (dir > 0 ? "ascending" : "descending") : "none");
        if (model.paged) {
            th.textContent = label;
            tr.appendChild(th);
            continue;
        }
        th.className = "pf-c-table__sort" + (sorted ? " pf-m-selected" : "");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "pf-c-table__button sort";
        const text = document.createElement("span");
        text.className = "pf-c-table__text";
        text.textContent = label;
        const arrow = document.createElement("span");
        arrow.className = "pf-c-table__sort-indicator sort-arrow";
        arrow.setAttribute("aria-hidden", "true");
        arrow.textContent = sorted ? (dir > 0 ? "▲" : "▼") : "↕";
        b.append(text, arrow);
        b.addEventListener("click", () => {
            model.sort = { key, dir: sorted ? -model.sort.dir : 1 };
            render();
        });
        th.appendChild(b);
        tr.appendChild(th);
    }
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = "Actions";
    tr.appendChild(th);
    if (refocus) {
        const b = tr.querySelector("th[data-key='" + refocus + "'] button");
        if (b)
            b.focus();
    }
}

function render() {
    renderHead();
    const tbody = $("sessions").tBodies[0];
    tbody.replaceChildren();
    if (model.loadError) {
        setStatus("status", model.loadError, true);
        $("page-info").textContent = "";
        return;
    }
    $("sort-hint").hidden = !model.paged;
    $("sort-hint").textContent = model.paged
        ? "Sorted by host and session: " + (model.fleet ? "on a broker" : "with more than " +
          ALL_MAX + " sessions") + " rdms filters and pages them, " + PAGE_SIZE + " at a time."
        : "";
    if (model.paged)
        return renderPaged(tbody);
    const all = [...model.sessions.values()];
    const rows = all.filter(matches).sort(compare);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    model.page = Math.min(model.page, pages - 1);
    renderRows(tbody, rows.slice(model.page * PAGE_SIZE, (model.page + 1) * PAGE_SIZE));
    if (all.length === 0)
        setStatus("status", model.fleet && wqlFiltered()
            ? "No session matches the filter."
            : "No sessions: there is no session here that you may see" +
              " (members of the admin group see every session, anyone else their own).");
    else if (rows.length === 0)
        setStatus("status", "No session matches the filter (" + all.length + " in all).");
    else
        setStatus("status", rows.length + (rows.length === 1 ? " session" : " sessions") +
                  (rows.length !== all.length ? " match (" + all.length + " in all)." : "."));
    $("page-info").textContent = "Page " + (model.page + 1) + " of " + pages;
    $("page-prev").disabled = model.page === 0;
    $("page-next").disabled = model.page >= pages - 1;
}

function renderRows(tbody, rows) {
    const frag = document.createDocumentFragment();
    for (const s of rows) {
        const tr = document.createElement("tr");
        tr.dataset.sessionId = s.SessionId;
        tr.dataset.host = s.VMHostName;
        for (const [key] of COLUMNS)
            cell(tr, key === "ConnectState" ? stateWord(s[key]) : s[key], key === "SessionId",
                 key === "SessionId" || key === "ConnectState" ? null
                     : key === "ClientMachineName" || key === "UserName" ? "value wide" : "value");
        const td = document.createElement("td");
        td.className = "actions";
        const what = sessionName(s);
        const disc = button("Disconnect", "disconnect", () => act(s, "disconnect"), what);
        disc.disabled = s.ConnectState !== ACTIVE;
        const box = document.createElement("div");
        box.className = "actions-box";
        box.append(disc,
                   button("Log off", "logoff", () => confirmLogoff(s), what),
                   button("Send message", "message", () => openMessage(s), what));
        td.appendChild(box);
        tr.appendChild(td);
        frag.appendChild(tr);
    }
    tbody.appendChild(frag);
}

function renderPaged(tbody) {
    const rows = model.pageRows;
    const first = model.page * PAGE_SIZE + 1;
    renderRows(tbody, rows);
    if (rows.length === 0)
        setStatus("status", wqlFiltered() ? "No session matches the filter."
            : "No sessions: there is no session here that you may see" +
              " (members of the admin group see every session, anyone else their own).");
    else
        setStatus("status", "Sessions " + first + "–" + (first + rows.length - 1) +
                  (model.more ? " (more follow)" : " (the last)") +
                  (wqlFiltered() ? " of those that match." : "."));
    $("page-info").textContent = "Page " + (model.page + 1);
    $("page-prev").disabled = model.page === 0;
    $("page-next").disabled = !model.more;
}

const wqlFiltered = () => !!($("filter-text").value.trim() || $("filter-state").value ||
                             $("filter-host").value);

/* ---- live updates: rdms watch --json, else a listing every few seconds ---- */

let pollTimer = null;
let watchProc = null;
let refilter = null;

function setLive(live, why) {
    model.live = live;
    $("live").textContent = live ? "Live updates"
        : "Refreshing every " + POLL_MS / 1000 + " s" + (why ? " (live updates unavailable: " + why + ")" : "");
    if (live) {
        clearInterval(pollTimer);
        pollTimer = null;
    } else if (!pollTimer) {
        pollTimer = setInterval(() => { if (!document.hidden) load() }, POLL_MS);
    }
}

function applyEvent(ev) {
    if (model.paged) {          /* the page is a WQL answer: ask again */
        clearTimeout(refilter);
        refilter = setTimeout(load, 500);
        return;
    }
    const s = ev.target;
    if (!s || s.SessionId === undefined)
        return;
    if (ev.event === "Deletion")
        model.sessions.delete(keyOf(s));
    else
        model.sessions.set(keyOf(s), s);
    render();
}

function watch() {
    let buf = "";
    const proc = cockpit.spawn(rdmsArgs(["watch", "--json"]), { err: "message" });
    watchProc = proc;
    setLive(true);
    proc.stream(chunk => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line)
                continue;
            try {
                applyEvent(JSON.parse(line));
            } catch (e) {
                console.warn("rdms watch: not JSON:", line);
            }
        }
    });
    proc.then(() => watchEnded("rdms watch ended"))
            .catch(ex => watchEnded(describe(ex)));
}

function watchEnded(why) {
    if (watchProc === null)
        return;
    watchProc = null;
    setLive(false, why);
    load();
    setTimeout(() => { if (!watchProc) watch() }, 30000);   /* try live again later */
}

/* ---- actions ---------------------------------------------------------------- */

const sessionName = s => "session " + s.SessionId + " of " + s.UserName +
    (model.fleet ? " on " + s.VMHostName : "");
/* the object path, so that a broker's sessions are named with their host */
const sessionPath = s => "Win32_VirtualDesktopSession.VMHostName=\"" +
    s.VMHostName.replace(/\\/g, "\\\\").replace(/"/g, "\\\"") + "\",SessionId=" + s.SessionId;

const DONE = { disconnect: "disconnected", logoff: "logged off" };

function showResult(text, isError) {
    setStatus("action-result", text, isError);
}

function act(s, verb, extra) {
    showResult(verb === "message" ? "Sending the message to " + sessionName(s) + "…"
        : (verb === "disconnect" ? "Disconnecting " : "Logging off ") + sessionName(s) + "…");
    return rdms([verb, sessionPath(s)].concat(extra || [])).then(() => {
        showResult(verb === "message" ? "Message shown in " + sessionName(s) + "."
            : sessionName(s).replace(/^s/, "S") + " " + DONE[verb] + ".");
        return load();
    }).catch(ex => {
        showResult((verb === "message" ? "Send message" : verb === "disconnect" ? "Disconnect" : "Log off") +
                   " of " + sessionName(s) + " failed: " + describe(ex), true);
    });
}

let logoffTarget = null;
function confirmLogoff(s) {
    logoffTarget = s;
    $("dlg-logoff-text").textContent = "Log off " + sessionName(s) +
        "? Its programs end, and unsaved work is lost.";
    showDialog($("dlg-logoff"), $("logoff-cancel"));
}

let messageTarget = null;
function openMessage(s) {
    messageTarget = s;
    $("dlg-message-target").textContent = "To " + sessionName(s) + ".";
    $("form-message").reset();
    showDialog($("dlg-message"), $("msg-title"));
}

/* ---- hosts (a broker shows the fleet) --------------------------------------- */

const SERVER_STATES = { 1: "not reachable", 3: "running", 8: "refused" };

/* A broker's hosts and their states: read at the start and again every few
 * seconds, as the sessions are when there are no live updates -- a host that
 * stops changes no session, so no event would tell. */
function loadHosts() {
    return rdmsJson(["query", "SELECT * FROM Win32_RDSHServer"]).then(hosts => {
        model.fleet = hosts.length > 1 || hosts.some(h => h.ConnectionBroker);
        model.paged = model.paged || model.fleet;
        $("hosts").hidden = !model.fleet;
        $("host-filter").hidden = !model.fleet;
        if (model.fleet)
            renderHosts(hosts);
    }).catch(() => { /* an older rdmsd: a single host */ });
}

function renderHosts(hosts) {
    const list = $("host-list");
    const select = $("filter-host");
    const chosen = select.value;
    list.replaceChildren();
    select.replaceChildren(select.options[0]);      /* "All hosts" */
    for (const h of hosts) {
        const li = document.createElement("li");
        li.textContent = h.Name + ": " + (SERVER_STATES[h.ServerState] || "state " + h.ServerState);
        list.appendChild(li);
        const o = document.createElement("option");
        o.value = h.Name;
        o.textContent = h.Name;
        select.appendChild(o);
    }
    /* the host filtered on stays chosen; one that was removed is a filter
     * that matches nothing, said as such */
    if (chosen && !hosts.some(h => h.Name === chosen)) {
        const o = document.createElement("option");
        o.value = chosen;
        o.textContent = chosen + " (no longer a host)";
        select.appendChild(o);
    }
    select.value = chosen;
}

let hostsTimer = null;
function watchHosts() {
    if (model.fleet && !hostsTimer)
        hostsTimer = setInterval(() => { if (!document.hidden) loadHosts() }, POLL_MS);
}

/* ---- the audit view ---------------------------------------------------------- */

function loadAudit() {
    const since = $("audit-since").value;
    setStatus("audit-status", "Loading the audit trail…");
    return rdmsJson(["audit"].concat(since ? ["--since", since] : [])).then(rows => {
        const tbody = $("audit").tBodies[0];
        tbody.replaceChildren();
        for (const r of rows) {
            const tr = document.createElement("tr");
            cell(tr, r.time);
            cell(tr, r.user + " (uid " + r.uid + ")");
            cell(tr, r.protocol);
            cell(tr, r.source);
            cell(tr, r.method);
            cell(tr, r.result === 0 ? "Done" : wbemWords(r.result_name || "") + ": " + r.result_name);
            cell(tr, r.target);
            cell(tr, r.detail);
            tbody.appendChild(tr);
        }
        setStatus("audit-status", rows.length ? rows.length + " audit records." : "No audit records" +
                  (since ? " since " + since + "." : "."));
    }).catch(ex => {
        $("audit").tBodies[0].replaceChildren();
        setStatus("audit-status", "The audit trail is for members of the admin group and root: " +
                  describe(ex), true);
    });
}

/* ---- theme: Cockpit's shell stores the choice; follow it and the system ---- */

function applyTheme() {
    let style = "auto";
    try {
        style = window.localStorage.getItem("shell:style") || "auto";
    } catch (e) { /* no storage: follow the system */ }
    const dark = style === "dark" ||
        (style === "auto" && window.matchMedia("(prefers-color-scheme: dark)").matches);
    document.documentElement.classList.toggle("pf-theme-dark", dark);
    document.documentElement.classList.toggle("pf-v5-theme-dark", dark);
}

/* PatternFly 4's sheet (Cockpit's shell) is there: its classes carry the look. */
function detectPatternFly() {
    const v = getComputedStyle(document.documentElement).getPropertyValue("--pf-global--primary-color--100");
    document.documentElement.classList.toggle("rdms-pf", v.trim() !== "");
}

/* ---- dialogs: modal, Tab stays inside (the page is a frame: the shell
 * around it is not inert), Escape closes (the native cancel) ------------------ */

let opener = null;

function trapFocus(dlg) {
    dlg.addEventListener("keydown", e => {
        if (e.key !== "Tab")
            return;
        const items = [...dlg.querySelectorAll("input, textarea, select, button")]
                .filter(el => !el.disabled && el.offsetParent !== null);
        if (items.length === 0)
            return;
        const first = items[0], last = items[items.length - 1];
        if (e.shiftKey && document.activeElement === first) {
            e.preventDefault();
            last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
            e.preventDefault();
            first.focus();
        }
    });
    dlg.addEventListener("close", () => {
        /* back where the user was, if it is still there */
        if (opener && document.contains(opener))
            opener.focus();
        opener = null;
    });
}

function showDialog(dlg, focus) {
    opener = document.activeElement;
    dlg.returnValue = "";        /* Escape keeps the last value */
    dlg.showModal();
    focus.focus();
}

/* ---- wiring ------------------------------------------------------------------ */

const TABS = ["sessions", "audit"];

function selectTab(which) {
    for (const t of TABS) {
        const on = t === which;
        $("tab-" + t).setAttribute("aria-selected", on ? "true" : "false");
        $("tab-" + t).tabIndex = on ? 0 : -1;
        $("tab-" + t).parentElement.classList.toggle("pf-m-current", on);
        $("panel-" + t).hidden = !on;
    }
    if (which === "audit")
        loadAudit();
}

function init() {
    detectPatternFly();
    applyTheme();
    window.addEventListener("storage", applyTheme);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", applyTheme);

    for (let i = 0; i < STATES.length; i++) {
        const o = document.createElement("option");
        o.value = String(i);
        o.textContent = STATES[i];
        $("filter-state").appendChild(o);
    }
    let typing = null;
    const filterChanged = () => {
        model.page = 0;
        if (!model.paged)
            return render();
        clearTimeout(typing);
        typing = setTimeout(firstPage, 300);
    };
    $("filter-text").addEventListener("input", filterChanged);
    $("filter-state").addEventListener("change", filterChanged);
    $("filter-host").addEventListener("change", filterChanged);
    $("toolbar").addEventListener("submit", e => e.preventDefault());
    $("refresh").addEventListener("click", () => {
        if (model.fleet)
            loadHosts();
        load();
    });
    const turn = by => {
        model.page += by;
        if (model.paged)
            load();
        else
            render();
    };
    $("page-prev").addEventListener("click", () => turn(-1));
    $("page-next").addEventListener("click", () => turn(1));

    $("tab-sessions").addEventListener("click", () => selectTab("sessions"));
    $("tab-audit").addEventListener("click", () => selectTab("audit"));
    document.querySelector("[role=tablist]").addEventListener("keydown", e => {
        const at = TABS.findIndex(t => $("tab-" + t).getAttribute("aria-selected") === "true");
        const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: TABS.length - 1 }[e.key];
        if (to === undefined)
            return;
        e.preventDefault();
        const next = TABS[(to + TABS.length) % TABS.length];
        selectTab(next);
        $("tab-" + next).focus();
    });
    $("audit-form").addEventListener("submit", e => { e.preventDefault(); loadAudit() });

    trapFocus($("dlg-logoff"));
    trapFocus($("dlg-message"));
    $("dlg-logoff").addEventListener("close", () => {
        if ($("dlg-logoff").returnValue === "logoff" && logoffTarget)
            act(logoffTarget, "logoff");
        logoffTarget = null;
    });
    $("msg-cancel").addEventListener("click", () => $("dlg-message").close("cancel"));
    $("dlg-message").addEventListener("close", () => {
        if ($("dlg-message").returnValue === "send" && messageTarget)
            act(messageTarget, "message", ["--title", $("msg-title").value,
                "--message", $("msg-text").value]);
        messageTarget = null;
    });

    loadHosts().then(() => { watchHosts(); watch(); return load() });
}

cockpit.transport.wait(() => {
    init();
    document.body.dataset.ready = "1";
});
