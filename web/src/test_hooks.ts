// Test-only access to the SQL text (typing into CodeMirror from a browser test is unreliable):
// window.lochConsole.setSql / getSql. Nothing else is exposed.
import { getSql, setSql } from "./sql_draft";

declare global {
  interface Window {
    lochConsole: { setSql(text: string): void; getSql(): string };
  }
}

export function installTestHooks(): void {
  window.lochConsole = { setSql, getSql };
}
