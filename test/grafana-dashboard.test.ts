// contrib/grafana-dashboard.json against a real Prometheus (Debian's package) scraping a real daemon: every
// panel query, its variables filled in as Grafana would, returns series, and the ones per event and per worker
// carry this test's namespace and workers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ALTERNATE_WORKERS, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { startPrometheus, SCRAPE_INTERVAL_S, type Prometheus, type PrometheusSeries } from './helpers/prometheus.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';
import { skipWithout } from './helpers/tools.js';

const DASHBOARD = new URL('../../contrib/grafana-dashboard.json', import.meta.url);
const JOB = 'audience-meter-test';
const NS = `grafana-${process.pid}`;

interface Panel { id: number; title: string; targets: { expr: string; refId: string }[] }
interface Dashboard { panels: Panel[]; templating: { list: { name: string; type: string; definition?: string }[] } }

/** What Grafana puts in place of the dashboard's variables for this test's job and namespace. */
function fillVariables(expr: string): string {
  return expr
    .replaceAll('$job', JOB)
    .replaceAll('$namespace', NS)
    // Grafana's $__rate_interval is at least four scrape intervals.
    .replaceAll('$__rate_interval', `${4 * SCRAPE_INTERVAL_S + 1}s`);
}

describe('Grafana dashboard on a real Prometheus', { skip: skipWithout('prometheus', 'prometheus') }, () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  let daemon: Daemon;
  let prometheus: Prometheus;
  const viewers: SseClient[] = [];

  before(async () => {
    daemon = await startDaemon([], { workers: 2, env: ALTERNATE_WORKERS });
    for (let i = 0; i < 4; i++) viewers.push(await openViewer(daemon.port, `/${NS}`));
    await waitForMembers(daemon, NS, 4);
    prometheus = await startPrometheus(JOB, [`127.0.0.1:${daemon.notificationPort}`]);
    // rate() needs two scrapes inside its window.
    const scrapes = async (): Promise<number> => Number((await prometheus.query(`count_over_time(audience_meter_viewers{job="${JOB}"}[1m])`))[0]?.value[1] ?? 0);
    await waitFor(async () => (await scrapes()) >= 3, 20_000, 'three scrapes');
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await prometheus?.stop();
    await daemon?.stop();
  });

  test('the dashboard has the panels the operators asked for', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const want of ['Audience per event', 'Viewers per worker', 'Joins per second', 'Attendance queue', 'Nodes']) assert.ok(titles.includes(want), want);
  });

  test('the namespace variable lists this test\'s namespace', async () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'namespace')!;
    const match = /^label_values\((.+), (\w+)\)$/.exec(variable.definition!);
    assert.ok(match, variable.definition);
    const values = await prometheus.labelValues(match[2]!, fillVariables(match[1]!));
    assert.ok(values.includes(NS), `${NS} in ${values.join(', ')}`);
  });

  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      test(`panel "${panel.title}" query ${target.refId} returns series`, async () => {
        const expr = fillVariables(target.expr);
        assert.doesNotMatch(expr, /\$/, 'every variable filled in');
        let result: PrometheusSeries[] = [];
        await waitFor(async () => (result = await prometheus.query(expr)).length > 0, 10_000, `series for ${expr}`);
        if (/namespace/.test(target.expr)) {
          assert.deepEqual(result.map((s) => s.metric.namespace), [NS], expr);
        }
        if (panel.title === 'Audience per event') assert.equal(result[0]!.value[1], '4');
        if (panel.title === 'Viewers per worker') {
          assert.deepEqual(result.map((s) => s.metric.worker).sort(), ['1', '2']);
          assert.equal(result.reduce((sum, s) => sum + Number(s.value[1]), 0), 4);
          assert.ok(result.every((s) => Number(s.value[1]) > 0), 'viewers alternate between the two workers');
        }
        if (panel.title === 'Nodes' && target.refId === 'A') assert.equal(result[0]!.value[1], '1');
      });
    }
  }
});
