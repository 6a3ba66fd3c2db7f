import type { RoutableModel } from '../catalog.ts';
import type { ModelKindOf } from './definition.ts';

/** Which catalogue models a step may call, and as what kind of step: chat and embeddings models. */
export function stepKindsOf(catalog: ReadonlyMap<string, RoutableModel>): ModelKindOf {
  return (id) => {
    const task = catalog.get(id)?.profile.task;
    if (task === undefined) return undefined;
    return task === 'chat' || task === 'embeddings' ? task : 'unsupported';
  };
}
