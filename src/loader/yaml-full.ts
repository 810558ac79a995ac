// `yaml`, loaded on demand by files.ts through this module: a dynamic import of the CommonJS
// package itself would give the bundle (scripts/build.js) its default export only.
export { LineCounter, parseDocument } from 'yaml'
