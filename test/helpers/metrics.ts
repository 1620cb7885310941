// Reads a /metrics answer (Prometheus text format) into series name{labels} → value, checking every line.
import assert from 'node:assert/strict';

// prom-client writes NaN as `Nan`, which Prometheus reads (Go's ParseFloat ignores case).
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$/;

export interface Exposition {
  /** `name{labels}` exactly as written, to its value. */
  values: Map<string, number>;
  /** Metric name to its `# TYPE`. */
  types: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const match = SAMPLE.exec(line);
    assert.ok(match, `not an exposition line: ${JSON.stringify(line)}`);
    values.set(match[1]! + (match[2] ?? ''), Number(match[4]));
  }
  return { values, types };
}

/** The series of one metric: their label set as written (`{a="b"}`) to the value. */
export function seriesOf(values: Map<string, number>, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const [series, value] of values) {
    if (series === name) found.set('', value);
    else if (series.startsWith(`${name}{`)) found.set(series.slice(name.length), value);
  }
  return found;
}
