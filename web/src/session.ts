// The signed-in session, kept in localStorage so a reload stays signed in.
// The ID token is checked for expiry before use: an expired one is renewed
// with the refresh token first, never sent for the API to refuse.
const KEY = "todo.session";

export interface Session {
  idToken: string;
  accessToken: string;
  refreshToken: string;
  email: string;
  /** Signed in through the managed login (federation.ts), whose own session sign-out ends too. */
  federated?: boolean;
}

export const EXPIRED = "Your session has expired. Please sign in again.";
export const ENDED = "Your session has expired or was signed out elsewhere. Please sign in again.";
export const UNREACHABLE = "Your session has expired and the sign-in service could not be reached to renew it. Please sign in again.";

interface Claims {
  exp?: number;
  sub?: string;
  email?: string;
  "cognito:groups"?: string[];
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

/** When the token expires, in epoch milliseconds; 0 if it is not a JWT. */
export function expiresAt(token: string): number {
  const exp = claims(token)?.exp;
  return typeof exp === "number" ? exp * 1000 : 0;
}

/**
 * The Cognito groups the ID token names. They only choose what the page
 * shows: each API checks the same claim on the verified token itself.
 */
export function groups(token: string): string[] {
  const g = claims(token)?.["cognito:groups"];
  return Array.isArray(g) ? g.filter((x): x is string => typeof x === "string") : [];
}

/** Whether the token is well formed and not yet expired. */
export function valid(token: string, now = Date.now()): boolean {
  return expiresAt(token) > now;
}

/** The stored session; one saved before sessions renewed has no refresh token and counts as none. */
export function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    const s = raw ? (JSON.parse(raw) as Partial<Session>) : null;
    if (!s?.idToken || !s.accessToken || !s.refreshToken || !s.email) return null;
    return s as Session;
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
