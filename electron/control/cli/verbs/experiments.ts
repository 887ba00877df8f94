/** The experiments verbs of `chaoscope`. */
import type { VerbGroup } from './tools.ts';

export const experimentsVerbs: VerbGroup = (program, tools) => {
  void program;
  void tools;
};
