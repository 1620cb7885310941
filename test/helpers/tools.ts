// Programs from Debian packages that some tests run (promtool, prometheus, systemd-analyze). A test skips with
// a reason when one is missing, except under CI=true, where that is a failure (.ci/run installs them).
import { spawnSync } from 'node:child_process';

const IN_CI = process.env.CI === 'true';

export function haveCommand(command: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** `false` (run the test) or the reason to skip it. */
export function skipWithout(command: string, debianPackage: string): string | false {
  if (haveCommand(command) || IN_CI) return false;
  return `${command} is missing (apt-get install ${debianPackage}); set CI=true to make this a failure`;
}
