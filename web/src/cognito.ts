// Cognito's user-pool API called directly (no SDK, no Amplify): these
// three operations need no AWS credentials, only the app client id.
import type { Config } from "./config.js";

export class CognitoError extends Error {
  constructor(public readonly type: string, message: string) {
    super(message);
  }
}

async function call<T>(config: Config, operation: string, body: unknown): Promise<T> {
  const res = await fetch(config.cognitoEndpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityProviderService.${operation}`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const type = String(data.__type ?? "Error").split("#").pop() ?? "Error";
    throw new CognitoError(type, data.message ?? data.Message ?? `${operation} failed (HTTP ${res.status})`);
  }
  return data as T;
}

export function signUp(config: Config, email: string, password: string): Promise<unknown> {
  return call(config, "SignUp", {
    ClientId: config.clientId,
    Username: email,
    Password: password,
    UserAttributes: [{ Name: "email", Value: email }],
  });
}

export function confirmSignUp(config: Config, email: string, code: string): Promise<unknown> {
  return call(config, "ConfirmSignUp", {
    ClientId: config.clientId,
    Username: email,
    ConfirmationCode: code,
  });
}

/** The ID token: it names the person (`sub`, `email`) for every API. */
export async function signIn(config: Config, email: string, password: string): Promise<string> {
  const out = await call<{ AuthenticationResult?: { IdToken?: string } }>(config, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.clientId,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  const token = out.AuthenticationResult?.IdToken;
  if (!token) throw new CognitoError("NoToken", "Sign-in needs another step this app does not support.");
  return token;
}
