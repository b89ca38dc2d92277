// Small DOM helpers: build elements with text children (never HTML strings, so server text is
// always escaped) and show error messages.
import { errorMessage } from "./api";

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  testid?: string;
  title?: string;
  attrs?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

/** Creates an element; strings and numbers among `children` become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.testid) element.dataset.testid = props.testid;
  if (props.title) element.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  for (const [type, listener] of Object.entries(props.on ?? {})) {
    element.addEventListener(type, listener as EventListener);
  }
  append(element, ...children);
  return element;
}

/** Appends children, skipping null/undefined/false. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces all children of `parent`. */
export function setChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A visible error message for a failed call (or any thrown value). */
export function errorBox(error: unknown, testid?: string): HTMLElement {
  return h("div", { class: "error-box", testid, attrs: { role: "alert" } }, errorMessage(error));
}

/** A muted one-line note ("Loading…", "No tables yet."). */
export function note(text: string): HTMLElement {
  return h("p", { class: "note" }, text);
}

/** A section with a heading. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** A plain table with a header row; the caller builds the body rows (and their test ids). */
export function table(
  headers: string[],
  rows: HTMLTableRowElement[],
  className = "data",
): HTMLElement {
  return h(
    "div",
    { class: "grid-scroll" },
    h(
      "table",
      { class: className },
      h(
        "thead",
        {},
        h("tr", {}, ...headers.map((header) => h("th", { attrs: { scope: "col" } }, header))),
      ),
      h("tbody", {}, ...rows),
    ),
  );
}

/** A table cell; numbers are right-aligned. */
export function cell(content: Child, numeric = false): HTMLTableCellElement {
  return h("td", { class: numeric ? "num" : undefined }, content);
}
