// The to-do app: sign-in, to-dos with attachments, and notifications that
// arrive live. Async work shows a pending state and is resolved by what
// the backend pushes later, never by waiting on a response.
import { Api, ApiError, Notification, Todo, TooManyRequests, Unauthorized, upload } from "./api.js";
import { CampaignsView } from "./campaigns.js";
import { UsersView } from "./users.js";
import * as cognito from "./cognito.js";
import { Config, loadConfig } from "./config.js";
import * as federation from "./federation.js";
import { Files, FilesView } from "./files.js";
import { Live, LiveState } from "./live.js";
import { Renewal } from "./renewal.js";
import * as session from "./session.js";
import { $, clearErrors, h, showError } from "./ui.js";

declare global {
  interface Window {
    // Read by the browser tests, which cannot otherwise tell that a
    // renewal or a reconnect happened.
    __sessionRenewals?: number;
    __liveConnects?: number;
    // The signed-in user's S3 client, so a browser test can try another
    // user's prefix with the very credentials the page holds.
    __files?: Files;
  }
}

let config: Config;
let api: Api;
let renewal: Renewal;
let campaigns: CampaignsView;
let users: UsersView;
const files = new FilesView();
let live: Live | null = null;
let current: session.Session | null = null;
// A sign-in waiting for its authenticator code, and whose it is.
let mfa: { email: string; challenge: cognito.Mfa } | null = null;
let cursor: string | null = null;
// Correlation id of a completion → the todo waiting for its congratulation.
const pending = new Map<string, string>();
const seen = new Set<string>();
let signUpPassword = "";

function token(): string | null {
  if (!current || !session.valid(current.idToken)) return null;
  return current.idToken;
}

// ---- views ---------------------------------------------------------------

function showAuth(message = ""): void {
  renewal.stop();
  campaigns.stop();
  users.stop();
  files.show(null);
  window.__files = undefined;
  live?.stop();
  live = null;
  current = null;
  showMfa(null);
  $("#app").hidden = true;
  $("#auth").hidden = false;
  $("#auth-error").textContent = message;
  $<HTMLInputElement>("#signin-email").focus();
}

/** Ends the session in this browser, saying why on the sign-in view. */
function endSession(reason: string): void {
  session.clear();
  showAuth(reason);
}

function expired(): void {
  endSession(session.EXPIRED);
}

/** The renewed tokens: stored, sent by the next API call, and given to a new socket. */
function renewed(s: session.Session): void {
  current = s;
  session.save(s);
  live?.reconnect();
  showCampaigns(s);
  window.__sessionRenewals = (window.__sessionRenewals ?? 0) + 1;
}

async function showApp(s: session.Session): Promise<void> {
  current = s;
  renewal.schedule();
  throttled(false);
  $("#auth").hidden = true;
  $("#app").hidden = false;
  $("#whoami").textContent = s.email;
  $("#todos").replaceChildren();
  $("#notifications").replaceChildren();
  seen.clear();
  cursor = null;
  $<HTMLInputElement>("#todo-form-title").focus();
  showCampaigns(s);
  showFiles(s);
  live = new Live(config.socketUrl, {
    token,
    message: onPush,
    state: setLiveState,
    connected: () => {
      window.__liveConnects = (window.__liveConnects ?? 0) + 1;
      void refreshNotifications();
    },
    // No usable token (the renewal timer ran late, e.g. after a sleep): a
    // renewal reconnects, or ends the session.
    refused: () => void renewal.now(),
  });
  live.start();
  await guard(loadTodos);
}

/** The files panel, where the deployment gives browsers credentials. */
function showFiles(s: session.Session): void {
  const sub = session.claims(s.idToken)?.sub;
  if (!config.identityPoolId || !config.filesBucket || typeof sub !== "string") return;
  const mine = new Files(config, sub, token);
  window.__files = mine;
  files.show(mine);
}

/** The admin pages (campaigns, users), for a token that names the admins group. */
function showCampaigns(s: session.Session): void {
  campaigns.show(session.groups(s.idToken), Boolean(config.apis.campaigns));
  users.show(session.groups(s.idToken));
}

