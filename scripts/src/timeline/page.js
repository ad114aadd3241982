// The timeline page: reads the run (columnar JSON in #data), draws lanes, bands, spans,
// arrows, ticks and log marks on one <canvas>, drawing only what is in view. Implementation
// text reaches the screen only through textContent and fillText.
"use strict";
const ERRORS = [];
window.onerror = function (message, source, line) {
  ERRORS.push(String(message) + " (line " + line + ")");
  const e = document.getElementById("errors");
  if (e) e.textContent = "page error: " + ERRORS.join("\n");
  writeStatus();
};
const T_START = performance.now();
const D = JSON.parse(document.getElementById("data").textContent);
const RUN = D.run, S = D.strings, M = D.messages, B = D.bands, P = D.spans, K = D.ticks;
const L = D.logs, V = D.views;
const ROLE_COLORS = ["#cfe3f7", "#fde2a7", "#a5d6a7"];
const ROLE_NAMES = ["follower", "candidate", "leader"];
const TICK_COLORS = ["#2e7d32", "#00695c", "#1565c0", "#8d6e63", "#9e9e9e", "#6a1b9a", "#ad1457", "#000"];
const SPAN_STYLES = ["rgba(60,60,60,0.55)", "rgba(229,57,53,0.18)", "rgba(255,152,0,0.18)",
  "rgba(255,235,59,0.25)", "rgba(156,39,176,0.12)"];
const SPAN_NAMES = ["down", "disconnected", "partly connected", "unreliable", "long reordering"];
const KIND_PALETTE = ["#1e88e5", "#e53935", "#43a047", "#8e24aa", "#fb8c00", "#00897b", "#6d4c41", "#3949ab"];
const LANE_H = 54, AXIS_H = 22, LEFT = 64;
const FAILED = new Set([2, 3, 4, 6]); // request never handled
const state = { t0: 0, t1: Math.max(RUN.end, 1), lanes: [], selected: null, drawn: [], filter: "",
  hidden: new Set(), kindsOff: new Set(), ticksOff: new Set(), logsOn: true, arrowsDrawn: 0 };
const el = (tag, attrs, text) => {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
};
const fmt = (us) => (us / 1e6).toFixed(6) + "s";
const nodeName = (n) => (n < 0 ? "tester" : "S" + n);
const kindNames = [...new Set(M.kind)].sort((a, b) => S[a].localeCompare(S[b]));
const kindColor = (k) => KIND_PALETTE[kindNames.indexOf(k) % KIND_PALETTE.length];

// ----- the page's parts -----
const header = el("header");
header.appendChild(el("h1", {}, RUN.test + " · seed " + RUN.seed + " · " + RUN.implementation));
const verdict = el("div", { id: "verdict", class: RUN.failure ? "fail" : "pass" },
  RUN.failure ? "FAIL " + RUN.failure.kind + " at " + fmt(RUN.failure.at) + ": " + RUN.failure.message
    : "PASS");
header.appendChild(verdict);
header.appendChild(el("div", { class: "hint" }, RUN.events + " events, " + fmt(RUN.end) +
  " virtual; fingerprint " + RUN.fingerprint + "; replay: " + RUN.replay));
const controls = el("div", { id: "controls" });
header.appendChild(controls);
header.appendChild(el("pre", { id: "errors" }));
document.body.appendChild(header);
const main = el("div", { id: "main" });
const view = el("div", { id: "view" });
const canvas = el("canvas", { id: "canvas" });
view.appendChild(canvas);
const details = el("pre", { id: "details" },
  "Click an event for its details. Wheel: zoom; drag: pan; keys: + - f (fit) x (failure).");
main.appendChild(view);
main.appendChild(details);
document.body.appendChild(main);
const statusEl = el("pre", { id: "status" });
document.body.appendChild(statusEl);

