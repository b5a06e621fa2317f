/**
 * What every Redis client of the gateway does alike (the shared counters, the shared keys): connect with a few
 * quick retries and then give up (a gateway should not start against a Redis it cannot reach), reconnect for as
 * long as it takes once connected (at most 2 s apart), never queue commands while disconnected, and bound every
 * call's wait so that a Redis that hangs without closing the connection cannot stall a caller.
 */

/** Connection attempts before the first connection gives up (about 5 s). */
const INITIAL_RETRIES = 9;

/**
 * `options(url)`, the connection options for `createClient`, and `open`, which connects the client made with them: a
 * rejection when Redis stays unreachable for about 5 s, after that reconnection for as long as it takes.
 */
export function redisConnection(onError: (error: Error) => void) {
  let connected = false;
  const reconnectStrategy = (retries: number, cause: Error): number | Error =>
    connected || retries < INITIAL_RETRIES ? Math.min(100 * (retries + 1), 2000) : cause;
  return {
    options: (url: string) => ({
      url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy },
    }),
    async open<C extends RedisLike>(client: C): Promise<C> {
      client.on('error', (error: unknown) =>
        onError(error instanceof Error ? error : new Error(String(error))),
      );
      try {
        await client.connect();
      } catch (error) {
        client.destroy();
        throw error;
      }
      connected = true;
      return client;
    },
  };
}

interface RedisLike {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void;
}

/** Wraps calls so that one Redis has not answered in `timeoutMs` rejects (the command may still run later). */
export function timedCalls(timeoutMs: number) {
  return <T>(call: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    call.catch(() => undefined); // settled after the timeout: nobody is waiting
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  };
}
