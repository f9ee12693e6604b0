/**
 * One engine worker thread: its own TF.js backend and engine, stepping the rows the parent sends.
 * Messages: `{init: {weights, config, backend, options}}` → `{ready}`, `{id, rows}` → `{id, results}` or
 * `{id, error}`.
 */
import { parentPort } from 'node:worker_threads';
import { type BackendName, selectBackend } from './backend.js';
import type { RnnWeights } from './cells.js';
import { createStepEngine, type StepEngineOptions } from './stepEngine.js';
import type { RnnConfig, StepEngine, StepOptions, StepRow } from './types.js';

interface InitMessage {
  init: { weights: RnnWeights; config: RnnConfig; backend: BackendName; options: StepEngineOptions };
}
interface StepMessage {
  id: number;
  rows: StepRow[];
  stepOptions?: StepOptions;
}

if (!parentPort) throw new Error('engineWorker must run in a worker thread');
const port = parentPort;
let engine: StepEngine | undefined;

port.on('message', (message: InitMessage | StepMessage) => {
  if ('init' in message) {
    const { weights, config, backend, options } = message.init;
    selectBackend(backend).then(
      () => {
        engine = createStepEngine(weights, config, options);
        port.postMessage({ ready: true });
      },
      (error: unknown) =>
        port.postMessage({ ready: false, error: String((error as Error)?.message ?? error) }),
    );
    return;
  }
  const { id, rows, stepOptions } = message;
  if (!engine) {
    port.postMessage({ id, error: 'engine worker not initialised' });
    return;
  }
  engine.step(rows, stepOptions).then(
    (results) => {
      // Hand the result buffers over instead of copying them.
      const transfer = results.flatMap((r) => [
        r.state.h.buffer,
        r.state.c?.buffer,
        r.last.buffer,
        ...r.marked.map((m) => m.buffer),
        r.outputs?.buffer,
      ]);
      port.postMessage({ id, results }, [
        ...new Set(transfer.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer)),
      ]);
    },
    (error: unknown) =>
      port.postMessage({
        id,
        error: String((error as Error)?.message ?? error),
        kind: (error as Error)?.name,
      }),
  );
});
