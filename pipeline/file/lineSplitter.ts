/**
 * Splits a byte stream into lines without decoding it (readline would replace invalid UTF-8 with U+FFFD,
 * hiding exactly the bad input the decoder must dead-letter), and without buffering a huge line whole:
 * a line longer than `maxLineBytes` is cut there and flagged, its rest dropped up to the next newline.
 * Hand-written because the line splitters on npm (split2, readline) decode to strings.
 */

/** One line's raw bytes; `truncated` when it was longer than the limit. */
export interface RawLine {
  bytes: Buffer;
  truncated: boolean;
}

/**
 * Yields the lines of an async byte stream (the last line may lack a newline; a trailing `\r` is dropped).
 * @example for await (const line of splitLines(fs.createReadStream(path), 1 << 20)) …
 */
export async function* splitLines(
  chunks: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let truncated = false;
  const finish = (): RawLine => {
    let bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    const line = { bytes, truncated };
    parts = [];
    length = 0;
    truncated = false;
    return line;
  };
  const append = (piece: Buffer) => {
    const room = maxLineBytes - length;
    if (piece.length > room) {
      truncated = true;
      if (room > 0) parts.push(piece.subarray(0, room));
      length = maxLineBytes;
    } else if (piece.length > 0) {
      parts.push(piece);
      length += piece.length;
    }
  };
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      append(chunk.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
    append(chunk.subarray(start));
  }
  if (length > 0 || truncated) yield finish();
}
