/* porch page: the listing's rows — decoration, filter, selection. Other modules act on rows
   through these functions, and hear about new rows through onRowsChanged (after an upload or
   a file operation swaps in fresh rows). */

import { $, $$, doc } from "./dom.js";
import { absoluteFormat, relativeTime } from "./format.js";

export const rowsBody = $("#rows");
const filter = $("#filter");
const count = $("#count");
const noMatch = $("#no-match");
const PREVIEWABLE = new Set(["image", "audio", "video", "text", "code"]);
const changeListeners = [];

export const rows = () => $$("tr", rowsBody);
export const nameLink = (row) => $("td.name a", row);
export const canPreview = (row) => PREVIEWABLE.has(row.dataset.type);
export const visibleRows = () => rows().filter((row) => !row.hidden);

/** The URL of a row's file, with `search` (a query string without "?") or none. */
export function fileUrl(row, search) {
  const url = new URL(nameLink(row).href);
  url.search = search || "";
  return url.href;
}

/** Call `listener()` after every decoration of the rows (at start and after each refresh). */
export function onRowsChanged(listener) {
  changeListeners.push(listener);
}

export function showTimes() {
  const now = Date.now();
  for (const time of $$("#rows time[datetime]")) {
    const date = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    time.textContent = relativeTime(date, now);
    time.title = absoluteFormat.format(date);
  }
}

/** Preview buttons (script-only, so not in the server's HTML) and times. */
export function decorateRows() {
  for (const row of rows()) {
    if (!canPreview(row) || $(".preview-button", row)) continue;
    const button = doc.createElement("button");
    button.type = "button";
    button.className = "preview-button";
    button.tabIndex = -1; // Space previews the selected row; keep Tab stops few
    button.setAttribute("aria-label", "Preview " + nameLink(row).textContent);
    button.title = "Preview";
    $("td.actions", row).prepend(button);
  }
  showTimes();
  for (const listener of changeListeners) listener();
}

function countText(total) {
  return total + (total === 1 ? " entry" : " entries");
}

export function applyFilter() {
  const terms = filter.value.trim().toLocaleLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  let total = 0;
  for (const row of rows()) {
    if (row.dataset.type === "parent") {
      row.hidden = terms.length > 0;
      continue;
    }
    total += 1;
    const name = nameLink(row).textContent.toLocaleLowerCase();
    const match = terms.every((term) => name.includes(term));
    row.hidden = !match;
    if (match) shown += 1;
  }
  count.textContent = terms.length ? `${shown} of ${countText(total)}` : countText(total);
  noMatch.hidden = !(terms.length && shown === 0);
  if (selected && selected.hidden) select(null);
}

// -- Selection ---------------------------------------------------------------------------

let selected = null;

/** The selected row, or null. */
export const selectedRow = () => selected;

/** Select `row` (null: none), focusing its link unless `focus` is false. */
export function select(row, focus = true) {
  if (selected) {
    selected.classList.remove("selected");
    selected.removeAttribute("aria-selected");
  }
  selected = row;
  if (!row) return;
  row.classList.add("selected");
  row.setAttribute("aria-selected", "true");
  if (focus) nameLink(row).focus({ preventScroll: true });
  row.scrollIntoView({ block: "nearest" });
}

/** Re-read the listing (same URL, same sort) and swap in its rows; rows whose names are in
    `names` are marked new. Resolves when done (quietly doing nothing if the fetch fails). */
export async function refreshRows(names = []) {
  let response;
  try {
    response = await fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
  } catch {
    return;
  }
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const freshRows = fresh.getElementById("rows");
  if (!freshRows) return;
  rowsBody.replaceChildren(...Array.from(freshRows.childNodes, (node) => doc.importNode(node, true)));
  const empty = $("main .empty:not(.no-match)");
  if (empty && rows().some((row) => row.dataset.type !== "parent")) empty.remove();
  selected = null;
  decorateRows();
  applyFilter();
  for (const row of rows()) {
    if (names.includes(nameLink(row).textContent)) row.classList.add("new");
  }
}

/** Filter as you type; clicks and focus select rows. */
export function wireRows() {
  $(".filter").hidden = false;
  filter.addEventListener("input", applyFilter);
  rowsBody.addEventListener("focusin", (event) => {
    const row = event.target.closest("tr");
    if (row && row !== selected) select(row, false);
  });
  rowsBody.addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (row && !event.target.closest("a, button")) select(row, false);
  });
  decorateRows();
  if (filter.value) applyFilter(); // a value the browser restored on back/forward
  setInterval(showTimes, 60000);
}
