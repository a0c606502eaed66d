/**
 * The inbox pages, live: every element with `data-live="<url>"` is refreshed from that URL (an
 * HTML fragment the server renders, escaped as every staff page is) every few seconds, so new
 * conversations and new messages appear without a reload. (Canned replies fill the reply box
 * through canned-fill.js.)
 *
 * A file, not an inline script: the staff pages' CSP allows scripts only from this origin. The
 * pages work without it (a reload shows what is new).
 */
(function () {
  'use strict';
  var POLL_MS = 4000;

  Array.prototype.forEach.call(document.querySelectorAll('[data-live]'), function (region) {
    var url = region.getAttribute('data-live');
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (fragment) {
          if (fragment !== null && fragment !== region.innerHTML) region.innerHTML = fragment;
        })
        .catch(function () {})
        .then(function () {
          busy = false;
        });
    }, POLL_MS);
  });
})();
