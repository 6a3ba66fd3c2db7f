import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// PNG (ISO/IEC 15948): signature, IHDR, IDAT (zlib of filtered scanlines), IEND; every chunk is
// length, type, data and the CRC-32 of type and data.
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit RGB PNG of `rgb` (width × height × 3 bytes, row by row). */
export function encodePng(width: number, height: number, rgb: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  // compression, filter and interlace methods stay 0
  const stride = width * 3;
  const scanlines = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) rgb.copy(scanlines, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * What localnet's image miners draw: a gradient whose colours come from a hash of the prompt (and the
 * image's index), so the same prompt always gives the same PNG and tests can tell whose image they got.
 */
export function promptImage(prompt: string, width: number, height: number, index = 0): Buffer {
  const [r0 = 0, g0 = 0, b0 = 0, r1 = 0, g1 = 0, b1 = 0] = createHash('sha256')
    .update(`${index}:${prompt}`)
    .digest();
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x + y) / Math.max(1, width + height - 2);
      const at = (y * width + x) * 3;
      rgb[at] = Math.round(r0 + (r1 - r0) * t);
      rgb[at + 1] = Math.round(g0 + (g1 - g0) * t);
      rgb[at + 2] = Math.round(b0 + (b1 - b0) * t);
    }
  }
  return encodePng(width, height, rgb);
}