function setLiveState(state: LiveState): void {
  const el = $("#live-status");
  el.dataset.state = state;
  el.textContent = { connecting: "Connecting…", open: "Live", closed: "Offline — reconnecting" }[state];
}

/**
 * Runs an API action with a usable token (renewed first if it ran out); a
 * refused token leads back to sign-in, a throttled request to a calm note.
 */
async function guard<T>(action: () => Promise<T>): Promise<T | undefined> {
  if (!token() && !(await renewal.now())) return undefined;
  try {
    const out = await action();
    throttled(false);
    return out;
  } catch (e) {
    if (e instanceof Unauthorized) {
      expired();
      return undefined;
    }
    if (e instanceof TooManyRequests) throttled(true);
    throw e;
  }
}

/** The note for a 429; the action's own error spot stays quiet, its inputs intact. */
function throttled(on: boolean): void {
  $("#throttled").textContent = on ? new TooManyRequests().message : "";
}

// ---- notifications -------------------------------------------------------

function renderNotification(n: Notification, prepend: boolean): void {
  if (seen.has(n.id)) return;
  seen.add(n.id);
  const item = h(
    "li",
    { class: "notification", "data-notification-id": n.id, "data-kind": n.kind },
    h("span", { class: "notification-message" }, n.message),
    h("time", { datetime: n.created_at }, new Date(n.created_at).toLocaleString()),
  );
  // Only a page of this site: a link from the API is never a script URL.
  if (n.link?.startsWith("/view/")) {
    item.append(
      h("a", { class: "notification-link", href: n.link, target: "_blank", rel: "noopener" }, "View in browser"),
    );
  }
  if (n.correlation_id) item.dataset.correlationId = n.correlation_id;
  const list = $("#notifications");
  if (prepend) list.prepend(item);
  else list.append(item);
}

function onPush(data: unknown): void {
  const msg = data as { type?: string; notification?: Notification };
  if (msg.type !== "notification" || !msg.notification) return;
  const n = msg.notification;
  renderNotification(n, true);
  const todoId = n.correlation_id ? pending.get(n.correlation_id) : undefined;
  if (todoId && n.correlation_id) {
    pending.delete(n.correlation_id);
    const item = document.querySelector<HTMLElement>(`li.todo[data-todo-id="${todoId}"]`);
    if (item) {
      delete item.dataset.pending;
      item.querySelector(".todo-pending")?.remove();
    }
  }
}

async function refreshNotifications(): Promise<void> {
  const out = await guard(() => api.notifications()).catch(() => undefined);
  // Oldest first, each prepended: the list ends newest first.
  for (const n of (out?.items ?? []).slice().reverse()) renderNotification(n, true);
}

// ---- todos ---------------------------------------------------------------

async function loadTodos(): Promise<void> {
  const page = await guard(() => api.listTodos(cursor));
  if (!page) return;
  for (const t of page.items) $("#todos").append(renderTodo(t));
  cursor = page.next_cursor;
  $("#todos-more").hidden = !cursor;
}

function renderTodo(t: Todo): HTMLLIElement {
  const completeId = `complete-${t.id}`;
  const attachId = `attach-${t.id}`;
  const complete = h("input", { type: "checkbox", class: "todo-complete", id: completeId });
  complete.checked = t.completed;
  complete.disabled = t.completed;
  const attach = h("input", { type: "file", class: "todo-attach", id: attachId });
  const item = h(
    "li",
    { class: "todo", "data-todo-id": t.id },
    h("div", { class: "todo-main" },
      complete,
      h("label", { for: completeId, class: "todo-title" }, t.title),
      h("span", { class: "visually-hidden" }, t.completed ? " (completed)" : ""),
    ),
    t.description ? h("p", { class: "todo-description" }, t.description) : "",
    t.due_date ? h("p", { class: "todo-due" }, `Due ${t.due_date}`) : "",
    h("div", { class: "todo-actions" },
      h("button", { type: "button", class: "todo-edit" }, "Edit"),
      h("button", { type: "button", class: "todo-delete" }, "Delete"),
      h("label", { for: attachId, class: "attach-label" }, "Attach a file"),
      attach,
    ),
    h("ul", { class: "attachments", "aria-label": "Attachments" }),
    h("p", { class: "todo-error", role: "alert", "data-error": "general" }),
  );
  if (t.completed) item.classList.add("done");
  for (const a of t.attachments) item.querySelector(".attachments")!.append(renderAttachment(a.id, a.file_name, a.status, a.reason));

  complete.addEventListener("change", () => void completeTodo(item, t));
  item.querySelector(".todo-delete")!.addEventListener("click", () => void deleteTodo(item, t));
  item.querySelector(".todo-edit")!.addEventListener("click", () => editTodo(item, t));
  attach.addEventListener("change", () => {
    const file = attach.files?.[0];
    if (file) void attachFile(item, t, file);
    attach.value = "";
  });
  return item;
}

