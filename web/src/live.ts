// The live channel: the WebSocket API, reconnecting with exponential
// backoff and jitter. After every (re)connect the app re-reads what it may
// have missed, since pushes are not replayed. A refused upgrade (a 401, or
// a 429 from the stage's throttle) reaches the browser only as a failed
// connect, so it is retried like any other.
export type LiveState = "connecting" | "open" | "closed";

export interface LiveHandlers {
  token(): string | null;
  message(data: unknown): void;
  state(s: LiveState): void;
  connected(): void;
  refused(): void;
}

const PING_MS = 5 * 60 * 1000; // inside API Gateway's 10-minute idle timeout
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const STABLE_MS = 10_000;

export class Live {
  private socket: WebSocket | null = null;
  private delay = FIRST_DELAY_MS;
  private stopped = true;
  private timer: number | undefined;

  constructor(private readonly url: string, private readonly on: LiveHandlers) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close(1000, "signed out");
    this.socket = null;
    this.on.state("closed");
  }

  /** A new connection now, with the token as it is now (after a renewal). */
  reconnect(): void {
    if (this.stopped) return;
    window.clearTimeout(this.timer);
    const old = this.socket;
    // Detached first, so its close is not taken for a dropped connection.
    this.socket = null;
    old?.close(1000, "token renewed");
    this.delay = FIRST_DELAY_MS;
    this.open();
  }

  private open(): void {
    const token = this.on.token();
    if (!token) {
      this.on.refused();
      return;
    }
    this.on.state("connecting");
    const socket = new WebSocket(`${this.url}?token=${encodeURIComponent(token)}`);
    this.socket = socket;
    let openedAt = 0;
    // Per socket: a replaced socket closes after its successor opened.
    let ping: number | undefined;
    socket.onopen = () => {
      openedAt = Date.now();
      this.on.state("open");
      this.on.connected();
      ping = window.setInterval(() => socket.send(JSON.stringify({ action: "ping" })), PING_MS);
    };
    socket.onmessage = (e) => {
      try {
        this.on.message(JSON.parse(String(e.data)));
      } catch {
        // Not ours to understand; ignore.
      }
    };
    socket.onclose = () => {
      window.clearInterval(ping);
      if (this.stopped || this.socket !== socket) return;
      this.on.state("closed");
      // A connection that lasted resets the backoff.
      if (openedAt && Date.now() - openedAt > STABLE_MS) this.delay = FIRST_DELAY_MS;
      const wait = this.delay / 2 + Math.random() * (this.delay / 2);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
      this.timer = window.setTimeout(() => this.open(), wait);
    };
  }
}
