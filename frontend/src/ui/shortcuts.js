// Keyboard shortcuts of the history player: Space play/pause, arrows step between fixes (Shift:
// a tenth of the range), L loop on/off, Escape leaves follow mode. None fire while typing.

const TYPING = new Set(['INPUT', 'TEXTAREA', 'SELECT']);
// Controls where Space and arrows already mean something (press a button, move a slider).
const OWN_KEYS = new Set(['BUTTON', 'A', 'SUMMARY']);

/** Action for a keydown event, or null. */
export function shortcutFor(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const target = event.target;
  const tag = target && target.tagName ? target.tagName.toUpperCase() : '';
  if (target && target.isContentEditable) return null;
  if (TYPING.has(tag) && !(tag === 'INPUT' && target.type === 'range' && event.key === ' ')) return null;
  if (target && target.getAttribute && target.getAttribute('role') === 'listbox') return null;
  switch (event.key) {
    case ' ':
    case 'Spacebar':
      return OWN_KEYS.has(tag) ? null : 'toggle-play';
    case 'ArrowRight':
      return event.shiftKey ? 'jump-forward' : 'step-forward';
    case 'ArrowLeft':
      return event.shiftKey ? 'jump-back' : 'step-back';
    case 'l':
    case 'L':
      return 'toggle-loop';
    case 'Escape':
      return 'escape';
    default:
      return null;
  }
}
