/* porch page: sizes and times as people read them. Pure: no DOM. */

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/** 532 B, 1.4 KiB, 23 MiB: the same rule as porch.app.listing.human_size. */
export function humanSize(bytes) {
  if (bytes < 1024) return bytes + " B";
  let value = bytes;
  let unit = UNITS[0];
  for (unit of UNITS) {
    value /= 1024;
    if (value < 1024) break;
  }
  return (value < 10 ? value.toFixed(1) : Math.round(value)) + " " + unit;
}

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
export const absoluteFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});
const STEPS = [
  [3600, 60, "minute"],
  [86400, 3600, "hour"],
  [604800, 86400, "day"],
  [2629800, 604800, "week"],
  [31557600, 2629800, "month"],
  [Infinity, 31557600, "year"],
];

/** "just now", "5 minutes ago", "in 2 days": `date` relative to `now` (ms since the epoch). */
export function relativeTime(date, now) {
  const seconds = (date.getTime() - now) / 1000;
  const size = Math.abs(seconds);
  if (size < 45) return "just now";
  for (const [below, unit, name] of STEPS) {
    if (size < below) return relativeFormat.format(Math.round(seconds / unit), name);
  }
  return "";
}
