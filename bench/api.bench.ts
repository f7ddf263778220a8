/**
 * Authenticated API throughput, as ERPs and people reach it: the real `npm start` server in its own process on a
 * throwaway PostgreSQL database, driven by autocannon on GET /api/v1/assessments/<id> over --assessments
 * assessments made through the API. Two passes, each after a 2 s warm-up that is not counted: a person's session
 * cookie (logged in through the embedded OpenID provider), then an API client's DPoP-bound access token with a new
 * DPoP proof on every request (RFC 9449: its own jti, iat now, the token's hash, the request's URL). The proofs are
 * signed before the pass, so that signing them does not take the CPU the server needs; a request finding the pool
 * empty signs its own. Prints requests/s, p50 and p99 latency, non-2xx answers and errors per pass (a replayed or
 * stale proof shows as non-2xx), then one JSON object on the last line. Asserts nothing. Every request budget of
 * the server is raised far above the load: one client address makes every request here.
 * Needs DATABASE_URL (the throwaway database is created on its server, dropped afterwards).
 * Usage: npm run bench:api [-- --assessments 20 --connections 20 --duration 10 --pass both|session|dpop
 *   --cpu-prof-dir <dir>]
 * --cpu-prof-dir starts the server with --cpu-prof: its V8 CPU profile is written there when it stops.
 */
import { spawn } from 'node:child_process';
import { createHash, KeyObject, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { openPostgresDatabase } from '#app/adapters/postgres/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import {
  currentAccountOf,
  freePort,
  logIn,
  registerMachineClient,
  sendJson,
  type KeyPair,
} from '../test/support/web.ts';
import { positiveInteger, round, withThrowawayDatabase } from './support.ts';

const { values } = parseArgs({
  options: {
    assessments: { type: 'string', default: '20' },
    connections: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    pass: { type: 'string', default: 'both' },
    'cpu-prof-dir': { type: 'string' },
  },
});
const assessmentCount = positiveInteger('assessments', values.assessments);
const connections = positiveInteger('connections', values.connections);
const duration = positiveInteger('duration', values.duration);
const passes = values.pass;
if (passes !== 'both' && passes !== 'session' && passes !== 'dpop') {
  throw new Error(`--pass takes both, session or dpop, not "${passes}".`);
}
/** A proof is accepted for 60 s after its iat: a pass of at most 30 s keeps every pre-signed proof well within. */
const MAX_DURATION_SECONDS = 30;
if (duration > MAX_DURATION_SECONDS) {
  throw new Error(`--duration is at most ${String(MAX_DURATION_SECONDS)} s (DPoP proofs live 60 s).`);
}
const profileDir = values['cpu-prof-dir'] === undefined ? null : resolve(values['cpu-prof-dir']);
const databaseUrl = process.env.DATABASE_URL?.trim() ?? '';

const WARM_UP_SECONDS = 2;
/** The rate the proof pool is sized for: more than this machine serves, so the pool lasts the whole pass. */
const POOL_REQUESTS_PER_SECOND = 4000;
const TARGET_REQUESTS_PER_SECOND = 1500;
/** Far above anything one bench can send in a minute. */
const UNLIMITED = '100000000';
const SESSION_COOKIE = '__Host-vigilance_session';

/** Built-in sandbox companies (src/sandbox/fixtures/README.md): every registry answers for them. */
const SIRENS = [
  '552032534',
  '482319076',
  '528437916',
  '402753180',
  '441965308',
  '382514792',
  '508972148',
  '431786524',
  '300025764',
  '793150624',
  '492673108',
  '512408634',
  '356000000',
  '845126390',
  '980471155',
];

