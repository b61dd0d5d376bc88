/**
 * ActionType -> factory, one for each of TIB's four actions. An action is built once per profile version
 * (see runtime.ts), always with the broker's one ActionDeps object (the identity cache hangs off it).
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ActionType, Profile } from '../profiles/profile.js';
import type { RedisClient } from '../state/redis-client.js';
import type { TykApi } from '../tyk/client.js';
import type { Action } from './action.js';
import { createDashboardSso } from './dashboard-sso.js';
import { createOAuthToken } from './oauth-token.js';
import { createPortalSso } from './portal-sso.js';
import { createTemporaryToken } from './temporary-token.js';

export interface ActionDeps {
  config: Config;
  log: Logger;
  tyk: TykApi;
  /** The broker's Redis client, when the configuration uses Redis. */
  redis?: RedisClient;
  /** Prefix of every key the broker writes to Redis (`BackEnd.KeyPrefix`, default `tib:`). */
  keyPrefix: string;
}

export type ActionFactory = (profile: Profile, deps: ActionDeps) => Action;

export const actionFactories: Record<ActionType, ActionFactory> = {
  GenerateOrLoginUserProfile: createDashboardSso,
  GenerateOrLoginDeveloperProfile: createPortalSso,
  GenerateOAuthTokenForClient: createOAuthToken,
  GenerateTemporaryAuthToken: createTemporaryToken,
};
