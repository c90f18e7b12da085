// The alert rules the README gives (docs/prometheus-alerts.yml): valid for Prometheus, firing
// when they should (promtool, Debian's prometheus package, when installed), and written with
// the metric names the endpoint really exposes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { validate } from '../../src/definitions/validate.js';
import { LedgerStore } from '../../src/ledger/store.js';
import { scheduleEndpoint } from '../../src/prometheus/schedule-endpoint.js';
import { metricTypes, scrape } from '../helpers/prometheus.js';
import { fixture, pipelineRepo, ROOT, runCli } from '../helpers/repo.js';

const RULES = join(ROOT, 'docs/prometheus-alerts.yml');
const NO_PROMTOOL =
  spawnSync('promtool', ['--version']).error !== undefined &&
  'promtool is not on PATH (Debian\'s "prometheus" package has it; .ci/run installs it)';

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('promtool accepts the alert rules', { skip: NO_PROMTOOL }, () => {
  const checked = promtool('check', 'rules', RULES);
  assert.equal(checked.status, 0, checked.output);
  assert.match(checked.output, /SUCCESS: 4 rules found/);
});

test('each alert fires on the series the endpoint writes, and not before (promtool test rules)', {
  skip: NO_PROMTOOL,
}, () => {
  const tested = promtool('test', 'rules', fixture('prometheus/alerts.test.yml'));
  assert.equal(tested.status, 0, tested.output);
});

test('every metric the alert rules name is one etl schedule --metrics exposes', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { daily: { schedule: '0 3 * * *', freshness: '26h', steps: [{ module_name: 'ok' }] } },
  });
  assert.equal((await runCli(['run', 'daily'], { cwd: repo })).code, 0);
  const endpoint = scheduleEndpoint({
    address: { host: '127.0.0.1', port: 0 },
    store: new LedgerStore(repo),
    definitions: async () => (await validate({ repo })).definitions,
    now: () => new Date(),
    since: new Date(),
  });
  const url = await endpoint.start();
  t.after(() => endpoint.close());
  const families = metricTypes((await scrape(url)).text);

  const rules = (
    parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
  ).groups[0]!.rules;
  assert.deepEqual(
    rules.map((r) => r.alert),
    ['EtlSequenceFailed', 'EtlSequenceNotSucceeding', 'EtlTickNotStarted', 'EtlSequenceStale'],
  );
  const named = new Set(rules.flatMap((r) => [...r.expr.matchAll(/\betl_[a-z_]+\b/g)].map((m) => m[0])));
  assert.ok(named.size >= 5, [...named].join(' '));
  for (const name of named) assert.ok(families.has(name), `${name} is not exposed: ${[...families.keys()].join(' ')}`);
  assert.equal(families.get('etl_runs_total'), 'counter');
  assert.equal(families.get('etl_schedule_ticks_total'), 'counter');
  assert.equal(families.get('etl_step_duration_seconds'), 'histogram');
});

test("the README's table of alerts gives each rule's expression as the file has it", () => {
  const rules = (
    parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
  ).groups[0]!.rules;
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const rule of rules) {
    const row = new RegExp(`^\\| \`${rule.alert}\` \\| \`(.+?)\` `, 'm').exec(readme);
    assert.ok(row, `no README row for ${rule.alert}`);
    assert.equal(row[1]!.replaceAll('\\|', '|'), rule.expr.trim());
  }
});
