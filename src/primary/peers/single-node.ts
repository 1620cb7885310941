// The default without -m: this node is the whole cluster, so there is nobody to tell anything.
import type { Peers, PeersReport } from './peers.js';

export class SingleNode implements Peers {
  async start(): Promise<void> {}

  publishNotification(): string | undefined {
    return undefined;
  }

  publishExclusions(): void {}

  publishSessions(): void {}

  publishExpelled(): void {}

  describe(): PeersReport {
    return { transport: 'none', peers: [], dropped: {} };
  }

  /** Alone by design, from the start. */
  isJoined(): boolean {
    return true;
  }

  async stop(): Promise<void> {}
}
