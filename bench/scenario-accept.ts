// Issue 3, scenario: accept rate (connections and first events per second over a 30,000-viewer ramp).
// See bench/viewer-scenario.ts for what a run does and BENCHMARKS.md for the figures.
//
//   npm run build && node dist/bench/scenario-accept.js [--repeat 3] [--viewers 30000] [--workers 2]
import { runMain } from './run-kit.js';
import { viewerScenario } from './viewer-scenario.js';

runMain('scenario-accept', () => viewerScenario('accept'));
