// A dashboard's body, signed in or shared: the parameter bar (one input per parameter,
// data-testid="param-{name}", and Apply) and the tiles in a responsive grid. It runs every tile
// with the parameter values, again every refresh_seconds, and when told a source table changed
// (debounced: several commits at once are one refresh).
import { errorMessage, isAbortError } from "../api";
import { h, note, setChildren } from "../dom";
import type { DashboardDefinition, DashboardParameter, DashboardTile, TileAnswer } from "../types";
import { createTileView, type TileView } from "./dashboard_tile";

const TABLE_CHANGE_DEBOUNCE_MS = 500;
const MIN_REFRESH_SECONDS = 5;
const TICK_MS = 10_000;

export interface DashboardViewOptions {
  signal: AbortSignal; // stops every request and timer
  run(
    tile: DashboardTile,
    values: Record<string, string>,
    signal: AbortSignal,
  ): Promise<TileAnswer>;
  /** Why a tile cannot run yet (it is not saved), or null when it can. */
  blocked?(tile: DashboardTile): string | null;
  onRemoveTile?(id: string): void;
  /** Starting parameter values ("p.NAME" entries), e.g. from the page's URL. */
  initialValues?: URLSearchParams;
}

export interface DashboardView {
  element: HTMLElement;
  setDefinition(definition: DashboardDefinition): void;
  setEditing(editing: boolean): void;
  runAll(): void;
  /** A commit to (or a freshness change of) `table`: re-runs the tiles that read it. */
  tableChanged(table: string): void;
}

const INPUT_TYPES = { date: "date", number: "number", text: "text" } as const;

export function defaultValue(parameter: DashboardParameter): string {
  return parameter.default === null || parameter.default === undefined
    ? ""
    : String(parameter.default);
}

