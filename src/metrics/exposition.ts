import { type Metric, Registry } from 'prom-client'

type Labels = Readonly<Record<string, string | number>>

/** A histogram's series as prom-client 15 keeps them (`hashMap` values); read only, for the fast path. */
interface HistogramSeries {
  readonly labels: Labels
  readonly bucketValues: Readonly<Record<string, number>>
  readonly sum: number
  readonly count: number
}

interface HistogramInternals {
  readonly name: string
  readonly help: string
  readonly type: 'histogram'
  readonly hashMap: Readonly<Record<string, HistogramSeries>>
  readonly upperBounds: readonly number[]
  readonly collect?: unknown
}

/**
 * A Registry whose text exposition is the same as prom-client's, produced
 * several times faster: each label set is formatted once and cached by the
 * identity of its labels object (the metrics module keeps one object per
 * series), and histograms are written straight from their buckets instead
 * of through one labels object per bucket line. At 1,000 probes a scrape
 * is 3,000 histograms and 45,000 lines; prom-client alone took ~100 ms.
 *
 * Only the Prometheus text format; default labels are not supported (the
 * metrics module passes `location` itself). A test checks the output
 * against prom-client's own for every metric type.
 */
export class FastRegistry extends Registry {
  readonly #labelText = new WeakMap<object, string>()

  override setDefaultLabels(_labels: object): void {
    throw new Error('FastRegistry does not support default labels')
  }

  override async metrics(): Promise<string> {
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return super.metrics()
    const blocks: string[] = []
    // The .d.ts says MetricObject; the registry holds the metric instances themselves.
    for (const metric of this.getMetricsAsArray() as unknown as Metric[]) {
      blocks.push(isPlainHistogram(metric) ? this.#histogram(metric) : await this.#generic(metric))
    }
    return `${blocks.join('\n\n')}\n`
  }

  async #generic(metric: Metric): Promise<string> {
    const data = await metric.get()
    const lines = header(data.name, data.help, String(data.type))
    for (const value of data.values) {
      const text = this.#labels(value.labels as Labels)
      lines.push(`${(value as { metricName?: string }).metricName ?? data.name}${text ? `{${text}}` : ''} ${valueText(value.value)}`)
    }
    return lines.join('\n')
  }

  #histogram(metric: HistogramInternals): string {
    const lines = header(metric.name, metric.help, metric.type)
    const bucket = `${metric.name}_bucket{le="`
    const bounds = metric.upperBounds
    for (const series of Object.values(metric.hashMap)) {
      const text = this.#labels(series.labels)
      const rest = text ? `",${text}} ` : '"} '
      let cumulative = 0
      for (const bound of bounds) {
        cumulative += series.bucketValues[bound] ?? 0
        lines.push(`${bucket}${bound}${rest}${cumulative}`)
      }
      lines.push(`${bucket}+Inf${rest}${series.count}`)
      const braces = text ? `{${text}}` : ''
      lines.push(`${metric.name}_sum${braces} ${valueText(series.sum)}`, `${metric.name}_count${braces} ${series.count}`)
    }
    return lines.join('\n')
  }

  #labels(labels: Labels): string {
    let text = this.#labelText.get(labels)
    if (text === undefined) {
      text = Object.entries(labels)
        .map(([name, value]) => `${name}="${typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : value}"`)
        .join(',')
      this.#labelText.set(labels, text)
    }
    return text
  }
}

/** The internals the fast path reads, checked at run time so another prom-client falls back to the generic path. */
function isPlainHistogram(metric: Metric): metric is Metric & HistogramInternals {
  const m = metric as Partial<HistogramInternals> & { enableExemplars?: boolean }
  return (
    m.type === 'histogram' &&
    m.collect === undefined &&
    !m.enableExemplars &&
    typeof m.hashMap === 'object' &&
    m.hashMap !== null &&
    Array.isArray(m.upperBounds)
  )
}

function header(name: string, help: string, type: string): string[] {
  const escaped = escapeText(name)
  return [`# HELP ${escaped} ${escapeText(help)}`, `# TYPE ${escaped} ${type}`]
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return `${value}`
}
