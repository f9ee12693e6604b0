/**
 * Maps ioredis errors onto the rnnstream hierarchy: what a retry can fix (connection lost, timeouts,
 * a node loading or failing over, cluster resharding) is a `TransientError` the pipeline retries with
 * bounded backoff; refused credentials are a `ConfigError`; anything else is a non-retriable
 * `RnnstreamError`. Programmer errors pass through untouched.
 */
import { ConfigError, RnnstreamError, TransientError } from '../../core/errors.js';

/** Reply prefixes of Redis errors that clear up by themselves (loading, failover, resharding, busy script). */
const TRANSIENT_REPLIES = [
  'LOADING',
  'BUSY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'READONLY',
  'MOVED',
  'ASK',
  'NOREPLICAS',
  'OOM',
];
const AUTH_REPLIES = ['NOAUTH', 'WRONGPASS', 'NOPERM', 'ERR invalid password', 'ERR AUTH'];
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
/** ioredis' own client-side failures: connection gone, command timeout, slot map being refreshed. */
const TRANSIENT_MESSAGES =
  /Connection is closed|Command timed out|isn't writeable|Reached the max retries|None of startup nodes|Failed to refresh slots cache|slots allocation group|Cluster isn't ready|connect ETIMEDOUT/i;

/** Whether an ioredis error is worth retrying later. */
export function isTransientRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code && TRANSIENT_CODES.has(code)) return true;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true;
  if (TRANSIENT_REPLIES.some((prefix) => error.message.startsWith(`${prefix} `) || error.message === prefix))
    return true;
  return TRANSIENT_MESSAGES.test(error.message);
}

/**
 * Wraps an ioredis error as the rnnstream error the pipeline acts on. `what` says which operation
 * failed and where (a redacted URI); `redact` scrubs secrets from the driver's message.
 *
 * @example throw wrapRedisError(err, 'state load from redis://127.0.0.1:6379/0', redact)
 */
export function wrapRedisError(
  error: unknown,
  what: string,
  redact: (text: string) => string = (t) => t,
): Error {
  if (error instanceof RnnstreamError) return error;
  if (error instanceof TypeError || error instanceof RangeError) return error;
  const message = redact(error instanceof Error ? error.message : String(error));
  // The cause is kept for logs only when it cannot leak a secret through its message.
  const cause = error instanceof Error && redact(error.message) === error.message ? error : undefined;
  if (isTransientRedisError(error)) return new TransientError(`${what} failed: ${message}`, { cause });
  if (error instanceof Error && AUTH_REPLIES.some((p) => error.message.startsWith(p))) {
    return new ConfigError(
      `${what} refused the credentials: ${message} (check the user and password in the state URI)`,
      {
        cause,
      },
    );
  }
  return new RnnstreamError(`${what} failed: ${message}`, { retriable: false, cause });
}
