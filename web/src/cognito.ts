// Cognito's user-pool API called directly (no SDK, no Amplify): these
// operations need no AWS credentials, only the app client id (and, for
// signing out, the user's own access token).
import type { Config } from "./config.js";

export class CognitoError extends Error {
  constructor(public readonly type: string, message: string) {
    super(message);
  }
}

// A hung request would stall a renewal or a sign-out indefinitely.
const TIMEOUT_MS = 10_000;

async function call<T>(config: Config, operation: string, body: unknown): Promise<T> {
  const res = await fetch(config.cognitoEndpoint, {
    method: "POST",
    signal: AbortSignal.timeout(TIMEOUT_MS),
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

export function signUp(config: Config, email: string, password: string, name: string): Promise<unknown> {
  return call(config, "SignUp", {
    ClientId: config.clientId,
    Username: email,
    Password: password,
    UserAttributes: [
      { Name: "email", Value: email },
      { Name: "name", Value: name },
    ],
  });
}

export function confirmSignUp(config: Config, email: string, code: string): Promise<unknown> {
  return call(config, "ConfirmSignUp", {
    ClientId: config.clientId,
    Username: email,
    ConfirmationCode: code,
  });
}

export interface Tokens {
  idToken: string;
  accessToken: string;
  refreshToken: string;
}

/** A second factor asked for: `username` as Cognito names the user in the challenge. */
export interface Mfa {
  username: string;
  session: string;
}

/** Either signed in, or a second factor is asked for: answer with `answerMfa`. */
export type SignIn = { tokens: Tokens } | { mfa: Mfa };

interface AuthResult {
  AuthenticationResult?: { IdToken?: string; AccessToken?: string; RefreshToken?: string };
  ChallengeName?: string;
  ChallengeParameters?: { USER_ID_FOR_SRP?: string };
  Session?: string;
}

const UNSUPPORTED = "Sign-in needs another step this app does not support.";

function tokens(out: AuthResult, refreshToken?: string): Tokens {
  const r = out.AuthenticationResult;
  const refresh = r?.RefreshToken ?? refreshToken;
  if (!r?.IdToken || !r.AccessToken || !refresh) throw new CognitoError("NoToken", UNSUPPORTED);
  return { idToken: r.IdToken, accessToken: r.AccessToken, refreshToken: refresh };
}

export async function signIn(config: Config, email: string, password: string): Promise<SignIn> {
  const out = await call<AuthResult>(config, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.clientId,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (out.ChallengeName === "SOFTWARE_TOKEN_MFA" && out.Session) {
    return { mfa: { username: out.ChallengeParameters?.USER_ID_FOR_SRP ?? email, session: out.Session } };
  }
  return { tokens: tokens(out) };
}

/** The authenticator app's code for a `SOFTWARE_TOKEN_MFA` challenge. */
export async function answerMfa(config: Config, mfa: Mfa, code: string): Promise<Tokens> {
  const out = await call<AuthResult>(config, "RespondToAuthChallenge", {
    ChallengeName: "SOFTWARE_TOKEN_MFA",
    ClientId: config.clientId,
    Session: mfa.session,
    ChallengeResponses: { USERNAME: mfa.username, SOFTWARE_TOKEN_MFA_CODE: code },
  });
  return tokens(out);
}

/** New ID and access tokens; Cognito sends no new refresh token, so the old one is kept. */
export async function refresh(config: Config, refreshToken: string): Promise<Tokens> {
  const out = await call<AuthResult>(config, "InitiateAuth", {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    ClientId: config.clientId,
    AuthParameters: { REFRESH_TOKEN: refreshToken },
  });
  return tokens(out, refreshToken);
}

/** Revokes every refresh token of the user, so a copied one is useless too. */
export function globalSignOut(config: Config, accessToken: string): Promise<unknown> {
  return call(config, "GlobalSignOut", { AccessToken: accessToken });
}
