/** The insight verbs of `chaoscope`. */
import type { VerbGroup } from './tools.ts';

export const insightVerbs: VerbGroup = (program, tools) => {
  void program;
  void tools;
};
