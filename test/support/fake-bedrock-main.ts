/**
 * `npm run fake-bedrock [-- --port N]`: the test suite's fake Bedrock as a process, to try the gateway without AWS.
 * It speaks Bedrock's wire formats (JSON and event streams, SigV4 checked with the credentials printed below) and
 * answers every call with a short canned reply and its token counts. Not a product feature: a stand-in for Bedrock.
 */
import { parseArgs } from 'node:util';
import { startFakeBedrock } from './fake-bedrock.ts';

export const TRY_CREDENTIALS = { accessKeyId: 'AKIDTRYITOUT', secretAccessKey: 'try-it-out' };

const { values } = parseArgs({ options: { port: { type: 'string', default: '8791' } } });
const fake = await startFakeBedrock({
  port: Number(values.port),
  credentials: [TRY_CREDENTIALS],
  record: false,
});
process.stdout.write(
  [
    `A fake Bedrock runtime listens on ${fake.url} (canned answers, real wire formats; Ctrl-C stops it).`,
    'Point the gateway at it:',
    `  AWS_ENDPOINT_URL_BEDROCK_RUNTIME=${fake.url} AWS_REGION=us-east-1 \\`,
    `  AWS_ACCESS_KEY_ID=${TRY_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${TRY_CREDENTIALS.secretAccessKey} \\`,
    '  npm run tokenledger -- gateway --db try.duckdb',
    '',
  ].join('\n'),
);
const stop = () => void fake.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
