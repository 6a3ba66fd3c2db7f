import type { SubnetProfile } from '../config/profiles.ts';
import { UpstreamError } from './errors.ts';
import type { Adapter, EmbeddingsAnswer, EmbeddingsRequest, ImagesAnswer, ImagesRequest } from './types.ts';

/**
 * The profile's answer checks around an adapter, whatever its protocol: an answer that fails them is
 * `upstream_invalid`, so the router counts the miner as failed and asks another.
 */
export function withAnswerChecks(adapter: Adapter, profile: SubnetProfile): Adapter {
  const { chat, embeddings, images } = adapter;
  const { minTextChars } = profile.checks;
  return {
    protocol: adapter.protocol,
    // Every protocol already refuses an empty answer: only a longer minimum needs the extra stream step.
    chat:
      chat && minTextChars > 1
        ? async (target, request, options) => checkedText(await chat(target, request, options), minTextChars)
        : chat,
    embeddings:
      embeddings &&
      (async (target, request, options) => {
        const answer = await embeddings(target, request, options);
        checkEmbeddings(answer, request, profile);
        return answer;
      }),
    images:
      images &&
      (async (target, request, options) =>
        checkImages(await images(target, request, options), request, profile)),
  };
}

/** The length every vector of a request must have. */
export function expectedDimensions(request: EmbeddingsRequest, profile: SubnetProfile): number | undefined {
  return request.dimensions ?? profile.embeddings?.dimensions;
}

function checkEmbeddings(answer: EmbeddingsAnswer, request: EmbeddingsRequest, profile: SubnetProfile): void {
  const invalid = (why: string) => new UpstreamError('upstream_invalid', `the embeddings ${why}`);
  if (answer.vectors.length !== request.inputs.length) {
    throw invalid(`hold ${answer.vectors.length} vectors for ${request.inputs.length} inputs`);
  }
  const dimensions = expectedDimensions(request, profile);
  for (const vector of answer.vectors) {
    if (dimensions !== undefined && vector.length !== dimensions) {
      throw invalid(`have ${vector.length} dimensions, not ${dimensions}`);
    }
    let squares = 0;
    for (const value of vector) {
      if (!Number.isFinite(value)) throw invalid('hold a value that is not a finite number');
      squares += value * value;
    }
    if (profile.checks.unitNorm && Math.abs(Math.sqrt(squares) - 1) > 0.01)
      throw invalid('are not unit length');
  }
}

function checkImages(answer: ImagesAnswer, request: ImagesRequest, profile: SubnetProfile): ImagesAnswer {
  const { imageFormats, maxImageBytes } = profile.checks;
  if (answer.images.length < request.n) {
    throw new UpstreamError(
      'upstream_invalid',
      `the miner sent ${answer.images.length} of ${request.n} images`,
    );
  }
  for (const image of answer.images) {
    if (!imageFormats.includes(image.format)) {
      throw new UpstreamError('upstream_invalid', `the miner sent a ${image.format} image`);
    }
    if (image.bytes.length > maxImageBytes) {
      throw new UpstreamError('upstream_invalid', `the miner sent an image over ${maxImageBytes} bytes`);
    }
  }
  // More than asked for is not an error, but only what was asked for is passed on (and paid for).
  return { images: answer.images.slice(0, request.n) };
}

/** A text stream whose end is checked: too short a whole answer fails like an empty one. */
async function* checkedText(text: AsyncIterable<string>, minChars: number): AsyncGenerator<string> {
  let chars = 0;
  for await (const chunk of text) {
    chars += chunk.length;
    yield chunk;
  }
  if (chars < minChars)
    throw new UpstreamError('upstream_invalid', `the answer is shorter than ${minChars} characters`);
}
