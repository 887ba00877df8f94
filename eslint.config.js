// Import directions are the architecture: a wrong import fails `npm run lint`.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export const zones = [
  // The renderer talks to the rest only through the API contract.
  { target: './renderer', from: './electron/control', message: 'renderer → electron/api only' },
  { target: './renderer', from: './electron/main', message: 'renderer → electron/api only' },
  { target: './renderer', from: './sample-cluster', message: 'renderer → electron/api only' },
  { target: './renderer', from: './telemetry', message: 'renderer → electron/api only' },
  // The control plane is plain Node: it never reaches into the Electron shell.
  { target: './electron/control', from: './electron/main', message: 'control never imports the shell' },
  { target: './electron/control', from: './electron/preload', message: 'control never imports the shell' },
  { target: './electron/api', from: './electron/control', message: 'the contract depends on nothing' },
  { target: './electron/api', from: './sample-cluster', message: 'the contract depends on nothing' },
  { target: './electron/api', from: './telemetry', message: 'the contract depends on nothing' },
  { target: './electron/preload', from: './electron/control', message: 'preload → electron/api only' },
  { target: './electron/preload', from: './electron/main', message: 'preload → electron/api only' },
  // Services know the kit and the instrumentation, never the app that runs them.
  {
    target: './sample-cluster/services',
    from: './sample-cluster/runtime',
    message: 'services never import the runtime',
  },
  { target: './sample-cluster/services', from: './electron', message: 'services never import the app' },
  {
    target: './sample-cluster/services',
    from: './telemetry/collector',
    message: 'services → telemetry/instrument only',
  },
  {
    target: './sample-cluster/services',
    from: './telemetry/store',
    message: 'services → telemetry/instrument only',
  },
  {
    target: './sample-cluster/services',
    from: './telemetry/query',
    message: 'services → telemetry/instrument only',
  },
  {
    target: './sample-cluster/kit',
    from: './sample-cluster/services',
    message: 'the kit serves every service; it imports none',
  },
  {
    target: './sample-cluster/kit',
    from: './sample-cluster/runtime',
    message: 'the kit never imports the runtime',
  },
  { target: './sample-cluster/kit', from: './electron', message: 'the kit never imports the app' },
  { target: './sample-cluster/runtime', from: './electron', message: 'the runtime never imports the app' },
  {
    target: './sample-cluster/runtime',
    from: './sample-cluster/services',
    message: 'the runtime starts services; it does not import them',
  },
  // Telemetry stands below the app.
  { target: './telemetry', from: './electron', message: 'telemetry imports nothing of the app above it' },
  {
    target: './telemetry',
    from: './sample-cluster',
    message: 'telemetry imports nothing of the app above it',
  },
  { target: './telemetry', from: './renderer', message: 'telemetry imports nothing of the app above it' },
];

export default tseslint.config(
  // Build outputs anywhere (dist/, electron/dist/, renderer/dist/) are generated, not linted.
  { ignores: ['node_modules/**', '**/dist/**', 'out/**', 'coverage/**', 'docs/**', 'bin/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
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
  {
    files: ['electron/main/**', 'electron/preload/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Vitest's asymmetric matchers (expect.any, objectContaining) are typed `any`.
    files: ['**/*.spec.ts', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
