import { filter, map, type OperatorFunction, pipe, tap } from 'rxjs';
import type { DeadLetter, Routed } from '../core/contracts.js';

/** Whether a routed item carries a good value (a type guard for `filter`). */
export function isRoutedValue<T>(routed: Routed<T>): routed is { ok: true; value: T } {
  return routed.ok;
}

/**
 * Splits a routed stream: good values go on, dead letters are handed to `sink` (which only enqueues:
 * the I/O belongs to the pipeline's dead-letter sink). An error thrown by `sink` propagates.
 *
 * @example
 * records$.pipe(decodeRecord(), routeDeadLetters((dead) => deadLetters.push(dead)))
 */
export function routeDeadLetters<T>(sink: (dead: DeadLetter) => void): OperatorFunction<Routed<T>, T> {
  return pipe(
    tap((routed) => {
      if (!routed.ok) sink(routed.dead);
    }),
    filter(isRoutedValue),
    map((routed) => routed.value),
  );
}
