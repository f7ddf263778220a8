import { err, ok, type Result } from '#app/domain/result.ts';

export type SireneChoice = 'auto' | 'insee' | 'recherche';

export interface RegistryEndpoint {
  readonly baseUrl: string | null;
  readonly timeoutMs: number;
}

/** The product's settings, read once from the environment, validated and frozen. */
export interface Config {
  readonly registries: {
    /** `live`: the public APIs; `sandbox`: the registry sandbox started in-process on a free loopback port. */
    readonly mode: 'live' | 'sandbox';
    /**
     * `published`: every call within the registries' published limits (INSEE 30/min, Recherche 7/s, ...), a call over
     * them waiting for the retry worker; `off`: no limit (the sandbox's default: it has none to respect).
     */
    readonly limits: 'published' | 'off';
    /** Fixture directory of the in-process sandbox; null for the built-in set. */
    readonly sandboxDir: string | null;
    /** Which SIRENE service answers: INSEE when a key is set (auto), or the keyless Recherche d'entreprises. */
    readonly sirene: SireneChoice;
    readonly inseeApiKey: string | null;
    /** Base URLs default to the public APIs (null here) unless overridden. */
    readonly insee: RegistryEndpoint;
    readonly recherche: RegistryEndpoint;
    readonly bodacc: RegistryEndpoint;
    readonly vies: RegistryEndpoint;
  };
  readonly database: {
    /** PostgreSQL when set; otherwise embedded PGlite in `dataDir`. */
    readonly url: string | null;
    /** Where the embedded database (and, later, keys and reports) live. */
    readonly dataDir: string;
  };
  /** Who signs sealed reports: a local key in the data directory (default), AWS KMS, or a PKCS#11 token. */
  readonly signing:
    | { readonly kind: 'local'; readonly dir: string }
    | {
        readonly kind: 'kms';
        readonly keyIds: readonly string[];
        readonly region: string;
        readonly endpoint: string | null;
      }
    | {
        readonly kind: 'pkcs11';
        readonly library: string;
        readonly tokenLabel: string;
        readonly pin: string;
      };
  /** Where sealed PDFs are kept: files in the data directory (default), or an S3 bucket when S3_BUCKET is set. */
  readonly storage:
    | { readonly kind: 'filesystem'; readonly dir: string }
    | {
        readonly kind: 's3';
        readonly bucket: string;
        readonly region: string;
        readonly endpoint: string | null;
        readonly prefix: string;
      };
  /** Which renderer draws the PDF: pdfkit (default) or the HTML template printed by the system's Chromium. */
  readonly renderer: 'pdfkit' | 'chromium';
  /** The public origin of the verification pages, printed (and QR-coded) in every report. */
  readonly publicBaseUrl: string;
  /** Where `npm start` listens, and how many public verification requests one client address may make a minute. */
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly verifyPagesPerMinute: number;
    readonly verifyChecksPerMinute: number;
    /**
     * Whether `npm start` serves `GET /metrics` (Prometheus) on its listener, the public one: on by default, for
     * the reverse proxy to keep it from the outside; off (VIGILANCE_METRICS=off) when nothing scrapes it.
     */
    readonly metrics: boolean;
  };
  /** Shared state of the breakers and rate limits (every process sees the same); in memory when unset. */
  readonly redis: { readonly url: string | null; readonly keyPrefix: string };
  /** The retry worker: run inside `npm start` (the embedded default) or only as `vigilance worker` processes. */
  readonly worker: { readonly inline: boolean; readonly idleMs: number };
  readonly api: ApiConfig;
  readonly userAgent: string;
}

/** An OpenID provider people log in with (VIGILANCE_OIDC_PROVIDERS). */
export interface OidcProviderSetting {
  readonly id: string;
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | null;
}