interface Server {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/**
 * The real server (`node src/main/server.ts`) in its own process. Its access log goes to a file rather than
 * through a pipe to this process, whose CPU autocannon needs; the file is read only to see it listening.
 */
const startServer = async (env: Record<string, string>, dataDir: string, port: number): Promise<Server> => {
  const server = fileURLToPath(new URL('../src/main/server.ts', import.meta.url));
  const logPath = join(dataDir, 'server.log');
  const log = openSync(logPath, 'w');
  const flags = profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const child = spawn(process.execPath, [...flags, server], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', log, 'inherit'],
  });
  closeSync(log);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((done) => {
    child.once('exit', (code) => {
      exitCode = code;
      done();
    });
  });
  const stop = async (): Promise<void> => {
    if (exitCode === undefined) child.kill('SIGTERM');
    await exited;
  };
  const deadline = performance.now() + 60_000;
  while (!readFileSync(logPath, 'utf8').includes('listening on')) {
    if (exitCode !== undefined) throw new Error(`the server exited with code ${String(exitCode)}`);
    if (performance.now() > deadline) {
      await stop();
      throw new Error('the server did not listen within 60 s');
    }
    await sleep(50);
  }
  return { baseUrl: `http://127.0.0.1:${String(port)}`, stop };
};

const base64urlJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs DPoP proofs for GET requests with `key`, bound to `accessToken`: the same JWT as the test support's
 * dpopProof, signed with node:crypto synchronously (autocannon's setupRequest cannot wait) and a few times faster.
 */
const dpopSigner = (key: KeyPair, accessToken: string) => {
  const privateKey = KeyObject.from(key.privateKey);
  const header = base64urlJson({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk });
  const ath = createHash('sha256').update(accessToken).digest('base64url');
  return (htu: string): string => {
    const input = `${header}.${base64urlJson({
      htm: 'GET',
      htu,
      jti: randomUUID(),
      ath,
      iat: Math.floor(Date.now() / 1000),
    })}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  };
};

interface PassFigures {
  readonly rps: number;
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

type SetupRequest = NonNullable<autocannon.Request['setupRequest']>;

/**
 * Ctrl-C or SIGTERM ends the load under way and skips what remains, so that the server is still stopped and the
 * database still dropped; a second signal ends the bench at once.
 */
let interrupted = false;
let running: autocannon.Instance | null = null;
const interrupt = (): void => {
  interrupted = true;
  running?.stop();
};
const wasInterrupted = (): boolean => interrupted;
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);

const load = async (
  baseUrl: string,
  seconds: number,
  headers: Record<string, string>,
  setupRequest: SetupRequest,
): Promise<PassFigures> => {
  if (wasInterrupted()) throw new Error('interrupted');
  const result = await new Promise<autocannon.Result>((done, fail) => {
    running = autocannon(
      {
        url: baseUrl,
        connections,
        duration: seconds,
        headers: { accept: 'application/json', ...headers },
        requests: [{ setupRequest }],
      },
      (error: unknown, outcome) => {
        running = null;
        if (error === null || error === undefined) done(outcome);
        else fail(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
      },
    );
  });
  if (wasInterrupted()) throw new Error('interrupted');
  return {
    rps: round(result.requests.average),
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
};

const report = (title: string, f: PassFigures, extra: readonly string[] = []): void => {
  console.log(title);
  console.log(`  requests/s  ${String(f.rps)} on average (${String(f.requests)} requests)`);
  console.log(`  latency     p50 ${String(f.p50)} ms, p99 ${String(f.p99)} ms`);
  console.log(`  non-2xx     ${String(f.non2xx)}`);
  console.log(`  errors      ${String(f.errors)} (of which timeouts ${String(f.timeouts)})`);
  for (const line of extra) console.log(`  ${line}`);
};

/** One request outside the load, so that a refused credential stops the bench with the server's own words. */
const check = async (label: string, response: Response): Promise<void> => {
  if (response.status === 200) {
    await response.arrayBuffer();
    return;
  }
  const challenge = response.headers.get('www-authenticate');
  throw new Error(
    `${label}: HTTP ${String(response.status)}${challenge === null ? '' : ` (${challenge})`} ${await response.text()}`,
  );
};

interface Fixture {
  readonly paths: readonly string[];
  readonly cookie: string;
  readonly accessToken: string;
  readonly dpopKey: KeyPair;
}

/** A person logged in, assessments made in their account, an API client registered there: all through the API. */
const setUp = async (baseUrl: string): Promise<Fixture> => {
  const browser = await logIn(baseUrl, 'bench@vigilance.test', 'Bench');
  const accountId = await currentAccountOf(browser);
  const paths: string[] = [];
  for (let i = 0; i < assessmentCount; i += 1) {
    const identifier = SIRENS[i % SIRENS.length] ?? '552032534';
    const created = await sendJson(browser, 'POST', '/api/v1/assessments', { identifier });
    if (created.status !== 201) {
      throw new Error(
        `POST /api/v1/assessments (${identifier}): HTTP ${String(created.status)} ${await created.text()}`,
      );
    }
    const { id } = (await created.json()) as { id: string };
    paths.push(`/api/v1/assessments/${id}`);
  }
  const client = await registerMachineClient(baseUrl, browser, accountId);
  const session = browser.cookie(SESSION_COOKIE) ?? '';
  return {
    paths,
    cookie: `${SESSION_COOKIE}=${encodeURIComponent(session)}`,
    accessToken: client.accessToken,
    dpopKey: client.dpopKey,
  };
};

const sessionPass = async (baseUrl: string, fixture: Fixture): Promise<PassFigures> => {
  const { paths, cookie } = fixture;
  await check(
    'GET with the session cookie',
    await fetch(`${baseUrl}${paths[0] ?? ''}`, { headers: { cookie, accept: 'application/json' } }),
  );
  let i = 0;
  const cycle: SetupRequest = (request) => ({ ...request, path: paths[i++ % paths.length] ?? '/' });
  await load(baseUrl, WARM_UP_SECONDS, { cookie }, cycle);
  const figures = await load(baseUrl, duration, { cookie }, cycle);
  report(
    `Session cookie: GET /api/v1/assessments/<id> over ${String(paths.length)} assessments, ` +
      `${String(connections)} connections, ${String(duration)} s`,
    figures,
  );
  return figures;
};

interface DpopFigures extends PassFigures {
  /** Proofs signed before the pass, and how long that took. */
  readonly pool: number;
  readonly poolSeconds: number;
  /** Proofs handed to requests: from the pool, then signed on the spot once it ran out. */
  readonly proofsUsed: number;
  readonly signedDuringPass: number;
}

const dpopPass = async (baseUrl: string, fixture: Fixture): Promise<DpopFigures> => {
  const { paths, accessToken } = fixture;
  const signProof = dpopSigner(fixture.dpopKey, accessToken);
  const authorization = `DPoP ${accessToken}`;
  const firstPath = paths[0] ?? '';
  await check(
    'GET with a DPoP proof',
    await fetch(`${baseUrl}${firstPath}`, {
      headers: { authorization, dpop: signProof(`${baseUrl}${firstPath}`), accept: 'application/json' },
    }),
  );

  /** A pass over a pool of proofs signed just before it: request k takes proof k, made for its path. */
  const run = async (seconds: number) => {
    const size = seconds * POOL_REQUESTS_PER_SECOND;
    const started = performance.now();
    const pool: string[] = [];
    for (let k = 0; k < size; k += 1) pool.push(signProof(`${baseUrl}${paths[k % paths.length] ?? ''}`));
    const poolSeconds = round((performance.now() - started) / 1000, 2);
    let next = 0;
    let signedDuringPass = 0;
    const withProof: SetupRequest = (request) => {
      const k = next++;
      const path = paths[k % paths.length] ?? '/';
      let proof = pool[k];
      if (proof === undefined) {
        proof = signProof(`${baseUrl}${path}`);
        signedDuringPass += 1;
      }
      return { ...request, path, headers: { ...request.headers, dpop: proof } };
    };
    const figures = await load(baseUrl, seconds, { authorization }, withProof);
    return { ...figures, pool: size, poolSeconds, proofsUsed: next, signedDuringPass };
  };

  await run(WARM_UP_SECONDS);
  const figures = await run(duration);
  report(
    `DPoP: GET /api/v1/assessments/<id> over ${String(paths.length)} assessments, a new proof per request, ` +
      `${String(connections)} connections, ${String(duration)} s`,
    figures,
    [
      `proofs      ${String(figures.pool)} signed before the pass in ${String(figures.poolSeconds)} s; ` +
        `${String(figures.proofsUsed)} used, ${String(figures.signedDuringPass)} signed during the pass`,
    ],
  );
  return figures;
};

const main = async (): Promise<void> => {
  if (databaseUrl === '') {
    console.log('bench:api: skipped (DATABASE_URL is not set; it needs PostgreSQL).');
    return;
  }
  const loadBefore = loadavg().map((l) => round(l, 2));
  console.log(`Load average before: ${loadBefore.join(', ')} (1, 5, 15 min)`);
  const figures: Record<string, unknown> = {
    bench: 'api',
    database: 'postgres',
    connections,
    duration,
    assessments: assessmentCount,
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'vigilance-bench-api-'));
  try {
    await withThrowawayDatabase(databaseUrl, async (url) => {
      const db = openPostgresDatabase({ url, maxConnections: 2 });
      try {
        await migrate(db);
      } finally {
        await db.close();
      }
      const port = await freePort();
      const server = await startServer(
        {
          DATABASE_URL: url,
          VIGILANCE_REGISTRIES: 'sandbox',
          VIGILANCE_LOCAL_LOGIN: 'on',
          VIGILANCE_INLINE_WORKER: 'false',
          VIGILANCE_METRICS: 'off',
          VIGILANCE_DATA_DIR: dataDir,
          PORT: String(port),
          VIGILANCE_HOST: '127.0.0.1',
          VIGILANCE_PUBLIC_URL: `http://127.0.0.1:${String(port)}`,
          VIGILANCE_API_REQUESTS_PER_MINUTE: UNLIMITED,
          VIGILANCE_API_WRITES_PER_MINUTE: UNLIMITED,
          VIGILANCE_LOGIN_REQUESTS_PER_MINUTE: UNLIMITED,
          VIGILANCE_TOKEN_REQUESTS_PER_MINUTE: UNLIMITED,
          VIGILANCE_VERIFY_PAGES_PER_MINUTE: UNLIMITED,
          VIGILANCE_VERIFY_CHECKS_PER_MINUTE: UNLIMITED,
        },
        dataDir,
        port,
      );
      try {
        const fixture = await setUp(server.baseUrl);
        if (passes !== 'dpop') {
          const { rps, p50, p99, non2xx, errors } = await sessionPass(server.baseUrl, fixture);
          figures.session = { rps, p50, p99, non2xx, errors };
        }
        if (passes !== 'session') {
          const { rps, p50, p99, non2xx, errors, proofsUsed } = await dpopPass(server.baseUrl, fixture);
          figures.dpop = { rps, p50, p99, non2xx, errors, proofs: proofsUsed };
        }
      } finally {
        await server.stop();
      }
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const loadAfter = loadavg().map((l) => round(l, 2));
  console.log(`Load average after: ${loadAfter.join(', ')} (1, 5, 15 min)`);
  figures.load = { before: loadBefore, after: loadAfter };
  figures.target = TARGET_REQUESTS_PER_SECOND;
  console.log(JSON.stringify(figures));
};

try {
  await main();
} catch (error) {
  if (!wasInterrupted()) throw error;
  console.log('bench:api: interrupted (the server was stopped and the database dropped).');
  process.exitCode = 130;
}
