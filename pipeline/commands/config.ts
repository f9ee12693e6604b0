/**
 * `rnnstream config --print`: the effective run configuration (flags over env over file over defaults),
 * with secrets masked, as JSON.
 */
import { envName, maskSecrets, RUN_CONFIG_KEYS, resolveRunConfig } from '../config.js';

/** Prints the effective config; resolves to the exit code. */
export async function configCommand(flags: Record<string, unknown>): Promise<number> {
  const {
    config: configFile,
    print: _print,
    ...rest
  } = flags as { config?: string; print?: boolean } & Record<string, unknown>;
  const config = resolveRunConfig(rest, process.env, configFile);
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config))
    shown[key] = typeof value === 'string' ? maskSecrets(value) : value;
  const kafkaPassword = process.env.RNNSTREAM_KAFKA_SASL_PASSWORD;
  const security = Object.fromEntries(
    Object.entries(process.env)
      .filter(([name]) => name.startsWith('RNNSTREAM_KAFKA_'))
      .map(([name, value]) => [
        name,
        /PASSWORD|SECRET|TOKEN/.test(name) || value === kafkaPassword ? '***' : value,
      ]),
  );
  const sources = Object.fromEntries(
    RUN_CONFIG_KEYS.map((key) => [
      key,
      rest[key] !== undefined ? 'flag' : process.env[envName(key)] !== undefined ? 'env' : 'default/file',
    ]),
  );
  process.stdout.write(
    `${JSON.stringify({ config: shown, kafkaSecurity: security, from: sources }, null, 2)}\n`,
  );
  return 0;
}
