// Server-sent events of table changes (/api/v1/events?types=…): each message's data is JSON
// {"type": "commit" | "freshness", "data": {"table": "db.table", …}}. Same origin, so the session
// cookie goes along; the browser reconnects by itself. Closed when `signal` aborts.

export interface TableEvent {
  type: string; // "commit" or "freshness"
  table: string; // "db.table"
}

export function watchTableEvents(
  types: string[],
  onEvent: (event: TableEvent) => void,
  signal: AbortSignal,
): void {
  if (signal.aborted || typeof EventSource === "undefined") return;
  const source = new EventSource(`/api/v1/events?types=${types.join(",")}`);
  const handle = (message: MessageEvent<string>) => {
    let parsed: { type?: unknown; data?: { table?: unknown }; table?: unknown };
    try {
      parsed = JSON.parse(message.data) as typeof parsed;
    } catch {
      return; // not an event the console knows (a comment, a keep-alive)
    }
    const table = parsed.data?.table ?? parsed.table;
    const type = typeof parsed.type === "string" ? parsed.type : message.type;
    if (typeof table === "string") onEvent({ type, table });
  };
  // Unnamed events arrive as "message"; named ones ("event: commit") under their name.
  source.addEventListener("message", handle);
  for (const type of types) source.addEventListener(type, handle);
  signal.addEventListener("abort", () => source.close(), { once: true });
}
