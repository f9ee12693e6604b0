/**
 * `rnnstream doctor --in … --out … --state …`: connects to each part a run would use — the brokers and
 * topics (partition counts, the group's committed offsets), Redis and its persistence settings, the model
 * package and the backend — and prints what is wrong in plain words. Exit code 0 when nothing is, 1 when
 * something is (an error `run` would stop at, or a warning such as state that is not durable).
 */
import { checkRunParts, type Finding, findingLine } from '../checks.js';
import { resolveRunConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { loadModel } from '../model.js';

const LABELS = { ok: 'ok   ', warn: 'WARN ', error: 'ERROR' } as const;

/** Runs every check and prints one line per finding; resolves to the exit code. */
export async function doctorCommand(flags: Record<string, unknown>): Promise<number> {
  const { config: configFile, ...rest } = flags as { config?: string } & Record<string, unknown>;
  const config = resolveRunConfig(rest, process.env, configFile);
  const parts = await checkRunParts(config);
  // The folder check stands for the model only when it failed; otherwise load the model itself.
  const findings = parts.filter((f) => f.option !== '--model' || f.severity === 'error');
  if (findings.length === parts.length - 1 || config.model === undefined) {
    findings.push(await checkModel(config.model, config.backend));
  }
  for (const finding of findings)
    process.stdout.write(`${LABELS[finding.severity]} ${findingLine(finding)}\n`);
  const problems = findings.filter((f) => f.severity !== 'ok').length;
  process.stdout.write(
    problems === 0 ? 'nothing wrong found\n' : `${problems} problem${problems === 1 ? '' : 's'} found\n`,
  );
  return problems === 0 ? 0 : 1;
}

/** Loads the model package on the chosen backend, as `run` would. */
async function checkModel(
  dir: string | undefined,
  backend: Parameters<typeof loadModel>[0]['backend'],
): Promise<Finding> {
  const option = '--model';
  const target = dir ?? '(the shipped model)';
  try {
    const loaded = await loadModel({ dir, backend, log: createLogger('silent') });
    loaded.dispose();
    const { cell, numLayers, hiddenSize } = loaded.package.config;
    const shape = `${cell}, ${numLayers} layer${numLayers === 1 ? '' : 's'} × ${hiddenSize}`;
    if (loaded.kind === 'wholeText') {
      return {
        option,
        target,
        severity: 'error',
        message: `${loaded.model.id} (${shape}) is bidirectional: it needs whole texts, so \`run\` refuses it (use replay or score)`,
      };
    }
    return {
      option,
      target,
      severity: 'ok',
      message: `${loaded.model.id}: ${shape}; backend ${loaded.backend} (asked: ${backend})`,
    };
  } catch (error) {
    return {
      option,
      target,
      severity: 'error',
      message: `cannot load the model package on backend ${backend}: ${(error as Error).message} (see docs/MODEL_PACKAGE.md)`,
    };
  }
}
