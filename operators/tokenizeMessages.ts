import { map, type OperatorFunction } from 'rxjs';
import type { InputMessage, Routed, TokenizedMessage } from '../core/contracts.js';
import { PoisonInputError } from '../core/errors.js';

/** Options of {@link tokenizeMessages}. */
export interface TokenizeMessagesOptions {
  /** Text to token ids (the model package's tokenizer). Throws {@link PoisonInputError} for text it refuses. */
  tokenize: (text: string) => Int32Array;
}

/**
 * Adds token ids to each good message; a {@link PoisonInputError} from the tokenizer becomes a dead letter
 * (stage `tokenize`, the error's reason). Other errors are programmer errors and propagate.
 *
 * @example
 * messages$.pipe(tokenizeMessages({ tokenize: (text) => tokenizer.encode(text) }))
 */
export function tokenizeMessages(
  options: TokenizeMessagesOptions,
): OperatorFunction<Routed<InputMessage>, Routed<TokenizedMessage>> {
  const { tokenize } = options;
  return map((routed) => {
    if (!routed.ok) return routed;
    const message = routed.value;
    try {
      return { ok: true, value: { ...message, tokens: tokenize(message.text) } };
    } catch (error) {
      if (!(error instanceof PoisonInputError)) throw error;
      return {
        ok: false,
        dead: { record: message.record, reason: error.reason, stage: 'tokenize', detail: error.message },
      };
    }
  });
}
