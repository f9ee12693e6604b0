/** The pipeline's RxJS operators: one per file, no I/O of their own (they receive injected functions). */
export * from './decodeRecord.js';
export * from './loadState.js';
export * from './microBatch.js';
export * from './routeDeadLetters.js';
export * from './stepBatch.js';
export * from './storeState.js';
export * from './tokenizeMessages.js';
export * from './toOutputs.js';
