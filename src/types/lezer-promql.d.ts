// The package ships index.d.ts but its "exports" map hides it from NodeNext resolution.
declare module '@prometheus-io/lezer-promql' {
  import type { LRParser } from '@lezer/lr';
  export const parser: LRParser;
}
