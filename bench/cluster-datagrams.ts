// Multi-node advertising: what one advertisement round costs for 10,000 namespaces across 3 nodes.
//
//   encoder  The real DatagramEncoder on synthetic counts, every node holding every namespace (the
//            load-balanced case): datagrams and bytes per node per round, exact, no daemons.
//   daemons  3 real daemons in one multicast group on 127.0.0.1, each made to hold the namespaces by SSE
//            viewers that join and leave. Figures come from each node's GET /api/peers: its `sent`
//            counters, and `missed` (sequence gaps: datagrams lost on the way). Also the primary's CPU.
//            Repeated --runs times with fresh daemons; medians printed.
//
//   npm run build && node dist/bench/cluster-datagrams.js [--namespaces 10000] [--nodes 3] [--runs 3] \
//        [--interval 2] [--window 20] [--skip-daemons]
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { DatagramEncoder, type NodeCount } from '../src/protocol/datagram.js';
import type { ClusterReport } from '../src/primary/cluster/cluster.js';
import { sleep } from './daemon-io.js';
import { median } from './run-kit.js';
import { type Target, startAudienceMeter } from './targets.js';

/** IPv4 + UDP headers, for bytes on the wire. */
const UDP_IPV4_OVERHEAD = 28;
const SECRET = 'a benchmark cluster secret';

const { values } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    interval: { type: 'string', default: '2' },
    window: { type: 'string', default: '20' },
    'skip-daemons': { type: 'boolean', default: false },
  },
});
const NAMESPACES = Number(values.namespaces);
const NODES = Number(values.nodes);
const RUNS = Number(values.runs);
const INTERVAL_S = Number(values.interval);
const WINDOW_S = Number(values.window);

// ---- encoder ---------------------------------------------------------------------------------------

/** Deterministic counts: most namespaces small, a few large, as on an event platform. */
function syntheticCounts(nameOf: (i: number) => string): NodeCount[] {
  let seed = 42;
  const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: NAMESPACES }, (_, i) => {
    const members = Math.floor(next() ** 3 * 2000);
    return [nameOf(i), members, members + Math.floor(next() * 5000)];
  });
}

