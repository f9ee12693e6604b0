/**
 * A deadline for harness operations, so that a missing server fails a test with a message, not a hang.
 */
import { TransientError } from '../../core/errors.js';

/**
 * Resolves as `promise` does, or rejects with a {@link TransientError} saying `what` did not finish
 * within `ms`. `what` may be a function, read when the deadline passes (to report progress). The timer
 * never keeps the process alive.
 *
 * @example
 * await withTimeout(admin.connect(), 10_000, 'connecting to Kafka at 127.0.0.1:9092');
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const description = typeof what === 'function' ? what() : what;
      reject(new TransientError(`${description}: not done within ${ms} ms`));
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
