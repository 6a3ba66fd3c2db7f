/** What the gateway knows of the network: one snapshot of every subnet's neurons, as read from Subtensor. */

export interface AxonInfo {
  /** Dotted IPv4 or RFC 5952 IPv6 text, decoded from the chain's u128. */
  ip: string;
  ipType: 4 | 6;
  port: number;
  protocol: number;
  version: number;
  /** Block at which the axon was served. */
  block: number;
}

export interface Neuron {
  uid: number;
  hotkey: string;
  coldkey: string;
  /** Stake in TAO (rao / 1e9); under dTAO, the hotkey's alpha on this subnet valued in TAO. */
  stake: number;
  /** u16 on chain, normalised to [0, 1] by / 65535 as bittensor does. */
  incentive: number;
  trust: number;
  consensus: number;
  dividends: number;
  validatorPermit: boolean;
  lastUpdate: number;
  /** Null when the neuron serves no axon (ip 0). */
  axon: AxonInfo | null;
}

export interface Subnet {
  netuid: number;
  tempo: number;
  neuronCount: number;
  neurons: Neuron[];
}

export interface MetagraphSnapshot {
  /** Block number the snapshot was read at. */
  block: number;
  /** Unix ms when it was read. */
  readAt: number;
  subnets: Subnet[];
}

/** Where the router gets its metagraph from: the chain reader in production, a fixed snapshot in unit tests. */
export interface MetagraphSource {
  /** The last good snapshot, or undefined before the first read. */
  current(): MetagraphSnapshot | undefined;
  /** Resolves once a first snapshot is available (from the chain or from disk). */
  ready(): Promise<MetagraphSnapshot>;
  /** Called on every new snapshot. Returns an unsubscribe function. */
  onUpdate(listener: (snapshot: MetagraphSnapshot) => void): () => void;
  close(): Promise<void>;
}
