// build-swarm dashboard: plain JavaScript, no build step. Reads the gateway API and follows
// /api/v1/events (Server-Sent Events) so the page changes without a reload.
"use strict";

const STATES = ["needed", "leased", "received", "published", "quarantined", "blocked", "cancelled", "withdrawn"];
const ACTIVITIES = ["idle", "building", "uploading", "draining", "grounded", "offline", "pending"];
const REFRESH_MS = 5000;
const MAX_EVENTS = 100;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function ago(ms) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

function setText(id, value) {
  const e = $(id);
  if (e && e.textContent !== String(value)) e.textContent = String(value);
}

// --- status: counts, orchestrators, runs ---
function renderStatus(s) {
  for (const a of ACTIVITIES) setText("drones-" + a + "-count", (s.drones && s.drones[a]) || 0);
  setText("cores-count", s.cores || 0);
  for (const st of STATES) setText("queue-" + st + "-count", (s.queue && s.queue[st]) || 0);

  const orchs = $("orchestrators");
  orchs.replaceChildren(...(s.orchestrators || []).map((o) =>
    el("li", { id: "orchestrator-" + o.name, class: o.up ? "up" : "down" },
      (o.up ? "● " : "○ ") + o.name + " — " + (o.up ? o.ready + " ready, " + o.drones + " drones" : "down: " + o.error))));
  $("unrouted").replaceChildren(...(s.unrouted || []).map((u) =>
    el("li", { id: "unrouted-" + u.name }, u.name + ": " + u.message)));
  renderRuns(s.runs || [], s.queue || {});
}

function runCounts(run) {
  for (const key of ["queue", "counts", "states", "by_state"]) {
    if (run[key] && typeof run[key] === "object") return run[key];
  }
  const out = {};
  for (const st of STATES) if (typeof run[st] === "number") out[st] = run[st];
  return out;
}

function progressBar(id, title, counts) {
  const total = STATES.reduce((n, st) => n + (counts[st] || 0), 0);
  const done = ["published", "quarantined", "blocked", "cancelled", "withdrawn"].reduce((n, st) => n + (counts[st] || 0), 0);
  const bar = el("div", { class: "bar", role: "img", "aria-label": title });
  for (const st of STATES) {
    const n = counts[st] || 0;
    if (!n) continue;
    bar.append(el("span", { id: id + "-" + st, class: "state-" + st, style: "width:" + (100 * n / total) + "%",
      title: st + ": " + n, "data-count": n }));
  }
  return el("div", { class: "run", id: id, "data-total": total },
    el("div", { class: "run-title" }, el("span", {}, title), el("span", { id: id + "-done" }, done + " / " + total + " done")),
    bar);
}

function renderRuns(runs, totals) {
  const box = $("runs");
  const bars = runs.map((run) => {
    const rid = run.id !== undefined ? run.id : run.run;
    const orch = run.orchestrator || "";
    const title = (orch ? orch + " " : "") + "run " + rid + (run.paused ? " (paused)" : "") + (run.state ? " — " + run.state : "");
    return progressBar("run-" + orch + "-" + rid, title, runCounts(run));
  });
  if (!bars.length) bars.push(progressBar("run-total", "all orchestrators", totals));
  box.replaceChildren(...bars);
  if (!$("legend").childElementCount)
    $("legend").replaceChildren(...STATES.map((st) => el("span", {}, el("i", { class: "state-" + st }), st)));
}

// --- drones table ---
function fingerprintCell(d) {
  if (d.approval !== "approved") return el("td", { class: "fingerprint", id: "drone-" + d.name + "-fingerprint" }, "—");
  const keys = Object.keys(d.fingerprint_diff || {});
  let text = "ok";
  if (!d.fingerprint_ok) {
    text = keys.length ? "differs: " + keys.join(", ") : (d.message || "no orchestrator accepts it");
  }
  const cell = el("td", { class: "fingerprint", id: "drone-" + d.name + "-fingerprint" }, text);
  if (keys.length) cell.title = keys.map((k) => k + ": drone=" + JSON.stringify(d.fingerprint_diff[k].drone) +
    " reference=" + JSON.stringify(d.fingerprint_diff[k].reference)).join("\n");
  return cell;
}

