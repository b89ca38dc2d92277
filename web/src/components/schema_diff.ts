// A table's schema history: each version's changes from the one before it (columns added,
// removed, type changed; partitioning changed), newest first.
import { h, note } from "../dom";
import type { Column, SchemaVersion } from "../types";

export type ColumnChange =
  | { kind: "added"; column: string; type: string }
  | { kind: "removed"; column: string; type: string }
  | { kind: "type-changed"; column: string; from: string; to: string };

export function diffColumns(before: Column[], after: Column[]): ColumnChange[] {
  const beforeTypes = new Map(before.map((column) => [column.name, column.type]));
  const afterNames = new Set(after.map((column) => column.name));
  const changes: ColumnChange[] = [];
  for (const column of after) {
    const previousType = beforeTypes.get(column.name);
    if (previousType === undefined)
      changes.push({ kind: "added", column: column.name, type: column.type });
    else if (previousType !== column.type) {
      changes.push({
        kind: "type-changed",
        column: column.name,
        from: previousType,
        to: column.type,
      });
    }
  }
  for (const column of before) {
    if (!afterNames.has(column.name))
      changes.push({ kind: "removed", column: column.name, type: column.type });
  }
  return changes;
}

function describe(change: ColumnChange): string {
  switch (change.kind) {
    case "added":
      return `+ ${change.column} ${change.type} added`;
    case "removed":
      return `− ${change.column} ${change.type} removed`;
    case "type-changed":
      return `~ ${change.column}: ${change.from} → ${change.to}`;
  }
}

function versionEntry(version: SchemaVersion, previous: SchemaVersion | undefined): HTMLElement {
  const heading = h("h3", {}, `Version ${version.version}`);
  if (!previous) {
    return h("li", {}, heading, note(`Initial schema: ${version.columns.length} column(s).`));
  }
  const changes = diffColumns(previous.columns, version.columns).map((change) =>
    h(
      "li",
      {
        class: `change change-${change.kind}`,
        attrs: { "data-change": change.kind, "data-name": change.column },
      },
      describe(change),
    ),
  );
  const partitioningBefore = previous.partition_columns.join(", ");
  const partitioningAfter = version.partition_columns.join(", ");
  if (partitioningBefore !== partitioningAfter) {
    changes.push(
      h(
        "li",
        { class: "change", attrs: { "data-change": "partitioning" } },
        `Partitioning: ${partitioningBefore || "none"} → ${partitioningAfter || "none"}`,
      ),
    );
  }
  return h(
    "li",
    {},
    heading,
    changes.length > 0
      ? h("ul", { class: "changes" }, ...changes)
      : note(`No column changes from version ${previous.version}.`),
  );
}

/** The history as a list with data-testid="schema-diff". */
export function renderSchemaHistory(versions: SchemaVersion[]): HTMLElement {
  const ordered = [...versions].sort((a, b) => a.version - b.version);
  const entries = ordered
    .map((version, index) => versionEntry(version, ordered[index - 1]))
    .reverse();
  return h("ol", { class: "schema-history", testid: "schema-diff" }, ...entries);
}
