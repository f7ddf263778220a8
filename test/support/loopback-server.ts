import { afterEach } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubReply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  /** Hold the reply this long before answering (to exercise client timeouts). */
  readonly delayMs?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface StubServer {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 and an ephemeral port, answering with `handler`, recording every request.
 * Adapters are tested over a real socket, so timeouts, redirects and headers behave as in production.
 */
export const startStubServer = async (
  handler: (request: RecordedRequest) => StubReply | Promise<StubReply>,
): Promise<StubServer> => {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      void Promise.resolve(handler(recorded)).then((reply) => {
        const send = (): void => {
          const body =
            reply.body === undefined
              ? ''
              : typeof reply.body === 'string'
                ? reply.body
                : JSON.stringify(reply.body);
          res.writeHead(reply.status ?? 200, {
            'content-type': 'application/json; charset=utf-8',
            ...reply.headers,
          });
          res.end(body);
        };
        if (reply.delayMs === undefined) send();
        else {
          const timer = setTimeout(() => {
            timers.delete(timer);
            send();
          }, reply.delayMs);
          timers.add(timer);
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((e) => {
          if (e) reject(e);
          else resolve();
        }),
      );
    },
  };
};

/**
 * Stub servers that close after each test of the calling file: `track(server)` registers one and returns it.
 */
export const closingAfterEach = (): ((server: StubServer) => StubServer) => {
  const servers: StubServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return (server) => {
    servers.push(server);
    return server;
  };
};
