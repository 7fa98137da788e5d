// Page lifetime: what a page must undo when the console moves on.

let cleanups = [];
let generation = 0;

// onLeave registers f to run when the page changes (a live page's timer).
export function onLeave(f) { cleanups.push(f); }

// current answers a check that is true while the page that called it is
// still the one shown: a slow answer must not draw over the next page.
export function current() { const g = generation; return () => g === generation; }

// leave ends the page shown.
export function leave() {
  generation++;
  cleanups.forEach((f) => f());
  cleanups = [];
}

// sequence numbers a page's requests of one kind (a form run again before
// its last answer came): each call answers a check that is true while it
// is the latest call and its page is still shown, so that a slow answer
// never draws over a newer one.
export function sequence() {
  let last = 0;
  return () => {
    const mine = ++last, shown = current();
    return () => mine === last && shown();
  };
}

// drawing marks el busy (aria-busy) while draw, a page's render, runs: a
// screen reader then reads the page once it is whole, and a browser test
// knows that nothing on it will still move. Renders may overlap (a save's
// redraw while the first still loads): el stays busy until the last ends.
export async function drawing(el, draw) {
  el.drawing = (el.drawing || 0) + 1;
  el.setAttribute("aria-busy", "true");
  try {
    return await draw;
  } finally {
    if (--el.drawing === 0) el.removeAttribute("aria-busy");
  }
}