/** The authenticated API: who may reach it, how people log in, how often anyone may call. */
export interface ApiConfig {
  /** Host names the server answers for (421 otherwise); `*` for any. */
  readonly trustedHosts: readonly string[];
  /** Origins whose browsers may call the API with credentials. */
  readonly corsOrigins: readonly string[];
  /** Behind a reverse proxy: how many hops to trust for the client address (0: none, the socket's address). */
  readonly trustProxyHops: number;
  /** External OpenID providers. */
  readonly oidcProviders: readonly OidcProviderSetting[];
  /** Whether the embedded local OpenID provider runs under /oidc (on by default in the embedded mode). */
  readonly localLogin: boolean;
  /** The ES256 key that signs API access tokens: a JWK file, created on first run. */
  readonly tokenKeyFile: string;
  /** Requests per client address a minute, by route class. */
  readonly perMinute: {
    readonly api: number;
    readonly apiWrite: number;
    readonly auth: number;
    readonly token: number;
  };
}

export interface ConfigError {
  readonly code: 'CONFIG_INVALID';
  readonly message: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const USER_AGENT = 'Vigilance/0.1 (supplier compliance checks)';

const DEFAULT_TIMEOUT_MS = 8000;
const DEFAULT_PORT = 8080;

const problem = (message: string): Result<never, ConfigError> => err({ code: 'CONFIG_INVALID', message });

const positiveInt = (
  env: Env,
  name: string,
  fallback: number,
  unit = 'of milliseconds',
): Result<number, ConfigError> => {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return ok(fallback);
  if (!/^\d+$/.test(raw.trim()) || Number(raw) <= 0) {
    return problem(`${name} must be a positive whole number ${unit}, not "${raw}".`);
  }
  return ok(Number(raw));
};

const url = (env: Env, name: string): Result<string | null, ConfigError> => {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return ok(null);
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) {
    return problem(`${name} must be an http(s) URL, not "${raw}".`);
  }
  return ok(raw.replace(/\/+$/, ''));
};