function button(text, onclick) {
  const b = el("button", { type: "button" }, text);
  b.onclick = onclick;
  controls.appendChild(b);
}
function check(label, on, onchange) {
  const l = el("label");
  const c = el("input", { type: "checkbox" });
  c.checked = on;
  c.onchange = () => { onchange(c.checked); redraw(); };
  l.appendChild(c);
  l.appendChild(document.createTextNode(" " + label));
  controls.appendChild(l);
}
button("fit", () => { zoomTo(0, RUN.end); });
if (RUN.failure) button("failure", () => zoomToFailure());
button("+", () => zoomBy(0.5, 0.5));
button("−", () => zoomBy(2, 0.5));
const search = el("input", { type: "text", placeholder: "filter by text (Debug, logs)" });
search.oninput = () => { state.filter = search.value.toLowerCase(); matchCache.clear(); redraw(); };
controls.appendChild(search);
for (let n = -1; n < RUN.servers; n++) check(nodeName(n), true, (on) => {
  on ? state.hidden.delete(n) : state.hidden.add(n); layout();
});
for (const k of kindNames) check(S[k], true, (on) => (on ? state.kindsOff.delete(k) : state.kindsOff.add(k)));
RUN.ticks.forEach((name, k) => check(name, k !== 4, (on) => (on ? state.ticksOff.delete(k) : state.ticksOff.add(k))));
state.ticksOff.add(4);
check("log lines", true, (on) => { state.logsOn = on; });
const legend = el("div", { class: "legend" });
ROLE_NAMES.forEach((r, i) => { legend.appendChild(el("span", { style: "background:" + ROLE_COLORS[i] })); legend.appendChild(document.createTextNode(r)); });
SPAN_NAMES.forEach((r, i) => { legend.appendChild(el("span", { style: "background:" + SPAN_STYLES[i] })); legend.appendChild(document.createTextNode(r)); });
controls.appendChild(legend);

// ----- text filter -----
const matchCache = new Map();
function matches(s) {
  if (!state.filter) return true;
  let m = matchCache.get(s);
  if (m === undefined) { m = S[s].toLowerCase().includes(state.filter); matchCache.set(s, m); }
  return m;
}

// ----- geometry -----
function layout() {
  state.lanes = [];
  for (let n = -1; n < RUN.servers; n++) if (!state.hidden.has(n)) state.lanes.push(n);
  redraw();
}
const laneOf = (n) => state.lanes.indexOf(n);
const laneY = (n) => AXIS_H + laneOf(n) * LANE_H;
const x = (t) => LEFT + (t - state.t0) * (canvas.clientWidth - LEFT - 8) / (state.t1 - state.t0);
const tAt = (px) => state.t0 + (px - LEFT) * (state.t1 - state.t0) / (canvas.clientWidth - LEFT - 8);
function zoomTo(t0, t1) {
  state.t0 = Math.max(0, t0);
  state.t1 = Math.max(state.t0 + 20, t1);
  redraw();
}
function zoomBy(factor, at) {
  const anchor = state.t0 + (state.t1 - state.t0) * at, span = (state.t1 - state.t0) * factor;
  zoomTo(anchor - span * at, anchor + span * (1 - at));
}
function zoomToFailure() {
  const f = RUN.failure.at;
  zoomTo(f - 900000, f + 250000);
}
// Messages are in send order; the longest one bounds how far back a visible arrow starts.
let longest = 0;
for (let i = 0; i < M.sent.length; i++) {
  longest = Math.max(longest, Math.max(M.handled[i], M.outcome[i]) - M.sent[i]);
}
function firstSentAfter(t) {
  let lo = 0, hi = M.sent.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (M.sent[mid] < t) lo = mid + 1; else hi = mid; }
  return lo;
}

