/* porch page: a big folder opens fast (issue 19). The server puts the first rows of a long
   listing in the table and the rest in <noscript id="more-rows">, which a browser with
   scripting parses as plain text, not as 2,000 table rows to style and lay out before the
   page can respond. Here those rows are added in pieces, one piece per frame, after the first
   paint; the filter, keys and previews see them as they arrive (the rows module decorates
   them and re-applies a filter typed meanwhile). */

import { $, doc } from "./dom.js";
import { applyFilter, decorateRows, rowsBody } from "./rows.js";

const PIECE = 250;

/** Take the deferred rows out of the page and append them, PIECE rows per frame. */
export function loadMoreRows() {
  const holder = $("#more-rows");
  if (!holder) {
    doc.documentElement.dataset.rows = "all";
    return;
  }
  // One row per piece: a row starts a line with "<tr"; a name cannot fake that, since every
  // "<" in a name is escaped, but it may hold a newline, so lines alone would not do.
  const lines = holder.textContent
    .split(/\n(?=<tr[ >])/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith("<tr"));
  holder.remove();
  let next = 0;
  const step = () => {
    const template = doc.createElement("template");
    template.innerHTML = "<table><tbody>" + lines.slice(next, next + PIECE).join("") + "</tbody></table>";
    rowsBody.append(...template.content.querySelector("tbody").children);
    next += PIECE;
    decorateRows();
    if ($("#filter").value) applyFilter();
    if (next < lines.length) requestAnimationFrame(step);
    else doc.documentElement.dataset.rows = "all";
  };
  requestAnimationFrame(step);
}
