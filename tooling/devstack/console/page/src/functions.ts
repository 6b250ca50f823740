// Per function: the figures the console reads from the run's records,
// and its role's permissions, used and never used.

import { byId, el } from "./dom.js";

interface Figures {
  function: string; invocations: number; errors: number; cold_starts: number;
  peak_environments: number; own_time_p50_ms: number | null; peak_memory_kb: number | null;
}
interface Report { function: string; used: { [action: string]: string[] }; unused: [string, string][] }

function row(f: Figures, report: Report | undefined): HTMLTableRowElement {
  const tr = el("tr");
  tr.dataset.function = f.function;
  const used = report ? Object.keys(report.used).join(", ") : "";
  const unused = report ? report.unused.map(([, action]) => action).join(", ") : "";
  const cells: [string, string?][] = [
    [f.function],
    [String(f.invocations)],
    [String(f.errors)],
    [String(f.cold_starts)],
    [String(f.peak_environments)],
    [f.own_time_p50_ms === null ? "—" : `${f.own_time_p50_ms.toFixed(1)} ms`],
    [f.peak_memory_kb === null ? "—" : `${(f.peak_memory_kb / 1024).toFixed(1)} MB`],
    [used, "used"],
    [unused, "unused"],
  ];
  for (const [text, className] of cells) tr.append(el("td", text, className));
  return tr;
}

async function refresh(): Promise<void> {
  const response = await fetch("/api/functions");
  if (!response.ok) return;
  const body = (await response.json()) as { functions: Figures[]; permissions: Report[] | { error: string } };
  const reports = new Map<string, Report>();
  if (Array.isArray(body.permissions)) for (const r of body.permissions) reports.set(r.function, r);
  byId("functions-rows").replaceChildren(...body.functions.map((f) => row(f, reports.get(f.function))));
}

export function start(): void {
  void refresh();
  setInterval(() => void refresh(), 3000);
}
