import { describe, expect, it } from 'vitest'
import { emailBody, emailSubject } from '../../../src/alerting/channels/email-message.ts'
import { notification } from './helpers.ts'

describe('email subject', () => {
  it('names the step once, whether or not the message already starts with it', () => {
    expect(emailSubject(notification({ error: { step: 'read', message: 'read: got 500' } }), '[sp]')).toBe(
      '[sp] FIRING items-crud (eu-1): read: got 500',
    )
    expect(emailSubject(notification({ error: { step: 'read', message: 'got 500' } }), '[sp]')).toBe(
      '[sp] FIRING items-crud (eu-1): read: got 500',
    )
  })

  it('is one line of at most 200 characters, event and probe first', () => {
    const subject = emailSubject(
      notification({ location: null, error: { step: 'read', message: `line one\r\nline two ${'x'.repeat(300)}` } }),
      '',
    )
    expect(subject).toMatch(/^FIRING items-crud: read: line one line two x+…$/)
    expect(Array.from(subject)).toHaveLength(200)
  })

  it('a resolved subject carries no failure', () => {
    expect(emailSubject(notification({ event: 'resolved' }), '[smokeprobe]')).toBe('[smokeprobe] RESOLVED items-crud (eu-1)')
  })
})

describe('email body', () => {
  it('a resolved mail says when it recovered and names no failing step', () => {
    const body = emailBody(notification({ event: 'resolved', error: null, at: '2026-01-01T10:09:00.000Z', labels: {} }))
    expect(body).toMatch(/^RESOLVED: probe items-crud has recovered\./)
    expect(body).toContain('Resolved at:          2026-01-01T10:09:00.000Z')
    expect(body).toContain('Labels:               none')
    expect(body).not.toContain('Failing step')
  })
})
