// The app's configuration, generated per environment: the local cloud
// serves it from its endpoints; on AWS it is written from the stacks'
// outputs. Nothing environment-specific is compiled in.
export interface Config {
  region: string;
  cognitoEndpoint: string;
  userPoolId: string;
  clientId: string;
  apis: { users: string; todos: string; notifications: string };
  socketUrl: string;
  local?: boolean;
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
