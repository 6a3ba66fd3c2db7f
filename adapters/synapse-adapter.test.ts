import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hotkey, hotkeyFromSecret } from '../bittensor/index.ts';
import { loadProfiles, type SubnetProfile } from '../config/index.ts';
import { encodePng } from '../localnet/index.ts';
import { withAnswerChecks } from './answer-checks.ts';
import { type MinerTarget, UpstreamError } from './index.ts';
import { createSynapseAdapter } from './synapse-adapter.ts';
import type { Adapter } from './types.ts';

/** Axons that answer every synapse with a fixed body, whatever was asked. */
describe('the synapse adapter, for embeddings and images', () => {
  const dispatcher = new Agent();
  const servers: Server[] = [];
  let gateway: Hotkey;
  const [embeddingsProfile, imagesProfile] = ['embeddings', 'images'].map(
    (task) => loadProfiles().find((profile) => profile.task === task)!,
  ) as [SubnetProfile, SubnetProfile];

  beforeAll(async () => {
    gateway = await hotkeyFromSecret('//taogate');
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await dispatcher.close();
  });

  async function axonAnswering(
    profile: SubnetProfile,
    body: unknown,
  ): Promise<{ adapter: Adapter; target: MinerTarget }> {
    const server = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    if (profile.protocol !== 'synapse') throw new Error('a synapse profile');
    const adapter = withAnswerChecks(
      createSynapseAdapter({ synapse: profile.synapse, hotkey: gateway, dendriteIp: '0.0.0.0', dispatcher }),
      profile,
    );
    const port = (server.address() as AddressInfo).port;
    return {
      adapter,
      target: { netuid: profile.netuid, uid: 1, hotkey: gateway.ss58, ip: '127.0.0.1', port },
    };
  }

  const call = { signal: new AbortController().signal, timeoutMs: 5000 };
  const unit = (length: number) => Array.from({ length }, (_, i) => (i === 0 ? 1 : 0));

  async function failure(pending: Promise<unknown>): Promise<UpstreamError> {
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    return error as UpstreamError;
  }

  it('reads the vectors from the output field the profile names', async () => {
    const { adapter, target } = await axonAnswering(embeddingsProfile, { results: [unit(512), unit(512)] });
    const answer = await adapter.embeddings!(target, { inputs: ['a', 'b'] }, call);
    expect(answer.vectors).toHaveLength(2);
  });

  it.each([
    ['no list of vectors', { results: 'nope' }, /is not a list of vectors/],
    ['fewer vectors than inputs', { results: [unit(512)] }, /1 vectors for 2 inputs/],
    ['vectors of another length', { results: [unit(8), unit(8)] }, /8 dimensions, not 512/],
    ['vectors that are not unit length', { results: [unit(512).map(() => 1), unit(512)] }, /not unit length/],
  ])('refuses embeddings with %s as upstream_invalid', async (_, body, message) => {
    const { adapter, target } = await axonAnswering(embeddingsProfile, body);
    const error = await failure(adapter.embeddings!(target, { inputs: ['a', 'b'] }, call));
    expect(error.code).toBe('upstream_invalid');
    expect(error.message).toMatch(message);
  });

  it('reads a base64 image, bare or as a data URL', async () => {
    const png = encodePng(2, 2, Buffer.alloc(12, 200)).toString('base64');
    for (const image of [png, `data:image/png;base64,${png}`]) {
      const { adapter, target } = await axonAnswering(imagesProfile, { image });
      const answer = await adapter.images!(target, { prompt: 'p', n: 1, width: 256, height: 256 }, call);
      expect(answer.images[0]!.format).toBe('png');
    }
  });

  it.each([
    ['no image', { image: 42 }, /holds no image/],
    ['text that is not base64', { image: 'not base64!' }, /not base64/],
    ['base64 of something else', { image: Buffer.from('GIF89a....').toString('base64') }, /neither PNG/],
  ])('refuses an image answer with %s as upstream_invalid', async (_, body, message) => {
    const { adapter, target } = await axonAnswering(imagesProfile, body);
    const error = await failure(
      adapter.images!(target, { prompt: 'p', n: 1, width: 256, height: 256 }, call),
    );
    expect(error.code).toBe('upstream_invalid');
    expect(error.message).toMatch(message);
  });
});
