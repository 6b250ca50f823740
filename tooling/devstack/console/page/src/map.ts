// The service map, laid out by dagre (layered, top to bottom) as a
// compound graph: each account a box around its services; a service one
// box with its counts until it is opened, then a box around its
// resources, a box's name in the empty row dagre keeps at its top. Each edge's label is a box of its own in the layout, so no label
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
interface ServiceMap { nodes: Node[]; edges: Edge[]; versions?: Record<string, number> }

const BOX = { w: 176, h: 44 };
// A whole service's box: its name, its counts, its versions.
const WHOLE = { w: 196, h: 62 };
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

// The services drawn open (their resources), kept across refreshes; the
// others are one box each, so that the first view holds the system.
const opened = new Set<string>();

// What the drawing shows: a resource, or a whole service as one box.
interface Shown {
  id: string; kind: string; service?: string; account?: string;
  lines: string[]; title: string; w: number; h: number; failing: boolean;
}
// An edge drawn: every delivery between two shown boxes (one per label
// between resources; all of them, a line each, to or from a whole service).
interface Link {
  from: string; to: string; labels: string[]; lines: string[];
  count: number; failures: number; live: boolean;
}

function short(node: Node): string {
  if (node.kind === "table") return "table";
  if (node.kind === "queue") return "dead-letter queue";
  const name = node.id.includes("/") ? node.id.split("/")[1] : node.id;
  return name.length > LABEL ? `${name.slice(0, LABEL - 1)}…` : name;
}

// A delivery's figures: its count, p50 and failures.
function figures(e: Edge): string {
  const p50 = e.p50_ms === null ? "" : ` · p50 ${Math.round(e.p50_ms)} ms`;
  const failed = e.failures > 0 ? ` · ${e.failures} failed` : "";
  return `×${e.count}${p50}${failed}`;
}

// The deliveries of one label between two boxes as one: their counts and
// failures added, the slowest p50 kept.
function merged(edges: Edge[]): Edge {
  const p50s = edges.map((e) => e.p50_ms).filter((p): p is number => p !== null);
  return {
    ...edges[0],
    count: edges.reduce((n, e) => n + e.count, 0),
    failures: edges.reduce((n, e) => n + e.failures, 0),
    p50_ms: p50s.length ? Math.max(...p50s) : null,
    live: edges.some((e) => e.live),
  };
}

// `items` by `key`, each group in the order met.
function grouped<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const group = out.get(key(item));
    if (group) group.push(item);
    else out.set(key(item), [item]);
  }
  return out;
}