// ----- drawing -----
let pending = false;
function redraw() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; draw(); });
}
function draw() {
  const started = performance.now();
  const ratio = window.devicePixelRatio || 1, width = Math.max(400, view.clientWidth);
  const height = AXIS_H + state.lanes.length * LANE_H + 8;
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  state.drawn = [];
  drawLanes(g, width);
  drawSpans(g);
  drawBands(g);
  drawArrows(g);
  drawTicks(g);
  drawLogs(g);
  drawFailure(g, height);
  drawSelected(g);
  drawAxis(g, width);
  state.drawMs = performance.now() - started;
  writeStatus();
}
function drawLanes(g, width) {
  g.font = "12px sans-serif";
  state.lanes.forEach((n, i) => {
    const y = AXIS_H + i * LANE_H;
    g.fillStyle = i % 2 ? "#fafafa" : "#f3f3f3";
    g.fillRect(0, y, width, LANE_H);
    g.fillStyle = "#222";
    g.fillText(nodeName(n), 6, y + LANE_H / 2 + 4);
  });
}
const visible = (a, b) => b >= state.t0 && a <= state.t1;
function drawSpans(g) {
  const top = AXIS_H, all = state.lanes.length * LANE_H;
  for (let i = 0; i < P.kind.length; i++) {
    if (!visible(P.from[i], P.to[i])) continue;
    const n = P.node[i];
    if (n >= 0 && laneOf(n) < 0) continue;
    const x0 = Math.max(LEFT, x(P.from[i])), x1 = Math.max(x0 + 1, x(P.to[i]));
    g.fillStyle = SPAN_STYLES[P.kind[i]];
    if (n < 0) g.fillRect(x0, top, x1 - x0, all);
    else g.fillRect(x0, laneY(n) + 15, x1 - x0, LANE_H - 15);
    state.drawn.push({ type: "span", i, x0, x1, y0: n < 0 ? top : laneY(n) + 15, y1: n < 0 ? top + 4 : laneY(n) + LANE_H });
  }
}
function drawBands(g) {
  for (let i = 0; i < B.node.length; i++) {
    if (!visible(B.from[i], B.to[i]) || laneOf(B.node[i]) < 0) continue;
    const y = laneY(B.node[i]) + 2, x0 = Math.max(LEFT, x(B.from[i])), x1 = Math.max(x0 + 1, x(B.to[i]));
    g.fillStyle = ROLE_COLORS[B.role[i]];
    g.fillRect(x0, y, x1 - x0, 12);
    g.strokeStyle = "#fff";
    g.strokeRect(x0, y, x1 - x0, 12);
    if (x1 - x0 > 40) {
      g.fillStyle = "#333";
      g.font = "10px sans-serif";
      g.fillText("T" + B.term[i] + " " + ROLE_NAMES[B.role[i]], x0 + 3, y + 10);
    }
    state.drawn.push({ type: "band", i, x0, x1, y0: y, y1: y + 12 });
  }
}
const mid = (n) => laneY(n) + LANE_H / 2 + 6;
function arrow(g, x0, y0, x1, y1, color, dashed, end) {
  g.strokeStyle = color;
  g.setLineDash(dashed ? [3, 3] : []);
  g.beginPath();
  g.moveTo(x0, y0);
  g.lineTo(x1, y1);
  g.stroke();
  g.setLineDash([]);
  if (end === "x") {
    g.beginPath();
    g.moveTo(x1 - 3, y1 - 3); g.lineTo(x1 + 3, y1 + 3);
    g.moveTo(x1 + 3, y1 - 3); g.lineTo(x1 - 3, y1 + 3);
    g.stroke();
  } else if (end === "o") {
    g.beginPath(); g.arc(x1, y1, 3, 0, 7); g.stroke();
  } else {
    const a = Math.atan2(y1 - y0, x1 - x0);
    g.fillStyle = color;
    g.beginPath();
    g.moveTo(x1, y1);
    g.lineTo(x1 - 6 * Math.cos(a - 0.4), y1 - 6 * Math.sin(a - 0.4));
    g.lineTo(x1 - 6 * Math.cos(a + 0.4), y1 - 6 * Math.sin(a + 0.4));
    g.fill();
  }
}
function messageShown(i) {
  const from = M.from[i], to = M.to[i] < 0 ? from : M.to[i];
  if (laneOf(from) < 0 || laneOf(to) < 0 || state.kindsOff.has(M.kind[i])) return false;
  return !state.filter || matches(M.request[i]) || matches(M.reply[i]) || matches(M.kind[i]);
}
function drawArrows(g) {
  state.arrowsDrawn = 0;
  g.lineWidth = 1;
  for (let i = firstSentAfter(state.t0 - longest); i < M.sent.length && M.sent[i] <= state.t1; i++) {
    const end = Math.max(M.handled[i], M.outcome[i], M.sent[i]);
    if (!visible(M.sent[i], end) || !messageShown(i)) continue;
    const from = M.from[i], to = M.to[i] < 0 ? from : M.to[i], color = kindColor(M.kind[i]);
    const fate = M.fate[i], x0 = x(M.sent[i]), y0 = mid(from), y1 = mid(to);
    if (M.handled[i] >= 0) {
      const xh = x(M.handled[i]);
      g.lineWidth = M.delayed[i] ? 2.5 : 1;
      arrow(g, x0, y0, xh, y1, M.delayed[i] ? "#ef6c00" : color, false, "");
      g.lineWidth = 1;
      state.drawn.push({ type: "message", i, x0, y0, x1: xh, y1 });
      state.arrowsDrawn++;
      if (M.outcome[i] >= 0 && fate !== 5) {
        const xo = x(M.outcome[i]);
        const endMark = fate === 7 ? "x" : fate === 8 ? "o" : "";
        arrow(g, xh, y1, xo, y0, fate === 1 ? color : "#999", fate !== 1, endMark);
        state.drawn.push({ type: "message", i, x0: xh, y0: y1, x1: xo, y1: y0 });
        state.arrowsDrawn++;
      } else if (fate === 5) {
        arrow(g, xh, y1, xh + 4, y1, "#999", false, "x");
      }
    } else if (fate === 0) {
      // No outcome by the end of the run: a stub towards the destination.
      const xe = x0 + 10, ye = y0 + (y1 - y0) / 4;
      arrow(g, x0, y0, xe, ye, color, true, "o");
      state.drawn.push({ type: "message", i, x0, y0, x1: xe, y1: ye });
      state.arrowsDrawn++;
    } else if (M.outcome[i] >= 0 || FAILED.has(fate)) {
      const xo = x(M.outcome[i] >= 0 ? M.outcome[i] : M.sent[i]);
      const xm = x0 + Math.min(12, Math.max(4, (xo - x0) / 2));
      arrow(g, x0, y0, xm, (y0 + y1) / 2, "#999", true, "x");
      state.drawn.push({ type: "message", i, x0, y0, x1: xm, y1: (y0 + y1) / 2 });
      state.arrowsDrawn++;
    }
  }
}
function drawTicks(g) {
  for (let i = 0; i < K.node.length; i++) {
    const t = K.at[i];
    if (t < state.t0 || t > state.t1 || state.ticksOff.has(K.kind[i]) || laneOf(K.node[i]) < 0) continue;
    if (state.filter && !matches(K.text[i])) continue;
    const px = x(t), y = laneY(K.node[i]) + 16 + (K.kind[i] % 4) * 4;
    g.fillStyle = TICK_COLORS[K.kind[i]];
    g.fillRect(px - 1, y, 2, 10);
    state.drawn.push({ type: "tick", i, x0: px - 2, x1: px + 2, y0: y, y1: y + 10 });
  }
}
function drawLogs(g) {
  if (!state.logsOn) return;
  for (let i = 0; i < L.node.length; i++) {
    const t = L.at[i];
    if (t < state.t0 || t > state.t1 || laneOf(L.node[i]) < 0) continue;
    if (state.filter && !matches(L.message[i]) && !matches(L.target[i])) continue;
    const px = x(t), y = laneY(L.node[i]) + LANE_H - 8;
    g.fillStyle = L.level[i] <= 2 ? "#c62828" : "#555";
    g.fillRect(px - 1.5, y, 3, 5);
    state.drawn.push({ type: "log", i, x0: px - 2, x1: px + 2, y0: y, y1: y + 5 });
  }
}
function drawFailure(g, height) {
  if (!RUN.failure) return;
  const t = RUN.failure.at;
  if (t < state.t0 || t > state.t1) return;
  const px = x(t);
  g.fillStyle = "rgba(211,47,47,0.85)";
  g.fillRect(px - 1, AXIS_H, 2, height - AXIS_H);
  g.font = "bold 11px sans-serif";
  g.fillText("✖ " + RUN.failure.kind, px + 4, AXIS_H + 11);
  state.drawn.push({ type: "failure", i: 0, x0: px - 3, x1: px + 3, y0: AXIS_H, y1: height });
}
function drawSelected(g) {
  const s = state.selected;
  if (!s) return;
  g.strokeStyle = "#000";
  g.lineWidth = 2;
  const d = state.drawn.find((d) => d.type === s.type && d.i === s.i);
  if (d) g.strokeRect(Math.min(d.x0, d.x1) - 3, Math.min(d.y0, d.y1) - 3, Math.abs(d.x1 - d.x0) + 6, Math.abs(d.y1 - d.y0) + 6);
  g.lineWidth = 1;
}
function drawAxis(g, width) {
  g.fillStyle = "#fff";
  g.fillRect(0, 0, width, AXIS_H);
  g.fillStyle = "#333";
  g.font = "11px sans-serif";
  const span = state.t1 - state.t0, target = span / 8;
  let step = 1;
  while (step * 10 <= target) step *= 10;
  if (step * 5 <= target) step *= 5; else if (step * 2 <= target) step *= 2;
  for (let t = Math.ceil(state.t0 / step) * step; t <= state.t1; t += step) {
    const px = x(t);
    g.fillRect(px, AXIS_H - 5, 1, 5);
    g.fillText(step >= 1000 ? (t / 1e6).toFixed(3) + "s" : fmt(t), px + 2, AXIS_H - 8);
  }
}

