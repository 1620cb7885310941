// A redis-server of the benchmark's own on a free loopback port (never the shared one), so that INFO's
// counters measure one run alone, and those counters.
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePorts, sleep } from './daemon-io.js';

export interface RedisServer {
  url: string;
  pid: number;
  /** A client of its own, for INFO. */
  client: Redis;
  stop(): void;
}

export interface RedisCounters {
  /** used_cpu_sys + used_cpu_user */
  cpuMs: number;
  commands: number;
  inBytes: number;
  outBytes: number;
}

export async function startRedis(): Promise<RedisServer> {
  const [port] = await freePorts(1);
  // Pub/sub output limit raised: at join every node publishes its whole state to every subscriber at once.
  const server = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--client-output-buffer-limit', 'pubsub 1gb 256mb 60', '--maxclients', '10000'], { stdio: 'ignore' });
  // Whatever ends the benchmark (an error, the deadline, Ctrl-C) ends its server too.
  const killOnExit = (): void => void server.kill('SIGKILL');
  process.once('exit', killOnExit);
  let client: Redis;
  for (let k = 0; ; k++) {
    client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      break;
    } catch {
      client.disconnect();
      if (k > 50) {
        server.kill('SIGKILL');
        throw new Error('redis-server did not start');
      }
      await sleep(100);
    }
  }
  return { url: `redis://127.0.0.1:${port}`, pid: server.pid!, client, stop: () => { process.off('exit', killOnExit); client.disconnect(); server.kill('SIGKILL'); } };
}

export async function redisInfo(client: Redis): Promise<RedisCounters> {
  const text = await client.info();
  const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    cpuMs: (field('used_cpu_sys') + field('used_cpu_user')) * 1000,
    commands: field('total_commands_processed'),
    inBytes: field('total_net_input_bytes'),
    outBytes: field('total_net_output_bytes'),
  };
}

