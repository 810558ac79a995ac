/** `read: expected status 200, got 500`: the step named once, whether or not the message already starts with it. */
export function failureText(failure: { readonly step: string; readonly message: string }): string {
  return failure.message.startsWith(`${failure.step}:`) ? failure.message : `${failure.step}: ${failure.message}`
}
