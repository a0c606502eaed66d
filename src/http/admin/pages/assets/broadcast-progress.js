/**
 * Live progress on a broadcast's dashboard page: polls the staff API once a second and updates
 * the counts in place, until the broadcast is done or cancelled and nothing is in flight.
 *
 * A file, not an inline script: the staff pages' CSP allows scripts only from this origin. The
 * page shows the counts as of loading without this script. Only elements the page marked with
 * data attributes are touched, and only with textContent, so nothing from the API becomes markup.
 */
(function () {
  'use strict';
  var root = document.querySelector('[data-broadcast-id]');
  if (!root) return;
  var id = root.getAttribute('data-broadcast-id');
  var url = '/admin/api/broadcasts/' + encodeURIComponent(id);
  var STATES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'skipped'];
  var POLL_MS = 1000;
  var number = new Intl.NumberFormat('en-US');

  function each(selector, fn) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  function setField(name, text) {
    each('[data-field="' + name + '"]', function (el) {
      if (el.textContent !== text) el.textContent = text;
    });
  }

  function total(counts) {
    return STATES.reduce(function (sum, state) {
      return sum + (Number(counts && counts[state]) || 0);
    }, 0);
  }

  function isFinal(progress) {
    var inFlight = (Number(progress.byState.queued) || 0) + (Number(progress.byState.sending) || 0);
    return (progress.status === 'done' || progress.status === 'cancelled') && inFlight === 0;
  }

  function update(progress) {
    var byState = progress.byState || {};
    var byChannel = progress.byChannel || {};
    // Every counted cell names its own channel and state: `sms.sent`, `total.queued`, `sms.total`.
    each('[data-count]', function (el) {
      var key = el.getAttribute('data-count').split('.');
      var counts = key[0] === 'total' ? byState : byChannel[key[0]];
      var value = key[1] === 'total' ? total(counts) : Number(counts && counts[key[1]]) || 0;
      var text = String(value);
      if (el.textContent !== text) el.textContent = text;
    });
    var settled = (Number(byState.sent) || 0) + (Number(byState.delivered) || 0) + (Number(byState.failed) || 0) + (Number(byState.skipped) || 0);
    setField('settled', number.format(settled));
    setField('planned', number.format(Number(progress.planned) || 0));
    setField('answered', number.format(Number(progress.answered) || 0));
    setField('status', String(progress.status));
    each('[data-field="status"]', function (el) {
      el.className = 'badge ' + String(progress.status).replace(/[^a-z_]/g, '');
    });
    // Pause, resume and cancel are offered only in the statuses that allow them.
    each('[data-show-when]', function (el) {
      el.hidden = el.getAttribute('data-show-when').split(' ').indexOf(progress.status) === -1;
    });
    setField('live', isFinal(progress) ? 'Final.' : 'Updating live.');
  }

  function poll() {
    fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401) {
          setField('live', 'Your session ended: log in again to see live counts.');
          return null;
        }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (body) {
        if (body === null) return;
        var progress = body && body.progress;
        if (progress && progress.byState) {
          update(progress);
          if (isFinal(progress)) return;
        }
        setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        // A network blip or a restart: keep the last counts and try again.
        setField('live', 'Reconnecting...');
        setTimeout(poll, POLL_MS * 3);
      });
  }

  if (root.querySelector('[data-field="live"]') && root.querySelector('[data-field="live"]').textContent.trim() !== 'Final.') poll();
})();
