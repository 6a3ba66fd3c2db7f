/** What a label set is made of: route, status, netuid, model, outcome, … */
type Part = string | number | undefined;

/**
 * prom-client label objects, built once per combination of their parts and reused: recording a sample then
 * builds no object and turns no number into a string. The parts index nested Maps (no key string built
 * per call either); every part is bounded (routes, statuses, netuids, catalogue models, fixed lists), so
 * the cache is as small as the metric's series.
 */
export function labelSets<Parts extends readonly Part[], Labels>(
  build: (...parts: Parts) => Labels,
): (...parts: Parts) => Labels {
  const root = new Map<Part, unknown>();
  return (...parts) => {
    let level = root;
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(parts[i]) as Map<Part, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(parts[i], next);
      }
      level = next;
    }
    let labels = level.get(parts[last]) as Labels | undefined;
    if (labels === undefined) {
      labels = build(...parts);
      level.set(parts[last], labels);
    }
    return labels;
  };
}
