/* porch page: multi-select. Beside rows.js's cursor (the one selected row that the arrows
   move and focus follows), rows can be *checked*: a checkbox per row, Ctrl/Cmd-click toggles
   a row, Shift-click checks the range from the last row clicked, Ctrl/Cmd+A checks every
   visible row, x toggles the cursor's row, Shift+↑/↓ extend, Esc clears. Operations act on
   the checked rows, or on the cursor's row when none is checked (targets()). Rows hidden by
   the filter are unchecked, so nothing out of sight is ever acted on. */

import { $, $$, doc } from "./dom.js";
import { nameLink, onRowsChanged, rows, rowsBody, selectedRow, visibleRows } from "./rows.js";

const checked = new Set();
const boxes = new WeakMap(); // row -> its checkbox (no per-row query: see rows.js nameLink)
const listeners = [];
let anchor = null;

const selectable = (row) => row && row.dataset.type !== "parent";

/** The checked rows, in the listing's order. */
export const checkedRows = () => rows().filter((row) => checked.has(row));

/** What an operation acts on: the checked rows, else the cursor's row (never "../"). */
export function targets() {
  const list = checkedRows();
  if (list.length) return list;
  const row = selectedRow();
  return selectable(row) ? [row] : [];
}

/** Call `listener(rows)` whenever the checked rows change. */
export function onSelectionChanged(listener) {
  listeners.push(listener);
}

function changed() {
  const list = checkedRows();
  const all = $("#check-all");
  if (all) {
    const shown = visibleRows().filter(selectable);
    all.checked = shown.length > 0 && list.length === shown.length;
    all.indeterminate = list.length > 0 && !all.checked;
  }
  for (const listener of listeners) listener(list);
}

function mark(row, on) {
  if (!selectable(row)) return;
  if (on) checked.add(row);
  else checked.delete(row);
  row.classList.toggle("checked", on);
  const box = boxes.get(row);
  if (box) box.checked = on;
}

/** Check (or uncheck) `row`. */
export function setChecked(row, on) {
  mark(row, on);
  changed();
}

/** Uncheck every row. */
export function clearChecks() {
  for (const row of Array.from(checked)) mark(row, false);
  anchor = null;
  changed();
}

/** Check every visible row. */
export function checkAll() {
  for (const row of visibleRows()) mark(row, true);
  changed();
}

function checkRange(from, to) {
  const list = visibleRows();
  let start = list.indexOf(from);
  let end = list.indexOf(to);
  if (start < 0) start = end;
  if (start > end) [start, end] = [end, start];
  for (const row of list.slice(start, end + 1)) mark(row, true);
  changed();
}

/** Checkboxes on fresh rows (script-only, so not in the server's HTML). */
function decorate() {
  checked.clear();
  anchor = null;
  for (const row of rows()) {
    if (row.firstElementChild && row.firstElementChild.classList.contains("check")) continue;
    const cell = doc.createElement("td");
    cell.className = "check";
    if (selectable(row)) {
      const box = doc.createElement("input");
      box.type = "checkbox";
      box.tabIndex = -1; // x toggles the cursor's row; keep Tab stops few
      box.setAttribute("aria-label", "Select " + nameLink(row).textContent);
      cell.append(box);
      boxes.set(row, box);
    }
    row.prepend(cell);
  }
  changed();
}

function onClick(event) {
  const row = event.target.closest("tr");
  if (!selectable(row)) return;
  const box = event.target.closest("td.check input");
  if (box) {
    if (event.shiftKey && anchor) checkRange(anchor, row);
    else setChecked(row, box.checked);
    anchor = row;
    return;
  }
  if (event.target.closest("a, button")) return;
  if (event.shiftKey) {
    // From the last row clicked, else from the cursor (rows.js moves it after this).
    const cursor = selectedRow();
    anchor = anchor || (selectable(cursor) ? cursor : row);
    checkRange(anchor, row);
  } else if (event.ctrlKey || event.metaKey) {
    setChecked(row, !checked.has(row));
    anchor = row;
  }
}

function onKey(event) {
  if (event.altKey || $("dialog[open]")) return;
  const target = event.target;
  if (target.closest && target.closest("input:not([type=checkbox]), textarea, select, [contenteditable]"))
    return;
  const row = selectedRow();
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "a") {
    event.preventDefault();
    checkAll();
  } else if (event.ctrlKey || event.metaKey) {
    return;
  } else if (event.key === "x" && selectable(row)) {
    event.preventDefault();
    setChecked(row, !checked.has(row));
    anchor = row;
  } else if (event.shiftKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    // keys.js moves the cursor after this (capturing) listener: check the row left now and
    // the row reached once the key has been handled.
    if (selectable(row)) setChecked(row, true);
    setTimeout(() => {
      const next = selectedRow();
      if (selectable(next)) setChecked(next, true);
    }, 0);
  } else if (event.key === "Escape" && checked.size) {
    clearChecks();
  }
}

export function wireSelection() {
  const head = $("thead tr");
  if (head && !$("th.check", head)) {
    const cell = doc.createElement("th");
    cell.className = "check";
    const all = doc.createElement("input");
    all.type = "checkbox";
    all.id = "check-all";
    all.setAttribute("aria-label", "Select all");
    all.addEventListener("change", () => (all.checked ? checkAll() : clearChecks()));
    cell.append(all);
    head.prepend(cell);
  }
  onRowsChanged(decorate);
  rowsBody.addEventListener("click", onClick);
  // Shift-click selects a range of rows, not the text between them.
  rowsBody.addEventListener("mousedown", (event) => {
    if (event.shiftKey && !event.target.closest("a")) event.preventDefault();
  });
  doc.addEventListener("keydown", onKey, true);
  $("#filter").addEventListener("input", () => {
    for (const row of $$("#rows tr[hidden]")) mark(row, false);
    changed();
  });
}
