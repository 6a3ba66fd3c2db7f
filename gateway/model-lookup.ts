import type { ProfileOf, SubnetTask } from '../config/index.ts';
import type { RoutableModel } from '../router/index.ts';
import { noteRequestedModel } from '../telemetry/index.ts';
import { type HttpError, httpError } from './errors.ts';

/** A routable model of one task, its profile typed with that task's section. */
export type ModelOf<T extends SubnetTask> = Omit<RoutableModel, 'profile'> & { profile: ProfileOf<T> };

/** The routable model a request names, if it serves the endpoint's task; else the 4xx that says why. */
export function modelFor<T extends SubnetTask>(
  catalog: ReadonlyMap<string, RoutableModel>,
  id: string,
  task: T,
): { ok: true; model: ModelOf<T> } | { ok: false; error: HttpError } {
  const model = catalog.get(id);
  if (!model) {
    const message = `The model '${id}' does not exist or is not routable`;
    return { ok: false, error: httpError(404, message, 'invalid_request_error', 'model_not_found', 'model') };
  }
  if (model.profile.task !== task) {
    const message = `The model '${id}' serves ${model.profile.task}, not ${task}: see GET /v1/models`;
    return {
      ok: false,
      error: httpError(400, message, 'invalid_request_error', 'model_task_mismatch', 'model'),
    };
  }
  // Found: the request's metrics and span are labelled with this catalogue model from here on.
  noteRequestedModel(model.id, model.profile.netuid);
  // The task was just checked, and loadProfiles refuses a profile of a task without that task's section.
  return { ok: true, model: model as ModelOf<T> };
}
