/** Entry of the `chaoscope` command (bin/chaoscope.js imports this). */
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv.slice(2));