// ----- details -----
const viewsByNode = new Map();
for (let i = 0; i < V.node.length; i++) {
  if (!viewsByNode.has(V.node[i])) viewsByNode.set(V.node[i], []);
  viewsByNode.get(V.node[i]).push(i);
}
function viewAt(node, event, strictlyBefore) {
  const list = viewsByNode.get(node) || [];
  let found = -1;
  for (let lo = 0, hi = list.length; lo < hi;) {
    const m = (lo + hi) >> 1, e = V.event[list[m]];
    if (strictlyBefore ? e < event : e <= event) { found = list[m]; lo = m + 1; } else hi = m;
  }
  if (found < 0) return "(none yet)";
  const voted = V.voted_for[found] < 0 ? "nobody" : "S" + V.voted_for[found];
  return "term " + V.term[found] + " " + ROLE_NAMES[V.role[found]] + ", voted for " + voted +
    ", commit index " + V.commit_index[found] + ", last log index " + V.last_log_index[found] +
    ", snapshot index " + V.snapshot_index[found] + " (after event #" + V.event[found] + ")";
}
// A node's view before and after its input number `input` (the request, outcome, timer or
// tester call during which the event happened).
function viewLines(node, input) {
  if (node < 0) return "";
  return "\n\nS" + node + " before its input, event #" + input + ": " + viewAt(node, input, true) +
    "\nS" + node + " after it:  " + viewAt(node, input, false);
}
function describe(item) {
  const i = item.i;
  if (item.type === "message") {
    const to = M.to[i] < 0 ? "?" : "S" + M.to[i];
    let text = "message " + S[M.kind[i]] + ": " + nodeName(M.from[i]) + " -> " + to +
      "\nevent #" + M.sent_event[i] + " sent at " + fmt(M.sent[i]) + "\nrequest: " + S[M.request[i]];
    if (M.handled[i] >= 0) text += "\nevent #" + M.handled_event[i] + " handled at " + fmt(M.handled[i]) + (M.delayed[i] ? " (delayed)" : "");
    if (M.outcome[i] >= 0) text += "\nevent #" + M.outcome_event[i] + " outcome at " + fmt(M.outcome[i]);
    text += "\nfate: " + RUN.fates[M.fate[i]];
    if (M.reply[i] > 0) text += "\nreply: " + S[M.reply[i]];
    if (M.from[i] >= 0) text += viewLines(M.from[i], M.sent_input[i]);
    if (M.handled[i] >= 0 && M.to[i] >= 0) text += viewLines(M.to[i], M.handled_event[i]);
    if (M.outcome[i] >= 0 && M.from[i] >= 0) text += viewLines(M.from[i], M.outcome_event[i]);
    return text;
  }
  if (item.type === "tick") {
    return RUN.ticks[K.kind[i]] + " on S" + K.node[i] + " at " + fmt(K.at[i]) + ", during event #" + K.event[i] +
      "\n" + S[K.text[i]] + viewLines(K.node[i], K.event[i]);
  }
  if (item.type === "log") {
    return "log line of " + nodeName(L.node[i]) + " at " + fmt(L.at[i]) + ", during event #" + L.event[i] +
      "\nlevel " + ["", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"][L.level[i]] + ", topic " + S[L.target[i]] +
      "\n" + S[L.message[i]] + viewLines(L.node[i], L.event[i]);
  }
  if (item.type === "band") {
    return "S" + B.node[i] + " " + ROLE_NAMES[B.role[i]] + " in term " + B.term[i] + " from " + fmt(B.from[i]) + " to " + fmt(B.to[i]);
  }
  if (item.type === "span") {
    return SPAN_NAMES[P.kind[i]] + (P.node[i] >= 0 ? " S" + P.node[i] : " (network)") + " from " + fmt(P.from[i]) + " to " + fmt(P.to[i]);
  }
  const f = RUN.failure;
  return "FAILURE " + f.kind + " at " + fmt(f.at) + (f.event ? ", event #" + f.event : "") + "\n" + f.message;
}
function select(item) {
  state.selected = item;
  details.textContent = item ? describe(item) : "";
  redraw();
}
function distance(d, px, py) {
  if (d.type !== "message") {
    const dx = Math.max(d.x0 - px, 0, px - d.x1), dy = Math.max(Math.min(d.y0, d.y1) - py, 0, py - Math.max(d.y0, d.y1));
    return Math.hypot(dx, dy);
  }
  const vx = d.x1 - d.x0, vy = d.y1 - d.y0, len = vx * vx + vy * vy;
  const t = len ? Math.max(0, Math.min(1, ((px - d.x0) * vx + (py - d.y0) * vy) / len)) : 0;
  return Math.hypot(px - d.x0 - t * vx, py - d.y0 - t * vy);
}
const PRIORITY = { message: 0, tick: 0, log: 0, failure: 1, band: 2, span: 3 };
function hit(px, py) {
  let best = null, bestScore = 6;
  for (const d of state.drawn) {
    const score = distance(d, px, py) + PRIORITY[d.type] * 2;
    if (score < bestScore) { best = d; bestScore = score; }
  }
  return best && { type: best.type, i: best.i };
}

// ----- input -----
let drag = null;
canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, t0: state.t0, t1: state.t1, moved: false }; });
window.addEventListener("mousemove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x;
  if (Math.abs(dx) > 2) drag.moved = true;
  const dt = dx * (drag.t1 - drag.t0) / (canvas.clientWidth - LEFT - 8);
  if (drag.moved) zoomTo(drag.t0 - dt, drag.t1 - dt);
});
window.addEventListener("mouseup", () => { drag = null; });
canvas.addEventListener("click", (e) => {
  if (drag && drag.moved) return;
  const r = canvas.getBoundingClientRect();
  select(hit(e.clientX - r.left, e.clientY - r.top));
});
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const r = canvas.getBoundingClientRect(), at = Math.max(0, Math.min(1, (e.clientX - r.left - LEFT) / (r.width - LEFT - 8)));
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
    const dt = (e.deltaX || e.deltaY) * (state.t1 - state.t0) / 800;
    zoomTo(state.t0 + dt, state.t1 + dt);
  } else zoomBy(Math.exp(e.deltaY * 0.002), at);
}, { passive: false });
window.addEventListener("keydown", (e) => {
  if (e.target === search) return;
  if (e.key === "+" || e.key === "=") zoomBy(0.5, 0.5);
  else if (e.key === "-") zoomBy(2, 0.5);
  else if (e.key === "f") zoomTo(0, RUN.end);
  else if (e.key === "x" && RUN.failure) zoomToFailure();
});
window.addEventListener("resize", redraw);

