// The app's configuration, generated per environment: the local cloud
// serves it from its endpoints; on AWS it is written from the stacks'
// outputs. Nothing environment-specific is compiled in.
export interface Config {
  region: string;
  cognitoEndpoint: string;
  userPoolId: string;
  clientId: string;
  /** Each service's HTTP API; campaigns' only where it is deployed. */
  apis: { users: string; todos: string; notifications: string; campaigns?: string };
  socketUrl: string;
  /** The identity pool that gives the browser its own AWS credentials,
   * and the bucket of the user's files they may list and read. */
  identityPoolId?: string;
  filesBucket?: string;
  /** S3 where it is not AWS's own endpoint (the local cloud). */
  s3Endpoint?: string;
  local?: boolean;
  /** How long before the ID token expires to renew it; 300 when absent. */
  renewBeforeSeconds?: number;
  /** Federated sign-in through the user pool's managed login, where the platform has an outside identity provider. */
  federation?: { domainUrl: string; provider: string; label: string };
}

const RENEW_BEFORE_SECONDS = 300;
// A per-browser override of the lead, so a test sees a renewal within
// seconds of signing in without changing the shared local cloud's config.
const RENEW_OVERRIDE = "todo.renewBeforeSeconds";

function seconds(value: unknown): number | null {
  const n = typeof value === "string" && value.trim() ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : null;
}

/** The renewal lead in seconds: the override, else config.json's, else 300. */
export function renewBeforeSeconds(c: Config): number {
  return seconds(localStorage.getItem(RENEW_OVERRIDE)) ?? seconds(c.renewBeforeSeconds) ?? RENEW_BEFORE_SECONDS;
}

export async function loadConfig(): Promise<Config> {
  const res = await fetch("./config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  const c = (await res.json()) as Config;
  for (const key of ["cognitoEndpoint", "clientId", "socketUrl"] as const) {
    if (!c[key]) throw new Error(`config.json has no ${key}`);
  }
  return c;
}
