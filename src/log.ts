// Debug output costs nothing when off (the `debug` package checks once per namespace);
// errors always reach stderr, one line each, whatever --debug says.
import createDebug from 'debug';

export const NAMESPACE_ROOT = 'audience-meter';

export function debugFor(part: string): createDebug.Debugger {
  return createDebug(`${NAMESPACE_ROOT}:${part}`);
}

export function enableAllDebug(): void {
  createDebug.enable(`${NAMESPACE_ROOT}:*`);
}

export function logError(message: string): void {
  process.stderr.write(`${NAMESPACE_ROOT}: ${message}\n`);
}

export function logWarning(message: string): void {
  process.stderr.write(`${NAMESPACE_ROOT}: warning: ${message}\n`);
}

export function logInfo(message: string): void {
  process.stderr.write(`${NAMESPACE_ROOT}: ${message}\n`);
}