function renderAttachment(id: string, name: string, status: string, reason?: string | null): HTMLLIElement {
  const li = h("li", { class: "attachment", "data-attachment-id": id, "data-status": status },
    h("span", { class: "attachment-name" }, name),
    h("span", { class: "attachment-status" }, status === "rejected" && reason ? `rejected: ${reason}` : status),
  );
  return li;
}

async function completeTodo(item: HTMLLIElement, t: Todo): Promise<void> {
  const box = item.querySelector<HTMLInputElement>(".todo-complete")!;
  const correlationId = crypto.randomUUID();
  // The congratulation arrives by push; until then the todo says so.
  pending.set(correlationId, t.id);
  item.dataset.pending = "congratulation";
  item.querySelector(".todo-main")!.append(h("span", { class: "todo-pending", role: "status" }, "Waiting for your congratulation…"));
  box.disabled = true;
  try {
    const next = await guard(() => api.patchTodo(t.id, { completed: true }, correlationId));
    if (next) {
      Object.assign(t, next);
      item.classList.add("done");
    }
  } catch (e) {
    pending.delete(correlationId);
    delete item.dataset.pending;
    item.querySelector(".todo-pending")?.remove();
    box.checked = false;
    box.disabled = false;
    if (!(e instanceof TooManyRequests)) item.querySelector(".todo-error")!.textContent = (e as Error).message;
  }
}

async function deleteTodo(item: HTMLLIElement, t: Todo): Promise<void> {
  if (!confirm(`Delete “${t.title}”?`)) return;
  try {
    await guard(() => api.deleteTodo(t.id));
    const next = item.nextElementSibling ?? item.previousElementSibling;
    item.remove();
    (next?.querySelector("button, input") as HTMLElement | null)?.focus();
  } catch (e) {
    if (!(e instanceof TooManyRequests)) item.querySelector(".todo-error")!.textContent = (e as Error).message;
  }
}

function editTodo(item: HTMLLIElement, t: Todo): void {
  if (item.querySelector("form.todo-edit-form")) return;
  const inputId = `edit-${t.id}`;
  const errorId = `edit-${t.id}-title-error`;
  const title = h("input", { id: inputId, class: "todo-edit-title", "data-field": "title", "aria-describedby": errorId });
  title.value = t.title;
  const form = h("form", { class: "todo-edit-form" },
    h("label", { for: inputId }, "Title"),
    title,
    h("span", { id: errorId, class: "field-error todo-edit-title-error", "data-error": "title" }),
    h("button", { type: "submit" }, "Save"),
    h("button", { type: "button", class: "todo-edit-cancel" }, "Cancel"),
    h("p", { class: "form-error", role: "alert", "data-error": "general" }),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      const next = await guard(() => api.patchTodo(t.id, { title: title.value }));
      if (!next) return;
      const fresh = renderTodo(next);
      item.replaceWith(fresh);
      fresh.querySelector<HTMLElement>(".todo-edit")!.focus();
    } catch (err) {
      if (err instanceof TooManyRequests) return;
      if (err instanceof ApiError) showError(form, "todo-edit", err.error);
      else showError(form, "todo-edit", err as Error);
    }
  });
  form.querySelector(".todo-edit-cancel")!.addEventListener("click", () => {
    form.remove();
    item.querySelector<HTMLElement>(".todo-edit")!.focus();
  });
  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") form.querySelector<HTMLElement>(".todo-edit-cancel")!.click();
  });
  item.append(form);
  title.focus();
}

