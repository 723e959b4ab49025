// The tab's title: the page's own, with the count of messages that arrived
// while the tab was hidden ("(3) Night owls · GIF chat").
let base = document.title;
let unread = 0;

function render(): void {
  document.title = unread > 0 ? `(${unread}) ${base}` : base;
}

export function setTitle(title: string): void {
  base = title;
  render();
}

/** Counts a message from someone else; only while the tab is hidden. */
export function noteIncoming(): void {
  if (document.visibilityState !== "hidden") return;
  unread += 1;
  render();
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && unread > 0) {
    unread = 0;
    render();
  }
});
