// Follow the builds without a reload: every element with a
// data-fragment URL is fetched again every data-refresh-ms and replaced
// when its ETag changed (the server answers 304 otherwise).
"use strict";

function follow(element, interval) {
  let etag = null;
  async function refresh() {
    try {
      const headers = etag ? {"If-None-Match": etag} : {};
      const response = await fetch(element.dataset.fragment,
                                   {headers: headers, cache: "no-store"});
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        element.innerHTML = await response.text();
        element.dataset.updated = String(Date.now());
      }
      element.classList.toggle("stale", !response.ok && response.status !== 304);
    } catch (error) {
      element.classList.add("stale");
    }
    window.setTimeout(refresh, interval);
  }
  window.setTimeout(refresh, interval);
}

document.addEventListener("DOMContentLoaded", () => {
  const interval = Number(document.body.dataset.refreshMs) || 1000;
  for (const element of document.querySelectorAll("[data-fragment]")) {
    follow(element, interval);
  }
});
