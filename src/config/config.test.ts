import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('defaults to the live registries, the embedded database and a local signing key', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      ok: true,
      value: {
        registries: {
          mode: 'live',
          limits: 'published',
          sirene: 'auto',
          inseeApiKey: null,
          vies: { baseUrl: null, timeoutMs: 8000 },
        },
        database: { url: null, dataDir: '.vigilance' },
        signing: { kind: 'local', dir: '.vigilance/keys' },
        storage: { kind: 'filesystem', dir: '.vigilance/objects' },
        renderer: 'pdfkit',
        publicBaseUrl: 'http://localhost:8080',
        server: {
          host: '127.0.0.1',
          port: 8080,
          verifyPagesPerMinute: 300,
          verifyChecksPerMinute: 30,
          metrics: true,
        },
      },
    });
    expect(Object.isFrozen(config.ok && config.value)).toBe(true);
  });

  it('reads every setting it documents', () => {
    const config = loadConfig({
      VIGILANCE_REGISTRIES: 'sandbox',
      VIGILANCE_SIRENE: 'insee',
      INSEE_API_KEY: 'k',
      VIGILANCE_REGISTRY_TIMEOUT_MS: '2000',
      VIGILANCE_VIES_TIMEOUT_MS: '500',
      VIGILANCE_BODACC_URL: 'http://127.0.0.1:4010/',
      DATABASE_URL: 'postgres://u@h/db',
      VIGILANCE_DATA_DIR: '/var/lib/vigilance',
      KMS_KEY_ID: 'key-2, key-1',
      AWS_REGION: 'eu-west-3',
      S3_BUCKET: 'reports',
      S3_ENDPOINT: 'http://127.0.0.1:4568',
      S3_PREFIX: 'vigilance/',
      VIGILANCE_RENDERER: 'chromium',
      VIGILANCE_PUBLIC_URL: 'https://verify.example/',
      VIGILANCE_HOST: '0.0.0.0',
      PORT: '9090',
      VIGILANCE_VERIFY_PAGES_PER_MINUTE: '600',
      VIGILANCE_VERIFY_CHECKS_PER_MINUTE: '60',
      VIGILANCE_METRICS: 'off',
    });
    expect(config).toMatchObject({
      ok: true,
      value: {
        registries: {
          mode: 'sandbox',
          limits: 'off',
          sirene: 'insee',
          inseeApiKey: 'k',
          insee: { timeoutMs: 2000 },
          vies: { timeoutMs: 500 },
          bodacc: { baseUrl: 'http://127.0.0.1:4010' },
        },
        database: { url: 'postgres://u@h/db', dataDir: '/var/lib/vigilance' },
        signing: { kind: 'kms', keyIds: ['key-2', 'key-1'], region: 'eu-west-3', endpoint: null },
        storage: {
          kind: 's3',
          bucket: 'reports',
          region: 'eu-west-3',
          endpoint: 'http://127.0.0.1:4568',
          prefix: 'vigilance/',
        },
        renderer: 'chromium',
        publicBaseUrl: 'https://verify.example',
        server: {
          host: '0.0.0.0',
          port: 9090,
          verifyPagesPerMinute: 600,
          verifyChecksPerMinute: 60,
          metrics: false,
        },
      },
    });
    expect(
      loadConfig({
        PKCS11_LIBRARY: '/usr/lib/softhsm/libsofthsm2.so',
        PKCS11_TOKEN_LABEL: 't',
        PKCS11_PIN: '1234',
      }),
    ).toMatchObject({ ok: true, value: { signing: { kind: 'pkcs11', tokenLabel: 't', pin: '1234' } } });
  });

  it('serves /metrics unless VIGILANCE_METRICS is off', () => {
    const metrics = (value?: string) => {
      const config = loadConfig(value === undefined ? {} : { VIGILANCE_METRICS: value });
      return config.ok ? config.value.server.metrics : config.error.code;
    };
    expect(metrics()).toBe(true);
    expect(metrics('')).toBe(true);
    expect(metrics('on')).toBe(true);
    expect(metrics(' off ')).toBe(false);
    expect(metrics('no')).toBe('CONFIG_INVALID');
  });

  it.each([
    [{ VIGILANCE_REGISTRIES: 'moon' }, 'VIGILANCE_REGISTRIES'],
    [{ VIGILANCE_SIRENE: 'x' }, 'VIGILANCE_SIRENE'],
    [{ VIGILANCE_REGISTRY_LIMITS: 'some' }, 'VIGILANCE_REGISTRY_LIMITS'],
    [{ VIGILANCE_SIRENE: 'insee' }, 'INSEE_API_KEY'],
    [{ VIGILANCE_REGISTRY_TIMEOUT_MS: '0' }, 'VIGILANCE_REGISTRY_TIMEOUT_MS'],
    [{ VIGILANCE_VIES_URL: 'ftp://x' }, 'VIGILANCE_VIES_URL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ KMS_KEY_ID: 'k' }, 'AWS_REGION'],
    [{ KMS_KEY_ID: 'k', AWS_REGION: 'r', PKCS11_LIBRARY: '/x' }, 'not both'],
    [{ PKCS11_LIBRARY: '/x' }, 'PKCS11_PIN'],
    [{ S3_BUCKET: 'b' }, 'AWS_REGION'],
    [{ S3_BUCKET: 'b', AWS_REGION: 'r', S3_PREFIX: '../x' }, 'S3_PREFIX'],
    [{ VIGILANCE_RENDERER: 'word' }, 'VIGILANCE_RENDERER'],
    [{ VIGILANCE_PUBLIC_URL: 'verify.example' }, 'VIGILANCE_PUBLIC_URL'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'http' }, 'PORT'],
    [{ VIGILANCE_VERIFY_CHECKS_PER_MINUTE: '0' }, 'VIGILANCE_VERIFY_CHECKS_PER_MINUTE'],
    [{ VIGILANCE_METRICS: 'false' }, 'VIGILANCE_METRICS'],
  ])('refuses %j, naming %s', (env, words) => {
    const config = loadConfig(env);
    expect(config.ok).toBe(false);
    if (!config.ok) {
      expect(config.error.code).toBe('CONFIG_INVALID');
      expect(config.error.message).toContain(words);
    }
  });

  it('never echoes a secret in its errors', () => {
    const config = loadConfig({ DATABASE_URL: 'mysql://user:hunter2@h/db' });
    expect(!config.ok && config.error.message).not.toContain('hunter2');
  });

  describe('the API', () => {
    it('defaults to the public URL and loopback hosts, no CORS origin but its own, local login when embedded', () => {
      const config = loadConfig({ VIGILANCE_PUBLIC_URL: 'https://vigilance.example' });
      expect(config).toMatchObject({
        ok: true,
        value: {
          api: {
            trustedHosts: ['vigilance.example', 'localhost', '127.0.0.1', '[::1]'],
            corsOrigins: ['https://vigilance.example'],
            trustProxyHops: 0,
            oidcProviders: [],
            // Served under a public name: the embedded login (no password) is not.
            localLogin: false,
            tokenKeyFile: '.vigilance/keys/token-signing-key.json',
            perMinute: { api: 1200, apiWrite: 120, auth: 60, token: 60 },
          },
        },
      });
      const production = loadConfig({ DATABASE_URL: 'postgres://db/vigilance' });
      expect(production.ok && production.value.api.localLogin).toBe(false);
      const laptop = loadConfig({});
      expect(laptop.ok && laptop.value.api.localLogin).toBe(true);
      const exposed = loadConfig({ VIGILANCE_HOST: '0.0.0.0' });
      expect(exposed.ok && exposed.value.api.localLogin).toBe(false);
    });

    it('refuses the embedded login (no password) anywhere but on a loopback address and URL', () => {
      for (const env of [
        { VIGILANCE_LOCAL_LOGIN: 'on', VIGILANCE_HOST: '0.0.0.0' },
        { VIGILANCE_LOCAL_LOGIN: 'on', VIGILANCE_PUBLIC_URL: 'https://vigilance.example' },
      ]) {
        const config = loadConfig(env);
        expect(config.ok).toBe(false);
        if (!config.ok) expect(config.error.message).toContain('VIGILANCE_LOCAL_LOGIN=on needs a loopback');
      }
      const local = loadConfig({
        VIGILANCE_LOCAL_LOGIN: 'on',
        VIGILANCE_PUBLIC_URL: 'http://127.0.0.1:9000',
      });
      expect(local.ok && local.value.api.localLogin).toBe(true);
    });

    it('reads hosts, origins, proxies, providers, local login, the token key and the budgets', () => {
      const config = loadConfig({
        VIGILANCE_TRUSTED_HOSTS: 'api.example, vigilance.example',
        VIGILANCE_CORS_ORIGINS: 'https://app.example',
        VIGILANCE_TRUST_PROXY: '1',
        VIGILANCE_OIDC_PROVIDERS: JSON.stringify([
          {
            id: 'google',
            name: 'Google',
            issuer: 'https://accounts.google.com',
            clientId: 'abc',
            clientSecret: 's',
          },
        ]),
        VIGILANCE_LOCAL_LOGIN: 'off',
        VIGILANCE_TOKEN_KEY_FILE: '/secrets/token.json',
        VIGILANCE_API_REQUESTS_PER_MINUTE: '5000',
        VIGILANCE_API_WRITES_PER_MINUTE: '50',
        VIGILANCE_LOGIN_REQUESTS_PER_MINUTE: '10',
        VIGILANCE_TOKEN_REQUESTS_PER_MINUTE: '20',
      });
      expect(config).toMatchObject({
        ok: true,
        value: {
          api: {
            trustedHosts: ['api.example', 'vigilance.example'],
            corsOrigins: ['https://app.example'],
            trustProxyHops: 1,
            oidcProviders: [
              {
                id: 'google',
                name: 'Google',
                issuer: 'https://accounts.google.com',
                clientId: 'abc',
                clientSecret: 's',
              },
            ],
            localLogin: false,
            tokenKeyFile: '/secrets/token.json',
            perMinute: { api: 5000, apiWrite: 50, auth: 10, token: 20 },
          },
        },
      });
    });

    it.each([
      ['VIGILANCE_CORS_ORIGINS', 'https://app.example/path'],
      ['VIGILANCE_TRUST_PROXY', 'yes'],
      ['VIGILANCE_OIDC_PROVIDERS', 'not json'],
      ['VIGILANCE_OIDC_PROVIDERS', '[{"id":"local","name":"x","issuer":"https://x.example","clientId":"c"}]'],
      [
        'VIGILANCE_OIDC_PROVIDERS',
        '[{"id":"Bad Id","name":"x","issuer":"https://x.example","clientId":"c"}]',
      ],
      ['VIGILANCE_LOCAL_LOGIN', 'maybe'],
      ['VIGILANCE_API_REQUESTS_PER_MINUTE', '0'],
    ])('refuses %s=%s', (name, value) => {
      const config = loadConfig({ [name]: value });
      expect(config.ok).toBe(false);
      if (!config.ok) {
        expect(config.error.code).toBe('CONFIG_INVALID');
        expect(config.error.message).toContain(name);
      }
    });
  });
});
