/**
 * Canned replies and responses: one picked in a `select[data-fills="<textarea id>"]` is copied
 * into that box, where staff may still edit it (the inbox's reply, a report's status note).
 *
 * A file, not an inline script: the staff pages' CSP allows scripts only from this origin. The
 * pages work without it: the server uses the canned text picked when nothing was typed.
 */
(function () {
  'use strict';
  Array.prototype.forEach.call(document.querySelectorAll('select[data-fills]'), function (select) {
    var box = document.getElementById(select.getAttribute('data-fills'));
    if (!box) return;
    select.addEventListener('change', function () {
      var option = select.options[select.selectedIndex];
      var text = option && option.getAttribute('data-text');
      if (text) box.value = text;
    });
  });
})();
