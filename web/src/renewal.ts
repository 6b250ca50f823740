// Keeps the session's tokens fresh: the ID token is renewed with the
// refresh token a lead time before it expires (config.ts), so neither the
// APIs nor the live socket are handed an expired one while the refresh
// token lasts. A refused refresh token ends the session; a network error
// is retried with backoff first.
import * as cognito from "./cognito.js";
import { Config, renewBeforeSeconds } from "./config.js";
import * as session from "./session.js";

export interface RenewalHandlers {
  session(): session.Session | null;
  renewed(s: session.Session): void;
  ended(reason: string): void;
}

// A lead longer than the token's life would otherwise renew in a loop.
const MIN_DELAY_MS = 5_000;
const RETRY_MS = [1_000, 2_000, 4_000];
// Retries spent while the token still works: try again this much later.
const LATER_MS = 60_000;

export class Renewal {
  private timer: number | undefined;
  private inFlight: Promise<boolean> | null = null;

  constructor(private readonly config: Config, private readonly on: RenewalHandlers) {}

  /** Plans the next renewal from the current ID token's `exp`. */
  schedule(): void {
    const s = this.on.session();
    if (!s) return this.stop();
    const at = session.expiresAt(s.idToken) - renewBeforeSeconds(this.config) * 1000;
    this.after(Math.max(at - Date.now(), MIN_DELAY_MS));
  }

  stop(): void {
    window.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Renews now, once however many callers ask together; whether the session goes on. */
  now(): Promise<boolean> {
    this.inFlight ??= this.renew().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private after(ms: number): void {
    this.stop();
    this.timer = window.setTimeout(() => void this.now(), ms);
  }

  private async renew(): Promise<boolean> {
    const s = this.on.session();
    if (!s) return false;
    for (let attempt = 0; ; attempt++) {
      try {
        const tokens = await cognito.refresh(this.config, s.refreshToken);
        if (!this.still(s)) return false;
        this.on.renewed({ ...s, ...tokens });
        this.schedule();
        return true;
      } catch (e) {
        if (!this.still(s)) return false;
        if (e instanceof cognito.CognitoError && e.type === "NotAuthorizedException") return this.end(session.ENDED);
        if (attempt >= RETRY_MS.length) return this.giveUp(s);
        await sleep(RETRY_MS[attempt] * (0.5 + Math.random() / 2));
      }
    }
  }

  /** Whether `s` is still the session: a sign-out during the request wins. */
  private still(s: session.Session): boolean {
    return this.on.session()?.refreshToken === s.refreshToken;
  }

  private giveUp(s: session.Session): boolean {
    const left = session.expiresAt(s.idToken) - Date.now();
    if (left <= 0) return this.end(session.UNREACHABLE);
    this.after(Math.min(LATER_MS, Math.max(left - 1_000, MIN_DELAY_MS)));
    return true;
  }

  private end(reason: string): false {
    this.stop();
    this.on.ended(reason);
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => window.setTimeout(r, ms));
}