export function createDashboardView(options: DashboardViewOptions): DashboardView {
  const { signal } = options;
  const values = new Map<string, string>();
  for (const [key, value] of options.initialValues ?? []) {
    if (key.startsWith("p.")) values.set(key.slice(2), value);
  }
  let definition: DashboardDefinition = { title: "", parameters: [], tiles: [] };
  let parameterSignature = "";
  let editing = false;
  const tiles = new Map<string, { view: TileView; tile: DashboardTile; runKey: string }>();
  const runs = new Map<string, AbortController>();

  const paramBar = h("form", { class: "param-bar", attrs: { "aria-label": "Parameters" } });
  const grid = h("div", { class: "tile-grid" });
  const empty = h("div");
  const element = h("div", { class: "dashboard-body" }, paramBar, empty, grid);
  paramBar.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const input of paramBar.querySelectorAll<HTMLInputElement>("input[data-param]")) {
      values.set(input.dataset.param!, input.value);
    }
    runAll();
  });

  const currentValues = (): Record<string, string> => {
    const current: Record<string, string> = {};
    for (const parameter of definition.parameters) {
      current[parameter.name] = values.get(parameter.name) ?? defaultValue(parameter);
    }
    return current;
  };

  const renderParamBar = () => {
    const inputs = definition.parameters.map((parameter) => {
      const input = h("input", {
        testid: `param-${parameter.name}`,
        attrs: {
          type: INPUT_TYPES[parameter.type] ?? "text",
          "data-param": parameter.name,
          ...(parameter.type === "number" ? { step: "any" } : {}),
        },
      });
      input.value = values.get(parameter.name) ?? defaultValue(parameter);
      return h("label", { class: "param" }, parameter.name, input);
    });
    paramBar.hidden = inputs.length === 0;
    setChildren(
      paramBar,
      ...inputs,
      h("button", { class: "primary", testid: "apply-params", attrs: { type: "submit" } }, "Apply"),
    );
  };

  const runKey = (tile: DashboardTile) =>
    JSON.stringify([tile.query, options.blocked?.(tile) ?? null]);

  function runTile(id: string): void {
    const entry = tiles.get(id);
    if (!entry || signal.aborted) return;
    runs.get(id)?.abort();
    runs.delete(id);
    const reason = options.blocked?.(entry.tile) ?? null;
    if (reason) {
      entry.view.showNotice(reason);
      return;
    }
    const controller = new AbortController();
    runs.set(id, controller);
    const runSignal = AbortSignal.any([signal, controller.signal]);
    entry.view.setLoading();
    options.run(entry.tile, currentValues(), runSignal).then(
      (answer) => {
        if (!runSignal.aborted) entry.view.showAnswer(answer, new Date());
      },
      (error: unknown) => {
        if (!runSignal.aborted && !isAbortError(error)) {
          entry.view.showError(errorMessage(error), new Date());
        }
      },
    );
  }

  function runAll(): void {
    for (const id of tiles.keys()) runTile(id);
  }

  // Auto-refresh every refresh_seconds (not while the tab is hidden).
  let refreshTimer: number | undefined;
  let refreshSeconds = 0;
  const setRefresh = (seconds: number) => {
    if (seconds === refreshSeconds) return;
    refreshSeconds = seconds;
    window.clearInterval(refreshTimer);
    refreshTimer = undefined;
    if (seconds > 0) {
      const every = Math.max(seconds, MIN_REFRESH_SECONDS) * 1000;
      refreshTimer = window.setInterval(() => {
        if (!document.hidden) runAll();
      }, every);
    }
  };

  // Table changes: collected for a moment, then each tile that read one of them runs once.
  const changedTables = new Set<string>();
  let changeTimer: number | undefined;
  const flushChanges = () => {
    changeTimer = undefined;
    for (const [id, { view }] of tiles) {
      if (view.tables().some((table) => changedTables.has(table))) runTile(id);
    }
    changedTables.clear();
  };

  const ticker = window.setInterval(() => {
    for (const { view } of tiles.values()) view.tick();
  }, TICK_MS);
  signal.addEventListener(
    "abort",
    () => {
      window.clearInterval(refreshTimer);
      window.clearInterval(ticker);
      window.clearTimeout(changeTimer);
      for (const { view } of tiles.values()) view.dispose();
    },
    { once: true },
  );

  return {
    element,
    setDefinition(next) {
      definition = next;
      const signature = JSON.stringify(next.parameters);
      if (signature !== parameterSignature) {
        parameterSignature = signature;
        renderParamBar();
      }
      setRefresh(next.refresh_seconds ?? 0);

      const wanted = new Set(next.tiles.map((tile) => tile.id));
      for (const [id, { view }] of tiles) {
        if (wanted.has(id)) continue;
        runs.get(id)?.abort();
        runs.delete(id);
        view.dispose();
        tiles.delete(id);
      }
      const toRun: string[] = [];
      for (const tile of next.tiles) {
        const entry = tiles.get(tile.id);
        const key = runKey(tile);
        if (!entry) {
          const view = createTileView(tile, (id) => options.onRemoveTile?.(id));
          view.setEditing(editing);
          tiles.set(tile.id, { view, tile, runKey: key });
          toRun.push(tile.id);
          continue;
        }
        entry.view.setDefinition(tile);
        entry.tile = tile;
        if (entry.runKey !== key) toRun.push(tile.id);
        entry.runKey = key;
      }
      // Keep the elements (and their charts) that are already in place; only reorder if needed.
      const ordered = next.tiles.map((tile) => tiles.get(tile.id)!.view.element);
      const inPlace =
        ordered.length === grid.children.length &&
        ordered.every((tileElement, index) => grid.children[index] === tileElement);
      if (!inPlace) grid.replaceChildren(...ordered);
      setChildren(empty, next.tiles.length === 0 ? note("This dashboard has no tiles yet.") : null);
      for (const id of toRun) runTile(id);
    },
    setEditing(next) {
      editing = next;
      for (const { view } of tiles.values()) view.setEditing(next);
    },
    runAll,
    tableChanged(table) {
      changedTables.add(table);
      window.clearTimeout(changeTimer);
      changeTimer = window.setTimeout(flushChanges, TABLE_CHANGE_DEBOUNCE_MS);
    },
  };
}
