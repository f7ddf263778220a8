/**
 * Assessments per second and latency against the registry sandbox, every source answering after 50 ms of
 * injected latency, 20 assessments in flight. Target: p50 within 1.2 times the slowest source (60 ms).
 * Usage: npm run bench:assess [-- --total 1000 --concurrency 20 --latency 50]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '#app/config/config.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID } from '#app/main/compose.ts';
import { percentile, round, startSandboxProcess } from './support.ts';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '20' },
    latency: { type: 'string', default: '50' },
  },
});
const total = Number(values.total);
const concurrency = Number(values.concurrency);
const latencyMs = Number(values.latency);

// A mix of the sandbox's scenarios, so every adapter's parsing and every verdict path is exercised.
const SUBJECTS = ['552032534', '35600000000048', '528437916', '382514792', '300025764', 'PL7740001454'];

const sandbox = await startSandboxProcess();
await sandbox.setFaults(
  Object.fromEntries(['insee', 'recherche', 'bodacc', 'vies'].map((s) => [s, [{ latencyMs }]])),
);
// The embedded default, on disk: every assessment is stored with its facts and audit entry, as in production.
const dataDir = mkdtempSync(join(tmpdir(), 'vigilance-bench-'));
const config = loadConfig({
  VIGILANCE_DATA_DIR: dataDir,
  ...(process.env.DATABASE_URL === undefined ? {} : { DATABASE_URL: process.env.DATABASE_URL }),
  // The sandbox has no limits to respect: measure the assessment, not the registries' published rates.
  VIGILANCE_REGISTRY_LIMITS: 'off',
  VIGILANCE_RECHERCHE_URL: sandbox.baseUrl,
  VIGILANCE_BODACC_URL: sandbox.baseUrl,
  VIGILANCE_VIES_URL: `${sandbox.baseUrl}/taxation_customs/vies/rest-api`,
  VIGILANCE_INSEE_URL: `${sandbox.baseUrl}/api-sirene/3.11`,
});
if (!config.ok) throw new Error(config.error.message);
const app = await compose(config.value);
const assess = app.useCases.assessSupplier;

interface Run {
  readonly ms: number;
  /** The registry phase alone: the slowest source's duration, as the assessment measured it. */
  readonly fanOutMs: number;
  readonly verdict: string;
  readonly grey: boolean;
}

const runOne = async (i: number): Promise<Run> => {
  const started = performance.now();
  const result = await assess({
    identifier: SUBJECTS[i % SUBJECTS.length] ?? '552032534',
    correlationId: `bench-${i}`,
    accountId: LOCAL_ACCOUNT_ID,
    actorId: LOCAL_USER_ID,
  });
  const ms = performance.now() - started;
  if (!result.ok) throw new Error(result.error.message);
  const { verdict, sources } = result.value.assessment;
  return {
    ms,
    fanOutMs: Math.max(...sources.map((s) => s.durationMs ?? 0)),
    verdict,
    grey: sources.some((s) => s.status === 'unavailable'),
  };
};

const runBatch = async (count: number): Promise<Run[]> => {
  const results: Run[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      results.push(await runOne(i));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
};

await runBatch(Math.min(100, total)); // warm-up: connections, JIT
const cpuBefore = process.cpuUsage();
const wallStart = performance.now();
const results = await runBatch(total);
const wallMs = performance.now() - wallStart;
const cpu = process.cpuUsage(cpuBefore);
await app.close();
await sandbox.stop();
rmSync(dataDir, { recursive: true, force: true });

const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
const fanOut = results.map((r) => r.fanOutMs).sort((a, b) => a - b);
const figures = {
  bench: 'assess',
  total,
  concurrency,
  sourceLatencyMs: latencyMs,
  assessmentsPerSecond: round((total * 1000) / wallMs),
  p50Ms: round(percentile(latencies, 50)),
  p95Ms: round(percentile(latencies, 95)),
  p99Ms: round(percentile(latencies, 99)),
  maxMs: round(latencies.at(-1) ?? Number.NaN),
  database: process.env.DATABASE_URL === undefined ? 'pglite' : 'postgres',
  registryPhaseP50Ms: round(percentile(fanOut, 50)),
  registryPhaseP95Ms: round(percentile(fanOut, 95)),
  registryPhaseP50OverSlowestSource: round(percentile(fanOut, 50) / latencyMs, 2),
  p50OverSlowestSource: round(percentile(latencies, 50) / latencyMs, 2),
  cpuMsPerAssessment: round((cpu.user + cpu.system) / 1000 / total, 2),
  unavailableSources: results.filter((r) => r.grey).length,
  verdicts: results.reduce<Record<string, number>>(
    (acc, r) => ({ ...acc, [r.verdict]: (acc[r.verdict] ?? 0) + 1 }),
    {},
  ),
  node: process.version,
};

const print = (label: string, value: string): void => {
  console.log(`  ${label.padEnd(30)} ${value}`);
};
console.log(
  `Assessments against the sandbox: ${latencyMs} ms per source, ${concurrency} in flight, ${total} runs, stored on ${figures.database}`,
);
print('throughput', `${figures.assessmentsPerSecond} assessments/s`);
print(
  'end to end p50 / p95 / p99',
  `${figures.p50Ms} / ${figures.p95Ms} / ${figures.p99Ms} ms (max ${figures.maxMs})`,
);
print('end to end p50 / slowest source', `${figures.p50OverSlowestSource}`);
print(
  'registry phase p50 / p95',
  `${figures.registryPhaseP50Ms} / ${figures.registryPhaseP95Ms} ms (${figures.registryPhaseP50OverSlowestSource} x the slowest source; target <= 1.2)`,
);
print(
  'CPU per assessment',
  `${figures.cpuMsPerAssessment} ms (this process, database included; sandbox apart)`,
);
print(
  'runs with a source unavailable',
  `${figures.unavailableSources}; verdicts ${JSON.stringify(figures.verdicts)}`,
);
console.log(JSON.stringify(figures));
