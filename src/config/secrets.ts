/**
 * The values of secrets (README "Secrets": read with `{{ secret.NAME }}`, or an
 * env value used as a credential), collected at load and replaced by `***`
 * in anything the program prints, logs or sends, in every form they take:
 * as is, JSON-escaped, percent-encoded, base64 (inside `Basic` credentials).
 */
/** A shorter secret is a validation error: masking it would garble ordinary text, and it is guessable. */
export const MIN_SECRET_LENGTH = 8

/** `Basic <base64>` credentials: decoded to see whether they hold a secret (`user:secret` at any alignment). */
const BASIC = /(Basic\s+)([A-Za-z0-9+/]+={0,2})/gi

export class SecretMask {
  /** The secrets as loaded. */
  readonly #secrets = new Set<string>()
  /** Every form of them that output may hold. */
  readonly #values = new Set<string>()
  /** The variable each secret was read from, for commands that name it (`"$ITEMS_API_TOKEN"`). */
  readonly #names = new Map<string, string>()
  #pattern: RegExp | null = null

  add(value: string, name?: string): void {
    if (name !== undefined && value.length >= MIN_SECRET_LENGTH && !this.#names.has(value)) this.#names.set(value, name)
    // Loading refuses shorter secrets; one this short could not be masked without garbling every line.
    if (value.length < MIN_SECRET_LENGTH || this.#secrets.has(value)) return
    this.#secrets.add(value)
    this.#values.add(value)
    // Inside JSON output a secret with quotes or backslashes appears escaped; in a URL, percent-encoded
    // (both spellings of a space); alone in base64 (a token encoded by the target, or by us).
    const json = JSON.stringify(value).slice(1, -1)
    const encoded = [encodeURIComponent(value), encodeURIComponent(value).replaceAll('%20', '+'), ...urlForms(value)]
    for (const form of [json, JSON.stringify(json).slice(1, -1), ...encoded]) {
      this.#values.add(form)
      this.#values.add(form.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()))
    }
    this.#values.add(Buffer.from(value).toString('base64').replace(/=+$/, ''))
    // In a URL's user-info a secret's `%XX` is an escape: the Basic credentials sent from it hold it decoded.
    const decoded = percentDecoded(value)
    if (decoded !== value && decoded.length >= MIN_SECRET_LENGTH) this.#values.add(decoded)
    this.#pattern = null
  }

  /** Whether the text contains a value this mask hides. */
  holds(text: string): boolean {
    return this.mask(text) !== text
  }

  /** Adds every secret another mask holds (the daemon keeps masking the secrets of earlier configurations). */
  absorb(other: SecretMask): void {
    for (const value of other.#secrets) this.add(value, other.#names.get(value))
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
    const pattern = this.#pattern
    return text
      .replace(BASIC, (whole, prefix: string, token: string) => {
        const decoded = Buffer.from(token, 'base64').toString('utf8')
        return decoded.replace(pattern, '***') === decoded ? whole : `${prefix}***`
      })
      .replace(pattern, '***')
  }

  /**
   * The text quoted for a POSIX shell, each named secret as `"$NAME"` so the
   * command works where those variables are set; anything else masked.
   */
  shellQuote(text: string): string {
    const named = [...this.#names.keys()].sort((a, b) => b.length - a.length)
    const quote = (s: string) => (s === '' ? '' : `'${this.mask(s).replaceAll("'", `'\\''`)}'`)
    if (named.length === 0) return quote(text) || "''"
    const pattern = new RegExp(named.map(escapeRegExp).join('|'), 'g')
    let out = ''
    let last = 0
    for (const match of text.matchAll(pattern)) {
      out += `${quote(text.slice(last, match.index))}"$${this.#names.get(match[0])}"`
      last = match.index + match[0].length
    }
    return out + quote(text.slice(last)) || "''"
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

/**
 * The secret as a parsed URL prints it (`url.href`, a redirect's final URL):
 * WHATWG URL percent-encodes each part with its own, smaller set than
 * encodeURIComponent's (user-info keeps `&`, `+`, `$`; a path keeps `[`, `|`),
 * so a secret in user-info, path, query or fragment comes out in a form of its own.
 */
function urlForms(value: string): string[] {
  const url = new URL('http://h/')
  url.password = value
  const forms = [url.password]
  url.password = ''
  url.pathname = `/${value}`
  forms.push(url.pathname.slice(1))
  url.search = `?${value}`
  forms.push(url.search.slice(1))
  url.hash = `#${value}`
  forms.push(url.hash.slice(1))
  return forms
}

/**
 * Each run of `%XX` escapes decoded, as curl and URL parsers decode them; in a
 * run that is not UTF-8 only the ASCII escapes are, the others kept as
 * written, and so is a lone `%`.
 */
export function percentDecoded(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run.replace(/%[0-7][0-9A-Fa-f]/g, (hex) => String.fromCharCode(Number.parseInt(hex.slice(1), 16)))
    }
  })
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
