import { stat, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  createFaultBook,
  parseFaultRules,
  SOURCES,
  type FaultRule,
  type FaultRuleLists,
  type FaultRules,
  type Source,
} from './faults.ts';
import {
  answerRegistry,
  BODACC_RECORDS_PATH,
  errorBody,
  INSEE_PATH,
  json,
  sourceOf,
  VIES_PATH,
  type Reply,
} from './registries.ts';

export { SOURCES, parseFaultRules, type FaultRule, type FaultRuleLists, type FaultRules, type Source };

/** The fixture set shipped with Vigilance: one company per scenario, listed in fixtures/README.md. */
export const BUILT_IN_FIXTURES_DIR: string = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface SandboxOptions {
  /** The fixtures directory (layout in ARCHITECTURE.md section 8); files are read at request time. */
  readonly dir: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Initial fault rules; they replace those of `<dir>/faults.json`. */
  readonly faults?: FaultRules;
  /** A number in [0, 1) for `failureRate`; Math.random by default. Tests inject it. */
  readonly random?: () => number;
}

/** Base URLs for the product's registry adapters, exactly as they expect them. */
export interface SandboxUrls {
  /** `{insee}/siren/{siren}`, `{insee}/siret/{siret}` */
  readonly insee: string;
  /** `{recherche}/search?q=...` */
  readonly recherche: string;
  /** `{bodacc}/api/explore/v2.1/catalog/datasets/annonces-commerciales/records?where=...` */
  readonly bodacc: string;
  /** `{vies}/ms/{CC}/vat/{number}` */
  readonly vies: string;
}

export interface Sandbox {
  readonly baseUrl: string;
  readonly urls: SandboxUrls;
  /** Replaces every fault rule (an empty object clears them); throws a TypeError on invalid rules. */
  setFaults(rules: FaultRules): void;
  /** Calls received per registry since the start or the last reset (faulted calls included). */
  calls(): Readonly<Record<Source, number>>;
  /** Stops listening and ends every connection, held ones (timeout faults) included. */
  close(): Promise<void>;
}

const CONTROL_PATH = '/_sandbox';
const MAX_CONTROL_BODY = 1024 * 1024;
const FAULTS_FILE = 'faults.json';

const headerValue = (value: unknown): string => encodeURIComponent(String(value));

/** Says in a response header which fault was applied, so tests can assert it without timing anything. */
const describe = (rule: FaultRule): string =>
  Object.entries(rule)
    .filter(([key]) => key !== 'body' && key !== 'headers')
    .map(([key, value]) => `${key}=${headerValue(value)}`)
    .join('; ') || 'applied';

const replacesAnswer = (rule: FaultRule): boolean =>
  rule.status !== undefined || rule.body !== undefined || rule.retryAfterSeconds !== undefined;

const faultReply = (source: Source, rule: FaultRule): Reply => {
  const status = rule.status ?? (rule.retryAfterSeconds !== undefined ? 429 : 200);
  const body = rule.body === undefined ? errorBody(source, status) : rule.body;
  return { status, headers: {}, body: typeof body === 'string' ? body : JSON.stringify(body) };
};

const readBody = (req: IncomingMessage): Promise<string | null> =>
  new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_CONTROL_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      resolveBody(size > MAX_CONTROL_BODY ? null : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });

const controlError = (status: number, message: string): Reply => json(status, { error: message });

const noContent: Reply = { status: 204, headers: {}, body: '' };

/**
 * Starts the registry sandbox: INSEE Sirene 3.11, API Recherche d'entreprises, BODACC (Opendatasoft v2.1) and
 * VIES REST on their real paths and formats, answered from `dir`, with fault injection per registry and a control
 * endpoint under `/_sandbox` (faults, call counts). Rejects when `dir` is not a directory or the initial fault
 * rules (options or faults.json) are invalid.
 */
