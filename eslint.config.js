// Lint for every package (each runs `eslint .` from its folder; ESLint finds this file upward).
// Type-aware rules catch the async mistakes that lose data (floating promises, misused promises);
// @nx/enforce-module-boundaries keeps the package graph honest.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/src/gen/**', '**/.reports/**', '.nx/**', '.data/**'] },
  ...nx.configs['flat/base'],
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.mjs', '*.ts', 'bin/*.js', 'tools/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            // The wire contract depends on nothing of ours; the shared building blocks (config and
            // time syntax, the clock, evaluation protocols) only on each other.
            { sourceTag: 'type:contract', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            // Local stand-ins for infrastructure (InfluxDB runner, Pub/Sub emulator) stay independent.
            { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:contract'] },
            // Services share the contract and libs; their tests may use the local infrastructure.
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:contract', 'type:lib', 'type:infra'] },
            // Dashboards present what the services write; their proof runs the processor's real sink.
            { sourceTag: 'type:presentation', onlyDependOnLibsWithTags: ['type:contract', 'type:lib', 'type:infra', 'type:service'] },
            // The `pdm` command composes everything.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contract', 'type:lib', 'type:infra', 'type:service', 'type:presentation'] },
            // Cross-package scenarios (end-to-end, faults, pipeline bench) exercise the whole product; nothing depends on them.
            { sourceTag: 'type:scenario', onlyDependOnLibsWithTags: ['type:contract', 'type:lib', 'type:infra', 'type:service', 'type:presentation', 'type:app'] },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
