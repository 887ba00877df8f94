/** The chaos verbs of `chaoscope`. */
import type { VerbGroup } from './tools.ts';

export const chaosVerbs: VerbGroup = (program, tools) => {
  void program;
  void tools;
};
