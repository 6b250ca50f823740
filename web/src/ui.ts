// Small DOM helpers: elements built with text (never HTML strings, so no
// user text is ever parsed as markup) and field errors tied to inputs.
import type { FieldError } from "./api.js";

export function $<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`missing ${selector}`);
  return el;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string | boolean> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (typeof v === "boolean") {
      if (v) el.setAttribute(k, "");
    } else {
      el.setAttribute(k, v);
    }
  }
  el.append(...children);
  return el;
}

/** Clears a form's errors: the general one and every field's. */
export function clearErrors(form: HTMLFormElement): void {
  for (const el of form.querySelectorAll<HTMLElement>("[data-error]")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/**
 * Shows an API error next to the field it names (`<prefix>-<field>-error`),
 * or in the form's general error, and moves focus to the field.
 */
export function showError(form: HTMLFormElement, prefix: string, error: FieldError | Error): void {
  const field = "field" in error ? (error as FieldError).field : undefined;
  const message = error.message;
  const target = field ? form.querySelector<HTMLElement>(`.${prefix}-${field}-error, #${prefix}-${field}-error`) : null;
  if (target) {
    target.textContent = message;
    const input = form.querySelector<HTMLElement>(`[aria-describedby~="${target.id || ""}"]`) ??
      form.querySelector<HTMLElement>(`[data-field="${field}"]`);
    input?.setAttribute("aria-invalid", "true");
    input?.focus();
    return;
  }
  const general = form.querySelector<HTMLElement>("[data-error=general]");
  if (general) general.textContent = message;
}
