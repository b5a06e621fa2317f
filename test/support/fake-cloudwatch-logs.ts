/**
 * A fake CloudWatch Logs endpoint speaking what the AWS SDK v3 client (`@aws-sdk/client-cloudwatch-logs`) sends:
 * AWS JSON 1.1 — `POST /`, `Content-Type: application/x-amz-json-1.1`, `X-Amz-Target: Logs_20140328.<Operation>` —
 * with errors as `{"__type": "<Code>", "message": …}` and status 400. It answers FilterLogEvents over the events it
 * is given: log group, stream name prefix or names, the time range (both ends inclusive, epoch ms), pages of at most
 * `pageSize` events ordered by timestamp, and (like the real service) an empty page with a token now and then.
 * Requests must be SigV4-signed for the `logs` service (checked, not verified). Log group `denied` answers
 * AccessDeniedException; an unknown group ResourceNotFoundException; `throttle` fails that many requests first with
 * ThrottlingException. Anything else answers 501 rather than something wrong.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeLogEvent {
  readonly logStreamName?: string;
  readonly timestamp: number;
  readonly message: string;
}

export interface FakeCloudWatchLogsOptions {
  /** Log group → its events (any order). */
  readonly groups: Readonly<Record<string, readonly FakeLogEvent[]>>;
  /** Events per page (the service's limit is 10,000). Default 3. */
  readonly pageSize?: number;
  /** Requests answered with ThrottlingException before any is served. */
  readonly throttle?: number;
}

export interface FakeCloudWatchLogs {
  readonly endpoint: string;
  /** The FilterLogEvents requests received (parsed bodies), in order. */
  readonly requests: Record<string, unknown>[];
  close(): Promise<void>;
}

const DEFAULT_STREAM = 'aws/bedrock/modelinvocations';

export async function startFakeCloudWatchLogs(
  options: FakeCloudWatchLogsOptions,
): Promise<FakeCloudWatchLogs> {
  const requests: Record<string, unknown>[] = [];
  const pageSize = options.pageSize ?? 3;
  let throttle = options.throttle ?? 0;
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': `req-${requests.length}`,
    });
    res.end(text);
  };
  const fail = (res: http.ServerResponse, status: number, type: string, message: string) =>
    send(res, status, { __type: type, message });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || req.url !== '/')
        return fail(res, 501, 'NotImplemented', `${req.method} ${req.url}`);
      if (!String(req.headers['content-type']).startsWith('application/x-amz-json-1.1'))
        return fail(res, 501, 'NotImplemented', 'only AWS JSON 1.1');
      if (!/\/logs\/aws4_request/.test(String(req.headers.authorization ?? '')))
        return fail(res, 400, 'MissingAuthenticationTokenException', 'not signed for logs');
      if (target !== 'Logs_20140328.FilterLogEvents')
        return fail(res, 501, 'NotImplemented', target);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return fail(res, 400, 'SerializationException', 'malformed JSON');
      }
      requests.push(body);
      if (throttle > 0) {
        throttle--;
        return fail(res, 400, 'ThrottlingException', 'Rate exceeded');
      }
      const group = String(body.logGroupName ?? '');
      if (group === 'denied')
        return fail(
          res,
          400,
          'AccessDeniedException',
          'User is not authorized to perform: logs:FilterLogEvents',
        );
      const all = options.groups[group];
      if (all === undefined)
        return fail(
          res,
          400,
          'ResourceNotFoundException',
          'The specified log group does not exist.',
        );
      const start = typeof body.startTime === 'number' ? body.startTime : 0;
      const end = typeof body.endTime === 'number' ? body.endTime : Number.MAX_SAFE_INTEGER;
      const prefix = typeof body.logStreamNamePrefix === 'string' ? body.logStreamNamePrefix : '';
      const names = Array.isArray(body.logStreamNames) ? body.logStreamNames.map(String) : null;
      const matching = all
        .map((e, i) => ({ ...e, logStreamName: e.logStreamName ?? DEFAULT_STREAM, i }))
        .filter(
          (e) =>
            e.timestamp >= start &&
            e.timestamp <= end &&
            e.logStreamName.startsWith(prefix) &&
            (names === null || names.includes(e.logStreamName)),
        )
        .sort((a, b) => a.timestamp - b.timestamp || a.i - b.i);
      // The token: `<offset>` or `<offset>:empty` for the empty page the service sends now and then.
      const token = typeof body.nextToken === 'string' ? body.nextToken : null;
      const [offsetText, empty] = (token ?? '0').split(':');
      const offset = Number(offsetText);
      if (!Number.isInteger(offset) || offset < 0 || offset > matching.length)
        return fail(res, 400, 'InvalidParameterException', 'The specified nextToken is invalid.');
      if (token === null && matching.length > pageSize && empty === undefined)
        return send(res, 200, { events: [], searchedLogStreams: [], nextToken: `${offset}:empty` });
      const page = matching.slice(offset, offset + pageSize);
      const next = offset + page.length;
      send(res, 200, {
        events: page.map((e) => ({
          logStreamName: e.logStreamName,
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: e.timestamp + 1500,
          eventId: `${e.timestamp}${String(e.i).padStart(8, '0')}`,
        })),
        searchedLogStreams: [],
        ...(next < matching.length ? { nextToken: String(next) } : {}),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
