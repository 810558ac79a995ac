/** The environment the config tests load with: every value is a secret that no message may show. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  API_URL: 'http://127.0.0.1:9/api-url-secret',
  API_TOKEN: 'tok-9f8e7d6c5b4a',
  SMTP_HOST: 'smtp-host-secret.example',
  SMTP_PASS: 'smtp-pass-5ecret',
  WEBHOOK_URL: 'http://127.0.0.1:9/webhook-secret',
  UNRELATED: 'unrelated-value-never-read',
  /** As `echo "$TOKEN" > file` leaves it: a trailing newline. */
  TOKEN_WITH_NEWLINE: 'tok-1a2b3c4d5e6f\n',
  TENANT_WITH_CR: 'tenant-secret-7\r',
}
