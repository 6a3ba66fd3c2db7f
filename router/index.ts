export type { Candidate } from './candidates.ts';
export { buildCatalog, type RoutableModel } from './catalog.ts';
export { DeadlineExceeded, ModelNotFound, NoHealthyMiner, UpstreamExhausted } from './errors.ts';
export { type ChatRouter, createChatRouter, type Routed, type RouteOptions } from './route-chat.ts';
export { EXPLORATION_WEIGHT, selectMiner } from './select.ts';
