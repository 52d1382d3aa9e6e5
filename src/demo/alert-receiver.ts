/**
 * The demo's Alertmanager webhook receiver: keeps the last notifications and tells the console
 * about each alert that starts firing or resolves, so a newcomer sees the alerting path work
 * without Slack or Opsgenie.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
}

/** Alertmanager's webhook payload (the fields we read). */
export interface WebhookPayload {
  receiver: string;
  status: string;
  alerts: WebhookAlert[];
}

export interface AlertReceiver {
  url: string;
  /** Notifications received, newest last (the last 500). */
  received: WebhookPayload[];
  close(): Promise<void>;
}

const KEEP = 500;

export async function startAlertReceiver(host: string, onAlert: (a: WebhookAlert, receiver: string) => void): Promise<AlertReceiver> {
  const received: WebhookPayload[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      if (body.length < 1_000_000) body += c.toString();
    });
    req.on('end', () => {
      try {
        const payload = JSON.parse(body) as WebhookPayload;
        received.push(payload);
        if (received.length > KEEP) received.shift();
        for (const a of payload.alerts ?? []) onAlert(a, payload.receiver);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/alerts`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One console line for an alert notification. */
export function describeAlert(a: WebhookAlert, receiver: string): string {
  const l = a.labels;
  const what = [l.key_result ?? l.source ?? l.service, l.severity && `severity ${l.severity}`, `receiver ${receiver}`].filter(Boolean).join(', ');
  const summary = a.annotations.summary ? `: ${a.annotations.summary}` : '';
  return `alert ${a.status === 'firing' ? 'FIRING' : 'resolved'} ${l.alertname ?? '?'} (${what})${summary}`;
}
