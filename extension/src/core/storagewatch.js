/**
 * Change listeners on the storage areas that hold settings (issue 27). `storage.onChanged` is fired
 * for every area, `session` too, so a listener there wakes the background for each of the extension's
 * own tab-state writes (and Chromium sends each write's old and new values to it). The per-area
 * events (`storage.local.onChanged`, `storage.managed.onChanged`; MDN StorageArea.onChanged, Chrome 73,
 * Firefox 79) are dispatched only for their area; where a browser has neither, the shared event is
 * used and filtered by area name.
 */

/** Areas whose changes matter to the background: the options page's and the administrator's. */
export const SETTINGS_AREAS = Object.freeze(["local", "managed"]);

/**
 * Calls `listener(changes, areaName)` for changes in `areas` only.
 * @param {object} storage  `browser.storage`
 * @param {(changes: object, area: string) => void} listener
 * @param {readonly string[]} [areas]
 * @returns {string[]} where it listens: area names, or `["*"]` for the shared event
 */
export function onAreasChanged(storage, listener, areas = SETTINGS_AREAS) {
  const own = areas.filter((a) => typeof storage?.[a]?.onChanged?.addListener === "function");
  if (own.length === 0 || !own.includes("local")) {
    storage.onChanged.addListener((changes, area) => { if (areas.includes(area)) listener(changes, area); });
    return ["*"];
  }
  for (const area of own) storage[area].onChanged.addListener((changes) => listener(changes, area));
  return own;
}
