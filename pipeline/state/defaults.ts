/**
 * Merges options over their defaults, skipping `undefined` (a plain spread would let an explicit
 * `undefined` erase a default).
 *
 * @example withDefaults({ ttlMs: 1000 }, { ttlMs: undefined }) // { ttlMs: 1000 }
 */
export function withDefaults<T extends object>(defaults: Required<T>, options: T): Required<T> {
  const out = { ...defaults };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) (out as Record<string, unknown>)[name] = value;
  }
  return out;
}