/** Reads the environment (section "Configuration" of the README). Unknown values are errors, not defaults. */
export const loadConfig = (env: Env): Result<Config, ConfigError> => {
  const mode = env.VIGILANCE_REGISTRIES?.trim() ?? 'live';
  if (mode !== 'live' && mode !== 'sandbox') {
    return problem(`VIGILANCE_REGISTRIES must be "live" or "sandbox", not "${mode}".`);
  }
  const sirene = env.VIGILANCE_SIRENE?.trim() ?? 'auto';
  if (sirene !== 'auto' && sirene !== 'insee' && sirene !== 'recherche') {
    return problem(`VIGILANCE_SIRENE must be "auto", "insee" or "recherche", not "${sirene}".`);
  }
  const limits = env.VIGILANCE_REGISTRY_LIMITS?.trim() ?? (mode === 'sandbox' ? 'off' : 'published');
  if (limits !== 'published' && limits !== 'off') {
    return problem(`VIGILANCE_REGISTRY_LIMITS must be "published" or "off", not "${limits}".`);
  }
  const timeout = positiveInt(env, 'VIGILANCE_REGISTRY_TIMEOUT_MS', DEFAULT_TIMEOUT_MS);
  if (!timeout.ok) return timeout;
  const endpoints: Record<'insee' | 'recherche' | 'bodacc' | 'vies', RegistryEndpoint> = {
    insee: { baseUrl: null, timeoutMs: timeout.value },
    recherche: { baseUrl: null, timeoutMs: timeout.value },
    bodacc: { baseUrl: null, timeoutMs: timeout.value },
    vies: { baseUrl: null, timeoutMs: timeout.value },
  };
  for (const name of ['insee', 'recherche', 'bodacc', 'vies'] as const) {
    const upper = name.toUpperCase();
    const base = url(env, `VIGILANCE_${upper}_URL`);
    if (!base.ok) return base;
    const t = positiveInt(env, `VIGILANCE_${upper}_TIMEOUT_MS`, timeout.value);
    if (!t.ok) return t;
    endpoints[name] = Object.freeze({ baseUrl: base.value, timeoutMs: t.value });
  }
  const key = env.INSEE_API_KEY?.trim();
  const inseeApiKey = key === undefined || key === '' ? null : key;
  if (sirene === 'insee' && inseeApiKey === null && mode === 'live') {
    return problem('VIGILANCE_SIRENE=insee needs INSEE_API_KEY (a key from portail-api.insee.fr).');
  }
  const sandboxDir = env.VIGILANCE_SANDBOX_DIR?.trim();
  const databaseUrl = env.DATABASE_URL?.trim() ?? '';
  if (databaseUrl !== '' && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return problem('DATABASE_URL must be a postgres:// or postgresql:// URL.');
  }
  const dataDir = env.VIGILANCE_DATA_DIR?.trim() ?? '';
  const dir = dataDir === '' ? '.vigilance' : dataDir;
  const signing = signingConfig(env, dir);
  if (!signing.ok) return signing;
  const storage = storageConfig(env, dir);
  if (!storage.ok) return storage;
  const renderer = env.VIGILANCE_RENDERER?.trim() ?? 'pdfkit';
  if (renderer !== 'pdfkit' && renderer !== 'chromium') {
    return problem(`VIGILANCE_RENDERER must be "pdfkit" or "chromium", not "${renderer}".`);
  }
  const publicUrl = url(env, 'VIGILANCE_PUBLIC_URL');
  if (!publicUrl.ok) return publicUrl;
  const port = tcpPort(env.PORT);
  if (!port.ok) return port;
  const host = env.VIGILANCE_HOST?.trim() ?? '';
  const redisUrl = env.REDIS_URL?.trim() ?? '';
  if (redisUrl !== '' && !/^rediss?:\/\//.test(redisUrl)) {
    return problem('REDIS_URL must be a redis:// or rediss:// URL.');
  }
  const inline = env.VIGILANCE_INLINE_WORKER?.trim() ?? '';
  if (inline !== '' && inline !== 'true' && inline !== 'false') {
    return problem(`VIGILANCE_INLINE_WORKER must be "true" or "false", not "${inline}".`);
  }
  const idle = positiveInt(env, 'VIGILANCE_WORKER_IDLE_MS', 1000);
  if (!idle.ok) return idle;
  const pages = positiveInt(env, 'VIGILANCE_VERIFY_PAGES_PER_MINUTE', 300, 'of requests');
  if (!pages.ok) return pages;
  const checks = positiveInt(env, 'VIGILANCE_VERIFY_CHECKS_PER_MINUTE', 30, 'of requests');
  if (!checks.ok) return checks;
  const metrics = env.VIGILANCE_METRICS?.trim() ?? '';
  if (metrics !== '' && metrics !== 'on' && metrics !== 'off') {
    return problem(`VIGILANCE_METRICS must be "on" or "off", not "${metrics}".`);
  }
  const baseUrl =
    publicUrl.value ?? `http://localhost:${String(port.value === 0 ? DEFAULT_PORT : port.value)}`;
  const api = apiConfig(env, baseUrl, dir, databaseUrl === '', host === '' ? '127.0.0.1' : host);
  if (!api.ok) return api;
  return ok(
    Object.freeze({
      api: api.value,
      signing: signing.value,
      storage: storage.value,
      renderer,
      // PORT=0 (any free port, for tests) leaves the public URL to be set explicitly; 8080 is the documented one.
      publicBaseUrl: baseUrl,
      server: Object.freeze({
        host: host === '' ? '127.0.0.1' : host,
        port: port.value,
        verifyPagesPerMinute: pages.value,
        verifyChecksPerMinute: checks.value,
        metrics: metrics !== 'off',
      }),
      registries: Object.freeze({
        mode,
        limits,
        sandboxDir: sandboxDir === undefined || sandboxDir === '' ? null : sandboxDir,
        sirene,
        inseeApiKey,
        ...endpoints,
      }),
      database: Object.freeze({
        url: databaseUrl === '' ? null : databaseUrl,
        dataDir: dir,
      }),
      redis: Object.freeze({ url: redisUrl === '' ? null : redisUrl, keyPrefix: 'vigilance:' }),
      worker: Object.freeze({
        // The embedded default runs its worker inside `npm start`; with PostgreSQL, workers are their own processes.
        inline: inline === '' ? databaseUrl === '' : inline === 'true',
        idleMs: idle.value,
      }),
      userAgent: USER_AGENT,
    }),
  );
};

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const PROVIDER_ID = /^[a-z0-9-]{1,40}$/;

