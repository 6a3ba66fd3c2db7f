/** 1 TAO = 10^9 rao. */
const RAO_PER_TAO = 1_000_000_000n;

/** `2.5` → 2 500 000 000n: exact decimal TAO (up to 9 places) to rao; undefined when it is not one. */
export function parseTao(text: string): bigint | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!match) return undefined;
  return BigInt(match[1]!) * RAO_PER_TAO + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** 2 500 000 000n → `2.5`. */
export function formatTao(rao: bigint): string {
  const sign = rao < 0n ? '-' : '';
  const abs = rao < 0n ? -rao : rao;
  const fraction = (abs % RAO_PER_TAO).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${abs / RAO_PER_TAO}${fraction ? `.${fraction}` : ''}`;
}
