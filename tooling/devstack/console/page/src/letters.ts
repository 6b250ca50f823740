// Dead letters, as `ops dlq peek` decodes them; each can be replayed to
// the function that failed it (`ops dlq replay --message-id`), after a
// second click that confirms it.

import { byId, el, text } from "./dom.js";

type Letter = { [key: string]: unknown };
interface ServiceLetters { service: string; letters: Letter[] | { letters?: Letter[] } }

function list(s: ServiceLetters): Letter[] {
  if (Array.isArray(s.letters)) return s.letters;
  return s.letters.letters ?? [];
}

async function replay(service: string, messageId: string): Promise<string> {
  const response = await fetch(`/api/letters/${encodeURIComponent(service)}/replay`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message_id: messageId }),
  });
  const body = (await response.json()) as { [key: string]: unknown };
  if (!response.ok) return `refused: ${text(body.error)}`;
  return `replayed ${text(body.replayed)}, failed again ${text(body.failed_again)}, skipped ${text(body.skipped)}, left ${text(body.left)}`;
}

function letterView(service: string, letter: Letter): HTMLElement {
  const summary = (letter.summary ?? {}) as Letter;
  const decoded = (letter.decoded ?? {}) as Letter;
  const id = text(summary.message_id);
  const div = el("div", undefined, "letter");
  div.dataset.messageId = id;
  div.dataset.service = service;
  div.dataset.correlation = text(summary.correlation_id);
  div.append(
    el("div", `${text(summary.detail_type)} from ${text(summary.source)} · ${text(summary.shape)} · received ${text(summary.receive_count)}×`),
    el("div", `${text(summary.error_code)}: ${text(summary.error_message)}`, "error"),
    el("div", `message ${id} · event ${text(summary.event_id)} · correlation ${text(summary.correlation_id)} · request ${text(decoded.request_id)}`),
  );
  const event = decoded.event as Letter | undefined;
  if (event) {
    const details = el("details");
    details.append(el("summary", "the event"), el("pre", JSON.stringify(event.detail, null, 2), "detail"));
    div.append(details);
  }
  const button = el("button", "Replay");
  button.type = "button";
  button.addEventListener("click", async () => {
    if (!button.classList.contains("confirm")) {
      button.classList.add("confirm");
      button.textContent = "Confirm replay";
      return;
    }
    button.disabled = true;
    byId("letters-result").textContent = `${id}: ${await replay(service, id)}`;
    await refresh();
  });
  div.append(button);
  return div;
}

// One refresh at a time: a late answer must not redraw the view under a
// replay being confirmed.
export async function refresh(): Promise<void> {
  const button = byId<HTMLButtonElement>("letters-refresh");
  const view = byId("letters-view");
  button.disabled = true;
  view.dataset.loading = "true";
  try {
    await load(view);
  } finally {
    view.dataset.loading = "false";
    button.disabled = false;
  }
}

async function load(view: HTMLElement): Promise<void> {
  const response = await fetch("/api/letters");
  if (!response.ok) {
    const body = (await response.json()) as { error?: string };
    view.replaceChildren(el("p", `dead letters: ${body.error ?? response.status}`));
    return;
  }
  const services = (await response.json()) as ServiceLetters[];
  const out: HTMLElement[] = [];
  for (const s of services) {
    const letters = list(s);
    const heading = el("h3", `${s.service}: ${letters.length} dead letter(s)`);
    heading.dataset.service = s.service;
    heading.dataset.depth = String(letters.length);
    out.push(heading, ...letters.map((l) => letterView(s.service, l)));
  }
  view.replaceChildren(...out);
}

export function start(): void {
  byId("letters-refresh").addEventListener("click", () => void refresh());
  void refresh();
}
