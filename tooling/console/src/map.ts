// The service map, laid out by dagre (layered, left to right): each edge's
// label is a box of its own in the layout, so no label lies over another
// or over a node, and edges start and end at the nodes' sides. The drawing
// scales down to the view's width rather than running past it.

import { byId, svg } from "./dom.js";

// dagre's browser build (`vendor/dagre.min.js`, pinned in the lockfile),
// which index.html loads before the modules: a global, so the page needs
// no bundler and no inline import map under its content security policy.
declare const dagre: typeof import("@dagrejs/dagre");

interface Node { id: string; kind: string; service?: string }
interface Edge {
  from: string; to: string; kind: string; label: string;
  count: number; p50_ms: number | null; failures: number; live: boolean;
}
interface ServiceMap { nodes: Node[]; edges: Edge[] }

const BOX = { w: 150, h: 40 };
// A label's line height and its padding on each side, in pixels.
const LINE = 13;
const PAD = 3;

// A box holds about 22 characters; the whole id is in the node's title.
const LABEL = 22;

function short(node: Node): string {
  if (node.kind === "table") return "table";
  if (node.kind === "queue") return "dead-letter queue";
  const name = node.id.includes("/") ? node.id.split("/")[1] : node.id;
  return name.length > LABEL ? `${name.slice(0, LABEL - 1)}…` : name;
}

// What an edge says: what it carries, then its figures.
function lines(e: Edge): [string, string] {
  const p50 = e.p50_ms === null ? "" : ` · p50 ${Math.round(e.p50_ms)} ms`;
  const failed = e.failures > 0 ? ` · ${e.failures} failed` : "";
  return [e.label, `×${e.count}${p50}${failed}`];
}

function label(x: number, y: number, text: [string, string]): SVGElement {
  const t = svg("text", { x, y, "text-anchor": "middle" });
  text.forEach((line, i) => t.append(svg("tspan", { x, dy: i === 0 ? 0 : LINE }, line)));
  return t;
}

// Each text's width as the page draws it, from one hidden probe.
function widths(texts: [string, string][]): number[] {
  const probe = svg("svg", { class: "map probe", width: 0, height: 0 });
  const group = probe.appendChild(svg("g", { class: "edge" }));
  const drawn = texts.map((t) => group.appendChild(label(0, 0, t)) as SVGTextElement);
  document.body.append(probe);
  const out = drawn.map((t) => t.getBBox().width);
  probe.remove();
  return out;
}

interface Placed { x: number; y: number; points?: { x: number; y: number }[] }

export function render(map: ServiceMap): SVGElement {
  const known = new Set(map.nodes.map((n) => n.id));
  const edges = map.edges.filter((e) => known.has(e.from) && known.has(e.to));
  const texts = edges.map(lines);
  const textWidths = widths(texts);
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 12, edgesep: 8, ranksep: 36, marginx: 10, marginy: 10 });
  for (const n of map.nodes) g.setNode(n.id, { width: BOX.w, height: BOX.h });
  edges.forEach((e, i) =>
    g.setEdge(e.from, e.to, { width: textWidths[i] + 2 * PAD, height: 2 * LINE + 2 * PAD, labelpos: "c" }, String(i)),
  );
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const root = svg("svg", {
    class: "map", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "img", "aria-label": "Service map",
  });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#5b7bd5" }));
  defs.append(marker);
  root.append(defs);
  edges.forEach((e, i) => {
    const placed = g.edge(e.from, e.to, String(i)) as Placed;
    const group = svg("g", {
      class: `edge${e.live ? "" : " idle"}${e.failures > 0 ? " failing" : ""}`,
      "data-from": e.from, "data-to": e.to, "data-label": e.label,
      "data-count": e.count, "data-live": String(e.live), "data-failures": e.failures,
    });
    const points = placed.points ?? [];
    const d = points.map((p, k) => `${k === 0 ? "M" : "L"} ${p.x} ${p.y}`).join(" ");
    group.append(svg("path", { d, "marker-end": "url(#arrow)" }));
    // The label's box is centred on (x, y); its first baseline sits a line
    // above the centre.
    group.append(label(placed.x, placed.y - LINE / 2 + 4, texts[i]));
    group.append(svg("title", {}, `${e.from} → ${e.to}: ${texts[i].join(" ")}`));
    root.append(group);
  });
  for (const n of map.nodes) {
    const p = g.node(n.id) as Placed;
    const group = svg("g", { class: `node ${n.kind}`, "data-id": n.id, transform: `translate(${p.x - BOX.w / 2},${p.y - BOX.h / 2})` });
    group.append(svg("rect", { width: BOX.w, height: BOX.h }));
    group.append(svg("text", { x: 8, y: 16 }, short(n)));
    group.append(svg("text", { x: 8, y: 31, class: "service" }, n.service ?? (n.kind === "outside" ? "outside" : "")));
    group.append(svg("title", {}, n.id));
    root.append(group);
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
