/**
 * `npm run fake-bedrock` (the README's way to try the gateway without AWS) as a process: it prints where it listens
 * and the credentials to sign with, the real AWS SDK's Converse gets an answer with usage, another key gets 403,
 * and SIGTERM stops it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';

test('npm run fake-bedrock serves Converse to the real AWS SDK signed with the printed keys', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fake-bedrock-main.ts'), '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (s: string) => {
        out += s;
        if (out.includes('npm run tokenledger -- gateway')) resolve();
      });
      child.once('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    const url = /AWS_ENDPOINT_URL_BEDROCK_RUNTIME=(\S+)/.exec(out)?.[1] ?? '';
    const accessKeyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(out)?.[1] ?? '';
    const secretAccessKey = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)?.[1] ?? '';
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = (secret: string) =>
      new BedrockRuntimeClient({
        endpoint: url,
        region: 'us-east-1',
        credentials: { accessKeyId, secretAccessKey: secret },
      });
    const input = {
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      messages: [{ role: 'user' as const, content: [{ text: 'hi' }] }],
    };
    const answer = await client(secretAccessKey).send(new ConverseCommand(input));
    assert.equal(answer.stopReason, 'end_turn');
    assert.ok((answer.usage?.inputTokens ?? 0) > 0 && (answer.usage?.outputTokens ?? 0) > 0);
    await assert.rejects(client('wrong-secret').send(new ConverseCommand(input)), (e: unknown) => {
      assert.equal(
        (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
        403,
      );
      return true;
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});
