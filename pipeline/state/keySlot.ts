/**
 * Redis Cluster hash slot of a key (CRC16-XMODEM mod 16384, honouring `{hash tags}`), so the Redis
 * store can group a batch's keys per node. Written here rather than importing `cluster-key-slot`
 * (a transitive dependency of ioredis without type declarations), and checked against
 * `CLUSTER KEYSLOT` in the cluster integration test.
 */

const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[n] = c;
  }
  return table;
}

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >>> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** Number of hash slots in a Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

/**
 * The hash slot Redis Cluster assigns to `key`: only the part inside the first non-empty `{…}` is
 * hashed when there is one.
 *
 * @example keySlot('foo') // 12182
 */
export function keySlot(key: string | Uint8Array): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = bytes.indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) return crc16(bytes, open + 1, close) % CLUSTER_SLOTS;
  }
  return crc16(bytes, 0, bytes.length) % CLUSTER_SLOTS;
}
