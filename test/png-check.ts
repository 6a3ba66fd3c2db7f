import { crc32, inflateSync } from 'node:zlib';

/**
 * Reads a PNG the way a decoder would (signature, every chunk's CRC, IHDR, inflated IDAT of the right size
 * for 8-bit RGB) and returns its size; throws on anything that is not a well-formed PNG.
 */
export function decodePng(bytes: Buffer): { width: number; height: number } {
  if (!bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    throw new Error('no PNG signature');
  }
  let at = 8;
  let size: { width: number; height: number; colourType: number } | undefined;
  const idat: Buffer[] = [];
  for (;;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== bytes.readUInt32BE(at + 8 + length)) {
      throw new Error(`bad CRC in ${type}`);
    }
    at += 12 + length;
    if (type === 'IHDR')
      size = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), colourType: data[9]! };
    if (type === 'IDAT') idat.push(data);
    if (type === 'IEND') break;
  }
  if (!size) throw new Error('no IHDR');
  const pixels = inflateSync(Buffer.concat(idat));
  const channels = size.colourType === 6 ? 4 : 3;
  if (pixels.length !== (size.width * channels + 1) * size.height)
    throw new Error('IDAT does not fill the image');
  return { width: size.width, height: size.height };
}
