// The service map, laid out by dagre (layered, top to bottom) as a
// compound graph: each account a box around its services, each service a
// box around its resources, a box's name in the empty row dagre keeps at
// its top. Each edge's label is a box of its own in the layout, so no label
// lies over another or over a node. The drawing keeps its natural size, its
// text never below 12 pixels, and the view zooms and pans over it.

import { byId, svg } from "./dom.js";

// dagre's browser build (`vendor/dagre.min.js`, pinned in the lockfile),
// which index.html loads before the modules: a global, so the page needs
// no bundler and no inline import map under its content security policy.
declare const dagre: typeof import("@dagrejs/dagre");

interface Node { id: string; kind: string; service?: string; account?: string }
interface Edge {
  from: string; to: string; kind: string; label: string;
  count: number; p50_ms: number | null; failures: number; live: boolean;
}
interface ServiceMap { nodes: Node[]; edges: Edge[] }

const BOX = { w: 176, h: 44 };
// A label's line height and its padding on each side, in pixels; the
// styles keep every text at 12 pixels or more.
const LINE = 15;
const PAD = 3;
// The empty row dagre keeps at a box's top holds the box's name: half the
// rank separation, which dagre halves to make room for edge labels.
const RANKSEP = 64;
const TITLE = { h: 18, inset: 8 };

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

// A box's name cut to the box's width (about 8 pixels a character at its
// 13 pixels, bold); the whole name is the box's title.
function fitted(name: string, width: number): string {
  const room = Math.max(8, Math.floor((width - 2 * TITLE.inset) / 8));
  return name.length > room ? `${name.slice(0, room - 1)}…` : name;
}

// The boxes around the nodes: an account's, then a service's inside it.
interface Cluster { id: string; kind: "account" | "service"; name: string; parent?: string }

function clusters(nodes: Node[]): { boxes: Cluster[]; parent: Map<string, string> } {
  const boxes = new Map<string, Cluster>();
  const parent = new Map<string, string>();
  for (const n of nodes) {
    if (!n.account) continue;
    const account = `account:${n.account}`;
    boxes.set(account, { id: account, kind: "account", name: `account ${n.account}` });
    if (!n.service) {
      parent.set(n.id, account);
      continue;
    }
    const service = `service:${n.service}`;
    boxes.set(service, { id: service, kind: "service", name: n.service, parent: account });
    parent.set(n.id, service);
  }
  // What each account holds, after its number.
  for (const a of [...boxes.values()].filter((b) => b.kind === "account")) {
    const held = [...boxes.values()].filter((b) => b.parent === a.id).map((b) => b.name);
    const platform = nodes.some((n) => n.kind === "bus" && `account:${n.account}` === a.id);
    a.name += ` · ${[...(platform ? ["platform"] : []), ...held].join(", ")}`;
  }
  return { boxes: [...boxes.values()], parent };
}

interface Placed { x: number; y: number; points?: { x: number; y: number }[] }

export function render(map: ServiceMap): SVGSVGElement {
  const known = new Set(map.nodes.map((n) => n.id));
  const edges = map.edges.filter((e) => known.has(e.from) && known.has(e.to));
  const texts = edges.map(lines);
  const textWidths = widths(texts);
  const { boxes, parent } = clusters(map.nodes);
  const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  g.setGraph({ rankdir: "TB", nodesep: 16, edgesep: 10, ranksep: RANKSEP, marginx: 12, marginy: 12 });
  for (const b of boxes) {
    g.setNode(b.id, {});
    if (b.parent) g.setParent(b.id, b.parent);
  }
  for (const n of map.nodes) {
    g.setNode(n.id, { width: BOX.w, height: BOX.h });
    const p = parent.get(n.id);
    if (p) g.setParent(n.id, p);
  }
  edges.forEach((e, i) =>
    g.setEdge(e.from, e.to, { width: textWidths[i] + 2 * PAD, height: 2 * LINE + 2 * PAD, labelpos: "c" }, String(i)),
  );
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const root = svg("svg", {
    class: "map", viewBox: `0 0 ${width} ${height}`, width, height,
    "data-width": width, "data-height": height,
    role: "img", "aria-label": "Service map",
  }) as SVGSVGElement;
  // Accounts first, then services, so that a service's box lies over its
  // account's.
  for (const b of [...boxes].sort((x, y) => (x.kind === y.kind ? 0 : x.kind === "account" ? -1 : 1))) {
    const p = g.node(b.id) as { x: number; y: number; width: number; height: number };
    const group = svg("g", { class: `cluster ${b.kind}`, "data-name": b.id, transform: `translate(${p.x - p.width / 2},${p.y - p.height / 2})` });
    group.append(svg("rect", { width: p.width, height: p.height }));
    group.append(svg("text", { x: TITLE.inset, y: TITLE.h, class: "title" }, fitted(b.name, p.width)));
    group.append(svg("title", {}, b.name));
    root.append(group);
  }
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
    const group = svg("g", {
      class: `node ${n.kind}`, "data-id": n.id,
      "data-service": n.service ?? "", "data-account": n.account ?? "",
      transform: `translate(${p.x - BOX.w / 2},${p.y - BOX.h / 2})` });
    group.append(svg("rect", { width: BOX.w, height: BOX.h }));
    group.append(svg("text", { x: 8, y: 18 }, short(n)));
    group.append(svg("text", { x: 8, y: 36, class: "service" }, n.service ?? (n.kind === "outside" ? "outside" : "")));
    group.append(svg("title", {}, n.id));
    root.append(group);
  }
  return root;
}

