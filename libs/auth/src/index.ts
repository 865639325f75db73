export { type Identity, SUB_MAX } from './claims.ts';
export { AuthError, type AuthFailure, isAuthError } from './errors.ts';
export { type AuthOptions, HS_MIN_SECRET_BYTES } from './keys.ts';
export { canJoin, canPublish, hasScope, matchPattern } from './permissions.ts';
export { bearerToken, DEV_SECRET, type SignOptions, signToken, type TokenClaims } from './token.ts';
export { createVerifier, MAX_TOKEN_LENGTH, type Verifier } from './verify.ts';
