// Each state machine execution drawn as its Amazon States Language
// graph, laid out top to bottom by dagre: transitions from Next, Default,
// Choices and Catch. The state an execution is in is
// highlighted, and refreshed while it runs; a task that handed out a
// token and has no answer yet is shown waiting.

import { byId, el, svg } from "./dom.js";

// dagre's browser build, a global (see map.ts).
declare const dagre: typeof import("@dagrejs/dagre");

type Json = { [key: string]: unknown };
interface Summary { arn: string; name: string; status: string; started: number | null }
interface Machine { arn: string; name: string; definition: Json; executions: Summary[] }
interface Attempt { task_token: string | null; outcome: unknown; resource: string | null; scheduled: string | null; ended: string | null }
interface Step {
  name: string; kind: string; entered: string | null; exited: string | null;
  input: unknown; output: unknown; attempts: Attempt[]; failure: Json | null;
}
interface Execution { arn: string; name: string; status: string; failure: Json | null; steps: Step[] }

let selected: string | null = null;

function transitions(state: Json): string[] {
  const out: string[] = [];
  const add = (v: unknown) => { if (typeof v === "string") out.push(v); };
  add(state.Next);
  add(state.Default);
  for (const c of (state.Choices as Json[] | undefined) ?? []) add(c.Next);
  for (const c of (state.Catch as Json[] | undefined) ?? []) add(c.Next);
  return out;
}

function pending(outcome: unknown): boolean {
  return outcome === "Pending";
}

/// Each state's status in the execution: done, current, waiting, failed.
function statuses(execution: Execution): Map<string, string> {
  const out = new Map<string, string>();
  for (const step of execution.steps) out.set(step.name, step.failure ? "failed" : "done");
  const last = execution.steps[execution.steps.length - 1];
  if (last && execution.status === "RUNNING" && !last.exited) {
    const waiting = last.attempts.some((a) => a.task_token && pending(a.outcome));
    out.set(last.name, waiting ? "waiting" : "current");
  }
  if (last && execution.status === "FAILED" && !out.has(last.name)) out.set(last.name, "failed");
  return out;
}

function graph(definition: Json, execution: Execution): SVGElement {
  const states = (definition.States ?? {}) as { [name: string]: Json };
  const [W, H] = [150, 38];
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 32, marginx: 10, marginy: 10 });
  for (const name of Object.keys(states)) g.setNode(name, { width: W, height: H });
  for (const [name, state] of Object.entries(states)) {
    transitions(state)
      .filter((next) => next in states)
      .forEach((next, i) => g.setEdge(name, next, {}, `${name}#${i}`));
  }
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const root = svg("svg", {
    class: "execution", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "img", "aria-label": `Execution ${execution.name}`,
  });
  const status = statuses(execution);
  for (const e of g.edges()) {
    const points = (g.edge(e) as { points?: { x: number; y: number }[] }).points ?? [];
    const d = points.map((p, k) => `${k === 0 ? "M" : "L"} ${p.x} ${p.y}`).join(" ");
    const t = svg("g", { class: "transition" });
    t.append(svg("path", { d, "marker-end": "url(#arrow)" }));
    root.append(t);
  }
  for (const [name, state] of Object.entries(states)) {
    const p = g.node(name) as { x: number; y: number };
    const s = status.get(name) ?? "";
    const node = svg("g", { class: `state ${s}`, "data-name": name, "data-status": s, transform: `translate(${p.x - W / 2},${p.y - H / 2})` });
    node.append(svg("rect", { width: W, height: H }));
    node.append(svg("text", { x: 8, y: 16 }, name));
    node.append(svg("text", { x: 8, y: 30, class: "kind" }, `${String(state.Type ?? "")}${s ? ` · ${s}` : ""}`));
    node.addEventListener("click", () => showStep(execution, name));
    root.append(node);
  }
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8a93a3" }));
  defs.append(marker);
  root.prepend(defs);
  return root;
}

function json(v: unknown): string {
  return v === undefined || v === null ? "—" : JSON.stringify(v, null, 2);
}

function showStep(execution: Execution, name: string): void {
  const view = byId("execution-step");
  const entered = execution.steps.filter((s) => s.name === name);
  if (entered.length === 0) {
    view.replaceChildren(el("p", `${name}: not entered in this execution`));
    return;
  }
  const out: HTMLElement[] = [el("h3", `${name}: entered ${entered.length}×`)];
  for (const step of entered) {
    const took = step.entered && step.exited ? `${Date.parse(step.exited) - Date.parse(step.entered)} ms` : "running";
    out.push(el("div", `${step.kind} · entered ${step.entered ?? "?"} · ${took}`));
    if (step.failure) out.push(el("div", `error: ${json(step.failure)}`, "error"));
    for (const a of step.attempts) {
      const token = a.task_token ? " · a task token handed out" : "";
      out.push(el("div", `attempt: ${a.resource ?? ""} → ${json(a.outcome)}${token}`));
    }
    out.push(el("div", "input"), el("pre", json(step.input), "detail"), el("div", "output"), el("pre", json(step.output), "detail"));
  }
  view.replaceChildren(...out);
  void showLogs(execution.arn, name);
}

interface AttemptLogs { step: string; entry: number; attempt: number; function: string; lines: string[] }

// The lines its functions logged while the state ran, as text.
async function showLogs(arn: string, name: string): Promise<void> {
  const response = await fetch(`/api/execution/logs?arn=${encodeURIComponent(arn)}`);
  if (!response.ok) return;
  const found = ((await response.json()) as AttemptLogs[]).filter((l) => l.step === name);
  const view = byId("execution-step");
  for (const l of found) {
    const block = el("div", undefined, "logs");
    block.dataset.function = l.function;
    block.append(
      el("div", `logs of ${l.function}, entry ${l.entry + 1}, attempt ${l.attempt + 1}: ${l.lines.length} line(s)`),
      el("pre", l.lines.join("\n"), "detail"),
    );
    view.append(block);
  }
}

async function show(machine: Machine, arn: string): Promise<void> {
  const response = await fetch(`/api/execution?arn=${encodeURIComponent(arn)}`);
  const body = (await response.json()) as Execution & { error?: string };
  if (!response.ok) {
    byId("execution-status").textContent = body.error ?? String(response.status);
    return;
  }
  const status = byId("execution-status");
  status.textContent = `${machine.name} · ${body.name} · ${body.status}`;
  status.dataset.status = body.status;
  byId("execution-graph").replaceChildren(graph(machine.definition, body));
  if (body.status === "RUNNING" && selected === arn) setTimeout(() => void show(machine, arn), 500);
}

async function refresh(): Promise<void> {
  const response = await fetch("/api/executions");
  if (!response.ok) return;
  const machines = (await response.json()) as Machine[];
  const out: HTMLElement[] = [];
  for (const m of machines) {
    out.push(el("h3", m.name));
    for (const e of m.executions) {
      const b = el("button", `${e.name} · ${e.status}`);
      b.type = "button";
      b.dataset.name = e.name;
      if (e.arn === selected) b.classList.add("selected");
      b.addEventListener("click", () => {
        selected = e.arn;
        void show(m, e.arn);
        void refresh();
      });
      out.push(b);
    }
  }
  byId("executions-list").replaceChildren(...out);
}

export function start(): void {
  void refresh();
  setInterval(() => void refresh(), 2000);
}
