import { type LookupAddress, type LookupAllOptions, lookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { checkDialable, type DialPolicy } from '../chain/index.ts';

/**
 * A DNS lookup for sockets that only ever yields addresses the dial policy allows: a host name in a profile
 * can resolve anywhere (loopback, the cloud metadata address), and can change what it resolves to later,
 * so it is judged each time a connection is made rather than once.
 */
export function guardedLookup(policy: DialPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const all: LookupAllOptions = { family: options.family, hints: options.hints, all: true };
    lookup(hostname, all, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const allowed = addresses.filter((entry) => checkDialable(entry.address, policy).ok);
      const first = allowed[0];
      if (!first) {
        const refused = Object.assign(new Error(`${hostname} resolves to no address the gateway may dial`), {
          code: 'ERR_UNDIALABLE_ADDRESS',
        });
        return callback(refused, '', 0);
      }
      // net.connect asks for every address when it races IPv4 and IPv6 (autoSelectFamily).
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, first.address, first.family);
    });
  };
}