function link(from: string, to: string, edges: Edge[]): Link {
  const each = [...grouped(edges, (e) => e.label).values()].map(merged);
  const lines = each.length === 1
    ? [each[0].label, figures(each[0])]
    : each.map((e) => `${e.label} ${figures(e)}`);
  return {
    from, to, labels: each.map((e) => e.label), lines,
    count: each.reduce((n, e) => n + e.count, 0),
    failures: each.reduce((n, e) => n + e.failures, 0),
    live: each.some((e) => e.live),
  };
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? "" : "s"}`;
}

// One service drawn whole: what it holds, the dead letters its work left,
// and its functions' live versions.
function whole(service: string, members: Node[], letters: number, versions: Record<string, number>): Shown {
  const functions = members.filter((n) => n.kind === "function").length;
  const held = [plural(functions, "function"), ...(members.some((n) => n.kind === "table") ? ["table"] : [])];
  const live = [...new Set(members.map((n) => versions[n.id]).filter((v) => v !== undefined))].sort((a, b) => a - b);
  const third = [
    ...(live.length ? [`live v${live.join("/v")}`] : []),
    ...(letters > 0 ? [plural(letters, "dead letter")] : []),
  ];
  return {
    id: `whole:${service}`, kind: "service", service, account: members[0].account,
    lines: [service, held.join(" · "), third.join(" · ")],
    title: `${service}: ${members.map((n) => n.id).join(", ")} (click to open)`,
    w: WHOLE.w, h: WHOLE.h, failing: letters > 0,
  };
}

function resource(n: Node, versions: Record<string, number>): Shown {
  const version = versions[n.id] === undefined ? "" : ` · v${versions[n.id]}`;
  const under = n.service ?? (n.kind === "outside" ? "outside" : "");
  return { ...n, lines: [short(n), `${under}${version}`], title: n.id, w: BOX.w, h: BOX.h, failing: false };
}

// The map as drawn: each service not opened folded into one box, the
// deliveries inside it left out (its dead letters counted on it), the
// rest joined per pair of boxes.
function fold(map: ServiceMap): { shown: Shown[]; links: Link[] } {
  const versions = map.versions ?? {};
  const folds = (n: Node) => n.service !== undefined && n.account !== undefined && !opened.has(n.service);
  const at = new Map(map.nodes.map((n) => [n.id, folds(n) ? `whole:${n.service}` : n.id]));
  const groups = new Map<string, { from: string; to: string; edges: Edge[] }>();
  const letters = new Map<string, number>();
  for (const e of map.edges) {
    const from = at.get(e.from);
    const to = at.get(e.to);
    if (from === undefined || to === undefined) continue;
    if (from === to && from.startsWith("whole:")) {
      if (e.to.startsWith("dlq:")) letters.set(from, (letters.get(from) ?? 0) + e.count);
      continue;
    }
    const key = from.startsWith("whole:") || to.startsWith("whole:") ? `${from}\n${to}` : `${from}\n${to}\n${e.label}`;
    const group = groups.get(key) ?? { from, to, edges: [] };
    group.edges.push(e);
    groups.set(key, group);
  }
  const shown = map.nodes.filter((n) => !folds(n)).map((n) => resource(n, versions));
  for (const [service, nodes] of grouped(map.nodes.filter(folds), (n) => n.service!)) {
    shown.push(whole(service, nodes, letters.get(`whole:${service}`) ?? 0, versions));
  }
  return { shown, links: [...groups.values()].map((g) => link(g.from, g.to, g.edges)) };
}

function label(x: number, y: number, text: string[]): SVGElement {
  const t = svg("text", { x, y, "text-anchor": "middle" });
  text.forEach((line, i) => t.append(svg("tspan", { x, dy: i === 0 ? 0 : LINE }, line)));
  return t;
}

// Each text's width as the page draws it, from one hidden probe.
function widths(texts: string[][]): number[] {
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

// The boxes around the shown nodes: an account's, then an open service's
// inside it. A whole service is a node of its account's box.
interface Cluster { id: string; kind: "account" | "service"; name: string; parent?: string }

function clusters(nodes: Shown[]): { boxes: Cluster[]; parent: Map<string, string> } {
  const boxes = new Map<string, Cluster>();
  const parent = new Map<string, string>();
  for (const n of nodes) {
    if (!n.account) continue;
    const account = `account:${n.account}`;
    boxes.set(account, { id: account, kind: "account", name: `account ${n.account}` });
    if (!n.service || n.kind === "service") {
      parent.set(n.id, account);
      continue;
    }
    const service = `service:${n.service}`;
    boxes.set(service, { id: service, kind: "service", name: n.service, parent: account });
    parent.set(n.id, service);
  }
  // What each account holds, after its number.
  for (const a of [...boxes.values()].filter((b) => b.kind === "account")) {
    const inside = nodes.filter((n) => `account:${n.account}` === a.id);
    const held = [...new Set(inside.map((n) => n.service).filter((s): s is string => !!s))].sort();
    const platform = inside.some((n) => n.kind === "bus");
    a.name += ` · ${[...(platform ? ["platform"] : []), ...held].join(", ")}`;
  }
  return { boxes: [...boxes.values()], parent };
}

interface Placed { x: number; y: number; points?: { x: number; y: number }[] }

// An account box holding one whole service is as wide as that service's
// box: the service's box widens to the account's name, which is then
// read whole.
function widened(shown: Shown[], boxes: Cluster[], parent: Map<string, string>): void {
  for (const b of boxes.filter((c) => c.kind === "account")) {
    const inside = shown.filter((n) => parent.get(n.id) === b.id);
    const lone = boxes.some((c) => c.parent === b.id) || inside.length !== 1 ? null : inside[0];
    if (lone) lone.w = Math.max(lone.w, 8 * b.name.length + 2 * TITLE.inset);
  }
}

export function render(map: ServiceMap): SVGSVGElement {
  const { shown, links } = fold(map);
  const textWidths = widths(links.map((l) => l.lines));
  const { boxes, parent } = clusters(shown);
  const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  g.setGraph({ rankdir: "TB", nodesep: 16, edgesep: 10, ranksep: RANKSEP, marginx: 12, marginy: 12 });
  for (const b of boxes) {
    g.setNode(b.id, {});
    if (b.parent) g.setParent(b.id, b.parent);
  }
  widened(shown, boxes, parent);
  for (const n of shown) {
    g.setNode(n.id, { width: n.w, height: n.h });
    const p = parent.get(n.id);
    if (p) g.setParent(n.id, p);
  }
  links.forEach((l, i) =>
    g.setEdge(l.from, l.to, { width: textWidths[i] + 2 * PAD, height: l.lines.length * LINE + 2 * PAD, labelpos: "c" }, String(i)),
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
    group.append(svg("title", {}, b.kind === "service" ? `${b.name} (click its name to fold it)` : b.name));
    root.append(group);
  }
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#5b7bd5" }));
  defs.append(marker);
  root.append(defs);
  links.forEach((l, i) => {
    const placed = g.edge(l.from, l.to, String(i)) as Placed;
    const group = svg("g", {
      class: `edge${l.live ? "" : " idle"}${l.failures > 0 ? " failing" : ""}`,
      "data-from": l.from, "data-to": l.to, "data-label": l.labels.join(", "),
      "data-count": l.count, "data-live": String(l.live), "data-failures": l.failures,
    });
    const points = placed.points ?? [];
    const d = points.map((p, k) => `${k === 0 ? "M" : "L"} ${p.x} ${p.y}`).join(" ");
    group.append(svg("path", { d, "marker-end": "url(#arrow)" }));
    // The label's box is centred on (x, y); its first baseline sits half
    // its height above the centre, plus the text's ascent.
    group.append(label(placed.x, placed.y - ((l.lines.length - 1) * LINE) / 2 + 4, l.lines));
    group.append(svg("title", {}, `${l.from} → ${l.to}: ${l.lines.join("; ")}`));
    root.append(group);
  });
  for (const n of shown) {
    const p = g.node(n.id) as Placed;
    const group = svg("g", {
      class: `node ${n.kind}${n.failing ? " failing" : ""}`, "data-id": n.id,
      "data-service": n.service ?? "", "data-account": n.account ?? "",
      transform: `translate(${p.x - n.w / 2},${p.y - n.h / 2})` });
    group.append(svg("rect", { width: n.w, height: n.h }));
    n.lines.forEach((line, k) => group.append(svg("text", { x: 8, y: 18 + 18 * k, ...(k > 0 ? { class: "service" } : {}) }, line)));
    group.append(svg("title", {}, n.title));
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
let dragged = false;

function pannable(view: HTMLElement): void {
  let from: { x: number; y: number; left: number; top: number } | null = null;
  const end = () => {
    from = null;
    view.classList.remove("panning");
  };
  // A drag is no click: the box it started on stays as it was.
  view.addEventListener("click", (e) => {
    if (dragged) e.stopImmediatePropagation();
    dragged = false;
  }, { capture: true });
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
    dragged ||= Math.hypot(e.clientX - from.x, e.clientY - from.y) > 3;
  });
  view.addEventListener("pointerup", end);
  view.addEventListener("pointercancel", end);
  view.addEventListener("lostpointercapture", end);
}

// The last map read, drawn again when a service opens or folds.
let last: ServiceMap | null = null;

function draw(): void {
  if (!last) return;
  const drawing = render(last);
  scaled(drawing);
  byId("map-view").replaceChildren(drawing);
}

async function refresh(): Promise<void> {
  const window = (byId<HTMLSelectElement>("map-window")).value;
  const query = window ? `?window=${window}` : "";
  const response = await fetch(`/api/map${query}`);
  if (!response.ok) throw new Error(`/api/map: ${response.status}`);
  last = (await response.json()) as ServiceMap;
  draw();
}

// A whole service's box opens it; an open service's name folds it.
function toggles(view: HTMLElement): void {
  view.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const whole = target?.closest<SVGGElement>("g.node.service");
    const title = target?.closest("text.title") ? target.closest<SVGGElement>("g.cluster.service") : null;
    if (whole?.dataset.service) opened.add(whole.dataset.service);
    else if (title?.dataset.name) opened.delete(title.dataset.name.replace(/^service:/, ""));
    else return;
    draw();
  });
}

export function start(): void {
  const tick = () => refresh().catch((e) => byId("map-view").replaceChildren(document.createTextNode(String(e))));
  byId("map-window").addEventListener("change", tick);
  byId("map-zoom-in").addEventListener("click", () => step(1));
  byId("map-zoom-out").addEventListener("click", () => step(-1));
  byId("map-zoom-reset").addEventListener("click", () => zoomTo(1));
  pannable(byId("map-view"));
  toggles(byId("map-view"));
  tick();
  setInterval(tick, 2000);
}
