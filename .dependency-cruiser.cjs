/** Layering rules of ARCHITECTURE.md section 3, enforced in `npm test`. */
// Tests beside the code may use the test tools and test/support; the rules govern production code.
const TEST = '\\.test\\.ts$';

const drivers = [
  ['pg', 'src/adapters/postgres/'],
  ['@electric-sql/pglite', 'src/adapters/pglite/'],
  ['ioredis', 'src/adapters/redis/'],
  ['@aws-sdk', 'src/adapters/(s3|kms)/'],
  ['pdfkit', 'src/adapters/pdf/'],
  ['stripe', 'src/adapters/stripe/'],
  ['fastify', 'src/http/'],
  ['@fastify', 'src/http/'],
  ['jose', 'src/adapters/jose/'],
  ['openid-client', 'src/adapters/oidc/'],
  ['oidc-provider', 'src/adapters/oidc/'],
  ['playwright-core', 'src/adapters/chromium/'],
  ['prom-client', 'src/adapters/prometheus/'],
  // The worker's logger is made where processes are wired; the server's is Fastify's own.
  ['pino', 'src/main/'],
];

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ imports nothing outside domain/: no node:*, no npm, no I/O.',
      severity: 'error',
      from: { path: '^src/domain/', pathNot: TEST },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'application-points-inward',
      comment: 'application/ depends on domain/ and itself only.',
      severity: 'error',
      from: { path: '^src/application/', pathNot: TEST },
      to: { pathNot: '^src/(domain|application)/' },
    },
    {
      name: 'adapter-families-are-independent',
      severity: 'error',
      comment:
        'Except the two database drivers, which hand the shared query layer (adapters/sql) its client, and ' +
        "adapters/shared, which holds mechanics of no family's (a key file written atomically, a leased semaphore).",
      from: { path: '^src/adapters/([^/]+)/', pathNot: TEST },
      to: {
        path: '^src/adapters/',
        pathNot: ['^src/adapters/$1/', '^src/adapters/sql/database\\.ts$', '^src/adapters/shared/'],
      },
    },
    {
      name: 'adapters-point-inward',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(http|cli|worker|main|config|sandbox)/' },
    },
    {
      name: 'only-main-knows-adapters',
      comment: 'Concrete adapters are wired in src/main/ (tests and benchmarks may open them directly).',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(main|adapters)/', TEST] },
      to: { path: '^src/adapters/' },
    },
    {
      name: 'delivery-drives-use-cases',
      comment: 'http/, cli/ and worker/ reach the application, never main/ or the sandbox.',
      severity: 'error',
      from: { path: '^src/(http|cli|worker)/' },
      to: { path: '^src/(main|sandbox|config)/' },
    },
    {
      name: 'only-config-reads-env',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(config|main)/' },
      to: { path: '^src/config/' },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST },
      to: { path: '^(test|bench)/' },
    },
    ...drivers.map(([pkg, home]) => ({
      name: `driver-${pkg.replace(/[^a-z0-9]/gi, '')}-stays-home`,
      severity: 'error',
      from: { path: '^src/', pathNot: [`^${home}`, TEST] },
      to: { path: `node_modules/${pkg}` },
    })),
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
