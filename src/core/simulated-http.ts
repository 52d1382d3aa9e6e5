/**
 * Helpers for fake source servers in tests: a plain node:http server on 127.0.0.1 and a
 * free port, started and stopped by the test, recording the requests it answers (the most
 * recent MAX_RECORDED_REQUESTS: `okr-metrics demo` keeps fakes running for hours).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

/** Requests a fake keeps by default; older ones are dropped from the front of `requests`. */
export const MAX_RECORDED_REQUESTS = 10_000;

export interface FakeServer {
  url: string;
  /** Oldest first; indexes shift once more than MAX_RECORDED_REQUESTS were answered. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeServer(handler: Handler, opts: { maxRequests?: number } = {}): Promise<FakeServer> {
  const max = opts.maxRequests ?? MAX_RECORDED_REQUESTS;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(rec);
      if (requests.length > max) requests.splice(0, requests.length - max);
      Promise.resolve(handler(rec, res)).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { message: String(e) });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
