/** Panel ids are per dashboard and must be unique in it (links, repeats and the editor key on them). */
export function panelIds(): () => number {
  let next = 1;
  return () => next++;
}
