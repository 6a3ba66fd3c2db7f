import { UpstreamError } from './errors.ts';
import type { GeneratedImage, ImageFormat } from './types.ts';

// Magic bytes: PNG (ISO/IEC 15948 §5.2), JPEG SOI marker, WebP's RIFF….WEBP container header.
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The encoding of an image, told by its first bytes; undefined for anything else. */
export function imageFormatOf(bytes: Buffer): ImageFormat | undefined {
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * An image a miner sent as base64, bare or as a `data:` URL. Garbage is `upstream_invalid`; whether the
 * format is one the subnet may send is for the answer checks.
 */
export function decodeImage(encoded: string): GeneratedImage {
  const base64 = encoded.startsWith('data:') ? encoded.slice(encoded.indexOf(',') + 1) : encoded;
  const compact = base64.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new UpstreamError('upstream_invalid', 'the image is not base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  const format = imageFormatOf(bytes);
  if (!format) throw new UpstreamError('upstream_invalid', 'the image is neither PNG, JPEG nor WebP');
  return { bytes, format };
}
