// Issue 3, scenario: fan-out (one message per namespace to 30,000 viewers, and a count push).
// See bench/viewer-scenario.ts for what a run does and BENCHMARKS.md for the figures.
//
//   npm run build && node dist/bench/scenario-fanout.js [--repeat 3] [--viewers 30000] [--workers 2]
import { runMain } from './run-kit.js';
import { viewerScenario } from './viewer-scenario.js';

runMain('scenario-fanout', () => viewerScenario('fanout'));
