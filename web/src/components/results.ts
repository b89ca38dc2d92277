// A query's results, a page at a time: the grid (data-testid="results-grid"), Prev/Next by offset
// and a Download CSV link for the whole result.
import { getResults, resultsCsvUrl } from "../api";
import { errorBox, h, note, setChildren } from "../dom";
import { formatCount } from "../format";
import type { QueryInfo } from "../types";
import { renderGrid } from "./grid";

export const RESULTS_PAGE_SIZE = 100;

export interface ResultsView {
  element: HTMLElement;
  show(query: QueryInfo): void;
  clear(): void;
}

export function createResultsView(signal: AbortSignal): ResultsView {
  const element = h("div", { class: "results" });
  let query: QueryInfo | null = null;
  let pageController: AbortController | null = null;

  const loadPage = async (offset: number) => {
    if (!query) return;
    const shown = query;
    pageController?.abort();
    pageController = new AbortController();
    const pageSignal = AbortSignal.any([signal, pageController.signal]);
    element.setAttribute("aria-busy", "true");
    try {
      const page = await getResults(shown.id, offset, RESULTS_PAGE_SIZE, pageSignal);
      const previous = h(
        "button",
        {
          testid: "grid-prev",
          attrs: { type: "button" },
          on: { click: () => loadPage(Math.max(0, offset - RESULTS_PAGE_SIZE)) },
        },
        "← Prev",
      );
      previous.disabled = offset === 0;
      const next = h(
        "button",
        {
          testid: "grid-next",
          attrs: { type: "button" },
          on: { click: () => loadPage(page.next_offset ?? offset) },
        },
        "Next →",
      );
      next.disabled = page.next_offset === null || page.next_offset === undefined;
      const range =
        page.rows.length === 0
          ? "No rows"
          : `Rows ${formatCount(offset + 1)}–${formatCount(offset + page.rows.length)}` +
            (typeof shown.rows === "number" ? ` of ${formatCount(shown.rows)}` : "");
      const download = h(
        "a",
        {
          class: "button-link",
          testid: "download-csv",
          attrs: { href: resultsCsvUrl(shown.id), download: `loch-query-${shown.id}.csv` },
        },
        "Download CSV",
      );
      setChildren(
        element,
        h(
          "div",
          { class: "toolbar" },
          previous,
          next,
          h("span", { class: "muted" }, range),
          h("div", { class: "spacer" }),
          download,
        ),
        renderGrid(page.columns, page.rows, "results-grid"),
      );
    } catch (error) {
      if (!pageSignal.aborted) setChildren(element, errorBox(error));
    } finally {
      element.removeAttribute("aria-busy");
    }
  };

  return {
    element,
    show(finished) {
      query = finished;
      setChildren(element, note("Loading results…"));
      void loadPage(0);
    },
    clear() {
      query = null;
      pageController?.abort();
      setChildren(element);
    },
  };
}
