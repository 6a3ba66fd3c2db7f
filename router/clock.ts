/**
 * Milliseconds on a monotonic scale. Injected wherever time decides behaviour (decay, cool-downs, retry
 * windows), so tests step it instead of sleeping.
 */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();
