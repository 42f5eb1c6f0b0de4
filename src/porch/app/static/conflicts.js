/* porch page: a name conflict on upload (409: a file of that name is there already, and
   the server refuses to replace it unasked) offers "Keep both" — the same upload again with
   ?on-conflict=rename, which the server saves as "NAME (1).EXT" — and, where this visitor
   may replace files (the upload section's data-replace), "Replace" with ?on-conflict=replace.
   docs/uploads.md has the policies. */

import { $, doc } from "./dom.js";

/** Whether the page says this visitor may replace files where it uploads. */
export const mayReplace = () => {
  const section = $("#upload");
  return Boolean(section) && section.dataset.replace === "yes";
};

/** Under a failed `task`'s item, buttons that send it again with a conflict policy
    (`task.retry(policy)`); the first one gets focus so a keyboard user can act at once. */
export function offerChoices(task) {
  const box = doc.createElement("div");
  box.className = "item-choices";
  const add = (label, policy, hint) => {
    const button = doc.createElement("button");
    button.type = "button";
    button.className = "button";
    button.dataset.policy = policy;
    button.textContent = label;
    button.title = hint;
    button.addEventListener("click", () => {
      box.remove();
      task.retry(policy);
    });
    box.append(button);
  };
  add("Keep both", "rename", `Save this one as “${numbered(task.file.name)}”`);
  if (mayReplace()) add("Replace", "replace", "Replace the file that is there");
  $(".item-main", task.item).append(box);
}

/** The name the server gives the first copy: "photo (1).jpg" (porch.app.uploads.numbered_name). */
function numbered(name) {
  const match = /^(.+?)(\.tar\.(?:gz|bz2|xz|zst)|\.[^.]*)?$/i.exec(name);
  return match ? `${match[1]} (1)${match[2] || ""}` : `${name} (1)`;
}