export const startSandbox = async (options: SandboxOptions): Promise<Sandbox> => {
  const dir = resolve(options.dir);
  const dirStat = await stat(dir).catch(() => null);
  if (dirStat === null || !dirStat.isDirectory())
    throw new Error(`sandbox: fixtures directory ${dir} not found`);
  const faultsFile = join(dir, FAULTS_FILE);
  const book = createFaultBook(options.random ?? Math.random);
  const closing = new AbortController();
  const counts: Record<Source, number> = { insee: 0, recherche: 0, bodacc: 0, vies: 0 };
  const resetCounts = (): void => {
    for (const source of SOURCES) counts[source] = 0;
  };

  // faults.json is read at start and again whenever it changes; the latest change (file or control endpoint) wins.
  let faultsFileSignature = 'absent';
  let faultsFileError: string | null = null;
  const signatureOfFaultsFile = async (): Promise<string> => {
    const s = await stat(faultsFile, { bigint: true }).catch(() => null);
    return s === null ? 'absent' : `${s.mtimeNs}:${s.size}:${s.ino}`;
  };
  const loadFaultsFile = async (): Promise<FaultRuleLists | string> => {
    const text = await readFile(faultsFile, 'utf8').catch(() => null);
    if (text === null) return {};
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return `${faultsFile} is not valid JSON (${error instanceof Error ? error.message : 'parse error'})`;
    }
    const rules = parseFaultRules(value);
    return rules.ok ? rules.value : `${faultsFile}: ${rules.error}`;
  };
  const syncFaultsFile = async (): Promise<void> => {
    const signature = await signatureOfFaultsFile();
    if (signature === faultsFileSignature) return;
    faultsFileSignature = signature;
    const loaded = await loadFaultsFile();
    if (typeof loaded === 'string') {
      faultsFileError = loaded;
      return;
    }
    faultsFileError = null;
    book.replace(loaded);
  };

  faultsFileSignature = await signatureOfFaultsFile();
  if (faultsFileSignature !== 'absent') {
    const loaded = await loadFaultsFile();
    if (typeof loaded === 'string') throw new Error(`sandbox: ${loaded}`);
    book.replace(loaded);
  }
  if (options.faults !== undefined) {
    const parsed = parseFaultRules(options.faults);
    if (!parsed.ok) throw new Error(`sandbox: invalid fault rules: ${parsed.error}`);
    book.replace(parsed.value);
  }

  let urls: SandboxUrls | null = null;

  const control = async (req: IncomingMessage, url: URL): Promise<Reply> => {
    const method = req.method ?? 'GET';
    const allow = (methods: string): Reply => ({
      ...controlError(405, `${method} is not allowed on ${url.pathname} (allowed: ${methods})`),
      headers: { allow: methods },
    });
    switch (url.pathname) {
      case CONTROL_PATH:
        if (method !== 'GET') return allow('GET');
        return json(200, { urls, dir, faultsFile, faultsFileError });
      case `${CONTROL_PATH}/faults`:
        if (method === 'GET') return json(200, book.current());
        if (method === 'DELETE') {
          book.replace({});
          return noContent;
        }
        if (method === 'PUT') {
          const text = await readBody(req);
          if (text === null) return controlError(413, `fault rules larger than ${MAX_CONTROL_BODY} bytes`);
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch (error) {
            return controlError(
              400,
              `invalid JSON: ${error instanceof Error ? error.message : 'parse error'}`,
            );
          }
          const parsed = parseFaultRules(value);
          if (!parsed.ok) return controlError(400, `invalid fault rules: ${parsed.error}`);
          book.replace(parsed.value);
          return json(200, book.current());
        }
        return allow('GET, PUT, DELETE');
      case `${CONTROL_PATH}/calls`:
        if (method === 'GET') return json(200, counts);
        if (method === 'DELETE') {
          resetCounts();
          return noContent;
        }
        return allow('GET, DELETE');
      default:
        return controlError(
          404,
          `no such control route ${url.pathname} (try /_sandbox/faults or /_sandbox/calls)`,
        );
    }
  };

  const send = (res: ServerResponse, reply: Reply): void => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
    res.end(reply.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.url ?? '/';
    if (!target.startsWith('/')) {
      send(res, json(400, { error: 'sandbox: request target must be a path' }));
      return;
    }
    const url = new URL(`http://sandbox.invalid${target}`);
    if (url.pathname === CONTROL_PATH || url.pathname.startsWith(`${CONTROL_PATH}/`)) {
      send(res, await control(req, url));
      return;
    }
    const source = sourceOf(url.pathname);
    if (source === null) {
      send(
        res,
        json(404, {
          error: `sandbox: no registry at ${url.pathname} (paths: ${INSEE_PATH}/siren/{siren}, ${INSEE_PATH}/siret/{siret}, /search?q=, ${BODACC_RECORDS_PATH}, ${VIES_PATH}/ms/{CC}/vat/{number})`,
        }),
      );
      return;
    }
    counts[source] += 1;
    await syncFaultsFile();
    const rule = book.pick(source, target);
    if (rule?.timeout === true) return; // held until close() destroys the connection
    if (rule?.reset === true) {
      req.socket.destroy();
      return;
    }
    if (rule?.latencyMs !== undefined && rule.latencyMs > 0) {
      try {
        await delay(rule.latencyMs, undefined, { signal: closing.signal });
      } catch {
        return; // closing
      }
    }
    const reply =
      rule !== null && replacesAnswer(rule)
        ? faultReply(source, rule)
        : await answerRegistry(dir, source, { method: req.method ?? 'GET', url, headers: req.headers });
    if (rule === null) {
      send(res, reply);
      return;
    }
    send(res, {
      ...reply,
      headers: {
        ...reply.headers,
        ...rule.headers,
        ...(rule.retryAfterSeconds === undefined ? {} : { 'retry-after': String(rule.retryAfterSeconds) }),
        'x-sandbox-fault': describe(rule),
      },
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(
        res,
        json(500, { error: `sandbox: ${error instanceof Error ? error.message : 'internal error'}` }),
      );
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const baseUrl = `http://${host}:${address.port}`;
  urls = Object.freeze({
    insee: `${baseUrl}${INSEE_PATH}`,
    recherche: baseUrl,
    bodacc: baseUrl,
    vies: `${baseUrl}${VIES_PATH}`,
  });

  let closed: Promise<void> | null = null;
  return Object.freeze({
    baseUrl,
    urls,
    setFaults: (rules: FaultRules) => {
      const parsed = parseFaultRules(rules);
      if (!parsed.ok) throw new TypeError(`sandbox: invalid fault rules: ${parsed.error}`);
      book.replace(parsed.value);
    },
    calls: () => ({ ...counts }),
    close: () => {
      closed ??= new Promise<void>((resolveClose) => {
        closing.abort();
        server.close(() => {
          resolveClose();
        });
        server.closeAllConnections();
      });
      return closed;
    },
  });
};