async function attachFile(item: HTMLLIElement, t: Todo, file: File): Promise<void> {
  const error = item.querySelector(".todo-error")!;
  error.textContent = "";
  try {
    const u = await guard(() => api.attach(t.id, file));
    if (!u) return;
    const li = renderAttachment(u.attachment_id, file.name, "pending");
    const bar = h("progress", { max: "1", value: "0", "aria-label": `Uploading ${file.name}` });
    li.append(bar);
    item.querySelector(".attachments")!.append(li);
    await upload(u, file, (f) => (bar.value = f));
    bar.remove();
    await awaitCheck(li, t.id, u.attachment_id);
  } catch (e) {
    if (e instanceof TooManyRequests) return;
    error.textContent = e instanceof ApiError ? `${e.error.field ? `${e.error.field}: ` : ""}${e.message}` : (e as Error).message;
  }
}

/** The S3-triggered check decides later; poll with backoff until it has. */
async function awaitCheck(li: HTMLLIElement, todoId: string, attachmentId: string): Promise<void> {
  let wait = 250;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 2000);
    // Throttled: nothing was read, so just poll again.
    const t = await guard(() => api.getTodo(todoId)).catch((e) => {
      if (e instanceof TooManyRequests) return undefined;
      throw e;
    });
    const a = t?.attachments.find((x) => x.id === attachmentId);
    if (a && a.status !== "pending") {
      li.replaceWith(renderAttachment(a.id, a.file_name, a.status, a.reason));
      return;
    }
  }
  li.querySelector(".attachment-status")!.textContent = "still being checked — reload later";
}

// ---- forms ---------------------------------------------------------------

function authForm(selector: string, action: (form: HTMLFormElement) => Promise<void>): void {
  const form = $<HTMLFormElement>(selector);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#auth-error").textContent = "";
    const button = form.querySelector<HTMLButtonElement>("[type=submit]")!;
    button.disabled = true;
    try {
      await action(form);
    } catch (err) {
      $("#auth-error").textContent = (err as Error).message;
    } finally {
      button.disabled = false;
    }
  });
}

async function signedIn(email: string, password: string): Promise<void> {
  const out = await cognito.signIn(config, email, password);
  if ("mfa" in out) return showMfa({ email, challenge: out.mfa });
  await start({ ...out.tokens, email });
}

async function start(s: session.Session): Promise<void> {
  session.save(s);
  await showApp(s);
}

/** The code step of a sign-in with MFA, or (null) back to the password. */
function showMfa(next: typeof mfa): void {
  mfa = next;
  $("#mfa-form").hidden = !next;
  $("#signin-form").hidden = !!next;
  $<HTMLInputElement>("#mfa-code").value = "";
  if (next) $<HTMLInputElement>("#mfa-code").focus();
}

/**
 * Revokes the session before forgetting it here, so a copy is useless
 * too: a password session's refresh tokens by GlobalSignOut, a managed
 * login session's at the revocation endpoint (its token may not call the
 * user-pool API); offline, this browser signs out regardless.
 */
async function signOut(): Promise<void> {
  const federated = current?.federated === true;
  const button = $<HTMLButtonElement>("#signout");
  button.disabled = true;
  renewal.stop();
  live?.stop();
  live = null;
  if (current && !session.valid(current.accessToken)) await renewal.now();
  const s = current;
  if (s) {
    const revoked = s.federated
      ? federation.revoke(config, s.refreshToken)
      : cognito.globalSignOut(config, s.accessToken);
    await revoked.catch(() => undefined);
  }
  button.disabled = false;
  endSession("");
  if (federated) federation.signOut(config);
}

