// CivicLine's embed snippet: <script src="https://<your CivicLine>/chat/embed.js" async></script>
// adds a "chat with us" button to the page that opens the city's web chat in a panel.
(function () {
  'use strict';
  var origin = new URL(document.currentScript.src).origin;
  // Replaced by the server with the city's label and colour.
  var config = '{{config}}';

  function install() {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = config.label;
    button.setAttribute('aria-expanded', 'false');
    button.style.cssText =
      'position:fixed;right:1rem;bottom:1rem;z-index:2147483646;border:0;border-radius:2rem;padding:.8rem 1.2rem;font:600 1rem system-ui,sans-serif;cursor:pointer;color:#fff;background:' +
      config.accent;
    var frame = null;
    function toggle(open) {
      // The chat loads on the first click only: visitors who never open it start no conversation.
      if (open && !frame) {
        frame = document.createElement('iframe');
        frame.title = config.label;
        frame.src = origin + '/chat';
        frame.style.cssText =
          'position:fixed;right:1rem;bottom:4.5rem;z-index:2147483647;width:min(26rem,calc(100vw - 2rem));height:min(40rem,calc(100vh - 6rem));border:1px solid #ccc;border-radius:.8rem;background:#fff;box-shadow:0 8px 24px rgba(0,0,0,.2)';
        document.body.appendChild(frame);
      }
      if (frame) frame.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
      if (open) frame.focus();
      else button.focus();
    }
    button.addEventListener('click', function () {
      toggle(!frame || frame.hidden);
    });
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && frame && !frame.hidden) toggle(false);
    });
    // Escape pressed inside the chat: the chat page says so (keys there never reach this page).
    window.addEventListener('message', function (event) {
      if (event.origin === origin && event.data === 'civicline:close' && frame && !frame.hidden) toggle(false);
    });
    document.body.appendChild(button);
  }

  if (document.body) install();
  else document.addEventListener('DOMContentLoaded', install);
})();
