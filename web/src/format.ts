// Human-friendly formatting of counts, byte sizes, times and durations.

const countFormat = new Intl.NumberFormat();

/** 1234567 → "1,234,567" (in the browser's locale); missing values → "—". */
export function formatCount(value: number | null | undefined): string {
  return typeof value === "number" ? countFormat.format(value) : "—";
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 48 → "48 B", 1536 → "1.5 KiB". */
export function formatBytes(value: number | null | undefined): string {
  if (typeof value !== "number") return "—";
  let size = value;
  let unit = 0;
  while (Math.abs(size) >= 1024 && unit < BYTE_UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  const digits = unit === 0 || size >= 100 ? 0 : 1;
  return `${size.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** 32.3 → "32 ms", 1500 → "1.5 s", 125000 → "2 min 5 s". */
export function formatDuration(ms: number | null | undefined): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** An ISO timestamp or a Date in local time; unparsable text is shown as it came. */
export function formatTime(value: string | Date | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : timeFormat.format(date);
}

/** Microseconds since the epoch (0: not set) as local time. */
export function formatMicros(micros: number | null | undefined): string {
  return micros ? formatTime(new Date(micros / 1000)) : "—";
}

/** How long ago `value` was: "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatRelative(value: Date | string | null | undefined, now = Date.now()): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}
