/* porch page: the file manager — new folder, rename, move (drag rows onto a folder row, or
   the folder picker), delete with the trash's undo (or a confirmation where there is no
   trash), download of a selection file by file when archives are off (with archives on,
   folders.js offers its zip), and the keys for them (F2, Delete, n, m, ?).

   The server tells the page what the visitor may do in this folder: <body data-access> is
   none, read, add (create only) or write (also rename, move, delete), and <body data-trash>
   is there when deletions go to a trash the page can restore from (porch.app.listing). The
   controls appear only for what the level allows; the server checks every request anyway and
   its error text is what the page shows when one fails. After every operation the rows are
   fetched again (refreshRows) and the page stays where it was. */

import { wireDialog } from "./dialogs.js";
import { $, $$, doc } from "./dom.js";
import { childUrl, makeFolder, move, remove, restore, subfolders } from "./fileops.js";
import { wireFolderUpload } from "./folderupload.js";
import { fileUrl, nameLink, refreshRows, rows, rowsBody, select, selectedRow, visibleRows } from "./rows.js";
import { checkedRows, clearChecks, onSelectionChanged, targets } from "./selection.js";

const body = doc.body;
const access = body.dataset.access || "read";
const canAdd = access === "add" || access === "write";
const canWrite = access === "write";
const hasTrash = "trash" in body.dataset;
const here = new URL(location.pathname, location.href).href; // this folder's URL
const top = new URL(body.dataset.mount + "/", location.href).href; // porch's root

const isDir = (row) => row.dataset.type === "dir";
/** A row's name as stored (a folder's without the listing's trailing "/"). */
const nameOf = (row) => nameLink(row).textContent.replace(/\/$/, "");
const label = (row) => nameLink(row).textContent;
const rowNamed = (name) => rows().find((row) => row.dataset.type !== "parent" && nameOf(row) === name);
const describe = (names) => (names.length === 1 ? `“${names[0]}”` : `${names.length} items`);

// -- Toasts ------------------------------------------------------------------------------

let lastUndo = null;

/** Show `message` at the bottom of the page; `undo` adds an Undo button calling it. Errors
    stay until closed; the rest go after a while. */
function toast(message, { undo = null, error = false } = {}) {
  const item = doc.createElement("li");
  item.className = error ? "toast error" : "toast";
  if (error) item.setAttribute("role", "alert");
  const text = doc.createElement("span");
  text.className = "toast-text";
  text.textContent = message;
  item.append(text);
  if (undo) {
    const button = doc.createElement("button");
    button.type = "button";
    button.className = "toast-undo";
    button.textContent = "Undo";
    button.addEventListener("click", () => {
      item.remove();
      undo();
    });
    item.append(button);
    lastUndo = button; // Ctrl/⌘+Z presses it while the toast shows
  }
  const close = doc.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "✕";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  $("#toasts").append(item);
  if (!error) setTimeout(() => item.remove(), undo ? 15000 : 6000);
}

function reportErrors(what, errors) {
  if (!errors.length) return;
  const lines = errors.map(([name, message]) => (errors.length > 1 ? `${name}: ${message}` : message));
  toast(
    `Could not ${what} ${errors.length > 1 ? errors.length + " items" : `“${errors[0][0]}”`}: ` +
      lines.join("; "),
    {
      error: true,
    },
  );
}

/** Fetch the rows again, marking `fresh` names new, and keep the cursor on `keep` (a name)
    or where it was. */
async function refresh(fresh = [], keep = null) {
  const cursor = selectedRow();
  const name = keep || (cursor && cursor.dataset.type !== "parent" ? nameOf(cursor) : null);
  const hadFocus = cursor && cursor.contains(doc.activeElement);
  await refreshRows(fresh);
  const row = name && rowNamed(name);
  if (row) select(row, Boolean(keep || hadFocus));
}

/** Run `operation(row)` on each row in turn; the names done and the [name, message] failures. */
async function each(list, operation) {
  const done = [];
  const errors = [];
  for (const row of list) {
    try {
      done.push([nameOf(row), await operation(row)]);
    } catch (error) {
      errors.push([nameOf(row), error.message]);
    }
  }
  return { done, errors };
}

// -- Dialogs -----------------------------------------------------------------------------

/** Ask for a name in the name dialog; `submit(name)` runs the operation and rejects with the
    server's error, which is shown in the dialog (it stays open to try again). */
function askName(title, action, initial, submit) {
  const dialog = $("#name-dialog");
  const input = $("#name-input");
  const problem = $("#name-error");
  $("#name-title").textContent = title;
  $("#name-ok").textContent = action;
  input.value = initial;
  problem.textContent = "";
  dialog.onsubmit = async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    if (name.includes("/")) {
      problem.textContent = "A name cannot contain “/”.";
      return;
    }
    try {
      await submit(name);
      dialog.close();
    } catch (error) {
      problem.textContent = error.message;
    }
  };
  dialog.showModal();
  const dot = initial.lastIndexOf(".");
  input.setSelectionRange(0, dot > 0 ? dot : initial.length);
}