// The view's zoom, kept across refreshes; 1 draws the text at its size.
let zoom = 1;
const ZOOMS = [0.25, 0.35, 0.5, 0.7, 0.85, 1, 1.25, 1.5, 2];

function scaled(drawing: SVGSVGElement): void {
  drawing.setAttribute("width", String(Number(drawing.dataset.width) * zoom));
  drawing.setAttribute("height", String(Number(drawing.dataset.height) * zoom));
  byId("map-zoom-level").textContent = `${Math.round(zoom * 100)}%`;
}

function zoomTo(next: number): void {
  const view = byId("map-view");
  // Zoom about the view's centre: the point there stays there.
  const cx = (view.scrollLeft + view.clientWidth / 2) / zoom;
  const cy = (view.scrollTop + view.clientHeight / 2) / zoom;
  zoom = next;
  const drawing = view.querySelector<SVGSVGElement>("svg.map");
  if (drawing) scaled(drawing);
  view.scrollLeft = cx * zoom - view.clientWidth / 2;
  view.scrollTop = cy * zoom - view.clientHeight / 2;
}

function step(direction: 1 | -1): void {
  const i = ZOOMS.findIndex((z) => z >= zoom - 1e-9);
  const at = i < 0 ? ZOOMS.length - 1 : i;
  zoomTo(ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, at + direction))]);
}

// Dragging the drawing pans the view, as the scroll bars do.
function pannable(view: HTMLElement): void {
  let from: { x: number; y: number; left: number; top: number } | null = null;
  const end = () => {
    from = null;
    view.classList.remove("panning");
  };
  view.addEventListener("pointerdown", (e) => {
    // The main button on the drawing only: the scroll bars scroll as they
    // do, and a context menu opens without a pan.
    if (e.button !== 0 || !(e.target instanceof SVGElement)) return;
    from = { x: e.clientX, y: e.clientY, left: view.scrollLeft, top: view.scrollTop };
    try {
      view.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser does not track (a script's) pans uncaptured.
    }
    view.classList.add("panning");
  });
  view.addEventListener("pointermove", (e) => {
    if (!from) return;
    // A release the view never heard of (outside the window, uncaptured).
    if (e.pointerType === "mouse" && e.buttons === 0) return end();
    view.scrollLeft = from.left - (e.clientX - from.x);
    view.scrollTop = from.top - (e.clientY - from.y);
  });
  view.addEventListener("pointerup", end);
  view.addEventListener("pointercancel", end);
  view.addEventListener("lostpointercapture", end);
}

async function refresh(): Promise<void> {
  const window = (byId<HTMLSelectElement>("map-window")).value;
  const query = window ? `?window=${window}` : "";
  const response = await fetch(`/api/map${query}`);
  if (!response.ok) throw new Error(`/api/map: ${response.status}`);
  const map = (await response.json()) as ServiceMap;
  const drawing = render(map);
  scaled(drawing);
  byId("map-view").replaceChildren(drawing);
}

export function start(): void {
  const tick = () => refresh().catch((e) => byId("map-view").replaceChildren(document.createTextNode(String(e))));
  byId("map-window").addEventListener("change", tick);
  byId("map-zoom-in").addEventListener("click", () => step(1));
  byId("map-zoom-out").addEventListener("click", () => step(-1));
  byId("map-zoom-reset").addEventListener("click", () => zoomTo(1));
  pannable(byId("map-view"));
  tick();
  setInterval(tick, 2000);
}
