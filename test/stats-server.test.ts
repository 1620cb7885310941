// The stats port writes its JSON object in pieces as it reads the table: whatever the table's size and however
// slowly the client reads, the client gets one well-formed object of every namespace, then the close.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AudienceTable } from '../src/primary/audience-table.js';
import { createStatsServer } from '../src/primary/stats-server.js';

async function read(port: number, slowly: boolean): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const parts: Buffer[] = [];
  socket.on('data', (data: Buffer) => {
    parts.push(data);
    if (slowly) {
      // A reader that keeps stopping: the server must wait for the drain, not buffer the rest or cut it short.
      socket.pause();
      void sleep(2).then(() => socket.resume());
    }
  });
  await once(socket, 'end');
  return Buffer.concat(parts).toString('utf8');
}

test('a table of 50,000 namespaces reaches a fast and a slow reader whole, as one JSON object', async () => {
  const table = new AudienceTable();
  for (let k = 0; k < 50_000; k++) table.setMembers('worker:1', `ns-\u00e9"${k}`, 1 + (k % 7), 1_700_000_000_000);
  const server = createStatsServer(() => table.stats((ns) => (ns.endsWith('9') ? 1 : 0))).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    for (const slowly of [false, true]) {
      const text = await read(port, slowly);
      assert.ok(text.endsWith('}\n'), 'ends with the object and a newline');
      assert.deepEqual(JSON.parse(text), table.snapshot((ns) => (ns.endsWith('9') ? 1 : 0)));
      assert.equal(Object.keys(JSON.parse(text)).length, 50_000);
    }
  } finally {
    server.close();
  }
});

test('an empty table is an empty object, and a client gone early harms nothing', async () => {
  const table = new AudienceTable();
  const server = createStatsServer(() => table.stats()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    assert.equal(await read(port, false), '{}\n');
    for (let k = 0; k < 20_000; k++) table.setMembers('worker:1', `n${k}`, 1, 1_700_000_000_000);
    const gone = connect(port, '127.0.0.1');
    await once(gone, 'connect');
    gone.destroy();
    await sleep(50);
    assert.equal(Object.keys(JSON.parse(await read(port, false))).length, 20_000, 'still answers the next client');
  } finally {
    server.close();
  }
});