const oidcProviders = (raw: string | undefined): Result<OidcProviderSetting[], ConfigError> => {
  if (raw === undefined || raw.trim() === '') return ok([]);
  const bad = problem(
    'VIGILANCE_OIDC_PROVIDERS must be a JSON array of {"id","name","issuer","clientId","clientSecret"?} ' +
      '(id: lower-case letters, digits and dashes; issuer: an http(s) URL).',
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return bad;
  }
  if (!Array.isArray(parsed)) return bad;
  const providers: OidcProviderSetting[] = [];
  for (const item of parsed as unknown[]) {
    if (typeof item !== 'object' || item === null) return bad;
    const { id, name, issuer, clientId, clientSecret } = item as Record<string, unknown>;
    if (
      typeof id !== 'string' ||
      !PROVIDER_ID.test(id) ||
      id === 'local' ||
      typeof name !== 'string' ||
      typeof issuer !== 'string' ||
      !URL.canParse(issuer) ||
      typeof clientId !== 'string' ||
      clientId === '' ||
      (clientSecret !== undefined && typeof clientSecret !== 'string')
    ) {
      return bad;
    }
    providers.push({ id, name, issuer, clientId, clientSecret: clientSecret ?? null });
  }
  return ok(providers);
};

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

const apiConfig = (
  env: Env,
  publicBaseUrl: string,
  dataDir: string,
  embedded: boolean,
  listenHost: string,
): Result<ApiConfig, ConfigError> => {
  const publicHost = new URL(publicBaseUrl).hostname.replace(/^\[|\]$/g, '');
  const hosts = list(env.VIGILANCE_TRUSTED_HOSTS);
  const origins = list(env.VIGILANCE_CORS_ORIGINS);
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      return problem(
        `VIGILANCE_CORS_ORIGINS must list origins such as https://app.example, not "${origin}".`,
      );
    }
  }
  const hops = env.VIGILANCE_TRUST_PROXY?.trim() ?? '';
  if (hops !== '' && !/^\d{1,2}$/.test(hops)) {
    return problem(`VIGILANCE_TRUST_PROXY must be the number of proxies in front (0 to 99), not "${hops}".`);
  }
  const providers = oidcProviders(env.VIGILANCE_OIDC_PROVIDERS);
  if (!providers.ok) return providers;
  const local = env.VIGILANCE_LOCAL_LOGIN?.trim() ?? '';
  if (local !== '' && local !== 'on' && local !== 'off') {
    return problem(`VIGILANCE_LOCAL_LOGIN must be "on" or "off", not "${local}".`);
  }
  // The embedded provider asks for no password: whoever reaches it logs in as anyone. It is for one person on their
  // own machine, so it is only ever served on a loopback address, under a loopback public URL.
  const loopbackOnly = LOOPBACK.has(listenHost) && LOOPBACK.has(publicHost);
  if (local === 'on' && !loopbackOnly) {
    return problem(
      'VIGILANCE_LOCAL_LOGIN=on needs a loopback VIGILANCE_HOST and VIGILANCE_PUBLIC_URL (127.0.0.1, ::1 or ' +
        'localhost): the embedded login asks for no password. Configure VIGILANCE_OIDC_PROVIDERS instead.',
    );
  }
  const rates = {
    api: positiveInt(env, 'VIGILANCE_API_REQUESTS_PER_MINUTE', 1200, 'of requests'),
    apiWrite: positiveInt(env, 'VIGILANCE_API_WRITES_PER_MINUTE', 120, 'of requests'),
    auth: positiveInt(env, 'VIGILANCE_LOGIN_REQUESTS_PER_MINUTE', 60, 'of requests'),
    token: positiveInt(env, 'VIGILANCE_TOKEN_REQUESTS_PER_MINUTE', 60, 'of requests'),
  };
  for (const rate of Object.values(rates)) if (!rate.ok) return rate;
  const value = (r: Result<number, ConfigError>): number => (r.ok ? r.value : 0);
  const tokenKey = env.VIGILANCE_TOKEN_KEY_FILE?.trim() ?? '';
  return ok(
    Object.freeze({
      trustedHosts: Object.freeze(
        hosts.length > 0 ? hosts : [...new Set([publicHost, 'localhost', '127.0.0.1', '[::1]'])],
      ),
      corsOrigins: Object.freeze(origins.length > 0 ? origins : [new URL(publicBaseUrl).origin]),
      trustProxyHops: hops === '' ? 0 : Number(hops),
      oidcProviders: Object.freeze(providers.value),
      localLogin: local === '' ? embedded && loopbackOnly : local === 'on',
      tokenKeyFile: tokenKey === '' ? `${dataDir}/keys/token-signing-key.json` : tokenKey,
      perMinute: Object.freeze({
        api: value(rates.api),
        apiWrite: value(rates.apiWrite),
        auth: value(rates.auth),
        token: value(rates.token),
      }),
    }),
  );
};

