import assert from 'node:assert/strict';
import { test } from 'node:test';
import { awsClientEnv } from './aws-env.ts';

test('the Region and a service endpoint from the environment, as AWS SDKs read them', () => {
  assert.deepEqual(awsClientEnv({}, 'S3'), { region: 'us-east-1' });
  assert.deepEqual(awsClientEnv({ AWS_DEFAULT_REGION: 'eu-west-1', AWS_REGION: '' }, 'S3'), {
    region: 'eu-west-1',
  });
  const env = {
    AWS_REGION: 'us-west-2',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: 'http://127.0.0.1:2',
    AWS_ENDPOINT_URL_S3: '',
  };
  assert.deepEqual(awsClientEnv(env, 'CLOUDWATCH_LOGS'), {
    region: 'us-west-2',
    endpoint: 'http://127.0.0.1:2',
  });
  // An empty service endpoint counts as unset: the general one applies.
  assert.deepEqual(awsClientEnv(env, 'S3'), {
    region: 'us-west-2',
    endpoint: 'http://127.0.0.1:1',
  });
  assert.equal(awsClientEnv(env, 'CLOUDWATCH').endpoint, 'http://127.0.0.1:1');
});
