// The what-if page: levers in, a stream of paired answers out (one JSON line a stage).
// A lever moved again aborts the request in flight; the server stops its simulation.
"use strict";

const state = {
  setup: null,        // /api/setup for the chosen base
  controller: null,   // the AbortController of the request in flight
  charts: {},         // metric -> {fan: uPlot, diff: uPlot}
  movedAt: null,      // performance.now() when a lever last moved
  timer: null,
};
// Time from a lever change to the charts drawn: [{reps, ms, status}] for each stage shown.
window.ccsimTimings = [];

const $ = (id) => document.getElementById(id);
const gbp = (x) => x === null || x === undefined ? "–"
  : (x < 0 ? "−£" : "£") + Math.abs(Math.round(x / 1000) * 1000).toLocaleString("en-GB");
const signedGbp = (x) => x === null || x === undefined ? "–" : (x > 0 ? "+" : "") + gbp(x);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

async function loadSetup(base) {
  const response = await fetch(`/api/setup?base=${encodeURIComponent(base)}`);
  const setup = await response.json();
  if (!response.ok) throw new Error(setup.error.message);
  state.setup = setup;
  return setup;
}

function buildForm(setup) {
  const select = $("base");
  if (!select.options.length) {
    for (const b of setup.bases) select.append(el("option", {value: b.name, text: b.name}));
  }
  select.value = setup.base;
  $("base-description").textContent = setup.description;
  const box = $("controls");
  box.querySelectorAll(".control").forEach((n) => n.remove());
  const first = setup.start.slice(0, 7), last = setup.end.slice(0, 7);
  for (const c of setup.controls) {
    const value = el("input", {id: `c-${c.id}`, name: c.id, type: "number", min: c.low,
      max: c.high, step: c.step, "aria-describedby": `error-${c.id}`});
    value.value = c.value === null ? "" : +c.value.toFixed(4);
    value.dataset.base = value.value;
    const month = el("input", {id: `m-${c.id}`, type: "month", min: first, max: last,
      "aria-label": `${c.label}: from`});
    month.value = setup.default_from;
    month.hidden = !c.dated;  // a rule for the whole run has no month
    box.append(el("div", {class: "control", id: `control-${c.id}`},
      el("label", {class: "name", for: value.id, text: c.label}),
      value, el("span", {class: "unit", text: ` ${c.unit}${c.dated ? " from " : ""}`}), month,
      el("p", {class: "help", text: c.help}),
      el("p", {class: "error", id: `error-${c.id}`, role: "alert"})));
  }
  $("reps").value = $("reps").value || setup.reps.default;
  $("reps").min = setup.reps.min; $("reps").max = setup.reps.max;
  $("seed").value = $("seed").value || setup.seed;
}

function request() {
  const controls = {};
  for (const c of state.setup.controls) {
    const raw = $(`c-${c.id}`).value;
    controls[c.id] = {value: raw === "" ? null : Number(raw), from: $(`m-${c.id}`).value};
  }
  return {base: $("base").value, controls, reps: Number($("reps").value),
          seed: Number($("seed").value)};
}

function clearErrors() {
  document.querySelectorAll(".error").forEach((n) => { n.textContent = ""; });
  document.querySelectorAll("input.refused").forEach((n) => n.classList.remove("refused"));
}

function showError(error) {
  const box = $(`error-${error.field}`) || $("error-request");
  box.textContent = `${error.problem}` + (error.allowed ? ` (allowed: ${error.allowed})` : "");
  const input = $(`c-${error.field}`) || $(error.field);
  if (input) input.classList.add("refused");
  setStatus("error", "Not run: a value was refused (see beside it).");
}

function setStatus(kind, text, reps) {
  const status = $("status");
  status.textContent = text;
  status.className = "status" + (kind === "partial" ? " working" : "");
  status.dataset.state = kind;
  if (reps !== undefined) status.dataset.reps = reps;
}

function moved() {
  state.movedAt = performance.now();
  clearTimeout(state.timer);
  state.timer = setTimeout(run, 120);  // a burst of key presses is one change
}

async function run() {
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const since = state.movedAt ?? performance.now();
  clearErrors();
  setStatus("partial", "Running…");
  let response;
  try {
    response = await fetch("/api/run", {method: "POST", body: JSON.stringify(request()),
      headers: {"Content-Type": "application/json"}, signal: controller.signal});
  } catch (err) {
    if (err.name !== "AbortError") setStatus("error", `The server did not answer: ${err}`);
    return;
  }
  if (!response.ok) {
    const body = await response.json();
    showError(body.error);
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 1);
        if (!line || controller.signal.aborted) continue;
        const payload = JSON.parse(line);
        if (payload.status === "stopped") continue;
        if (payload.status === "refused") { showError(payload.error); return; }
        render(payload);
        const ms = performance.now() - since;
        window.ccsimTimings.push({reps: payload.reps, ms, status: payload.status});
        const when = `${(ms / 1000).toFixed(2)} s after the change`;
        setStatus(payload.status, payload.status === "done"
          ? `${payload.reps} replications, seed ${payload.seed}: final (${when}).`
          : `${payload.reps} replications so far, seed ${payload.seed} (${when}); refining…`,
          payload.reps);
      }
    }
  } catch (err) {
    if (err.name !== "AbortError") setStatus("error", `The answer broke off: ${err}`);
  }
}

