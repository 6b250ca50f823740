// Each gradual deployment as it runs: the new version's share over time,
// its lifecycle hooks, each alarm's state, the outcome (what `devstack
// deploy` reports).

import { byId, el } from "./dom.js";

interface Shift { at_ms: number; weight: number }
interface Alarm { alarm: string; state: string; reason: string }
interface Hook { hook: string; event: string; state: string; reason: string }
interface Ran { invocations: number; errors: number }
interface Deployment {
  function: string; config: string; from_version: number; to_version: number;
  shifts: Shift[]; alarms: Alarm[]; hooks?: Hook[]; old_version: Ran; new_version: Ran;
  outcome: string; decided_by: string | null;
}
interface Seen { at_ms: number; deployment: Deployment }

function alarms(list: Alarm[]): HTMLUListElement {
  const ul = el("ul");
  for (const a of list) {
    const li = el("li", `${a.alarm}: ${a.state}`, `alarm-${a.state.toLowerCase()}`);
    li.title = a.reason;
    li.dataset.alarm = a.alarm;
    li.dataset.state = a.state;
    ul.append(li);
  }
  return ul;
}

// The lifecycle hooks, before the alarms: the pre-traffic hook decides
// before any shift.
function hooks(list: Hook[]): HTMLUListElement {
  const ul = el("ul");
  for (const h of list) {
    const li = el("li", `${h.event} ${h.hook}: ${h.state}`, `hook-${h.state.toLowerCase()}`);
    li.title = h.reason;
    li.dataset.hook = h.hook;
    li.dataset.state = h.state;
    ul.append(li);
  }
  return ul;
}

function row(d: Deployment): HTMLTableRowElement {
  const tr = el("tr");
  tr.dataset.function = d.function;
  tr.dataset.outcome = d.outcome;
  const shares = d.shifts
    .map((s) => `${Math.round(s.weight * 100)}% at ${(s.at_ms / 1000).toFixed(1)} s`)
    .join(" → ");
  const ran = (r: Ran) => `${r.invocations} (${r.errors} errors)`;
  const outcome = d.decided_by ? `${d.outcome}: ${d.decided_by}` : d.outcome;
  tr.append(
    el("td", d.function),
    el("td", `${d.from_version} → ${d.to_version}`),
    el("td", d.config.replace("CodeDeployDefault.Lambda", "")),
    el("td", shares, "shares"),
  );
  const cell = el("td");
  cell.append(hooks(d.hooks ?? []), alarms(d.alarms));
  tr.append(cell, el("td", `${ran(d.old_version)} / ${ran(d.new_version)}`), el("td", outcome, "outcome"));
  return tr;
}

async function refresh(): Promise<void> {
  const response = await fetch("/api/deployments");
  if (!response.ok) return;
  const seen = (await response.json()) as Seen[];
  byId("deployments-rows").replaceChildren(...seen.map((s) => row(s.deployment)));
}

export function start(): void {
  void refresh();
  setInterval(() => void refresh(), 1000);
}
