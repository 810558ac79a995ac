import type { Writable } from 'node:stream'

/** Colours for the report; every function is the identity when colour is off. */
export interface Style {
  readonly pass: (text: string) => string
  readonly fail: (text: string) => string
  readonly warn: (text: string) => string
  readonly dim: (text: string) => string
  readonly bold: (text: string) => string
}

const ansi =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`

export const COLOR: Style = { pass: ansi(32, 39), fail: ansi(31, 39), warn: ansi(33, 39), dim: ansi(2, 22), bold: ansi(1, 22) }

const same = (text: string) => text
export const PLAIN: Style = { pass: same, fail: same, warn: same, dim: same, bold: same }

/** Colour only on a terminal, and never when NO_COLOR is set to anything but '' (no-color.org). */
export function styleFor(stream: Writable, env: Readonly<Record<string, string | undefined>>): Style {
  const isTty = (stream as { isTTY?: boolean }).isTTY === true
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== ''
  return isTty && !noColor ? COLOR : PLAIN
}
