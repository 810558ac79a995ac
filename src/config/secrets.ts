/**
 * Every value read from the environment is a secret (SPEC): it is collected at
 * load and replaced by `***` in anything the program prints, logs or sends.
 */
export class SecretMask {
  readonly #values = new Set<string>()
  #pattern: RegExp | null = null

  add(value: string): void {
    // Empty values cannot leak; masking them would corrupt every string.
    if (value === '' || this.#values.has(value)) return
    this.#values.add(value)
    this.#pattern = null
  }

  get size(): number {
    return this.#values.size
  }

  /** The text with every secret occurrence replaced by `***`. */
  mask(text: string): string {
    if (this.#values.size === 0) return text
    this.#pattern ??= new RegExp(
      [...this.#values].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'),
      'g',
    )
    return text.replace(this.#pattern, '***')
  }

  /** A deep copy of a JSON-like value with every string masked. */
  maskDeep<T>(value: T): T {
    if (this.#values.size === 0) return value
    return JSON.parse(JSON.stringify(value), (_key, v: unknown) => (typeof v === 'string' ? this.mask(v) : v)) as T
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
