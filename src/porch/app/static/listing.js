/* porch listing page: filter, keyboard navigation, relative times, previews, share QR,
   uploads with per-file progress, and file management (selection, folders, rename, move,
   delete). Served by porch at /-/static/listing.js as an ES module
   (each feature a module of its own beside it, imported here; no bundler): the page's CSP
   allows script from porch's own origin only, so nothing here is inline, and nothing here is
   needed: without it the table, sorting, links, downloads and the plain upload form all work.
   docs/webapp.md describes the behaviour and the modules. */

import { doc } from "./dom.js";
import { wireFileManager } from "./fileman.js";
import { wireFolders } from "./folders.js";
import { wireKeys } from "./keys.js";
import { wirePreview } from "./preview.js";
import { wireResumable } from "./resumable.js";
import { wireRows } from "./rows.js";
import { wireSelection } from "./selection.js";
import { wireShare } from "./share.js";
import { wireUploads } from "./uploads.js";
import { loadMoreRows } from "./morerows.js";
import { wirePreviewNav } from "./previewnav.js";

doc.documentElement.classList.add("js");
wirePreview();
wirePreviewNav();
wireShare();
wireKeys();
wireSelection(); // before wireRows: it decorates the first rows
wireFileManager(); // before wireUploads: it may take drops
wireUploads();
wireResumable();
wireRows();
wireFolders();
performance.mark("porch-ready"); // the page responds from here (tests/browser/test_newuser.py)
loadMoreRows();
