/* porch page: the small DOM helpers every module shares. */

export const doc = document;

/** The first element matching `selector` in `root` (the document by default), or null. */
export const $ = (selector, root) => (root || doc).querySelector(selector);

/** Every element matching `selector` in `root`, as an array. */
export const $$ = (selector, root) => Array.from((root || doc).querySelectorAll(selector));
