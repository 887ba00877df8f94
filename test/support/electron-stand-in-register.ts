/** `node --import` this to swap the `electron` module for the STAND-IN (see electron-stand-in-hooks.ts). */
import { register } from 'node:module';

register(new URL('./electron-stand-in-hooks.ts', import.meta.url));
