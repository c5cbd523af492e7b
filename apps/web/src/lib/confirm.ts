import { shallowRef } from 'vue'

export interface ConfirmRequest {
  title: string
  body: string
  /** The confirming button's label: says what happens ("Delete", "Leave"). */
  action: string
  answer: (yes: boolean) => void
}

/** The question on screen, if any (AppConfirm shows it). */
export const confirmRequest = shallowRef<ConfirmRequest | null>(null)

/**
 * Asks before something that cannot be undone, in the app's own dialog: the
 * browser's confirm() blocks the page and looks foreign in an installed app.
 * A second question replaces the first, which counts as "no".
 */
export function confirmAction(question: Omit<ConfirmRequest, 'answer'>): Promise<boolean> {
  confirmRequest.value?.answer(false)
  return new Promise((resolve) => {
    confirmRequest.value = {
      ...question,
      answer: (yes) => {
        confirmRequest.value = null
        resolve(yes)
      },
    }
  })
}
