// Issue 3, scenario: idle memory per viewer (30,000 viewers over 10 namespaces, 2 workers).
// See bench/viewer-scenario.ts for what a run does and BENCHMARKS.md for the figures.
//
//   npm run build && node dist/bench/scenario-memory.js [--repeat 3] [--viewers 30000] [--workers 2]
import { runMain } from './run-kit.js';
import { viewerScenario } from './viewer-scenario.js';

runMain('scenario-memory', () => viewerScenario('memory'));
