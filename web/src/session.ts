// The signed-in session, kept in localStorage so a reload stays signed in.
// The token is checked for expiry before use: an expired one means signing
// in again, never a request the API will refuse.
const KEY = "todo.session";
const PENDING_NAME = "todo.pendingDisplayName";

export interface Session {
  idToken: string;
  email: string;
}

export const EXPIRED = "Your session has expired. Please sign in again.";

interface Claims {
  exp?: number;
  sub?: string;
  email?: string;
}

export function claims(token: string): Claims | null {
  try {
    const part = token.split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    return JSON.parse(json) as Claims;
  } catch {
    return null;
  }
}

/** Whether the token is well formed and not yet expired. */
export function valid(token: string, now = Date.now()): boolean {
  const c = claims(token);
  return !!c && typeof c.exp === "number" && c.exp * 1000 > now;
}

export function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function save(s: Session): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function clear(): void {
  localStorage.removeItem(KEY);
}

// The display name given at sign-up waits here until the first signed-in
// PUT /users/me succeeds (sign-up and sign-in are separate steps).
export function pendingName(): string | null {
  return localStorage.getItem(PENDING_NAME);
}

export function setPendingName(name: string | null): void {
  if (name) localStorage.setItem(PENDING_NAME, name);
  else localStorage.removeItem(PENDING_NAME);
}
