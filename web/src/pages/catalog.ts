// #/catalog and #/catalog/{db}.{table}: the databases and their tables on the left (with a filter),
// the open table on the right. Changing tables keeps the list (and its filter) in place.
import { isAbortError, listDatabases, listFreshness, listTables } from "../api";
import { errorBox, h, note, setChildren } from "../dom";
import { formatCount } from "../format";
import type { PageContext, PageHandle } from "../router";
import type { DatabaseSummary, Freshness, TableSummary } from "../types";
import { renderTableDetail } from "./table_detail";

/** The filter text, kept while the user moves between pages. */
let filterText = "";

interface CatalogData {
  databases: DatabaseSummary[];
  tables: TableSummary[];
  freshness: Map<string, Freshness>;
}

async function loadCatalog(signal: AbortSignal): Promise<CatalogData> {
  const [databases, tables, freshness] = await Promise.all([
    listDatabases(signal),
    listTables(signal),
    // Freshness only adds detail: the catalog is shown without it.
    listFreshness(signal).catch((): Freshness[] => []),
  ]);
  return { databases, tables, freshness: new Map(freshness.map((entry) => [entry.table, entry])) };
}

function databaseOf(tableName: string): string {
  const dot = tableName.indexOf(".");
  return dot < 0 ? "" : tableName.slice(0, dot);
}

export function renderCatalog(view: HTMLElement, context: PageContext): PageHandle {
  const filter = h("input", {
    testid: "table-filter",
    attrs: {
      type: "search",
      placeholder: "Filter tables",
      "aria-label": "Filter tables",
      value: filterText,
    },
  });
  const list = h(
    "nav",
    { class: "table-list", attrs: { "aria-label": "Tables" } },
    note("Loading…"),
  );
  const detail = h("div", { class: "catalog-detail" });
  view.append(
    h("div", { class: "catalog-layout" }, h("aside", { class: "sidebar" }, filter, list), detail),
  );

  let catalog: CatalogData | null = null;
  const catalogLoad = loadCatalog(context.signal);
  let selected = "";
  let detailController: AbortController | null = null;

  const renderList = () => {
    if (!catalog) return;
    const needle = filterText.trim().toLowerCase();
    const groups = new Map<string, TableSummary[]>(
      catalog.databases.map((database) => [database.name, []]),
    );
    for (const table of catalog.tables) {
      const database = databaseOf(table.name);
      if (!groups.has(database)) groups.set(database, []);
      if (table.name.toLowerCase().includes(needle)) groups.get(database)!.push(table);
    }
    const counts = new Map(catalog.databases.map((database) => [database.name, database]));
    const sections = [...groups]
      .filter(
        ([database, tables]) => tables.length > 0 || needle === "" || database.includes(needle),
      )
      .map(([database, tables]) => {
        const summary = counts.get(database);
        const subtitle = summary
          ? `${formatCount(summary.tables)} tables · ${formatCount(summary.views)} views`
          : "";
        return h(
          "div",
          { class: "database" },
          h("h2", { title: subtitle }, database || "(no database)"),
          tables.length > 0 ? h("ul", {}, ...tables.map(tableItem)) : note("No tables."),
        );
      });
    setChildren(list, ...(sections.length > 0 ? sections : [note("No tables match.")]));
  };

  const tableItem = (table: TableSummary) => {
    const stale = catalog?.freshness.get(table.name)?.stale === true;
    const link = h(
      "a",
      { testid: "table-link", attrs: { href: `#/catalog/${encodeURIComponent(table.name)}` } },
      table.name,
    );
    if (table.name === selected) link.setAttribute("aria-current", "page");
    return h(
      "li",
      {},
      link,
      table.kind === "view" ? h("span", { class: "tag" }, "view") : null,
      stale
        ? h("span", { class: "tag tag-warn", title: "Not changed as often as expected" }, "stale")
        : null,
    );
  };

  const showTable = (name: string) => {
    selected = name;
    detailController?.abort();
    detailController = new AbortController();
    renderList();
    if (!name) {
      setChildren(
        detail,
        note("Choose a table on the left to see its columns, history, files and sample rows."),
      );
      return;
    }
    const signal = AbortSignal.any([context.signal, detailController.signal]);
    const freshness = catalogLoad.then(
      (loaded) => loaded.freshness.get(name),
      () => undefined,
    );
    setChildren(detail, renderTableDetail(name, freshness, signal));
  };

  filter.addEventListener("input", () => {
    filterText = filter.value;
    renderList();
  });

  catalogLoad.then(
    (loaded) => {
      catalog = loaded;
      renderList();
    },
    (error) => {
      if (!isAbortError(error)) setChildren(list, errorBox(error));
    },
  );
  showTable(context.captures[0] ?? "");

  return { update: (next) => showTable(next.captures[0] ?? "") };
}
