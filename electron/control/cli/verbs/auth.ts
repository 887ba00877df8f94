/** The auth verbs of `chaoscope`. */
import type { VerbGroup } from './tools.ts';

export const authVerbs: VerbGroup = (program, tools) => {
  void program;
  void tools;
};
