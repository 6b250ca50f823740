// The live trail: the cloud's records as server-sent events, one message
// per batch, shown as rows (text only) and filtered in the page by
// service, detail-type and correlation id. EventSource reconnects on its
// own, sending the last batch's id, so the server resumes where the page
// stopped.

import { byId, el, text } from "./dom.js";

type Record = { [key: string]: unknown; type: string };

let received = 0;

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
    case "bus-log": {
      // The bus's own log: where is the bus, what the step and its rule or
      // target, the outcome its error code (or ok).
      const details = (r.details ?? {}) as { [key: string]: unknown };
      const about = text(details.target_arn ?? details.rule_arn ?? "");
      const error = (r.error ?? null) as { error_code?: unknown } | null;
      return { at: Number(r.message_timestamp_ms), where: `bus ${text(r.resource_arn).split("/").pop()}`,
        what: about ? `${text(r.message_type)}: ${about}` : text(r.message_type),
        outcome: error ? text(error.error_code) : "ok", ms: "", correlation: "", detailType: "" };
    }
    default:
      return { at: Number(r.at_ms), where: text(r.function), what: `→ ${text(r.destination)}`, outcome: text(r.error),
        ms: "", correlation: "", detailType: "" };
  }
}

// A record as the filters see it; its row is drawn only when shown.
interface Entry { record: Record; row: Row; service: string }

function entry(r: Record): Entry {
  const d = describe(r);
  return { record: r, row: d, service: serviceOf(d.where) };
}

function draw(e: Entry): HTMLTableRowElement {
  const [r, d] = [e.record, e.row];
  const tr = el("tr", undefined, r.type);
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

type Filters = { service: string; detailType: string; correlation: string };

function filters(): Filters {
  return {
    service: byId<HTMLInputElement>("filter-service").value.trim(),
    detailType: byId<HTMLInputElement>("filter-detail-type").value.trim(),
    correlation: byId<HTMLInputElement>("filter-correlation").value.trim(),
  };
}

function matches(e: Entry, f: Filters): boolean {
  return (!f.service || e.service === f.service)
    && (!f.detailType || e.row.detailType === f.detailType)
    && (!f.correlation || e.row.correlation.split(" ").includes(f.correlation));
}

// Every record is kept for the filters, up to KEPT (the oldest go first);
// only the newest DRAWN that match are rows on the page. A table of
// thousands of rows is laid out again whole as rows arrive, which stalled
// the page for over half a second in a burst; DRAWN rows bound that.
const KEPT = 20000;
const DRAWN = 200;

const kept: Entry[] = [];
let matching = 0;
let pending: Record[] = [];

function counts(): void {
  byId("trail-count").textContent = String(received);
  byId("trail-shown").textContent = String(matching);
}

// The rows for `entries` above those drawn (the newest first), keeping
// the page's rows to DRAWN.
function show(entries: Entry[], replace: boolean): void {
  const body = byId("trail-rows");
  const batch = document.createDocumentFragment();
  for (const e of entries.slice(-DRAWN).reverse()) batch.append(draw(e));
  if (replace) body.replaceChildren(batch);
  else body.prepend(batch);
  while (body.childElementCount > DRAWN) body.lastElementChild!.remove();
}

function refilter(): void {
  const f = filters();
  const found = kept.filter((e) => matches(e, f));
  matching = found.length;
  show(found, true);
  counts();
}

// Once per frame, whatever arrived since: a burst costs the page one
// bounded layout per frame, not one per message.
function flush(): void {
  const f = filters();
  const arrived = pending.map(entry);
  pending = [];
  const found = arrived.filter((e) => matches(e, f));
  for (const e of arrived) kept.push(e);
  const over = kept.length - KEPT;
  if (over > 0) matching -= kept.splice(0, over).filter((e) => matches(e, f)).length;
  matching += found.length;
  received += arrived.length;
  show(found, false);
  counts();
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
  byId("trail-drawn").textContent = String(DRAWN);
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
