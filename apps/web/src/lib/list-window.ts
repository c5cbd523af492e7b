/** Messages kept in the DOM when following the conversation; scrolling up grows it. */
export const WINDOW = 200
/** How much scrolling up near the top adds to the window. */
export const STEP = 100
/**
 * New messages join the window this many at a time before the oldest leave
 * it: taking the top message out moves every other one, and the page then
 * lays out and paints them all again.
 */
export const SLACK = 50

/** How many of a room's `total` newest messages the list keeps in the DOM with a window of `size`. */
export function keptOnScreen(total: number, size: number): number {
  if (total <= size) return total
  return size + ((total - size) % SLACK)
}
