// The admin page's user list: every user, a page at a time (`GET /users`).
// Shown only when the ID token names the admins group; the users API
// checks the same claim and answers 403 to anyone else.
import type { Api, Profile } from "./api.js";
import type { Guard } from "./campaigns.js";
import { ADMINS } from "./campaigns.js";
import { $, h } from "./ui.js";

export class UsersView {
  // Bumped when the page is left: a page still loading is dropped.
  private generation = 0;
  private cursor: string | null = null;
  private wired = false;

  constructor(private readonly api: Api, private readonly guard: Guard) {}

  show(groups: string[]): void {
    const admin = groups.includes(ADMINS);
    const section = $("#users-admin");
    if (admin && !section.hidden) return;
    this.stop();
    section.hidden = !admin;
    if (!admin) return;
    if (!this.wired) {
      this.wired = true;
      $("#users-more").addEventListener("click", () => void this.load());
    }
    void this.load();
  }

  stop(): void {
    this.generation += 1;
    this.cursor = null;
    $("#users-admin").hidden = true;
    $("#users").replaceChildren();
    $("#users-more").hidden = true;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const page = await this.guard(() => this.api.listUsers(this.cursor)).catch(() => undefined);
    if (!page || generation !== this.generation) return;
    $("#users").append(...page.items.map(render));
    this.cursor = page.next_cursor;
    $("#users-more").hidden = !page.next_cursor;
  }
}

function render(u: Profile): HTMLLIElement {
  return h(
    "li",
    { class: "user", "data-user-id": u.id },
    h("span", { class: "user-name" }, u.display_name),
    " ",
    h("span", { class: "user-email" }, u.email),
    " ",
    h("time", { datetime: u.created_at }, `since ${new Date(u.created_at).toLocaleDateString()}`),
  );
}
