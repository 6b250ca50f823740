// The service map: columns by what feeds a node (callers from outside
// and the state machines, the functions they call, tables, stream readers, the bus, rule
// consumers, the rest), edges as curves with their count, p50 and
// failures. Laid out by hand: seven columns need no layout library.

import { byId, svg } from "./dom.js";

interface Node { id: string; kind: string; service?: string }
interface Edge {
  from: string; to: string; kind: string; label: string;
  count: number; p50_ms: number | null; failures: number; live: boolean;
}
interface ServiceMap { nodes: Node[]; edges: Edge[] }

const COLUMN = 300;
const ROW = 58;
const BOX = { w: 150, h: 40 };

function column(node: Node, edges: Edge[]): number {
  if (node.kind === "outside" || node.kind === "state-machine") return 0;
  if (node.kind === "table") return 2;
  if (node.kind === "bus") return 4;
  if (node.kind === "queue") return 7;
  const incoming = edges.filter((e) => e.to === node.id).map((e) => e.kind);
  if (incoming.includes("rule")) return 5;
  if (incoming.includes("stream")) return 3;
  if (incoming.some((k) => ["http", "websocket", "s3", "cognito", "function-url", "invoke"].includes(k))) return 1;
  return 6;
}

// A box holds about 22 characters; the whole id is in the node's title.
const LABEL = 22;

function short(node: Node): string {
  if (node.kind === "table") return "table";
  if (node.kind === "queue") return "dead-letter queue";
  const name = node.id.includes("/") ? node.id.split("/")[1] : node.id;
  return name.length > LABEL ? `${name.slice(0, LABEL - 1)}…` : name;
}

export function render(map: ServiceMap): SVGElement {
  const columns = new Map<number, Node[]>();
  for (const n of map.nodes) {
    const c = column(n, map.edges);
    columns.set(c, [...(columns.get(c) ?? []), n]);
  }
  const at = new Map<string, { x: number; y: number }>();
  const rows = Math.max(1, ...[...columns.values()].map((n) => n.length));
  // Only the columns in use, side by side.
  const used = [...columns.keys()].sort((a, b) => a - b);
  for (const [c, nodes] of columns) {
    const x = 10 + used.indexOf(c) * COLUMN;
    nodes.sort((a, b) => `${a.service ?? ""}${a.id}`.localeCompare(`${b.service ?? ""}${b.id}`));
    // Each column centred on the tallest, so edges fan out evenly.
    const top = 10 + ((rows - nodes.length) * ROW) / 2;
    nodes.forEach((n, i) => at.set(n.id, { x, y: top + i * ROW }));
  }
  const root = svg("svg", { width: 20 + (used.length - 1) * COLUMN + BOX.w, height: 20 + rows * ROW, role: "img", "aria-label": "Service map" });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#5b7bd5" }));
  defs.append(marker);
  root.append(defs);
  // Edges between the same two nodes (one per detail-type) share a path:
  // their labels stack.
  const seen = new Map<string, number>();
  for (const e of map.edges) {
    const pair = `${e.from}→${e.to}`;
    const nth = seen.get(pair) ?? 0;
    seen.set(pair, nth + 1);
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    const [x1, y1] = [a.x + BOX.w, a.y + BOX.h / 2];
    const [x2, y2] = [b.x, b.y + BOX.h / 2];
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    const g = svg("g", {
      class: `edge${e.live ? "" : " idle"}${e.failures > 0 ? " failing" : ""}`,
      "data-from": e.from, "data-to": e.to, "data-label": e.label,
      "data-count": e.count, "data-live": String(e.live), "data-failures": e.failures,
    });
    g.append(svg("path", { d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, "marker-end": "url(#arrow)" }));
    const p50 = e.p50_ms === null ? "" : ` · p50 ${Math.round(e.p50_ms)} ms`;
    const failed = e.failures > 0 ? ` · ${e.failures} failed` : "";
    const label = `${e.label} ×${e.count}${p50}${failed}`;
    // Near the source end, where edges into one node have not yet met.
    const t = 0.3;
    const point = (p0: number, p1: number, p2: number, p3: number) =>
      (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3;
    const lx = point(x1, x1 + bend, x2 - bend, x2);
    const ly = point(y1, y1, y2, y2);
    g.append(svg("text", { x: lx, y: ly - 4 + nth * 12, "text-anchor": "middle" }, label));
    g.append(svg("title", {}, `${e.from} → ${e.to}: ${label}`));
    root.append(g);
  }
  for (const n of map.nodes) {
    const p = at.get(n.id)!;
    const g = svg("g", { class: `node ${n.kind}`, "data-id": n.id, transform: `translate(${p.x},${p.y})` });
    g.append(svg("rect", { width: BOX.w, height: BOX.h }));
    g.append(svg("text", { x: 8, y: 16 }, short(n)));
    g.append(svg("text", { x: 8, y: 31, class: "service" }, n.service ?? (n.kind === "outside" ? "outside" : "")));
    g.append(svg("title", {}, n.id));
    root.append(g);
  }
  return root;
}

async function refresh(): Promise<void> {
  const window = (byId<HTMLSelectElement>("map-window")).value;
  const query = window ? `?window=${window}` : "";
  const response = await fetch(`/api/map${query}`);
  if (!response.ok) throw new Error(`/api/map: ${response.status}`);
  const map = (await response.json()) as ServiceMap;
  byId("map-view").replaceChildren(render(map));
}

export function start(): void {
  const tick = () => refresh().catch((e) => byId("map-view").replaceChildren(document.createTextNode(String(e))));
  byId("map-window").addEventListener("change", tick);
  tick();
  setInterval(tick, 2000);
}