/** Ask `question` in the confirmation dialog; resolves true for the action button. */
function confirmAction(title, question, action) {
  const dialog = $("#confirm-dialog");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = question;
  $("#confirm-ok").textContent = action;
  return new Promise((resolve) => {
    dialog.onsubmit = (event) => {
      event.preventDefault();
      dialog.close("ok");
    };
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("#confirm-ok").focus();
  });
}

// -- The operations ----------------------------------------------------------------------

function newFolder() {
  if (!canAdd) return;
  askName("New folder", "Create", "", async (name) => {
    await makeFolder(childUrl(here, name, true));
    await refresh([name + "/"], name);
  });
}

function rename() {
  const [row, ...more] = targets();
  if (!canWrite || !row || more.length) return;
  const old = nameOf(row);
  askName(`Rename “${old}”`, "Rename", old, async (name) => {
    if (name !== old) await move(fileUrl(row), childUrl(here, name, isDir(row)));
    clearChecks();
    await refresh([isDir(row) ? name + "/" : name], name);
  });
}

async function moveRows(list, folder) {
  const { done, errors } = await each(list, (row) =>
    move(fileUrl(row), childUrl(folder, nameOf(row), isDir(row))),
  );
  clearChecks();
  await refresh();
  if (done.length) {
    const where = decodeURIComponent(new URL(folder).pathname);
    toast(`Moved ${describe(done.map(([name]) => name))} to ${where}`);
  }
  reportErrors("move", errors);
}

async function deleteRows() {
  const list = targets();
  if (!canWrite || !list.length) return;
  const names = list.map(nameOf);
  const labels = new Map(list.map((row) => [nameOf(row), label(row)]));
  if (!hasTrash) {
    const sure = await confirmAction(
      `Delete ${describe(names)}?`,
      `${names.length === 1 ? "It" : "They"} will be gone for good: this server keeps no trash.`,
      "Delete",
    );
    if (!sure) return;
  }
  // The cursor goes on to the row after the last one deleted (or before the first).
  const shown = visibleRows();
  const deleting = new Set(list);
  const after = shown.slice(shown.indexOf(list[list.length - 1]) + 1).find((row) => !deleting.has(row));
  const before = shown
    .slice(0, shown.indexOf(list[0]))
    .reverse()
    .find((row) => !deleting.has(row));
  const next = [after, before].find((row) => row && row.dataset.type !== "parent");
  const { done, errors } = await each(list, (row) => remove(fileUrl(row)));
  clearChecks();
  await refresh([], next ? nameOf(next) : null);
  const ids = done.flatMap(([, trashed]) => trashed);
  const gone = done.map(([name]) => name);
  if (done.length) {
    const undo = async () => {
      try {
        await restore(ids);
        await refresh(gone.map((name) => labels.get(name)));
        toast(`Restored ${describe(gone)}`);
      } catch (error) {
        await refresh();
        toast("Could not undo: " + error.message, { error: true });
      }
    };
    toast(`Deleted ${describe(gone)}`, { undo: ids.length ? undo : null });
  }
  reportErrors("delete", errors);
}

/** Files one by one with ?download; folders are skipped (archives are off, or the page
    would offer the zip of the selection instead: folders.js). */
function downloadRows() {
  const list = targets();
  const files = list.filter((row) => !isDir(row));
  files.forEach((row, index) => {
    setTimeout(() => {
      const link = doc.createElement("a");
      link.href = fileUrl(row, "download");
      link.download = "";
      body.append(link);
      link.click();
      link.remove();
    }, index * 250); // browsers drop downloads started in the same instant
  });
  const folders = list.filter(isDir).map(nameOf);
  if (folders.length) toast(`Folders are not downloaded: ${folders.join(", ")}`);
}

// -- The folder picker -------------------------------------------------------------------

let pickerAt = here;
let pickerMoving = [];
let pickerToken = 0; // only the folder opened last fills the list

async function showPicker(folder) {
  pickerAt = folder;
  const token = ++pickerToken;
  const list = $("#picker");
  $("#move-error").textContent = "";
  $("#picker-path").textContent = decodeURIComponent(new URL(folder).pathname);
  $("#picker-up").disabled = folder === top;
  $("#move-ok").disabled = folder === here; // where they are already
  list.replaceChildren();
  let names = [];
  try {
    names = await subfolders(folder);
  } catch (error) {
    if (token === pickerToken) $("#move-error").textContent = error.message;
  }
  if (token !== pickerToken) return;
  const moving = new Set(pickerMoving.filter(isDir).map((row) => fileUrl(row)));
  for (const name of names.sort((a, b) => a.localeCompare(b))) {
    const url = childUrl(folder, name, true);
    if (moving.has(url)) continue; // not into itself
    const item = doc.createElement("li");
    const button = doc.createElement("button");
    button.type = "button";
    button.className = "picker-folder";
    button.textContent = name;
    button.addEventListener("click", () => showPicker(url));
    item.append(button);
    list.append(item);
  }
  if (!list.childElementCount) {
    const item = doc.createElement("li");
    item.className = "picker-empty";
    item.textContent = "No folders in here";
    list.append(item);
  }
  // Keyboard users land on the first folder (Tab walks the list, Enter opens one).
  const first = $(".picker-folder", list);
  (
    first ||
    $("#move-ok:not(:disabled)") ||
    $("#picker-up:not(:disabled)") ||
    $("#move-dialog [data-close]")
  ).focus();
}

