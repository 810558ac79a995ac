import { Duration } from '../../config/duration.ts'

/** Fields every channel accepts. */
export const channelCommonFields = {
  /** Time allowed for one delivery attempt. @defaultValue 10s */
  timeout: Duration.prefault('10s'),
}
