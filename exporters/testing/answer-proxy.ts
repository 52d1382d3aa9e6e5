/**
 * A reverse proxy in front of a fake source, for tests of answers that are valid JSON but not
 * the API's: it forwards every request to the fake until `hijack` says otherwise, then answers
 * 200 with whatever it returns (a captive portal or misrouted proxy's `{"hello":"world"}`).
 * Absolute URLs in forwarded bodies (Bitbucket's `next` links) are rewritten to point back at
 * the proxy, so paging stays behind it.
 */
import { sendJson, startFakeServer, type FakeServer, type Handler, type RecordedRequest } from '../../src/core/simulated-http.js';

export interface AnswerProxy extends FakeServer {
  /** Return a body to answer 200 with instead of forwarding; undefined forwards. */
  hijack: ((req: RecordedRequest) => unknown) | undefined;
}

export async function startAnswerProxy(target: string): Promise<AnswerProxy> {
  // Requests arrive only once `proxy` below is set.
  const handler: Handler = async (req, res) => {
    const body = proxy.hijack?.(req);
    if (body !== undefined) return sendJson(res, 200, body);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (k !== 'host' && typeof v === 'string') headers.set(k, v);
    const upstream = await fetch(`${target}${req.path}${req.query.size > 0 ? `?${req.query.toString()}` : ''}`, { method: req.method, headers });
    const text = (await upstream.text()).replaceAll(target, proxy.url);
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
    });
    res.writeHead(upstream.status, { ...out, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const hijack: AnswerProxy['hijack'] = undefined;
  const proxy: AnswerProxy = Object.assign(await startFakeServer(handler), { hijack });
  return proxy;
}
