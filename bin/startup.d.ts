// Types of bin/startup.js, which stays plain JS (see its header).
export declare const DAEMON_V8_FLAGS: readonly string[]
export declare function startsDaemon(argv: readonly string[]): boolean
export declare function heapFlags(argv: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): readonly string[]
export declare function compileCacheDir(env: NodeJS.ProcessEnv, tmpdir: string, uid: number, v8Flags?: readonly string[]): string | null
export interface EntryFs {
  existsSync(path: string): boolean
  readFileSync(path: string, encoding: 'utf8'): string
  statSync(path: string, options: { throwIfNoEntry: false }): { size: number; mtimeMs: number } | undefined
}
export declare function entryModule(root: string, fs: EntryFs): string