// ----- status: what the page shows, for tests (hidden) -----
// What later draws must not overwrite: the opening view's facts, the self-test's result.
const FIXED = {};
function writeStatus(extra) {
  Object.assign(FIXED, extra || {});
  const status = {};
  Object.assign(status, {
    lanes: state.lanes.map(nodeName),
    arrows: M.sent.length + M.reply.filter((r) => r > 0).length,
    arrows_in_view: state.arrowsDrawn,
    failure: RUN.failure ? { kind: RUN.failure.kind, at: RUN.failure.at,
      highlighted: state.drawn.some((d) => d.type === "failure") } : null,
    view: [state.t0, state.t1],
    errors: ERRORS,
    draw_ms: Math.round(state.drawMs * 10) / 10,
  }, FIXED);
  statusEl.textContent = JSON.stringify(status);
}

// ----- open: at the failure if there is one, with it selected -----
layout();
if (RUN.failure) { zoomToFailure(); state.selected = { type: "failure", i: 0 }; details.textContent = describe(state.selected); }
draw();
writeStatus({ open_ms: Math.round(performance.now() - T_START) });
// `#selftest`: zoom to a delivered message in view, click the middle of its arrow as a user
// would, and record the details panel.
if (location.hash === "#selftest") {
  const opened = JSON.parse(statusEl.textContent);
  const handled = (d) => d.type === "message" && M.handled[d.i] >= 0;
  const pick = state.drawn.find(handled) || state.drawn.find((d) => d.type === "message");
  if (pick) {
    const i = pick.i, end = Math.max(M.handled[i], M.outcome[i], M.sent[i]);
    state.t0 = M.sent[i] - 2000;
    state.t1 = end + 2000;
    draw();
    const d = state.drawn.find((d) => d.type === "message" && d.i === i);
    const r = canvas.getBoundingClientRect();
    const cx = r.left + (d.x0 + d.x1) / 2, cy = r.top + (d.y0 + d.y1) / 2;
    canvas.dispatchEvent(new MouseEvent("click", { clientX: cx, clientY: cy, bubbles: true }));
    draw();
  }
  // The status keeps describing the opening view.
  // A full redraw of the whole run, as a zoom or a pan does on every frame.
  zoomTo(0, RUN.end);
  draw();
  const fullDrawMs = state.drawMs;
  writeStatus({ selftest: { clicked: state.selected, details: details.textContent }, full_draw_ms: fullDrawMs,
    failure: opened.failure, view: opened.view, arrows_in_view: opened.arrows_in_view });
}
