// "Sign in with <provider>": the user pool's managed login sends the user
// to an outside identity provider and back here with an authorization
// code (OAuth 2.0 authorization code flow). The app is a public client with
// no secret, so PKCE (S256) is what binds the code to this browser: only
// the page that made the verifier can exchange the code for tokens.
// Written here rather than taken from oidc-client-ts: that library would
// grow the bundle by a fifth for no check this code lacks (measured in
// docs/web-app.md, "Sign in with an outside provider").
import type { Config } from "./config.js";
import * as session from "./session.js";
import { $ } from "./ui.js";

// One entry per tab (sessionStorage), read once when the provider sends
// the user back: the verifier for the exchange, the state against forgery.
const KEY = "todo.federation";

// The same hung-request limit as the user-pool API calls (cognito.ts).
const TIMEOUT_MS = 10_000;

const SCOPE = "openid email profile";
// The query parameters the authorization server answers with.
const ANSWER = ["code", "state", "error", "error_description", "error_uri"];

export const NOT_COMPLETED = "The sign-in could not be completed. Please try again.";

interface Pending {
  verifier: string;
  state: string;
}

/** The answer to a callback: signed in, or why not. */
export type Callback = { session: session.Session } | { error: string };

/**
 * Exactly what the app client registers as its callback and sign-out URL:
 * the app's own page, so the answer lands where this code runs.
 */
function redirectUri(): string {
  return `${location.origin}/`;
}

/** The user pool domain, tolerant of a trailing slash in the config. */
function domain(fed: NonNullable<Config["federation"]>): string {
  return fed.domainUrl.replace(/\/+$/, "");
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** 32 random bytes: 43 base64url characters, the shortest verifier RFC 7636 allows. */
function random(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** S256: the server sees only the hash until the exchange proves the verifier. */
async function challenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** `k=v&…` with every value percent-encoded (a space as %20, which every parser reads). */
function query(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

/** Shows the button where the platform has an outside identity provider. */
export function wire(config: Config): void {
  const fed = config.federation;
  const button = $<HTMLButtonElement>("#signin-federated");
  if (!fed) return;
  button.textContent = `Sign in with ${fed.label}`;
  button.hidden = false;
  button.addEventListener("click", async () => {
    $("#auth-error").textContent = "";
    button.disabled = true;
    try {
      await begin(config);
    } catch (err) {
      // E.g. no crypto.subtle outside a secure context.
      $("#auth-error").textContent = `Sign-in with ${fed.label} failed: ${(err as Error).message}`;
    } finally {
      // Re-enabled for a return with the Back button (the page may be restored as it was).
      button.disabled = false;
    }
  });
}

/** Leaves for the managed login, which sends the user straight on to the provider. */
async function begin(config: Config): Promise<void> {
  const fed = config.federation;
  if (!fed) return;
  const pending: Pending = { verifier: random(), state: random() };
  const code_challenge = await challenge(pending.verifier);
  sessionStorage.setItem(KEY, JSON.stringify(pending));
  location.assign(
    `${domain(fed)}/oauth2/authorize?` +
      query({
        response_type: "code",
        client_id: config.clientId,
        redirect_uri: redirectUri(),
        identity_provider: fed.provider,
        scope: SCOPE,
        state: pending.state,
        code_challenge,
        code_challenge_method: "S256",
      }),
  );
}

/** The stored verifier and state, taken out: each is good for one answer only. */
function takePending(): Pending | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    const p = raw ? (JSON.parse(raw) as Partial<Pending>) : null;
    return typeof p?.verifier === "string" && typeof p.state === "string" ? (p as Pending) : null;
  } catch {
    return null;
  } finally {
    sessionStorage.removeItem(KEY);
  }
}

/**
 * The provider's answer, if this page load is one: the address bar is
 * cleaned first, so a reload or a bookmark never replays a used code.
 * Null when the URL carries no answer.
 */
export async function callback(config: Config): Promise<Callback | null> {
  const url = new URL(location.href);
  const code = url.searchParams.get("code");
  const error = url.searchParams.get("error");
  if (code === null && error === null) return null;
  const state = url.searchParams.get("state");
  const description = url.searchParams.get("error_description");
  for (const name of ANSWER) url.searchParams.delete(name);
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);

  const pending = takePending();
  const fed = config.federation;
  if (!fed) return { error: NOT_COMPLETED };
  // Only an answer to this tab's own request is shown: anyone can craft a
  // link with an error in it.
  if (error !== null) {
    const ours = pending !== null && state === pending.state;
    return { error: ours ? failed(fed.label, description || error) : NOT_COMPLETED };
  }
  // A state this tab did not send: a forged or stale answer, never exchanged.
  if (!pending || !state || state !== pending.state || !code) return { error: NOT_COMPLETED };
  try {
    return { session: await exchange(config, code, pending.verifier) };
  } catch (err) {
    return { error: failed(fed.label, (err as Error).message) };
  }
}

function failed(label: string, why: string): string {
  return `Sign-in with ${label} failed: ${why}`;
}

interface TokenAnswer {
  id_token?: string;
  access_token?: string;
  refresh_token?: string;
  error?: string;
  error_description?: string;
}

/** The code and its verifier for the tokens; the session is marked federated for sign-out. */
async function exchange(config: Config, code: string, verifier: string): Promise<session.Session> {
  const fed = config.federation!;
  const res = await fetch(`${domain(fed)}/oauth2/token`, {
    method: "POST",
    signal: AbortSignal.timeout(TIMEOUT_MS),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: verifier,
    }).toString(),
  });
  const text = await res.text();
  let data: TokenAnswer = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (parsed && typeof parsed === "object") data = parsed as TokenAnswer;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (!res.ok) throw new Error(data.error_description || data.error || `HTTP ${res.status}`);
  const { id_token: idToken, access_token: accessToken, refresh_token: refreshToken } = data;
  if (!idToken || !accessToken || !refreshToken) throw new Error("the sign-in service sent no tokens");
  // The app names the user by email, as a password sign-in does; the
  // provider's email reaches the ID token through the attribute mapping.
  const email = session.claims(idToken)?.email;
  if (typeof email !== "string" || !email) throw new Error("no email address was shared");
  return { idToken, accessToken, refreshToken, email, federated: true };
}

/**
 * Revokes the session's refresh token and every access token issued from
 * it, at managed login's revocation endpoint. A managed-login session's
 * access token carries the scopes the sign-in asked for, not the
 * user-pool API's (`aws.cognito.signin.user.admin`), so Cognito refuses
 * its GlobalSignOut.
 */
export async function revoke(config: Config, refreshToken: string): Promise<void> {
  const fed = config.federation;
  if (!fed) return;
  const res = await fetch(`${domain(fed)}/oauth2/revoke`, {
    method: "POST",
    signal: AbortSignal.timeout(TIMEOUT_MS),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: refreshToken, client_id: config.clientId }).toString(),
  });
  if (!res.ok) throw new Error(`the sign-in service did not revoke the session: HTTP ${res.status}`);
}

/**
 * Ends the managed login's own session cookie too; without it the next
 * "Sign in with" would go through silently as the same user. The managed
 * login sends the browser back to the app's page.
 */
export function signOut(config: Config): void {
  const fed = config.federation;
  if (!fed) return;
  location.assign(
    `${domain(fed)}/logout?client_id=${encodeURIComponent(config.clientId)}` +
      `&logout_uri=${encodeURIComponent(redirectUri())}`,
  );
}
