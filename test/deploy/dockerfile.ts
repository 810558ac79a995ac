/**
 * Just enough of a Dockerfile parser to check the image's rules without a
 * Docker engine: instructions (continuations joined, comments dropped),
 * grouped into build stages.
 */
export interface Instruction {
  readonly keyword: string
  readonly args: string
}

export interface Stage {
  readonly image: string
  readonly name: string | undefined
  readonly instructions: readonly Instruction[]
}

export function parseDockerfile(text: string): Stage[] {
  const args = new Map<string, string>()
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = []
  for (const { keyword, args: rest } of instructions(text)) {
    if (keyword === 'FROM') {
      const [image = '', as, name] = rest.split(/\s+/)
      stages.push({ image: expand(image, args), name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] })
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [name = '', value = ''] = rest.split('=', 2)
      args.set(name, value)
    } else stages.at(-1)?.instructions.push({ keyword, args: rest })
  }
  return stages
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && pending === '')) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    const full = (pending + line).trim()
    pending = ''
    const match = /^(\S+)\s*(.*)$/.exec(full)
    if (match) out.push({ keyword: match[1]!.toUpperCase(), args: match[2]! })
  }
  return out
}

function expand(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? '')
}

/** The arguments of every `keyword` instruction in a stage. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
}

/** A JSON-array (exec form) argument, or undefined when the instruction uses the shell form. */
export function execForm(args: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(args)
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined
  } catch {
    return undefined
  }
}

/** Source paths the stage copies from the build context (not `--from=` another stage). */
export function contextCopies(stage: Stage): string[] {
  return argsOf(stage, 'COPY')
    .map((args) => args.split(/\s+/))
    .filter((words) => !words.some((w) => w.startsWith('--from=')))
    .flatMap((words) => words.filter((w) => !w.startsWith('--')).slice(0, -1))
}
