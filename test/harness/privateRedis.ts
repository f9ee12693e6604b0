/**
 * A `redis-server` of the test's own, so a test can stop and freeze it without touching the shared one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../bench/e2eProcesses.js';
import { redisClient } from './redis.js';
import { waitFor } from './timeout.js';

/**
 * A `redis-server` on a spare port (no persistence), so a test can stop and freeze it without touching
 * the Redis other tests use.
 *
 * @example
 * const redis = await PrivateRedis.start();
 * redis.freeze(); … redis.thaw();
 * await redis.stop();
 */
export class PrivateRedis {
  private constructor(
    readonly port: number,
    readonly pid: number,
  ) {}

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'rnnstream-test-redis-'));
    const pidFile = join(dir, 'redis.pid');
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--daemonize', 'yes', '--dir', dir, '--pidfile', pidFile, '--logfile', join(dir, 'redis.log'));
    await new Promise<void>((resolve, reject) =>
      execFile('redis-server', args, (error) => (error ? reject(error) : resolve())),
    );
    let pid = 0;
    await waitFor(
      async () => {
        pid = Number((await readFile(pidFile, 'utf8').catch(() => '0')).trim());
        return pid > 0;
      },
      10_000,
      `redis-server on port ${port} wrote no pid file`,
    );
    const redis = new PrivateRedis(port, pid);
    const client = await redisClient(redis.url);
    await client.quit();
    return redis;
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  /** Thaws a frozen server (SIGCONT). */
  thaw(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  /** Stops the server for good. */
  async stop(): Promise<void> {
    try {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGKILL');
    } catch {
      return;
    }
    await waitFor(
      () => {
        try {
          process.kill(this.pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      10_000,
      `redis-server pid ${this.pid} did not stop`,
    );
  }
}
