import { createRequire } from 'node:module';
import { type AwsRequestHandler, proxyFor } from '../core/index.ts';

type Service = 'S3' | 'CLOUDWATCH' | 'CLOUDWATCH_LOGS';

/** The host prefix of each service's regional AWS endpoint. */
const HOST: Readonly<Record<Service, string>> = {
  S3: 's3',
  CLOUDWATCH: 'monitoring',
  CLOUDWATCH_LOGS: 'logs',
};

/** What an AWS SDK v3 client of the sources is built with: see `awsClientEnv`. */
export interface AwsClientEnv {
  readonly region: string;
  readonly endpoint?: string;
  /** Present only when an HTTP proxy applies (else the SDK's own handler). */
  readonly requestHandler?: AwsRequestHandler;
}

/**
 * Where the AWS SDK clients of the sources point, read from the environment as AWS SDKs read it: the Region from
 * `AWS_REGION`, else `AWS_DEFAULT_REGION`, else us-east-1; the endpoint from the service's own
 * `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL` (a local double, a VPC endpoint). Empty values count as unset.
 * `region` names the Region of a client made per Region. Proxies: `awsRequestHandler`.
 */
export function awsClientEnv(
  env: NodeJS.ProcessEnv,
  service: Service,
  region: string = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
): AwsClientEnv {
  const endpoint = nonEmpty(env[`AWS_ENDPOINT_URL_${service}`]) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const requestHandler = awsRequestHandler(
    endpoint ?? `https://${HOST[service]}.${region}.amazonaws.com`,
    env,
  );
  return {
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(requestHandler === undefined ? {} : { requestHandler }),
  };
}

/**
 * The AWS SDK v3 does not read `HTTPS_PROXY` itself (the AWS CLI does): when the environment names a proxy for
 * `endpoint` (core/proxy.ts, NO_PROXY included), a request handler that goes through it, with the agents AWS's
 * documentation uses for this (hpagent: a CONNECT tunnel, kept alive); else undefined. The
 * credential chain's instance-metadata and container endpoints do not use it.
 */
export function awsRequestHandler(
  endpoint: string,
  env: NodeJS.ProcessEnv,
): AwsRequestHandler | undefined {
  const proxy = proxyFor(endpoint, env);
  if (proxy === null) return undefined;
  // Loaded only when a proxy is configured (~10 ms and ~6 MB otherwise spent by every command).
  const { HttpProxyAgent, HttpsProxyAgent } = createRequire(import.meta.url)(
    'hpagent',
  ) as typeof import('hpagent');
  const agent = { proxy, keepAlive: true, maxSockets: 50 };
  return { httpAgent: new HttpProxyAgent(agent), httpsAgent: new HttpsProxyAgent(agent) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
