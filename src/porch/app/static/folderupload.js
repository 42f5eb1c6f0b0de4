/* porch page: uploads into the folder shown, keeping a dropped or picked folder's tree.
   Only where the visitor may add files here (the tree grants, not --upload-dir): the folders
   are made first, parents before children (MKCOL; 405, "exists", is fine: files merge into a
   folder that is there), then every file goes through uploads.js's queue with its URL in its
   folder as the task's url: the default sender's raw POST there only ever creates (a name
   that exists gets the server's 409 on that file), and any other sender sends it there too.
   A file whose folder could not be made fails at once with that folder's error. */

import { $, doc } from "./dom.js";
import { makeFolder } from "./fileops.js";
import { refreshRows } from "./rows.js";
import { enqueue, takeDrops } from "./uploads.js";

/** The URL of the relative path `path` ("a/b/c.txt") below the folder URL `folder`. */
const urlOf = (folder, path, isDir = false) =>
  new URL(path.split("/").map(encodeURIComponent).join("/") + (isDir ? "/" : ""), folder).href;

const parentOf = (path) => path.slice(0, Math.max(path.lastIndexOf("/"), 0));

/** Upload `files` ([relative path, File] pairs) and make `folders` (relative paths, empty
    ones included) below the folder URL `folder`. */
export async function uploadTree(folder, files, folders = []) {
  const wanted = new Set(folders);
  for (const [path] of files) {
    for (let dir = parentOf(path); dir; dir = parentOf(dir)) wanted.add(dir);
  }
  const depth = (path) => path.split("/").length;
  const failed = new Map(); // folder -> why it is not there
  for (const dir of Array.from(wanted).sort((a, b) => depth(a) - depth(b))) {
    const parent = parentOf(dir);
    if (failed.has(parent)) {
      failed.set(dir, failed.get(parent));
      continue;
    }
    try {
      await makeFolder(urlOf(folder, dir, true));
    } catch (error) {
      if (error.status !== 405) failed.set(dir, `The folder ${dir} could not be made: ${error.message}`);
    }
  }
  const tops = Array.from(wanted).filter((dir) => !dir.includes("/") && !failed.has(dir));
  if (tops.length) await refreshRows(tops.map((dir) => dir + "/"));
  enqueue(files.map(([path, file]) => [file, failed.get(parentOf(path)) || null, path, urlOf(folder, path)]));
}

function readAll(reader) {
  return new Promise((resolve, reject) => {
    const all = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (!batch.length) return resolve(all);
        all.push(...batch);
        next();
      }, reject);
    next();
  });
}

async function walk(entry, prefix, files, folders) {
  const path = prefix + entry.name;
  if (entry.isFile) {
    files.push([path, await new Promise((resolve, reject) => entry.file(resolve, reject))]);
  } else if (entry.isDirectory) {
    folders.push(path);
    for (const child of await readAll(entry.createReader())) await walk(child, path + "/", files, folders);
  }
}

/** Wire the "Upload" and "Upload folder" pickers and page drops, into `folder` (a URL). */
export function wireFolderUpload(folder) {
  const pickFiles = $("#upload-here-input");
  const pickTree = $("#upload-tree-input");
  $("#upload-here").addEventListener("click", () => pickFiles.click());
  $("#upload-tree").addEventListener("click", () => pickTree.click());
  pickFiles.addEventListener("change", () => {
    uploadTree(
      folder,
      Array.from(pickFiles.files, (file) => [file.name, file]),
    );
    pickFiles.value = "";
  });
  pickTree.addEventListener("change", () => {
    uploadTree(
      folder,
      Array.from(pickTree.files, (file) => [file.webkitRelativePath || file.name, file]),
    );
    pickTree.value = "";
  });
  takeDrops((transfer) => {
    // Entries must be taken while the drop event runs: the items are emptied after it.
    const entries = Array.from(
      transfer.items || [],
      (item) => item.webkitGetAsEntry && item.webkitGetAsEntry(),
    );
    const hasFolder = entries.some((entry) => entry && entry.isDirectory);
    // On a page with the upload form, files dropped alone still go to the upload folder.
    if ($("#dropzone") && !hasFolder) return false;
    const loose = Array.from(transfer.files).filter((file, index) => !entries[index]);
    (async () => {
      const files = loose.map((file) => [file.name, file]);
      const folders = [];
      for (const entry of entries) if (entry) await walk(entry, "", files, folders);
      await uploadTree(folder, files, folders);
    })();
    return true;
  });
  doc.body.classList.add("can-upload");
}
