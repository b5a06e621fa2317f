/**
 * A forward HTTP proxy on localhost, as corporate networks run them: CONNECT tunnels, optionally requiring Basic
 * credentials (407 without them). It records what it was asked to reach.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';

export interface TestProxy {
  readonly url: string;
  /** `host:port` of each CONNECT tunnel opened. */
  readonly tunnels: string[];
  /** Requests refused for want of credentials. */
  readonly refused: number;
  close(): Promise<void>;
}

export async function startTestProxy(
  options: { user?: string; password?: string } = {},
): Promise<TestProxy> {
  const expected =
    options.user === undefined
      ? null
      : `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}`;
  const state = { tunnels: [] as string[], refused: 0 };
  const allowed = (req: IncomingMessage) =>
    expected === null || req.headers['proxy-authorization'] === expected;
  const sockets = new Set<Socket>();

  // Both clients under test (undici's ProxyAgent, hpagent) tunnel every target, http or https, with CONNECT.
  const server = createServer((_req, res) => {
    res.writeHead(405).end('this proxy only tunnels (CONNECT)');
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    if (!allowed(req)) {
      state.refused++;
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n',
      );
      return;
    }
    const target = req.url ?? '';
    state.tunnels.push(target);
    const colon = target.lastIndexOf(':');
    const upstream = connect(Number(target.slice(colon + 1)), target.slice(0, colon), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream).add(client);
    const drop = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', drop).on('close', drop);
    client.on('error', drop).on('close', drop);
  });
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get tunnels() {
      return state.tunnels;
    },
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
