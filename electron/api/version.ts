/**
 * The version of the control-plane API. Bumped on any change a client of the previous version
 * would misread (a renamed field, a narrowed type); additions (a new command, an optional field)
 * keep it. Web mode serves it under /api/v<API_VERSION>/ and `system.info` reports it.
 */
export const API_VERSION = 1;
