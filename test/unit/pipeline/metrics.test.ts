/** The health endpoints of serveMetrics: /readyz says why a worker is not ready. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { PipelineMetrics, serveMetrics } from '../../../pipeline/metrics.js';

async function readyz(ready: () => Promise<boolean | string>): Promise<{ status: number; body: string }> {
  const server = await serveMetrics(new PipelineMetrics(), { alive: () => true, ready }, 0, '127.0.0.1');
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: await response.text() };
  } finally {
    server.close();
  }
}

describe('serveMetrics /readyz', () => {
  it('200 when ready, 503 when not, with the reason when one is given', async () => {
    assert.deepEqual(await readyz(async () => true), { status: 200, body: 'ready\n' });
    assert.deepEqual(await readyz(async () => false), { status: 503, body: 'not ready\n' });
    assert.deepEqual(await readyz(async () => 'offset commits of t failing for 12 s: timeout'), {
      status: 503,
      body: 'not ready: offset commits of t failing for 12 s: timeout\n',
    });
    assert.deepEqual(
      await readyz(async () => {
        throw new Error('redis down');
      }),
      { status: 503, body: 'not ready\n' },
    );
  });
});
