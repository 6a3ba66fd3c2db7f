import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Miner, startOpenAiUpstream } from '../localnet/index.ts';
import { type GatewayProcess, spawnGateway } from './gateway-process.ts';

const KEY = 'sk-test-upstream-key';

describe('a gateway whose every subnet is an OpenAI-compatible endpoint', () => {
  let upstream: Miner;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    upstream = await startOpenAiUpstream({ apiKey: KEY, model: 'upstream-model', netuid: 64, uid: 1 });
    const profiles = join(mkdtempSync(join(tmpdir(), 'taogate-openai-only-')), 'subnets.json');
    const upstreamConfig = {
      baseUrls: [`http://127.0.0.1:${upstream.port}/v1`],
      apiKeyEnv: 'TEST_UPSTREAM_KEY',
    };
    writeFileSync(
      profiles,
      JSON.stringify({
        subnets: [
          {
            netuid: 64,
            name: 'operator-chat',
            task: 'chat',
            models: ['upstream-model'],
            protocol: 'openai',
            timeoutSeconds: 5,
            upstream: upstreamConfig,
          },
        ],
      }),
    );
    // No chain node listens there: such a gateway must never need one.
    gateway = await spawnGateway({
      chainUrl: 'ws://127.0.0.1:9',
      env: { TAOGATE_PROFILES: profiles, TAOGATE_PIPELINES: 'off', TEST_UPSTREAM_KEY: KEY },
    });
  });
  afterAll(async () => {
    gateway?.child.kill('SIGTERM');
    await gateway?.exited;
    await upstream?.close();
  });

  it('is ready without a chain, and says so with no metagraph check', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 200,
      body: { status: 'ready', checks: {} },
    });
  });

  it('answers through the endpoint', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sn64/upstream-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toMatch(/heard: hi$/);
  });
});