function encoderRow(label: string, entries: NodeCount[], secret: string | undefined): string[] {
  const encoder = new DatagramEncoder({ id: '0123456789abcdef', incarnation: Date.now() }, secret);
  const datagrams = encoder.counts(entries);
  const payload = datagrams.reduce((sum, d) => sum + d.length, 0);
  const wire = payload + datagrams.length * UDP_IPV4_OVERHEAD;
  const largest = Math.max(...datagrams.map((d) => d.length));
  return [label, secret ? 'yes' : 'no', String(datagrams.length), `${(payload / 1024).toFixed(1)} KiB`, String(largest),
    String(datagrams.length * NODES), `${((wire * NODES) / 1024).toFixed(1)} KiB`, `${((wire * NODES * 8) / INTERVAL_S / 1000).toFixed(0)} kbit/s`];
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

function encoderFigures(): void {
  const short = syntheticCounts((i) => `event-${i}`);
  const slug = syntheticCounts((i) => `conference-2026/keynote-room-${String(i).padStart(5, '0')}`);
  const longest = syntheticCounts((i) => String(i).padStart(200, 'n'));
  console.log(`\nencoder: ${NAMESPACES} namespaces on each of ${NODES} nodes, one round (every ${INTERVAL_S} s)\n`);
  printTable(
    ['names', 'secret', 'datagrams / node', 'payload / node', 'largest (B)', `datagrams, ${NODES} nodes`, `wire bytes, ${NODES} nodes`, 'group bandwidth'],
    [
      encoderRow('event-N (7-10 B)', short, undefined),
      encoderRow('event-N (7-10 B)', short, SECRET),
      encoderRow('slug (41 B)', slug, SECRET),
      encoderRow('200 B (maximum)', longest, SECRET),
    ],
  );
}

// ---- daemons ---------------------------------------------------------------------------------------

/** A node: a daemon with one worker in multicast group `group`, signed, no attendance log. */
function startNode(group: string): Promise<Target> {
  return startAudienceMeter({
    workers: 1,
    extra: ['-m', group, '--cluster-interface', '127.0.0.1', '--cluster-notify-interval', String(INTERVAL_S),
      '--cluster-node-timeout', String(3 * INTERVAL_S), '--namespace-clean-delay', '3600', '--cluster-secret', SECRET, '--attendance', 'off'],
  });
}

/** Opens a stream to /{ns}, waits for its first event, closes it: the namespace is now held by the node. */
function visit(port: number, ns: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/${ns}`, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', (error) => (req.destroyed ? resolve() : reject(error)));
    req.end();
  });
}

async function populate(node: Target): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < NAMESPACES) await visit(node.port, `event-${next++}`);
  };
  await Promise.all(Array.from({ length: 64 }, lane));
}

async function peers(node: Target): Promise<ClusterReport> {
  const response = await fetch(`http://127.0.0.1:${node.notificationPort!}/api/peers`);
  return response.json() as Promise<ClusterReport>;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

interface RunFigures {
  datagramsPerRound: number;
  bytesPerRound: number;
  missedPerRound: number;
  primaryCpuPercent: number;
}

async function daemonRun(run: number): Promise<RunFigures> {
  const group = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}:${randomInt(20_000, 60_000)}`;
  const nodes = await Promise.all(Array.from({ length: NODES }, () => startNode(group)));
  try {
    const started = Date.now();
    for (const node of nodes) await populate(node);
    // Every node must hold every namespace, and know what the others hold, before measuring.
    for (;;) {
      const reports = await Promise.all(nodes.map(peers));
      if (reports.every((r) => r.peers.length === NODES - 1 && r.peers.every((p) => p.namespaces === NAMESPACES))) break;
      if (Date.now() - started > 300_000) throw new Error('the nodes never converged');
      await sleep(500);
    }
    const before = await Promise.all(nodes.map(peers));
    const cpuBefore = nodes.map((n) => cpuSeconds(n.pid));
    await sleep(WINDOW_S * 1000);
    const after = await Promise.all(nodes.map(peers));
    const cpuAfter = nodes.map((n) => cpuSeconds(n.pid));
    const perNode = nodes.map((_, i) => {
      const [b, a] = [before[i]!, after[i]!];
      const rounds = a.self!.sent.rounds - b.self!.sent.rounds;
      const missed = a.peers.reduce((sum, p) => sum + (p.missed ?? 0), 0) - b.peers.reduce((sum, p) => sum + (p.missed ?? 0), 0);
      return {
        datagrams: (a.self!.sent.datagrams! - b.self!.sent.datagrams!) / rounds,
        bytes: (a.self!.sent.bytes - b.self!.sent.bytes) / rounds,
        missed: missed / rounds,
        cpu: ((cpuAfter[i]! - cpuBefore[i]!) / WINDOW_S) * 100,
      };
    });
    const figures: RunFigures = {
      datagramsPerRound: median(perNode.map((n) => n.datagrams)),
      bytesPerRound: median(perNode.map((n) => n.bytes)),
      missedPerRound: perNode.reduce((sum, n) => sum + n.missed, 0),
      primaryCpuPercent: median(perNode.map((n) => n.cpu)),
    };
    console.log(`run ${run}: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

async function daemonFigures(): Promise<void> {
  console.log(`\ndaemons: ${NODES} nodes × ${NAMESPACES} namespaces each, --cluster-notify-interval ${INTERVAL_S}, signed, ${WINDOW_S} s window, ${RUNS} runs\n`);
  const runs: RunFigures[] = [];
  for (let run = 1; run <= RUNS; run++) runs.push(await daemonRun(run));
  const m = (pick: (r: RunFigures) => number): number => median(runs.map(pick));
  printTable(
    ['datagrams / node / round', 'payload / node / round', `datagrams, ${NODES} nodes / round`, 'missed (all receivers) / round', 'primary CPU (one core)'],
    [[
      m((r) => r.datagramsPerRound).toFixed(1),
      `${(m((r) => r.bytesPerRound) / 1024).toFixed(1)} KiB`,
      (m((r) => r.datagramsPerRound) * NODES).toFixed(0),
      m((r) => r.missedPerRound).toFixed(2),
      `${m((r) => r.primaryCpuPercent).toFixed(1)} %`,
    ]],
  );
}

encoderFigures();
if (!values['skip-daemons']) await daemonFigures();
