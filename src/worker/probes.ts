// The answers to load balancers' and orchestrators' probes on the public port (docs/load-balancers.md):
// GET /healthz, alive (this worker answers, so its process and event loop run), and GET /readyz, ready to
// take viewers, as the primary last said (listening, joined to the cluster or knowingly alone, not
// draining). A probe may come every few hundred milliseconds from each balancer: the answers are encoded
// once per state and written as is on the raw path; they touch no namespace and no count.
import type { ServerResponse } from 'node:http';
import { answer } from '../http-answer.js';
import { rawAnswer, type RawStatus } from './raw-answers.js';

export const PROBES = ['healthz', 'readyz'] as const;
export type Probe = (typeof PROBES)[number];

export function isProbe(name: string): name is Probe {
  return (PROBES as readonly string[]).includes(name);
}

/** Until the primary's first word (it answers this worker's `listening` with the node's verdict). */
const STARTING_REASON = 'starting';

interface ProbeAnswer {
  status: RawStatus;
  reason: string;
  /** The whole HTTP response, for the raw path. */
  raw: Buffer;
}

function probeAnswer(status: RawStatus, reason: string): ProbeAnswer {
  return { status, reason, raw: rawAnswer(status, reason) };
}

const ALIVE = probeAnswer(200, 'alive');
const READY = probeAnswer(200, 'ready');

export class Probes {
  private readiness: ProbeAnswer = probeAnswer(503, STARTING_REASON);

  /** The primary's verdict; `reason` says why not, in one line, when not ready. */
  setReadiness(ready: boolean, reason: string): void {
    this.readiness = ready ? READY : probeAnswer(503, reason);
  }

  /** The complete response for a probe that came on the raw path. */
  raw(probe: Probe): Buffer {
    return this.answerTo(probe).raw;
  }

  /** Answers a probe that came through node:http (a HEAD, or a request in an unusual shape). */
  answer(probe: Probe, res: ServerResponse): void {
    const { status, reason } = this.answerTo(probe);
    // The same headers as the raw answer's.
    answer(res, status, reason, { 'Access-Control-Allow-Origin': '*' });
  }

  private answerTo(probe: Probe): ProbeAnswer {
    return probe === 'healthz' ? ALIVE : this.readiness;
  }
}
