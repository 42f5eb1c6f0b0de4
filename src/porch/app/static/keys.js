/* porch page: the keyboard — "/" filters, arrows or j/k move, Home/End, Space previews,
   Enter opens. Keys typed into a field or while a dialog is open are left alone. */

import { $, doc } from "./dom.js";
import { openPreview } from "./preview.js";
import { applyFilter, canPreview, nameLink, select, selectedRow, visibleRows } from "./rows.js";

const filter = $("#filter");

function onFilterKey(event) {
  if (event.key === "ArrowDown") {
    event.preventDefault();
    select(visibleRows()[0] || null);
  } else if (event.key === "Enter") {
    const first = visibleRows()[0];
    if (first) {
      event.preventDefault();
      nameLink(first).click();
    }
  } else if (event.key === "Escape") {
    if (filter.value) {
      filter.value = "";
      applyFilter();
    } else {
      filter.blur();
    }
  }
}

function onKey(event) {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if ($("dialog[open]")) return;
  const target = event.target;
  if (target === filter) {
    onFilterKey(event);
    return;
  }
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  if (event.key === "/") {
    event.preventDefault();
    filter.focus();
    filter.select();
    return;
  }
  const selected = selectedRow();
  const list = visibleRows();
  const index = selected ? list.indexOf(selected) : -1;
  if (event.key === "ArrowDown" || event.key === "j") {
    event.preventDefault();
    select(list[Math.min(index + 1, list.length - 1)] || null);
  } else if (event.key === "ArrowUp" || event.key === "k") {
    event.preventDefault();
    if (index <= 0) {
      select(null);
      filter.focus();
    } else {
      select(list[index - 1]);
    }
  } else if (event.key === "Home" && list.length) {
    event.preventDefault();
    select(list[0]);
  } else if (event.key === "End" && list.length) {
    event.preventDefault();
    select(list[list.length - 1]);
  } else if (event.key === " " && selected && canPreview(selected)) {
    event.preventDefault();
    openPreview(selected);
  } else if (event.key === "Enter" && selected && !selected.contains(target)) {
    event.preventDefault();
    nameLink(selected).click();
  }
}

export function wireKeys() {
  doc.addEventListener("keydown", onKey);
}
