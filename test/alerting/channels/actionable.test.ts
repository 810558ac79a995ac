import { describe, expect, it } from 'vitest'
import { amAlert } from '../../../src/alerting/channels/alertmanager-alert.ts'
import { emailBody, emailSubject } from '../../../src/alerting/channels/email-message.ts'
import { pagerDutyEvent } from '../../../src/alerting/channels/pagerduty.ts'
import { slackMessage } from '../../../src/alerting/channels/slack.ts'
import { webhookPayload } from '../../../src/alerting/channels/webhook.ts'
import { evidenceNotification, loadChannel, MASKED_EXCERPT, notification } from './helpers.ts'

/**
 * Issue 14 part 5: a firing names the failed step, the reason, the excerpt,
 * how many runs failed since when, what the probe checks and its runbook.
 */
const RUNBOOK = 'https://wiki.example.test/runbooks/items-crud?section=db&x=1'
const DESCRIPTION = 'Create, read and delete an item as a user would'
const firing = () =>
  evidenceNotification('never-shown', {
    location: null,
    description: DESCRIPTION,
    runbook: RUNBOOK,
    error: { ...evidenceNotification('x').error!, excerpt: MASKED_EXCERPT },
  })

describe('a firing a person can act on', () => {
  it('email: a short subject; the body gives runbook, description, step, reason, excerpt, failures and since', () => {
    const n = firing()
    expect(emailSubject(n, '[smokeprobe]')).toBe('[smokeprobe] FIRING items-crud: read: expected status 200, got 500')
    const body = emailBody(n)
    for (const text of [`Runbook: ${RUNBOOK}`, `What it checks:\n    ${DESCRIPTION}`, 'Failing step:         read']) expect(body).toContain(text)
    for (const text of ['Reason:               read: expected status 200, got 500', 'Consecutive failures: 5']) expect(body).toContain(text)
    expect(body).toContain('Failing since:        2026-01-01T10:00:00.000Z')
    expect(body).toContain(`    ${MASKED_EXCERPT}`)
    // Right under the headline, where the person paged looks first.
    expect(body.indexOf('Runbook:')).toBeLessThan(body.indexOf('Failing step:'))
  })

  it('email: without a runbook or description the body has neither line', () => {
    const body = emailBody(notification())
    expect(body).not.toContain('Runbook:')
    expect(body).not.toContain('What it checks:')
  })

  it('webhook: description and runbook beside error (step, message, excerpt), consecutiveFailures and since', () => {
    expect(webhookPayload(firing())).toMatchObject({
      description: DESCRIPTION,
      runbook: RUNBOOK,
      consecutiveFailures: 5,
      since: '2026-01-01T10:00:00.000Z',
      error: { step: 'read', message: 'read: expected status 200, got 500', excerpt: MASKED_EXCERPT },
    })
    expect(webhookPayload(notification())).toMatchObject({ description: null, runbook: null })
  })

  it('Alertmanager: the runbook_url annotation, and the description in the description annotation', () => {
    const alert = amAlert(firing(), {}, '2026-01-01T10:09:00.000Z')
    expect(alert.annotations.runbook_url).toBe(RUNBOOK)
    expect(alert.annotations.description).toContain(`\n${DESCRIPTION}\nFailing step: read`)
    expect(amAlert(notification(), {}, '2026-01-01T10:09:00.000Z').annotations).not.toHaveProperty('runbook_url')
  })

  it('PagerDuty: the runbook as a link on the incident, both in custom_details; a resolve carries neither', () => {
    const { config } = loadChannel('pagerduty', { routingKey: '{{ env.PD_ROUTING_KEY }}' })
    const event = pagerDutyEvent(config, firing(), 'trigger')
    expect(event.links).toEqual([{ href: RUNBOOK, text: 'Runbook for items-crud' }])
    expect(event.payload?.custom_details).toMatchObject({ description: DESCRIPTION, runbook: RUNBOOK, step: 'read', excerpt: MASKED_EXCERPT })
    expect(pagerDutyEvent(config, notification(), 'trigger')).not.toHaveProperty('links')
    expect(pagerDutyEvent(config, firing(), 'resolve')).not.toHaveProperty('links')
  })

  it('Slack: a link whose target cannot be bent by |, < or >, and the description escaped', () => {
    const text = JSON.stringify(slackMessage(firing()).blocks)
    expect(text).toContain('*Runbook:* <https://wiki.example.test/runbooks/items-crud?section=db&amp;x=1|open the runbook>')
    expect(text).toContain(`*What it checks:* ${DESCRIPTION}`)
    const hostile = slackMessage(notification({ runbook: 'https://x.test/a|<!channel>', description: '<!channel> & co' }))
    const hostileText = JSON.stringify(hostile.blocks)
    expect(hostileText).toContain('<https://x.test/a%7C%3C!channel%3E|open the runbook>')
    expect(hostileText).toContain('&lt;!channel&gt; &amp; co')
  })
})
