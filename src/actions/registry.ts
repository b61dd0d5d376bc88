/**
 * ActionType -> factory, one for each of TIB's four actions (a Record, so a new ActionType cannot be left
 * out). An action is built once per profile version (see runtime.ts), with the broker's one ActionDeps.
 */
import type { ActionType } from '../profiles/profile.js';
import type { ActionFactory } from './action.js';
import { createDashboardSso } from './dashboard-sso.js';
import { createOAuthToken } from './oauth-token.js';
import { createPortalSso } from './portal-sso.js';
import { createTemporaryToken } from './temporary-token.js';

export const actionFactories: Record<ActionType, ActionFactory> = {
  GenerateOrLoginUserProfile: createDashboardSso,
  GenerateOrLoginDeveloperProfile: createPortalSso,
  GenerateOAuthTokenForClient: createOAuthToken,
  GenerateTemporaryAuthToken: createTemporaryToken,
};
