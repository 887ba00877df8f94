import { z } from 'zod';

/** The handle rule of the whole cluster (auth assigns handles at sign-up; a handle is a token's `sub`). */
export const handleSchema = z
  .string()
  .regex(/^[a-z0-9_]{3,15}$/, 'must be 3 to 15 lowercase letters, digits or underscores');

/** Tweet ids are ULIDs made by the tweets service: their text order is their time order. */
export const TWEET_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const tweetIdSchema = z
  .string()
  .regex(TWEET_ID_PATTERN, 'must be a tweet id (26 characters of Crockford base32)');
