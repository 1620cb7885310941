// Targeted messages from the primary: written to the matching viewers of this worker, each in its own
// transport's format, encoded once per message. The count answers how many connections it was written to.
import type { DeliveryTarget } from '../protocol/ipc.js';
import type { Hub } from './hub.js';
import { messagePush } from './push.js';
import type { ViewerDirectory } from './viewer-directory.js';

export function deliver(hub: Hub, directory: ViewerDirectory, target: DeliveryTarget, event: string, data: string): number {
  const push = messagePush(event, data);
  switch (target.kind) {
    case 'namespace':
      return hub.broadcast(target.ns, push);
    case 'connection':
      return directory.connection(target.connection)?.send(push) ? 1 : 0;
    case 'user': {
      let written = 0;
      for (const viewer of directory.user(target.user)) if (viewer.send(push)) written++;
      return written;
    }
  }
}
