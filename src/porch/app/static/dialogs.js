/* porch page: modal dialogs (<dialog>) close from their [data-close] buttons and from a click
   on the backdrop. */

import { $$ } from "./dom.js";

export function wireDialog(dialog) {
  for (const button of $$("[data-close]", dialog)) {
    button.addEventListener("click", () => dialog.close());
  }
  // A click on the backdrop (outside the panel's box) closes it.
  dialog.addEventListener("click", (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside =
      event.clientX >= box.left &&
      event.clientX <= box.right &&
      event.clientY >= box.top &&
      event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });
}
