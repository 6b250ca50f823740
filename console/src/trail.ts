// The live trail: the cloud's records as server-sent events, one message
// per batch, shown as rows (text only) and filtered in the page by
// service, detail-type and correlation id. EventSource reconnects on its
// own, sending the last batch's id, so the server resumes where the page
// stopped.

import { byId, el } from "./dom.js";

type Record = { [key: string]: unknown; type: string };

// Enough for a burst to stay on the page; the oldest rows go first.
const MAX_ROWS = 5000;

let received = 0;

function text(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

function serviceOf(where: string): string {
  if (where.startsWith("app.")) return where.slice(4);
  return where.split("/")[0];
}

interface Row { at: number; where: string; what: string; outcome: string; ms: string; correlation: string; detailType: string }

function describe(r: Record): Row {
  const correlation = Array.isArray(r.correlation_ids) ? r.correlation_ids.map(text).join(" ") : "";
  switch (r.type) {
    case "hop": {
      const detail = text(r.detail);
      const detailType = r.kind === "rule" ? detail : detail.startsWith("PutEvents ") ? detail.slice(10) : "";
      return { at: Number(r.start_ms), where: text(r.function), what: `${text(r.kind)}: ${detail}`, outcome: text(r.outcome),
        ms: Number(r.duration_ms).toFixed(1), correlation, detailType };
    }
    case "event":
      return { at: Number(r.at_ms), where: text(r.source), what: text(r.detail_type), outcome: text(r.outcome), ms: "",
        correlation, detailType: text(r.detail_type) };
    case "denial":
      return { at: Number(r.at_ms), where: text(r.function), what: `${text(r.action)} on ${text(r.resource)}`,
        outcome: text(r.verdict), ms: "", correlation: "", detailType: "" };
    default:
      return { at: Number(r.at_ms), where: text(r.function), what: `→ ${text(r.destination)}`, outcome: text(r.error),
        ms: "", correlation: "", detailType: "" };
  }
}

function row(r: Record): HTMLTableRowElement {
  const d = describe(r);
  const tr = el("tr", undefined, r.type);
  tr.dataset.service = serviceOf(d.where);
  tr.dataset.detailType = d.detailType;
  tr.dataset.correlation = d.correlation;
  if (typeof r.trace_id === "string") tr.dataset.trace = r.trace_id;
  if (d.outcome !== "ok" && d.outcome !== "") tr.classList.add("fail");
  const time = Number.isFinite(d.at) && d.at > 0 ? new Date(d.at).toISOString().slice(11, 23) : "";
  const what = el("td", d.what, "what");
  if (r.type === "event") {
    const details = el("details");
    details.append(el("summary", "detail"), el("pre", JSON.stringify(r.detail, null, 2), "detail"));
    what.append(details);
  }
  tr.append(el("td", time), el("td", r.type === "hop" ? text(r.kind) : r.type), el("td", d.where), what,
    el("td", d.outcome, "outcome"), el("td", d.ms), el("td", d.correlation));
  if (r.type === "denial") tr.title = text(r.reason);
  return tr;
}

function filters(): { service: string; detailType: string; correlation: string } {
  return {
    service: byId<HTMLInputElement>("filter-service").value.trim(),
    detailType: byId<HTMLInputElement>("filter-detail-type").value.trim(),
    correlation: byId<HTMLInputElement>("filter-correlation").value.trim(),
  };
}

function visible(tr: HTMLTableRowElement, f: ReturnType<typeof filters>): boolean {
  return (!f.service || tr.dataset.service === f.service)
    && (!f.detailType || tr.dataset.detailType === f.detailType)
    && (!f.correlation || (tr.dataset.correlation ?? "").split(" ").includes(f.correlation));
}

function refilter(): void {
  const f = filters();
  shown = 0;
  for (const tr of byId("trail-rows").querySelectorAll<HTMLTableRowElement>("tr")) {
    tr.hidden = !visible(tr, f);
    if (!tr.hidden) shown += 1;
  }
  byId("trail-shown").textContent = String(shown);
}

let shown = 0;
let pending: Record[] = [];

// Rows are added once per frame, at most this many: a burst costs the
// page one bounded layout per frame, not one per message or one huge one.
const PER_FRAME = 300;

function flush(): void {
  const records = pending.splice(0, PER_FRAME);
  if (pending.length > 0) requestAnimationFrame(flush);
  const body = byId("trail-rows");
  const f = filters();
  const batch = document.createDocumentFragment();
  for (const r of records) {
    const tr = row(r);
    tr.hidden = !visible(tr, f);
    if (!tr.hidden) shown += 1;
    batch.append(tr);
  }
  body.append(batch);
  while (body.childElementCount > MAX_ROWS) {
    const first = body.firstElementChild as HTMLTableRowElement;
    if (!first.hidden) shown -= 1;
    first.remove();
  }
  received += records.length;
  byId("trail-count").textContent = String(received);
  byId("trail-shown").textContent = String(shown);
}

function append(records: Record[]): void {
  if (pending.length === 0) requestAnimationFrame(flush);
  pending.push(...records);
}

interface Bar {
  offset_ms: number; duration_ms: number; kind: string; function: string; detail: string;
  outcome: string; start?: string; linked: boolean;
}

async function showTrace(trace: string): Promise<void> {
  const view = byId("trace-view");
  const response = await fetch(`/api/trace?id=${encodeURIComponent(trace)}`);
  const bars = (await response.json()) as Bar[];
  const total = Math.max(1, ...bars.map((b) => b.offset_ms + b.duration_ms));
  const rows = bars.map((b) => {
    const row = el("div", undefined, `bar-row${b.outcome !== "ok" ? " fail" : ""}${b.start === "cold" ? " cold" : ""}`);
    row.dataset.function = b.function;
    row.dataset.start = b.start ?? "";
    const track = el("div", undefined, "bar-track");
    const bar = el("div", undefined, "bar");
    bar.style.left = `${(100 * b.offset_ms) / total}%`;
    bar.style.width = `${(100 * b.duration_ms) / total}%`;
    track.append(bar);
    const start = b.start ? ` · ${b.start}` : "";
    row.append(
      el("div", `${b.kind} ${b.function}${start}${b.linked ? " (linked)" : ""} · ${b.detail}`),
      track,
      el("div", `${b.duration_ms.toFixed(1)} ms ${b.outcome}`),
    );
    return row;
  });
  view.dataset.trace = trace;
  view.replaceChildren(el("h3", `trace ${trace}: ${bars.length} hops, ${total.toFixed(0)} ms`), ...rows);
}

export function start(setStatus: (s: string) => void): void {
  byId("trail-rows").addEventListener("click", (event) => {
    const tr = (event.target as Element).closest("tr");
    if (tr?.dataset.trace) void showTrace(tr.dataset.trace);
  });
  for (const id of ["filter-service", "filter-detail-type", "filter-correlation"]) {
    byId(id).addEventListener("input", refilter);
  }
  const source = new EventSource("/api/trail");
  source.onopen = () => setStatus("live");
  source.onerror = () => setStatus("reconnecting…");
  source.onmessage = (message) => {
    const records = JSON.parse(message.data) as Record[];
    append(records);
  };
}