function render(p) {
  const sentences = $("sentences");
  sentences.replaceChildren(el("p", {},
    el("b", {text: `${p.option}`}), ` against ${p.base} (${p.description})`));
  for (const s of p.sentences) sentences.append(el("p", {class: s.verdict, text: s.text}));
  const body = $("figures").querySelector("tbody");
  body.replaceChildren();
  for (const f of p.figures) {
    const row = el("tr", {"data-metric": f.metric},
      el("td", {text: f.label}),
      el("td", {text: f.base_text, "data-value": f.base ?? ""}),
      el("td", {text: f.option_text, "data-value": f.option ?? ""}),
      el("td", {class: f.verdict, text: f.same ? "same in every replication"
        : f.difference_text, "data-value": f.difference ?? ""}),
      el("td", {text: f.same ? "" : f.interval_text}));
    body.append(row);
  }
  renderCosts(p.costs);
  renderCharts(p);
}

function renderCosts(c) {
  const body = $("costs").querySelector("tbody");
  body.replaceChildren(el("tr", {}, el("th", {text: "What"}), el("th", {text: "Added"}),
    el("th", {text: "Each a year"}), el("th", {text: "A year"}), el("th", {text: "Source"})));
  for (const s of c.staff) {
    body.append(el("tr", {}, el("td", {text: s.what}),
      el("td", {text: (s.extra > 0 ? "+" : "") + s.extra.toFixed(1)}),
      el("td", {text: gbp(s.each_gbp)}), el("td", {text: s.gbp_per_year === null
        ? "not costed" : signedGbp(s.gbp_per_year)}), el("td", {text: s.source})));
  }
  const sus = c.suspended;
  body.append(el("tr", {}, el("td", {text: "Pay of suspended officers (paired change)"}),
    el("td", {text: ""}), el("td", {text: ""}),
    el("td", {text: signedGbp(sus.difference)}),
    el("td", {text: `95% interval ${signedGbp(sus.low)} to ${signedGbp(sus.high)}`})));
  body.append(el("tr", {"data-metric": "net"}, el("td", {}, el("b", {text: "Net a year"})),
    el("td", {text: ""}), el("td", {text: ""}),
    el("td", {}, el("b", {text: signedGbp(c.net_gbp_per_year)})),
    el("td", {text: `95% interval ${signedGbp(c.net_low)} to ${signedGbp(c.net_high)}`})));
}

const GREY = "rgba(110,110,110,0.20)", BLUE = "rgba(31,95,168,0.25)";

function fanOptions(chart, width) {
  const hidden = {stroke: "transparent", points: {show: false}};
  return {
    width, height: 190, legend: {show: false}, scales: {x: {time: true}},
    series: [{}, {...hidden, label: "base 5%"}, {...hidden, label: "base 95%"},
      {label: "base median", stroke: "#6b6b6b", width: 1.5},
      {...hidden, label: "option 5%"}, {...hidden, label: "option 95%"},
      {label: "option median", stroke: "#1f5fa8", width: 2}],
    bands: [{series: [2, 1], fill: GREY}, {series: [5, 4], fill: BLUE}],
    axes: [{}, {label: chart.unit, size: 56}],
  };
}

function differenceOptions(chart, width) {
  const hidden = {stroke: "transparent", points: {show: false}};
  return {
    width, height: 110, legend: {show: false}, scales: {x: {time: true}},
    series: [{}, {...hidden, label: "low"}, {...hidden, label: "high"},
      {label: "mean difference", stroke: "#1f5fa8", width: 1.5},
      {label: "no change", stroke: "#999", dash: [4, 4], width: 1}],
    bands: [{series: [2, 1], fill: BLUE}],
    axes: [{}, {label: "difference", size: 56}],
  };
}

function renderCharts(p) {
  const box = $("charts");
  for (const chart of p.charts) {
    const fan = [p.months, chart.base.p5, chart.base.p95, chart.base.p50,
                 chart.option.p5, chart.option.p95, chart.option.p50];
    const d = chart.difference;
    const diff = [p.months, d.low, d.high, d.mean, p.months.map(() => 0)];
    let drawn = state.charts[chart.metric];
    if (!drawn) {
      const card = el("div", {class: "chart", "data-metric": chart.metric},
        el("h3", {text: chart.title}));
      box.append(card);
      const width = Math.max(card.clientWidth - 14, 300);
      drawn = state.charts[chart.metric] = {
        fan: new uPlot(fanOptions(chart, width), fan, card),
        diff: new uPlot(differenceOptions(chart, width), diff, card),
      };
    } else {
      drawn.fan.setData(fan);
      drawn.diff.setData(diff);
    }
  }
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
}

async function changeBase() {
  clearErrors();
  try {
    buildForm(await loadSetup($("base").value));
  } catch (err) {
    setStatus("error", String(err.message || err));
    return;
  }
  moved();
}

function reset() {
  for (const c of state.setup.controls) {
    $(`c-${c.id}`).value = $(`c-${c.id}`).dataset.base;
    $(`m-${c.id}`).value = state.setup.default_from;
  }
  moved();
}

async function start() {
  try {
    buildForm(await loadSetup("baseline"));
  } catch (err) {
    setStatus("error", String(err.message || err));
    return;
  }
  $("levers").addEventListener("change", (event) => {
    if (event.target.id === "base") changeBase(); else moved();
  });
  $("levers").addEventListener("submit", (event) => { event.preventDefault(); moved(); });
  $("reset").addEventListener("click", reset);
  run();
}

start();