async function deleteAccount(): Promise<void> {
  if (!confirm("Delete your account and everything in it?")) return;
  let deleted = false;
  await guard(async () => {
    await api.deleteProfile();
    deleted = true;
  }).catch((e) => {
    if (!(e instanceof TooManyRequests)) alert((e as Error).message);
  });
  if (deleted) endSession("Your account was deleted.");
}

function wire(): void {
  authForm("#signup-form", async () => {
    const email = $<HTMLInputElement>("#signup-email").value.trim();
    signUpPassword = $<HTMLInputElement>("#signup-password").value;
    // The name goes to Cognito: the users service's confirmation trigger
    // makes the profile with it. A refusal (PreSignUp) shows its reason.
    const name = $<HTMLInputElement>("#signup-name").value.trim() || email;
    await cognito.signUp(config, email, signUpPassword, name);
    $<HTMLInputElement>("#confirm-email").value = email;
    $("#confirm-form").hidden = false;
    $("#confirm-local").hidden = !config.local;
    $<HTMLInputElement>("#confirm-code").focus();
  });
  authForm("#confirm-form", async () => {
    const email = $<HTMLInputElement>("#confirm-email").value;
    await cognito.confirmSignUp(config, email, $<HTMLInputElement>("#confirm-code").value.trim());
    $("#confirm-form").hidden = true;
    if (signUpPassword) {
      await signedIn(email, signUpPassword);
      signUpPassword = "";
    } else {
      $<HTMLInputElement>("#signin-email").value = email;
      $<HTMLInputElement>("#signin-password").focus();
    }
  });
  authForm("#signin-form", async () => {
    await signedIn($<HTMLInputElement>("#signin-email").value.trim(), $<HTMLInputElement>("#signin-password").value);
  });
  authForm("#mfa-form", async () => {
    if (!mfa) return;
    const tokens = await cognito.answerMfa(config, mfa.challenge, $<HTMLInputElement>("#mfa-code").value.trim());
    const email = mfa.email;
    showMfa(null);
    await start({ ...tokens, email });
  });
  $("#mfa-cancel").addEventListener("click", () => showAuth(""));
  federation.wire(config);

  const todoForm = $<HTMLFormElement>("#todo-form");
  todoForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(todoForm);
    const title = $<HTMLInputElement>("#todo-form-title");
    const description = $<HTMLTextAreaElement>("#todo-form-description");
    const due = $<HTMLInputElement>("#todo-form-due");
    const body: { title: string; description?: string; due_date?: string } = { title: title.value };
    if (description.value.trim()) body.description = description.value;
    if (due.value) body.due_date = due.value;
    try {
      const t = await guard(() => api.createTodo(body));
      if (!t) return;
      $("#todos").prepend(renderTodo(t));
      todoForm.reset();
      title.focus();
    } catch (err) {
      if (err instanceof TooManyRequests) return;
      if (err instanceof ApiError) showError(todoForm, "todo-form", err.error);
      else showError(todoForm, "todo-form", err as Error);
    }
  });
  $("#todos-more").addEventListener("click", () => void loadTodos());
  $("#signout").addEventListener("click", () => void signOut());
  $("#delete-account").addEventListener("click", () => void deleteAccount());
}

async function main(): Promise<void> {
  try {
    config = await loadConfig();
  } catch (e) {
    $("#fatal").textContent = `The app cannot start: ${(e as Error).message}`;
    $("#fatal").hidden = false;
    return;
  }
  api = new Api(config, () => token() ?? "");
  renewal = new Renewal(config, { session: () => current, renewed, ended: endSession });
  campaigns = new CampaignsView(api, guard);
  users = new UsersView(api, guard);
  wire();
  // Back from "Sign in with": that answer decides, not an older stored session.
  const back = await federation.callback(config);
  if (back) return "session" in back ? start(back.session) : showAuth(back.error);
  const s = session.load();
  if (!s) return showAuth();
  current = s;
  // Expired while the page was closed: the refresh token may still renew it.
  if (!session.valid(s.idToken) && !(await renewal.now())) return;
  await showApp(current);
}

void main();
