/**
 * Every value read from the environment is a secret (SPEC): it is collected at
 * load and replaced by `***` in anything the program prints, logs or sends.
 */
/** Shorter environment values are not masked. */
export const MIN_SECRET_LENGTH = 3

export class SecretMask {
  readonly #values = new Set<string>()
  #pattern: RegExp | null = null

  add(value: string): void {
    // Values this short cannot be masked without garbling every line
    // (a "1" would replace every digit); the README says not to use them as secrets.
    if (value.length < MIN_SECRET_LENGTH || this.#values.has(value)) return
    this.#values.add(value)
    // Inside JSON output a secret with quotes or backslashes appears escaped.
    this.#values.add(JSON.stringify(value).slice(1, -1))
    this.#pattern = null
  }

  /** Whether the text contains a value this mask hides. */
  holds(text: string): boolean {
    return this.mask(text) !== text
  }

  /** Adds every secret another mask holds (the daemon keeps masking the secrets of earlier configurations). */
  absorb(other: SecretMask): void {
    for (const value of other.#values) this.add(value)
  }

  /** The text with every secret occurrence replaced by `***`. */
  mask(text: string): string {
    if (this.#values.size === 0) return text
    this.#pattern ??= new RegExp(
      [...this.#values]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    )
    return text.replace(this.#pattern, '***')
  }

  /**
   * The text masked, then cut to at most `max` characters with an ellipsis.
   * Masking comes first: cutting first could leave a secret's prefix that no
   * longer matches the mask (README "Secrets").
   */
  excerpt(text: string, max: number): string {
    const masked = this.mask(text)
    if (masked.length <= max) return masked
    // Never split a surrogate pair: half a character prints as garbage.
    const end = /[\uD800-\uDBFF]/.test(masked[max - 1] ?? '') ? max - 1 : max
    return `${masked.slice(0, end)}…`
  }

  /** A deep JSON copy of a value with every string masked (Errors become { type, message, code, stack }). */
  maskDeep<T>(value: T): T {
    if (this.#values.size === 0) return value
    const json = JSON.stringify(value, (_key, v: unknown) => {
      if (v instanceof Error) return { type: v.name, message: v.message, code: (v as { code?: unknown }).code, stack: v.stack }
      return typeof v === 'string' ? this.mask(v) : v
    })
    return json === undefined ? value : (JSON.parse(json) as T)
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
