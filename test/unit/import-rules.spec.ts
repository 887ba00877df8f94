import { ESLint } from 'eslint';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { zones } from '../../eslint.config.js';

/** The architecture's import directions, checked the way `npm run lint` checks them. */
const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { 'import-x': importX },
      rules: {
        'import-x/no-restricted-paths': ['error', { zones }],
        'no-restricted-imports': [
          'error',
          {
            paths: [
              { name: 'electron', message: 'only electron/main and electron/preload may import electron' },
            ],
          },
        ],
      },
    },
  ],
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.message);
}

describe('import directions', () => {
  it.each([
    [
      'a service importing the runtime',
      'sample-cluster/services/users/probe.ts',
      "import '../../runtime/types.ts';",
      /services never import the runtime/,
    ],
    [
      'a service importing the control plane',
      'sample-cluster/services/users/probe.ts',
      "import '../../../electron/control/paths.ts';",
      /services never import the app/,
    ],
    [
      'the kit importing a service',
      'sample-cluster/kit/probe.ts',
      "import '../services/users/schemas.ts';",
      /imports none/,
    ],
    [
      'the runtime importing the CLI',
      'sample-cluster/runtime/probe.ts',
      "import '../../electron/control/paths.ts';",
      /never imports the app/,
    ],
    [
      'the control plane importing electron',
      'electron/control/probe.ts',
      "import 'electron';",
      /only electron\/main and electron\/preload/,
    ],
  ])('refuses %s', async (_name, file, code, message) => {
    const found = await problems(file, code);
    expect(
      found.some((m) => message.test(m)),
      found.join('\n'),
    ).toBe(true);
  });

  it.each([
    [
      'a service importing the kit',
      'sample-cluster/services/users/probe.ts',
      "import '../../kit/problem.ts';",
    ],
    [
      'the control plane importing the runtime',
      'electron/control/probe.ts',
      "import '../../sample-cluster/runtime/types.ts';",
    ],
  ])('allows %s', async (_name, file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
