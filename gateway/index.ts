export { createGatewayApp, type GatewayDeps } from './app.ts';
export { type HttpError, type OpenAIErrorBody, toHttpError } from './errors.ts';
export { listen, type RunningServer } from './server.ts';
export { type Gateway, startGateway } from './start.ts';
