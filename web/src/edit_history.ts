// Undo/redo over immutable values (a dashboard definition being edited): each edit pushes the
// value before it; consecutive edits with the same coalesce key (typing in one field) are one step.

export class EditHistory<T> {
  private past: T[] = [];
  private future: T[] = [];
  private lastKey: string | null = null;

  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Makes `next` the value; with the same `coalesceKey` as the edit before, replaces that step. */
  apply(next: T, coalesceKey?: string): void {
    if (coalesceKey === undefined || coalesceKey !== this.lastKey) this.past.push(this.current);
    this.current = next;
    this.future = [];
    this.lastKey = coalesceKey ?? null;
  }

  undo(): boolean {
    const previous = this.past.pop();
    if (previous === undefined) return false;
    this.future.push(this.current);
    this.current = previous;
    this.lastKey = null;
    return true;
  }

  redo(): boolean {
    const next = this.future.pop();
    if (next === undefined) return false;
    this.past.push(this.current);
    this.current = next;
    this.lastKey = null;
    return true;
  }

  /** Starts over from `value` with nothing to undo. */
  reset(value: T): void {
    this.current = value;
    this.past = [];
    this.future = [];
    this.lastKey = null;
  }
}
