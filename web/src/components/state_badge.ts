// A query's or run's state as a coloured badge (data-state carries the word for styling and tests).
import { h } from "../dom";

export function stateBadge(state: string, testid?: string): HTMLElement {
  return h("span", { class: "badge", testid, attrs: { "data-state": state } }, state);
}
