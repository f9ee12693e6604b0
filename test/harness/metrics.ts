/**
 * Reading a worker's Prometheus metrics (`--metrics-port`) as a scraper would.
 */

/**
 * Sums a Prometheus counter or gauge from a worker's `/metrics` (every label set, or those whose label
 * text contains `labelFilter`).
 *
 * @example const badStates = await scrapeMetric(port, 'rnnstream_bad_states_total');
 */
export async function scrapeMetric(port: number, name: string, labelFilter = ''): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match && match[1] === name && (match[2] ?? '').includes(labelFilter)) sum += Number(match[3]);
  }
  return sum;
}