const signingConfig = (env: Env, dataDir: string): Result<Config['signing'], ConfigError> => {
  const kms = env.KMS_KEY_ID?.trim() ?? '';
  const pkcs11 = env.PKCS11_LIBRARY?.trim() ?? '';
  if (kms !== '' && pkcs11 !== '')
    return problem('Set KMS_KEY_ID or PKCS11_LIBRARY, not both: one signer seals.');
  if (kms !== '') {
    const region = env.AWS_REGION?.trim() ?? '';
    if (region === '') return problem('KMS_KEY_ID needs AWS_REGION.');
    const endpoint = url(env, 'KMS_ENDPOINT');
    if (!endpoint.ok) return endpoint;
    return ok(
      Object.freeze({
        kind: 'kms' as const,
        // The first key signs; the others are older keys whose reports must stay verifiable.
        keyIds: Object.freeze(
          kms
            .split(',')
            .map((k) => k.trim())
            .filter((k) => k !== ''),
        ),
        region,
        endpoint: endpoint.value,
      }),
    );
  }
  if (pkcs11 !== '') {
    const tokenLabel = env.PKCS11_TOKEN_LABEL?.trim() ?? '';
    const pin = env.PKCS11_PIN ?? '';
    if (tokenLabel === '' || pin === '')
      return problem('PKCS11_LIBRARY needs PKCS11_TOKEN_LABEL and PKCS11_PIN.');
    return ok(Object.freeze({ kind: 'pkcs11' as const, library: pkcs11, tokenLabel, pin }));
  }
  return ok(Object.freeze({ kind: 'local' as const, dir: `${dataDir}/keys` }));
};

/** PORT: a TCP port, or 0 for any free one. */
const tcpPort = (raw: string | undefined): Result<number, ConfigError> => {
  if (raw === undefined || raw.trim() === '') return ok(DEFAULT_PORT);
  const text = raw.trim();
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) {
    return problem(`PORT must be a TCP port (0 to 65535; 0 for any free port), not "${raw}".`);
  }
  return ok(Number(text));
};

const storageConfig = (env: Env, dataDir: string): Result<Config['storage'], ConfigError> => {
  const bucket = env.S3_BUCKET?.trim() ?? '';
  if (bucket === '') return ok(Object.freeze({ kind: 'filesystem' as const, dir: `${dataDir}/objects` }));
  const region = env.AWS_REGION?.trim() ?? '';
  if (region === '') return problem('S3_BUCKET needs AWS_REGION.');
  const endpoint = url(env, 'S3_ENDPOINT');
  if (!endpoint.ok) return endpoint;
  const prefix = env.S3_PREFIX?.trim() ?? '';
  if (prefix !== '' && !/^[a-z0-9._-]+(\/[a-z0-9._-]+)*\/$/.test(prefix)) {
    return problem(`S3_PREFIX must be a key prefix ending with "/", e.g. "vigilance/", not "${prefix}".`);
  }
  return ok(Object.freeze({ kind: 's3' as const, bucket, region, endpoint: endpoint.value, prefix }));
};
