// Screen-reader announcements through a polite aria-live region: connection changes, selection,
// history loads. Repeating the same text is announced again (the region is emptied first).

export function createAnnouncer(region, { timers = globalThis } = {}) {
  let timer = null;
  return {
    announce(text) {
      if (timer !== null) timers.clearTimeout(timer);
      region.textContent = '';
      // A separate task, so assistive technology sees a change even for the same text.
      timer = timers.setTimeout(() => {
        timer = null;
        region.textContent = text;
      }, 50);
    },
  };
}
