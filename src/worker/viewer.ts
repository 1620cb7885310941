// One open stream. Kept to a few fields: a worker may hold tens of thousands of these.
import type { ServerResponse } from 'node:http';
import type { Room } from './hub.js';

/** A viewer whose unsent bytes pass this has stopped reading; it is dropped rather than buffered forever. */
const MAX_BUFFERED_BYTES = 256 * 1024;

export class Viewer {
  /** Counted in its room's members (false while --increment-delay holds it back). */
  counted = false;

  constructor(
    readonly room: Room,
    readonly res: ServerResponse,
    /** ms since epoch */
    readonly openedAt: number,
    readonly uuid: string | undefined,
  ) {}

  write(frame: Buffer): void {
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.res.destroy();
      return;
    }
    this.res.write(frame);
  }

  end(): void {
    this.res.end();
  }
}
