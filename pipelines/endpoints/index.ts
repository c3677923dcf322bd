// Calling OpenAI-compatible endpoints: the public surface for teachers and hosted ASR.
export { EndpointClient } from './endpoint-client.ts';
export { countChatInputTokens, countTextTokens, estimateChatTokens } from './tokens.ts';
export type { EndpointCall, EndpointClientOptions, EndpointReply, EndpointResult, EndpointStats, EndpointUsage } from './endpoint-client.ts';
export { EndpointConfig, EndpointLimits } from './endpoint-config.ts';
export type { EndpointConfigInput } from './endpoint-config.ts';
export { EndpointFatalError, EndpointRejectedError, EndpointRetryableError } from './endpoint-errors.ts';
export { sharedEndpointClient } from './shared-clients.ts';
export type { SharedClientContext } from './shared-clients.ts';
