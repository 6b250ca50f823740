// The admin page: start a campaign and watch it go through the sender and
// the state machine. Shown only when the ID token names the admins group;
// the campaigns API checks the same claim and answers 403 to anyone else.
//
// A campaign's status lives in the campaigns service, which pushes nothing
// to the browser (the live socket carries notifications), so the page
// re-reads each unfinished campaign with backoff until it ends. The
// recipients' side is live: each gets a notification pushed over the socket.
import { Api, ApiError, Campaign, TooManyRequests } from "./api.js";
import { $, clearErrors, h, showError } from "./ui.js";

export const ADMINS = "admins";

/** Runs an API call with a usable token; see `guard` in main.ts. */
export type Guard = <T>(action: () => Promise<T>) => Promise<T | undefined>;

const ENDED = new Set(["delivered", "failed"]);
const FIRST_POLL_MS = 500;
const MAX_POLL_MS = 3_000;
// A flow that has not ended by then is still readable with a reload; the
// state machine's own timeouts end it well before.
const WATCH_MS = 10 * 60_000;

const LABELS: Record<string, string> = {
  submitted: "Submitted — starting its flow",
  accepted: "Accepted by the sender",
  sending: "Sending",
  sent: "Sent — recording the recipients",
  delivered: "Delivered",
  failed: "Failed",
};

export class CampaignsView {
  // Bumped when the page is left: a watch from an earlier session stops.
  private generation = 0;
  private wired = false;

  constructor(private readonly api: Api, private readonly guard: Guard) {}

  /** Shows the page to admins (and loads it), hides it from everyone else. */
  show(groups: string[], available: boolean): void {
    const admin = available && groups.includes(ADMINS);
    const section = $("#campaigns-admin");
    if (admin && !section.hidden) return;
    this.stop();
    section.hidden = !admin;
    if (!admin) return;
    this.wire();
    void this.load();
  }

  stop(): void {
    this.generation += 1;
    $("#campaigns-admin").hidden = true;
    $("#campaigns").replaceChildren();
  }

  private wire(): void {
    if (this.wired) return;
    this.wired = true;
    const form = $<HTMLFormElement>("#campaign-form");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit(form);
    });
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const out = await this.guard(() => this.api.listCampaigns()).catch(() => undefined);
    if (!out || generation !== this.generation) return;
    for (const c of out.items) {
      $("#campaigns").append(render(c));
      if (!ENDED.has(c.status)) void this.watch(c.id, generation);
    }
  }

  private async submit(form: HTMLFormElement): Promise<void> {
    clearErrors(form);
    const subject = $<HTMLInputElement>("#campaign-form-subject");
    const body = $<HTMLTextAreaElement>("#campaign-form-body");
    const button = form.querySelector<HTMLButtonElement>("[type=submit]")!;
    button.disabled = true;
    try {
      const c = await this.guard(() => this.api.startCampaign({ subject: subject.value, body: body.value }));
      if (!c) return;
      $("#campaigns").prepend(render(c));
      form.reset();
      subject.focus();
      void this.watch(c.id, this.generation);
    } catch (err) {
      if (err instanceof TooManyRequests) return;
      showError(form, "campaign-form", err instanceof ApiError ? err.error : (err as Error));
    } finally {
      button.disabled = false;
    }
  }

  /** Re-reads one campaign until it ends, redrawing it when it changed. */
  private async watch(id: string, generation: number): Promise<void> {
    let wait = FIRST_POLL_MS;
    const deadline = Date.now() + WATCH_MS;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, wait));
      if (generation !== this.generation) return;
      const c = await this.guard(() => this.api.getCampaign(id)).catch(() => undefined);
      if (generation !== this.generation) return;
      // Unchanged or unreadable (throttled, offline): look again, later.
      const item = document.querySelector<HTMLElement>(`li.campaign[data-campaign-id="${id}"]`);
      if (!item) return;
      if (c && (c.status !== item.dataset.status || c.steps.length !== Number(item.dataset.steps))) {
        item.replaceWith(render(c));
        wait = FIRST_POLL_MS;
        if (ENDED.has(c.status)) return;
        continue;
      }
      wait = Math.min(wait * 2, MAX_POLL_MS);
    }
  }
}

function render(c: Campaign): HTMLLIElement {
  const status = h("p", { class: "campaign-status", role: "status" }, LABELS[c.status] ?? c.status);
  const item = h(
    "li",
    { class: "campaign", "data-campaign-id": c.id, "data-status": c.status, "data-steps": String(c.steps.length) },
    h("h3", { class: "campaign-subject" }, c.subject),
    status,
    c.recipients != null ? h("p", { class: "campaign-recipients" }, `${c.recipients} recipient(s)`) : "",
    c.reason ? h("p", { class: "campaign-reason" }, c.reason) : "",
    h("ol", { class: "campaign-steps", "aria-label": "History" },
      ...c.steps.map((s) =>
        h("li", { "data-step": s.step },
          h("time", { datetime: s.at }, new Date(s.at).toLocaleTimeString()),
          ` ${s.step}`,
          s.detail ? h("span", { class: "campaign-step-detail" }, ` — ${s.detail}`) : "",
        ),
      ),
    ),
  );
  return item;
}
