import { concatMap, first, from, map, type ObservableInput, type OperatorFunction, of } from 'rxjs';
import type { Fence, StateWrite, SteppedBatch, WriteReport } from '../core/contracts.js';

/** Options of {@link storeState}. */
export interface StoreStateOptions {
  /** Fenced write of many keys in one round trip (the state store's `write`); a Promise or any observable input. */
  write: (writes: StateWrite[]) => ObservableInput<WriteReport>;
  /** Told about keys the store refused because its fence was already at or past ours (a replay). */
  onFenced?: (keys: string[], batch: SteppedBatch) => void;
}

/**
 * Writes a stepped batch's states (one `write` call per batch; a `null` state is written as a
 * fence-only tombstone) and passes the batch on only once the write resolved, so nothing downstream
 * (outputs, offset commits, the micro-batch key gate) runs ahead of durable state.
 *
 * @example
 * stepped$.pipe(storeState({ write: (writes) => store.write(writes) }))
 */
export function storeState(options: StoreStateOptions): OperatorFunction<SteppedBatch, SteppedBatch> {
  const { write, onFenced } = options;
  return concatMap((batch) => {
    const writes = toStateWrites(batch);
    if (writes.length === 0) return of(batch);
    return from(write(writes)).pipe(
      first(),
      map((report) => {
        if (report.fenced.length > 0) onFenced?.(report.fenced, batch);
        return batch;
      }),
    );
  });
}

/**
 * The fenced writes of a stepped batch. A stored state carries its fence; a tombstone's fence is its
 * key's last fresh (non-replayed) message, i.e. the `end: true` message that closed the sequence.
 */
export function toStateWrites(batch: SteppedBatch): StateWrite[] {
  const lastFresh = new Map<string, Fence>();
  for (const result of batch.results) {
    if (result.replayed) continue;
    const { key, record } = result.message;
    lastFresh.set(key, { partition: record.source.partition, offset: record.source.offset });
  }
  const writes: StateWrite[] = [];
  for (const [key, stored] of batch.writes) {
    const fence = stored?.fence ?? lastFresh.get(key);
    if (fence === undefined) throw new Error(`no fresh message of key ${key} to fence its tombstone`);
    writes.push({ key, fence, stored });
  }
  return writes;
}
