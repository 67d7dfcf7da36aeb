// The shared test configuration plus SWC, for packages whose tests load NestJS code (the processor
// and the CLI): esbuild does not emit the decorator metadata NestJS dependency injection needs.
import swc from 'unplugin-swc';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from './vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    plugins: [swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true } } })],
  }),
);
