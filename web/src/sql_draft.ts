// The SQL text of the query page: kept in this browser's localStorage so it survives a reload
// (nothing is saved on the server), and read or replaced through the editor while it is open.
import type { SqlEditor } from "./components/sql_editor";

const STORAGE_KEY = "loch.query.sql";

let openEditor: SqlEditor | null = null;

export function storedSql(): string {
  return localStorage.getItem(STORAGE_KEY) ?? "";
}

export function storeSql(text: string): void {
  localStorage.setItem(STORAGE_KEY, text);
}

/** The query page's editor while it is shown (null when it is gone). */
export function setOpenEditor(editor: SqlEditor | null): void {
  openEditor = editor;
}

export function getSql(): string {
  return openEditor ? openEditor.getText() : storedSql();
}

/** Replaces the SQL (the editor stores it on change). */
export function setSql(text: string): void {
  if (openEditor) openEditor.setText(text);
  else storeSql(text);
}
