/**
 * `rnnstream score TEXT…`: whole texts through the model (both directions for a bidirectional model),
 * one JSON line per text.
 */
import type { BackendName } from '../../model/backend.js';
import { createLogger } from '../logger.js';
import { loadModel } from '../model.js';

/** Scores texts; resolves to the exit code. */
export async function scoreCommand(
  texts: string[],
  flags: { model?: string; backend: string; embedding?: boolean },
): Promise<number> {
  const log = createLogger('warn');
  const loaded = await loadModel({
    dir: flags.model,
    backend: flags.backend as BackendName,
    wholeText: true,
    log,
  });
  const { encoder } = loaded;
  try {
    const hidden = await encoder.encodeWhole(texts);
    const predictions = loaded.package.head.predict(hidden);
    texts.forEach((text, i) => {
      const { label, score } = predictions[i];
      const line: Record<string, unknown> = {
        text,
        sentiment: { label, score: Number(score.toFixed(6)) },
        model: loaded.package.id,
      };
      if (flags.embedding) line.embedding = Array.from(hidden[i], (v) => Number(v.toFixed(6)));
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
    return 0;
  } finally {
    encoder.dispose();
  }
}
