/**
 * Where the AWS SDK clients of the sources point, read from the environment as AWS SDKs read it: the Region from
 * `AWS_REGION`, else `AWS_DEFAULT_REGION`, else us-east-1; the endpoint from the service's own
 * `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL` (a local double, a VPC endpoint). Empty values count as unset.
 */
export function awsClientEnv(
  env: NodeJS.ProcessEnv,
  service: 'S3' | 'CLOUDWATCH' | 'CLOUDWATCH_LOGS',
): { readonly region: string; readonly endpoint?: string } {
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1';
  const endpoint = nonEmpty(env[`AWS_ENDPOINT_URL_${service}`]) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  return endpoint === undefined ? { region } : { region, endpoint };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
