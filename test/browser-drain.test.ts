// A rolling restart as real browsers live it: headless Chromium pages with audience.js, one over EventSource
// and one over WebSocket, reach two multicast nodes through a load balancer of the test's own that probes
// GET /readyz. Each node in turn drains (--drain-seconds) and restarts; the pages follow the drain's `retry:`
// or close code to the other node, and both nodes count both pages exactly at the end. What the drain itself
// guarantees (spread ends, one move each, no refusal) is checked with many raw clients in
// drain-load-balancer.test.ts; this file checks that real browsers follow it. Skips like browser.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, servePages, SKIP, WAIT_MS, type PageServer } from './helpers/browser.js';
import { randomGroup, startNode, waitForMesh } from './helpers/cluster.js';
import { waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { LoadBalancer } from './helpers/load-balancer.js';

const NS = 'browser-drain';
const DRAIN = ['--drain-seconds', '4'];

/** The script comes straight from a node, so the balancer's connections are the pages' streams only. */
function page(balancerPort: number, scriptPort: number, transport: 'sse' | 'ws'): string {
  const server = `http://127.0.0.1:${balancerPort}`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>drain</title>
<script src="http://127.0.0.1:${scriptPort}/client/audience.js"></script></head>
<body><script>
  window.counts = [];
  audience('${server}/${NS}', { transport: '${transport}' }).on('count', function (n) { window.counts.push(n); });
</script></body></html>
`;
}

function lastCount(p: Page): Promise<number | undefined> {
  return p.evaluate(() => (window as unknown as { counts: number[] }).counts.at(-1));
}

describe('browser: a rolling restart behind a load balancer', { skip: SKIP }, () => {
  const group = randomGroup();
  const nodes: Daemon[] = [];
  let balancer: LoadBalancer | undefined;
  let browser: Browser | undefined;
  let pages: PageServer | undefined;

  before(async () => {
    nodes.push(...await Promise.all([startNode(group, DRAIN), startNode(group, DRAIN)]));
    await waitForMesh(nodes);
    balancer = new LoadBalancer(nodes.map((node) => node.port));
    const port = await balancer.listen();
    browser = await launchChromium();
    pages = await servePages((req, res) => {
      const transport = /^\/(sse|ws)$/.exec(req.url ?? '')?.[1] as 'sse' | 'ws' | undefined;
      if (transport) res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(port, nodes[1]!.port, transport));
      else res.writeHead(404).end();
    });
  });

  after(async () => {
    await browser?.close();
    balancer?.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await pages?.close();
  });

  test('EventSource and WebSocket pages follow each drain to the other node, counted once', { timeout: 120_000 }, async () => {
    const lb = balancer!;
    await waitFor(() => lb.backends.every((backend) => backend.up), 10_000, 'both nodes to be up at the balancer');
    const errors: string[] = [];
    const tabs = await Promise.all(['sse', 'ws'].map(async (transport) => {
      const tab = await browser!.newPage();
      tab.on('pageerror', (error) => errors.push(error.message));
      await tab.goto(`http://127.0.0.1:${pages!.port}/${transport}`);
      return tab;
    }));
    const streamsOn = (node: Daemon): number => lb.backend(node.port).active;
    await waitFor(() => streamsOn(nodes[0]!) + streamsOn(nodes[1]!) === 2, WAIT_MS, 'both pages to stream');
    for (const node of nodes) await waitForMembers(node, NS, 2, WAIT_MS);

    for (const index of [0, 1]) {
      const node = nodes[index]!;
      const other = nodes[1 - index]!;
      node.process.kill('SIGTERM');
      assert.equal(await node.exited, 0);
      // Both pages now stream from the other node, whichever node they were on.
      await waitFor(() => streamsOn(other) === 2, WAIT_MS, 'both pages to stream from the other node');
      await waitForMembers(other, NS, 2, WAIT_MS);
      nodes[index] = await startNode(group, DRAIN, { ports: node });
      await waitForMesh(nodes);
      await waitFor(() => lb.backend(node.port).up, WAIT_MS, 'the restarted node to be up at the balancer');
    }

    // After both drains every page moved at least once (both are on the node restarted first) and is counted once.
    assert.equal(streamsOn(nodes[0]!), 2);
    for (const node of nodes) await waitForMembers(node, NS, 2, WAIT_MS);
    for (const tab of tabs) await waitFor(async () => (await lastCount(tab)) === 2, WAIT_MS, 'the page to show 2');
    assert.equal(lb.refused, 0, 'the balancer always had a node to send a connection to');
    assert.deepEqual(errors, []);
  });
});
