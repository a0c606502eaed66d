// The minimal web chat page: talks to /chat/api. Everything residents and the bot write is set
// with textContent, never as HTML. The conversation id lives in localStorage, so a reload
// shows the conversation again.
(function () {
  'use strict';
  var strings = JSON.parse(document.getElementById('strings').textContent);
  var log = document.getElementById('log');
  var choicesBox = document.getElementById('choices');
  var form = document.getElementById('composer');
  var input = document.getElementById('text');
  var locateButton = document.getElementById('locate');
  var locale = document.documentElement.lang;
  var conversationId = localStorage.getItem('civicline.conversation');

  function applyStrings() {
    var s = strings[locale] || strings[Object.keys(strings)[0]];
    document.documentElement.lang = locale;
    input.placeholder = s.placeholder;
    document.getElementById('text-label').textContent = s.placeholder;
    input.setAttribute('aria-label', s.placeholder);
    document.getElementById('send').textContent = s.send;
    locateButton.textContent = s.share_location;
  }

  function show(direction, text) {
    var item = document.createElement('li');
    item.className = direction;
    item.textContent = text;
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function showChoices(buttons) {
    choicesBox.replaceChildren();
    (buttons || []).forEach(function (choice) {
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = choice.label;
      button.addEventListener('click', function () {
        send({ text: choice.label, choice: choice.id });
      });
      choicesBox.appendChild(button);
    });
  }

  function messageId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) {
      return b.toString(16).padStart(2, '0');
    }).join('');
  }

  async function ensureConversation() {
    if (conversationId) return conversationId;
    var response = await fetch('/chat/api/session', { method: 'POST' });
    conversationId = (await response.json()).conversationId;
    localStorage.setItem('civicline.conversation', conversationId);
    return conversationId;
  }

  async function send(message) {
    var id = await ensureConversation();
    show('in', message.location ? '📍' : message.text);
    showChoices([]);
    locateButton.hidden = true;
    var body = Object.assign({ conversationId: id, messageId: messageId(), text: '' }, message);
    var response = await fetch('/chat/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    var data = await response.json();
    if (!response.ok) {
      show('out', data.error || 'Error');
      return;
    }
    if (data.locale && data.locale !== locale) {
      locale = data.locale;
      applyStrings();
    }
    data.replies.forEach(function (reply) {
      show('out', reply.text);
      if (reply.buttons) showChoices(reply.buttons);
      if (reply.requestLocation && navigator.geolocation) locateButton.hidden = false;
    });
  }

  async function loadHistory() {
    if (!conversationId) return;
    var response = await fetch('/chat/api/history', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ conversationId: conversationId }),
    });
    if (!response.ok) return;
    (await response.json()).entries.forEach(function (entry) {
      show(entry.direction, entry.text);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    send({ text: text });
  });
  locateButton.addEventListener('click', function () {
    navigator.geolocation.getCurrentPosition(function (position) {
      send({ location: { lat: position.coords.latitude, lon: position.coords.longitude } });
    });
  });

  applyStrings();
  loadHistory();
  input.focus();
})();
