// SIGHUP: read --auth-secret-file and --geoip-db again, without dropping a viewer or exiting. A new secret
// becomes the one tokens are verified with at once, on every worker; the previous one is still accepted for
// --auth-secret-grace seconds, so pages signed just before the rotation still open their streams (open
// streams are never verified again). What could not be read is kept as it was, and said in the log line.
import type { CountryDatabase } from '../attendance/geoip.js';
import { parseSecretFile } from '../options.js';
import type { AuthSecrets } from '../protocol/ipc.js';

export interface ReloadSettings {
  authSecret: string | undefined;
  authSecretFile: string | undefined;
  authSecretGrace: number;
  geoipDb: string | undefined;
}

export class Reloader {
  private secrets: AuthSecrets | undefined;

  constructor(
    private readonly settings: ReloadSettings,
    private readonly geoip: CountryDatabase | undefined,
    /** Hands new secrets to the running workers and to the ones forked later. */
    private readonly secretsChanged: (secrets: AuthSecrets) => void,
  ) {
    this.secrets = settings.authSecret === undefined ? undefined : { current: settings.authSecret, previous: null, previousUntil: 0 };
  }

  /** Reloads what can be; returns the one line that says what happened. */
  reload(now: number): string {
    const done = [this.reloadSecret(now), this.reloadGeoip()].filter((part): part is string => part !== undefined);
    return `SIGHUP: ${done.length === 0 ? 'nothing to reload (no --auth-secret-file, no --geoip-db)' : done.join('; ')}`;
  }

  private reloadSecret(now: number): string | undefined {
    const path = this.settings.authSecretFile;
    if (path === undefined || this.secrets === undefined) return undefined;
    let secret: string;
    try {
      secret = parseSecretFile(path);
    } catch (error) {
      // parseSecretFile's reasons read after the option's name: "cannot be read (ENOENT)".
      return `kept the current auth secret: --auth-secret-file ${path} ${(error as Error).message}`;
    }
    if (secret === this.secrets.current) return `--auth-secret-file ${path} unchanged`;
    const grace = this.settings.authSecretGrace;
    // A second rotation within the grace drops the oldest secret: two are accepted at most.
    this.secrets = { current: secret, previous: grace > 0 ? this.secrets.current : null, previousUntil: now + grace * 1000 };
    this.secretsChanged(this.secrets);
    return `new auth secret from ${path} (the previous one is accepted for ${grace} s more)`;
  }

  private reloadGeoip(): string | undefined {
    if (this.geoip === undefined) return undefined;
    try {
      this.geoip.reload();
    } catch (error) {
      return `kept the current GeoIP database: ${(error as Error).message.split('\n')[0]}`;
    }
    return `reloaded --geoip-db ${this.settings.geoipDb}`;
  }
}
