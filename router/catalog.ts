import type { SubnetProfile } from '../config/profiles.ts';

export interface RoutableModel {
  /** `sn{netuid}/{model}`: unique across subnets, and names the subnet it routes to. */
  id: string;
  /** The profile's own name for it (the part after `sn{netuid}/`). */
  model: string;
  profile: SubnetProfile;
}

/** Every model the profiles make routable, by id. */
export function buildCatalog(profiles: readonly SubnetProfile[]): Map<string, RoutableModel> {
  const catalog = new Map<string, RoutableModel>();
  for (const profile of profiles) {
    for (const model of profile.models) {
      const id = `sn${profile.netuid}/${model}`;
      catalog.set(id, { id, model, profile });
    }
  }
  return catalog;
}
