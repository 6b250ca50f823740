// The HTTP APIs. Every call carries the ID token and a fresh correlation
// id, which the backend threads through its events: the push that an
// action causes comes back with the same id.
import type { Config } from "./config.js";

export interface FieldError {
  code: string;
  message: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(public readonly status: number, public readonly error: FieldError) {
    super(error.message);
  }
}

/** 401: the token is no longer accepted; the app signs out. */
export class Unauthorized extends Error {}

/**
 * 429: the stage's throttle turned the request away before any function
 * ran, so nothing happened and the same request can simply be sent again.
 */
export class TooManyRequests extends Error {
  constructor() {
    super("Too many requests right now — try again in a moment.");
  }
}

export interface Attachment {
  id: string;
  file_name: string;
  content_type: string;
  size: number;
  status: "pending" | "ready" | "rejected";
  reason?: string | null;
}

export interface Todo {
  id: string;
  title: string;
  description?: string | null;
  due_date?: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
  attachments: Attachment[];
}

export interface Profile {
  id: string;
  email: string;
  display_name: string;
  created_at: string;
  updated_at: string;
}

export interface Notification {
  id: string;
  kind: string;
  message: string;
  /** A page of this site (`/view/<campaign id>`). */
  link?: string;
  created_at: string;
  source_event_id?: string;
  correlation_id?: string;
}

export type CampaignStatus = "submitted" | "accepted" | "sending" | "sent" | "delivered" | "failed";

export interface CampaignStep {
  at: string;
  step: string;
  detail: string;
}

export interface Campaign {
  id: string;
  subject: string;
  body: string;
  status: CampaignStatus;
  reason?: string | null;
  recipients?: number | null;
  created_at: string;
  updated_at: string;
  /** Oldest first. */
  steps: CampaignStep[];
}

export interface Upload {
  attachment_id: string;
  upload_url: string;
  method: string;
  headers: Record<string, string>;
}

export class Api {
  constructor(private readonly config: Config, private readonly token: () => string) {}

  async call<T>(service: keyof Config["apis"], method: string, path: string, body?: unknown, correlationId: string = crypto.randomUUID()): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token()}`,
      "x-correlation-id": correlationId,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${this.config.apis[service]}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) throw new Unauthorized();
    if (res.status === 429) throw new TooManyRequests();
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const data = text ? JSON.parse(text) : {};
    if (!res.ok) {
      const error: FieldError = data.error ?? { code: "error", message: data.message ?? `HTTP ${res.status}` };
      throw new ApiError(res.status, error);
    }
    return data as T;
  }

  saveProfile(displayName: string) {
    return this.call("users", "PUT", "/users/me", { display_name: displayName });
  }

  listUsers(cursor?: string | null) {
    const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    return this.call<{ items: Profile[]; next_cursor: string | null }>("users", "GET", `/users?limit=50${q}`);
  }

  deleteProfile() {
    return this.call<void>("users", "DELETE", "/users/me");
  }

  listTodos(cursor?: string | null) {
    const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    return this.call<{ items: Todo[]; next_cursor: string | null }>("todos", "GET", `/todos?limit=10${q}`);
  }

  getTodo(id: string) {
    return this.call<Todo>("todos", "GET", `/todos/${encodeURIComponent(id)}`);
  }

  createTodo(body: { title: string; description?: string; due_date?: string }) {
    return this.call<Todo>("todos", "POST", "/todos", body);
  }

  patchTodo(id: string, body: Record<string, unknown>, correlationId?: string) {
    return this.call<Todo>("todos", "PATCH", `/todos/${encodeURIComponent(id)}`, body, correlationId);
  }

  deleteTodo(id: string) {
    return this.call<void>("todos", "DELETE", `/todos/${encodeURIComponent(id)}`);
  }

  attach(id: string, file: File) {
    return this.call<Upload>("todos", "POST", `/todos/${encodeURIComponent(id)}/attachments`, {
      file_name: file.name,
      content_type: file.type || "application/octet-stream",
      size: file.size,
    });
  }

  notifications() {
    return this.call<{ items: Notification[] }>("notifications", "GET", "/notifications");
  }

  startCampaign(body: { subject: string; body: string }) {
    return this.call<Campaign>("campaigns", "POST", "/campaigns", body);
  }

  listCampaigns() {
    return this.call<{ items: Campaign[] }>("campaigns", "GET", "/campaigns");
  }

  getCampaign(id: string) {
    return this.call<Campaign>("campaigns", "GET", `/campaigns/${encodeURIComponent(id)}`);
  }
}

/** PUT to the presigned URL with XHR: fetch reports no upload progress. */
export function upload(u: Upload, file: File, progress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(u.method || "PUT", u.upload_url);
    for (const [k, v] of Object.entries(u.headers ?? {})) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(e.loaded / e.total);
    };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`upload failed: HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    xhr.send(file);
  });
}
