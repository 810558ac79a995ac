// Types of scripts/build.js, which stays plain JS (see its header).
export declare const ROOT: string
export interface BuildManifest {
  readonly main: string
  /** Project-relative path → [size, mtimeMs], as they were when the build started. */
  readonly inputs: Record<string, readonly [number, number]>
}
export declare function buildBundle(root?: string): Promise<BuildManifest | null>
