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
const POLL_MS = 5000;

const model = {
    sessions: new Map(),     /* "host\nid" -> instance */
    sort: { key: "SessionId", dir: 1 },
    page: 0,
    fleet: false,            /* a broker: filters go to rdms as WQL */
    live: false,
    loadError: null,
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
        where.push("(" + ["UserName", "ClientMachineName", "VMHostName", "VMName",
            "DomainName", "CollectionId"].map(p => p + " LIKE " + pat).join(" OR ") + ")");
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

function load() {
    const args = model.fleet ? ["query", wqlQuery()] : ["list"];
    return rdmsJson(args).then(list => {
        model.sessions = new Map(list.map(s => [keyOf(s), s]));
        model.loadError = null;
        render();
    }).catch(ex => {
        model.loadError = describe(ex);
        render();
    });
}

function matches(s) {
    if (model.fleet)
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

function cell(tr, text, header) {
    const td = document.createElement(header ? "th" : "td");
    if (header)
        td.scope = "row";
    td.textContent = text == null ? "" : String(text);
    tr.appendChild(td);
    return td;
}

function button(label, cls, onClick, describedBy) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn " + cls;
    b.textContent = label;
    b.setAttribute("aria-describedby", describedBy);
    b.addEventListener("click", onClick);
    return b;
}

function renderHead() {
    const tr = $("sessions-head");
    tr.replaceChildren();
    for (const [key, label] of COLUMNS) {
        const th = document.createElement("th");
        th.scope = "col";
        th.dataset.key = key;
        const sorted = model.sort.key === key;
        th.setAttribute("aria-sort", sorted ? (model.sort.dir > 0 ? "ascending" : "descending") : "none");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "sort";
        b.textContent = label + (sorted ? (model.sort.dir > 0 ? " ▲" : " ▼") : "");
        b.addEventListener("click", () => {
            model.sort = { key, dir: sorted ? -model.sort.dir : 1 };
            render();
            tr.querySelector("th[data-key='" + key + "'] button").focus();
        });
        th.appendChild(b);
        tr.appendChild(th);
    }
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = "Actions";
    tr.appendChild(th);
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
    const all = [...model.sessions.values()];
    const rows = all.filter(matches).sort(compare);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    model.page = Math.min(model.page, pages - 1);
    for (const s of rows.slice(model.page * PAGE_SIZE, (model.page + 1) * PAGE_SIZE)) {
        const tr = document.createElement("tr");
        tr.dataset.sessionId = s.SessionId;
        tr.dataset.host = s.VMHostName;
        tr.id = "row-" + s.SessionId + "-" + s.VMHostName.replace(/[^A-Za-z0-9_-]/g, "_");
        for (const [key] of COLUMNS)
            cell(tr, key === "ConnectState" ? stateWord(s[key]) : s[key], key === "SessionId");
        const td = document.createElement("td");
        td.className = "actions";
        tr.firstChild.id = tr.id + "-name";   /* names the row's buttons */
        const first = tr.firstChild.id;
        const disc = button("Disconnect", "secondary disconnect", () => act(s, "disconnect"), first);
        disc.disabled = s.ConnectState !== ACTIVE;
        td.append(disc,
                  button("Log off", "secondary logoff", () => confirmLogoff(s), first),
                  button("Send message", "secondary message", () => openMessage(s), first));
        tr.appendChild(td);
        tbody.appendChild(tr);
    }
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
    if (model.fleet) {          /* the broker's list is a WQL answer: ask again */
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
    $("dlg-logoff").returnValue = "";      /* Escape keeps the last value */
    $("dlg-logoff").showModal();
    $("logoff-cancel").focus();
}

let messageTarget = null;
function openMessage(s) {
    messageTarget = s;
    $("dlg-message-target").textContent = "To " + sessionName(s) + ".";
    $("form-message").reset();
    $("dlg-message").returnValue = "";
    $("dlg-message").showModal();
    $("msg-title").focus();
}

/* ---- hosts (a broker shows the fleet) --------------------------------------- */

const SERVER_STATES = { 1: "not reachable", 3: "running", 8: "refused" };

function loadHosts() {
    return rdmsJson(["query", "SELECT * FROM Win32_RDSHServer"]).then(hosts => {
        model.fleet = hosts.length > 1 || hosts.some(h => h.ConnectionBroker);
        $("hosts").hidden = !model.fleet;
        $("host-filter").hidden = !model.fleet;
        if (!model.fleet)
            return;
        const list = $("host-list");
        const select = $("filter-host");
        list.replaceChildren();
        for (const h of hosts) {
            const li = document.createElement("li");
            li.textContent = h.Name + ": " + (SERVER_STATES[h.ServerState] || "state " + h.ServerState);
            list.appendChild(li);
            const o = document.createElement("option");
            o.value = h.Name;
            o.textContent = h.Name;
            select.appendChild(o);
        }
    }).catch(() => { /* an older rdmsd: a single host */ });
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

/* ---- wiring ------------------------------------------------------------------ */

function selectTab(which) {
    for (const t of ["sessions", "audit"]) {
        const on = t === which;
        $("tab-" + t).setAttribute("aria-selected", on ? "true" : "false");
        $("tab-" + t).tabIndex = on ? 0 : -1;
        $("panel-" + t).hidden = !on;
    }
    if (which === "audit")
        loadAudit();
}

function init() {
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
        if (!model.fleet)
            return render();
        clearTimeout(typing);
        typing = setTimeout(load, 300);
    };
    $("filter-text").addEventListener("input", filterChanged);
    $("filter-state").addEventListener("change", filterChanged);
    $("filter-host").addEventListener("change", filterChanged);
    $("toolbar").addEventListener("submit", e => e.preventDefault());
    $("refresh").addEventListener("click", () => load());
    $("page-prev").addEventListener("click", () => { model.page--; render() });
    $("page-next").addEventListener("click", () => { model.page++; render() });

    $("tab-sessions").addEventListener("click", () => selectTab("sessions"));
    $("tab-audit").addEventListener("click", () => selectTab("audit"));
    document.querySelector("[role=tablist]").addEventListener("keydown", e => {
        if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
            const next = $("tab-sessions").getAttribute("aria-selected") === "true" ? "audit" : "sessions";
            selectTab(next);
            $("tab-" + next).focus();
        }
    });
    $("audit-form").addEventListener("submit", e => { e.preventDefault(); loadAudit() });

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

    loadHosts().then(() => { watch(); return load() });
}

cockpit.transport.wait(() => {
    init();
    document.body.dataset.ready = "1";
});