function renderDrones(nodes) {
  const rows = nodes.map((d) => {
    const cls = [d.activity, d.approval !== "approved" ? d.approval : "", d.fingerprint_ok ? "" : "mismatch"].join(" ").trim();
    const addr = d.report_ip + (d.source_ip && d.source_ip !== d.report_ip ? " (from " + d.source_ip + ")" : "");
    return el("tr", { id: "drone-" + d.name, class: cls, "data-activity": d.activity, "data-approval": d.approval },
      el("td", { id: "drone-" + d.name + "-name" }, d.name),
      el("td", { id: "drone-" + d.name + "-approval" }, d.approval),
      el("td", { id: "drone-" + d.name + "-activity" }, d.activity),
      el("td", { id: "drone-" + d.name + "-atom", class: "atom" }, d.atom || ""),
      el("td", { id: "drone-" + d.name + "-cores" }, d.cores),
      el("td", { id: "drone-" + d.name + "-last-seen", "data-ms": d.last_seen_ms }, ago(d.last_seen_ms)),
      el("td", { id: "drone-" + d.name + "-orchestrator" }, d.orchestrator_name || d.message || ""),
      el("td", { id: "drone-" + d.name + "-addresses" }, addr),
      fingerprintCell(d));
  });
  $("drones-body").replaceChildren(...rows);
}

// --- waiting requests and failures ---
function renderWaiting(items) {
  $("waiting").replaceChildren(...items.slice(0, 100).map((q, i) =>
    el("li", { id: "waiting-" + i }, el("span", { class: "atom" }, q.atom), " ",
      el("span", { class: "reason" }, q.reason || "ready"))));
}

function renderFailures(items) {
  $("failures").replaceChildren(...items.slice(0, 100).map((q, i) => {
    // Only a build id makes a log link (a request's own id is not one).
    const build = q.build_id !== undefined ? q.build_id : q.last_build_id;
    const href = build !== undefined ? "/api/v1/builds/" + encodeURIComponent(build) + "/log" +
      (q.orchestrator ? "?orchestrator=" + encodeURIComponent(q.orchestrator) : "") : null;
    return el("li", { id: "failure-" + i }, el("span", { class: "atom" }, q.atom), " ",
      el("span", { class: "reason" }, (q.state || "") + (q.reason ? ": " + q.reason : "")), " ",
      href ? el("a", { href: href, target: "_blank", id: "failure-" + i + "-log" }, "log") : null);
  }));
}

// --- events ---
function eventText(e) {
  const d = e.data;
  let detail = "";
  if (d && typeof d === "object") {
    // The source column already names the orchestrator of relayed events; atoms print as they are.
    const keys = e.source === "orchestrator"
      ? ["atom", "activity", "to", "reason", "message", "state", "detail"]
      : ["atom", "activity", "orchestrator", "name", "to", "reason", "message", "state", "detail"];
    detail = keys.filter((k) => d[k] !== undefined && d[k] !== "")
      .map((k) => (k === "atom" ? String(d[k]).replace(/^=/, "") : k + "=" + d[k])).join(" ");
  } else if (d !== undefined) {
    detail = String(d);
  }
  return [e.kind, e.drone || (d && d.drone) || "", detail].filter(Boolean).join(" ");
}

function eventItem(e) {
  const t = new Date(e.ts_ms || Date.now());
  return el("li", { class: "event event-" + e.kind, "data-kind": e.kind },
    el("span", { class: "event-time" }, t.toLocaleTimeString()),
    el("span", { class: "event-source" }, e.source === "orchestrator" ? e.orchestrator : "gateway"),
    eventText(e));
}

function addEvent(e) {
  const list = $("events");
  list.prepend(eventItem(e));
  while (list.childElementCount > MAX_EVENTS) list.lastElementChild.remove();
}

// --- refresh loop ---
let refreshTimer = null;
let refreshing = false;

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [status, nodes] = await Promise.all([api("/api/v1/status"), api("/api/v1/nodes")]);
    renderStatus(status);
    renderDrones(nodes);
    const [waiting, quarantined] = await Promise.all([
      api("/api/v1/queue?state=needed").catch(() => []),
      api("/api/v1/queue?state=quarantined").catch(() => []),
    ]);
    renderWaiting(Array.isArray(waiting) ? waiting : []);
    renderFailures(Array.isArray(quarantined) ? quarantined : []);
    setText("updated", "updated " + new Date().toLocaleTimeString());
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  } catch (err) {
    setText("updated", "update failed: " + err.message);
  } finally {
    refreshing = false;
  }
}

function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, 200);
}

function connect() {
  const source = new EventSource("/api/v1/events");
  source.onopen = () => {
    $("connection").textContent = "live";
    $("connection").className = "conn conn-up";
  };
  source.onerror = () => {
    $("connection").textContent = "reconnecting";
    $("connection").className = "conn conn-down";
  };
  source.onmessage = (msg) => {
    let e;
    try { e = JSON.parse(msg.data); } catch (_) { return; }
    addEvent(e);
    document.body.dataset.events = String(Number(document.body.dataset.events || 0) + 1);
    refreshSoon();
  };
}

async function start() {
  try {
    const recent = await api("/api/v1/events/recent?limit=50");
    for (const e of recent.events || []) addEvent(e);
  } catch (_) { /* the live stream fills the list */ }
  await refresh();
  connect();
  setInterval(refresh, REFRESH_MS);
}

start();