function openPicker() {
  const list = targets();
  if (!canWrite || !list.length) return;
  pickerMoving = list;
  $("#move-title").textContent = `Move ${describe(list.map(nameOf))} to`;
  const dialog = $("#move-dialog");
  dialog.onsubmit = async (event) => {
    event.preventDefault();
    dialog.close();
    if (pickerAt !== here) await moveRows(pickerMoving, pickerAt);
  };
  showPicker(here);
  dialog.showModal();
}

// -- Dragging rows onto folders ----------------------------------------------------------

let dragged = null;

function wireDragging() {
  const folderRow = (event) => {
    const row = event.target.closest && event.target.closest("tr");
    if (!dragged || !row || !(isDir(row) || row.dataset.type === "parent") || dragged.includes(row))
      return null;
    return row;
  };
  rowsBody.addEventListener("dragstart", (event) => {
    const row = event.target.closest("tr");
    if (!row || row.dataset.type === "parent") return;
    dragged = row.classList.contains("checked") ? checkedRows() : [row];
    event.dataTransfer.effectAllowed = "copyMove";
    body.classList.add("moving");
  });
  rowsBody.addEventListener("dragend", () => {
    dragged = null;
    body.classList.remove("moving");
    for (const row of $$("#rows tr.drop-into")) row.classList.remove("drop-into");
  });
  rowsBody.addEventListener("dragover", (event) => {
    const row = folderRow(event);
    if (!row) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    row.classList.add("drop-into");
  });
  rowsBody.addEventListener("dragleave", (event) => {
    const row = event.target.closest && event.target.closest("tr");
    if (row && !row.contains(event.relatedTarget)) row.classList.remove("drop-into");
  });
  rowsBody.addEventListener("drop", (event) => {
    const row = folderRow(event);
    if (!row) return;
    event.preventDefault();
    event.stopPropagation();
    const list = dragged;
    dragged = null;
    moveRows(list, nameLink(row).href);
  });
}

// -- Keys and wiring ---------------------------------------------------------------------

function onKey(event) {
  const target = event.target;
  const typing =
    target.closest && target.closest("input:not([type=checkbox]), textarea, select, [contenteditable]");
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && !typing && !$("dialog[open]")) {
    if (lastUndo && lastUndo.isConnected) {
      event.preventDefault();
      lastUndo.click();
    }
    return;
  }
  if (event.altKey || event.ctrlKey || ($("dialog[open]") && event.key !== "?")) return;
  if (typing) return;
  const run = {
    F2: rename,
    Delete: deleteRows,
    Backspace: event.metaKey ? deleteRows : null, // Cmd+Backspace, as in the Finder
    n: event.metaKey ? null : newFolder,
    m: event.metaKey ? null : openPicker,
    "?": () => {
      const help = $("#help-dialog");
      if (help.open) help.close();
      else help.showModal();
    },
  }[event.key];
  if (!run) return;
  event.preventDefault();
  run();
}

function showSelection(list) {
  const bar = $("#selbar");
  bar.hidden = list.length === 0;
  $("#selcount").textContent = `${list.length} selected`;
  $("#sel-rename").hidden = !canWrite || list.length !== 1;
}

export function wireFileManager() {
  for (const dialog of $$("#name-dialog, #move-dialog, #confirm-dialog, #help-dialog")) wireDialog(dialog);
  // The dialogs give focus back to the row that was acted on.
  for (const dialog of $$("#name-dialog, #move-dialog, #confirm-dialog")) {
    dialog.addEventListener("close", () => {
      const row = selectedRow();
      if (row && !doc.activeElement.closest("dialog[open]")) nameLink(row).focus({ preventScroll: true });
    });
  }
  $("#picker-up").addEventListener("click", () => showPicker(new URL("..", pickerAt).href));
  for (const element of $$("[data-needs]")) {
    element.hidden = !(element.dataset.needs === "add" ? canAdd : canWrite);
  }
  $("#new-folder").addEventListener("click", newFolder);
  // With archives on, folders.js downloads the selection as one zip (#sel-zip) instead.
  const download = $("#sel-download");
  if (download) download.addEventListener("click", downloadRows);
  $("#sel-rename").addEventListener("click", rename);
  $("#sel-move").addEventListener("click", openPicker);
  $("#sel-delete").addEventListener("click", deleteRows);
  $("#sel-clear").addEventListener("click", clearChecks);
  $("#keys-help").addEventListener("click", () => $("#help-dialog").showModal());
  onSelectionChanged(showSelection);
  if (canWrite) wireDragging();
  if (canAdd) wireFolderUpload(here);
  doc.addEventListener("keydown", onKey);
}
