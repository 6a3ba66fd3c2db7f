import type { SubnetTask } from '../config/index.ts';
import type { RoutableModel } from '../router/index.ts';
import { noteRequestedModel } from '../telemetry/index.ts';
import { type HttpError, httpError } from './errors.ts';

/** The routable model a request names, if it serves the endpoint's task; else the 4xx that says why. */
export function modelFor(
  catalog: ReadonlyMap<string, RoutableModel>,
  id: string,
  task: SubnetTask,
): { ok: true; model: RoutableModel } | { ok: false; error: HttpError } {
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
  return { ok: true, model };
}
