// The SQL editor (CodeMirror 6): PostgreSQL-flavoured highlighting, completion of keywords,
// `db.table` names and column names from the catalog, Ctrl/Cmd-Enter to run, and marking the line
// and column of a syntax error.
import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
  type Completion,
  type CompletionContext,
  type CompletionResult,
} from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching,
  HighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { PostgreSQL, sql, type SQLNamespace } from "@codemirror/lang-sql";
import { Compartment, EditorSelection, Prec, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration,
  drawSelection,
  EditorView,
  highlightActiveLine,
  keymap,
  lineNumbers,
  placeholder,
  type DecorationSet,
} from "@codemirror/view";
import { tags } from "@lezer/highlight";
import type { SourcePosition } from "../queries";
import type { Column, TableKind } from "../types";

/** A table or view as the editor completes it. */
export interface CompletionTable {
  name: string; // "db.table"
  kind: TableKind;
  columns: Column[];
}

export interface SqlEditor {
  element: HTMLElement;
  getText(): string;
  setText(text: string): void;
  focus(): void;
  setCatalog(tables: CompletionTable[]): void;
  /** Highlights the line of an error and puts the cursor at its column; null clears it. */
  markError(position: SourcePosition | null): void;
}

export interface SqlEditorOptions {
  text: string;
  onRun(): void;
  onChange(text: string): void;
}

// Colours come from CSS variables so the editor follows the console's light/dark theme.
const highlightStyle = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--syntax-keyword)", fontWeight: "600" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--syntax-string)" },
  { tag: [tags.number, tags.bool, tags.null], color: "var(--syntax-number)" },
  {
    tag: [tags.lineComment, tags.blockComment],
    color: "var(--syntax-comment)",
    fontStyle: "italic",
  },
  { tag: [tags.typeName, tags.standard(tags.name)], color: "var(--syntax-type)" },
  { tag: [tags.operator, tags.punctuation], color: "var(--syntax-operator)" },
]);

const setErrorLine = StateEffect.define<number | null>();
const errorLineDecoration = Decoration.line({ class: "cm-error-line" });

/** The error line's decoration; dropped as soon as the text changes. */
const errorLineField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(decorations, transaction) {
    for (const effect of transaction.effects) {
      if (effect.is(setErrorLine)) {
        if (effect.value === null) return Decoration.none;
        const line = transaction.state.doc.line(effect.value);
        return Decoration.set([errorLineDecoration.range(line.from)]);
      }
    }
    return transaction.docChanged ? Decoration.none : decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** The lang-sql schema: `db` → `table` → columns, for dotted completion ("shop." → "orders"). */
function schemaOf(tables: CompletionTable[]): SQLNamespace {
  const schema: Record<string, Record<string, Completion[]>> = {};
  for (const table of tables) {
    const dot = table.name.indexOf(".");
    if (dot < 0) continue;
    const database = (schema[table.name.slice(0, dot)] ??= {});
    database[table.name.slice(dot + 1)] = table.columns.map((column) => ({
      label: column.name,
      type: "property",
      detail: column.type,
    }));
  }
  return schema;
}

/** Undotted words: whole `db.table` names and every column name (with its type and tables). */
function catalogCompletionSource(tables: CompletionTable[]) {
  const columnTables = new Map<string, { type: string; tables: string[] }>();
  for (const table of tables) {
    for (const column of table.columns) {
      const entry = columnTables.get(column.name) ?? { type: column.type, tables: [] };
      entry.tables.push(table.name);
      columnTables.set(column.name, entry);
    }
  }
  const options: Completion[] = [
    ...tables.map((table) => ({ label: table.name, type: "class", detail: table.kind })),
    ...[...columnTables].map(([name, entry]) => ({
      label: name,
      type: "property",
      detail: entry.type,
      info: entry.tables.join(", "),
      boost: -1,
    })),
  ];
  return (context: CompletionContext): CompletionResult | null => {
    const word = context.matchBefore(/\w*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    if (context.state.sliceDoc(word.from - 1, word.from) === ".") return null;
    return { from: word.from, options, validFor: /^\w*$/ };
  };
}

function languageFor(tables: CompletionTable[]) {
  const support = sql({ dialect: PostgreSQL, schema: schemaOf(tables), upperCaseKeywords: true });
  return [support, support.language.data.of({ autocomplete: catalogCompletionSource(tables) })];
}

export function createSqlEditor(options: SqlEditorOptions): SqlEditor {
  const element = document.createElement("div");
  element.className = "sql-editor";
  element.dataset.testid = "sql-editor";
  const language = new Compartment();

  const view = new EditorView({
    parent: element,
    doc: options.text,
    extensions: [
      lineNumbers(),
      history(),
      drawSelection(),
      highlightActiveLine(),
      bracketMatching(),
      closeBrackets(),
      indentOnInput(),
      autocompletion(),
      syntaxHighlighting(highlightStyle),
      language.of(languageFor([])),
      errorLineField,
      placeholder("SELECT … — Ctrl-Enter (⌘-Enter on macOS) runs it"),
      EditorView.contentAttributes.of({ "aria-label": "SQL" }),
      Prec.highest(
        keymap.of([
          {
            key: "Mod-Enter",
            run: () => {
              options.onRun();
              return true;
            },
          },
        ]),
      ),
      keymap.of([
        ...closeBracketsKeymap,
        ...defaultKeymap,
        ...historyKeymap,
        ...completionKeymap,
        indentWithTab,
      ]),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) options.onChange(update.state.doc.toString());
      }),
    ],
  });

  return {
    element,
    getText: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        selection: { anchor: text.length },
      });
    },
    focus: () => view.focus(),
    setCatalog(tables) {
      view.dispatch({ effects: language.reconfigure(languageFor(tables)) });
    },
    markError(position) {
      if (position === null) {
        view.dispatch({ effects: setErrorLine.of(null) });
        return;
      }
      const doc = view.state.doc;
      const line = doc.line(Math.min(Math.max(position.line, 1), doc.lines));
      const column = Math.min(Math.max(position.column - 1, 0), line.length);
      view.dispatch({
        selection: EditorSelection.cursor(line.from + column),
        effects: [setErrorLine.of(line.number), EditorView.scrollIntoView(line.from + column)],
      });
      view.focus();
    },
  };
}
