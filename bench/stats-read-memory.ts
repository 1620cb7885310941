// What one read of the 2.x stats port leaves on the primary's heap, for a table of --namespaces namespaces:
// the stats server as it is (the object written in pieces as it is read) against the whole object built and
// stringified at once, as before. Reads the V8 heap spaces before and after --reads reads; no collection is
// forced, so what a read leaves is what an idle primary would keep until V8's next full collection.
//
//   npm run build && node --semi-space-growth-factor=1 dist/bench/stats-read-memory.js [--namespaces 50000] [--reads 10] [--whole]
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { AudienceTable } from '../src/primary/audience-table.js';
import { createStatsServer } from '../src/primary/stats-server.js';

const { values } = parseArgs({ options: { namespaces: { type: 'string', default: '50000' }, reads: { type: 'string', default: '10' }, whole: { type: 'boolean', default: false } } });
const table = new AudienceTable();
for (let k = 0; k < Number(values.namespaces); k++) table.setMembers('worker:1', `f1-${k}`, 1, Date.now());

const server: Server = values.whole
  ? createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${JSON.stringify(table.snapshot())}\n`);
  })
  : createStatsServer(() => table.stats());
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

const used = (name: string): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === name)!.space_used_size;
const before = { old: used('old_space'), large: used('large_object_space') };
for (let k = 0; k < Number(values.reads); k++) {
  const client = connect(port, '127.0.0.1');
  client.resume();
  await once(client, 'end');
}
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
console.log(`${values.whole ? 'whole object' : 'in pieces'}: ${values.reads} reads of ${values.namespaces} namespaces: old space +${mb(used('old_space') - before.old)} MB, large objects +${mb(used('large_object_space') - before.large)} MB, RSS ${mb(process.memoryUsage().rss)} MB`);
server.close();
