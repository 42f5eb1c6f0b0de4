/* porch page: previous / next in the preview (issue 19) — two buttons in its head and a
   horizontal swipe on its body, both doing what the arrow keys do (preview.js stepPreview);
   a button is disabled at its end of the folder's previewable rows. */

import { $, doc } from "./dom.js";
import { stepPreview } from "./preview.js";
import { canPreview, selectedRow, visibleRows } from "./rows.js";

const SWIPE = 50; // px of mostly horizontal travel that counts as a swipe

function updateButtons() {
  const list = visibleRows().filter(canPreview);
  const index = list.indexOf(selectedRow());
  $("#preview-previous").disabled = index <= 0;
  $("#preview-next").disabled = index < 0 || index >= list.length - 1;
}

export function wirePreviewNav() {
  const preview = $("#preview");
  const previous = $("#preview-previous");
  const next = $("#preview-next");
  if (!preview || !previous || !next) return;
  previous.addEventListener("click", () => stepPreview(-1));
  next.addEventListener("click", () => stepPreview(1));
  // openPreview sets the title for every file shown: the moment to update the buttons.
  new MutationObserver(updateButtons).observe($("#preview-title"), { childList: true });
  const body = $("#preview-body");
  let start = null;
  body.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse") return;
    start = { x: event.clientX, y: event.clientY };
  });
  body.addEventListener("pointercancel", () => (start = null));
  body.addEventListener("pointerup", (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    start = null;
    if (Math.abs(dx) >= SWIPE && Math.abs(dx) > 1.5 * Math.abs(dy)) stepPreview(dx < 0 ? 1 : -1);
  });
  doc.documentElement.classList.add("preview-nav");
}
