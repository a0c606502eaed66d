// The web chat page: Microsoft's Web Chat control on CivicLine's own Direct Line endpoint.
// The conversation token is kept in this browser, so a returning resident resumes their
// conversation. Everything shown is rendered by Web Chat (text, never HTML from residents).
(async function () {
  'use strict';
  var config = JSON.parse(document.getElementById('config').textContent);
  var KEY = 'civicline.webchat';
  var domain = location.origin + '/v3/directline';
  var locale = config.locale;

  async function post(path, token) {
    var headers = token ? { authorization: 'Bearer ' + token } : {};
    var response = await fetch(domain + path, { method: 'POST', headers: headers });
    return response.ok ? response.json() : null;
  }

  // Storage may be blocked (a third-party iframe): the chat still works, it just won't resume.
  function load() {
    try {
      return JSON.parse(localStorage.getItem(KEY));
    } catch (e) {
      return null;
    }
  }
  function save(value) {
    try {
      localStorage.setItem(KEY, JSON.stringify(value));
    } catch (e) {
      // not kept: the next visit starts a new conversation
    }
  }
  var saved = load();
  var session = saved && saved.token ? await post('/tokens/refresh', saved.token) : null;
  var resuming = Boolean(session);
  if (!session) session = await post('/tokens/generate');
  save({ token: session.token, conversationId: session.conversationId });

  var directLine = window.WebChat.createDirectLine(
    Object.assign({ token: session.token, domain: domain, webSocket: true }, resuming ? { conversationId: session.conversationId } : {}),
  );

  var locate = document.getElementById('locate');
  locate.textContent = config.strings[locale].shareLocation;

  function strings() {
    return config.strings[locale] || config.strings[config.locale];
  }
  function say(message) {
    directLine.postActivity(Object.assign({ type: 'message', from: { id: 'resident' }, text: '' }, message)).subscribe();
  }

  // The bot's replies say which language the conversation is in and whether it asks for a place.
  directLine.activity$.subscribe(function (activity) {
    if (activity.from && activity.from.role === 'bot') {
      var asksPlace = Boolean(activity.channelData && activity.channelData.requestLocation);
      locate.hidden = !asksPlace || !navigator.geolocation;
      var spoken = activity.locale && activity.locale.slice(0, 2);
      if (spoken && config.strings[spoken] && spoken !== locale) {
        locale = spoken;
        document.documentElement.lang = locale;
        locate.textContent = strings().shareLocation;
        renderHeader();
        renderLanguages();
        render(); // Web Chat's own labels in the conversation's language too
      }
    }
    // Keep the newest token: the page may be reloaded any time.
    if (directLine.token) save({ token: directLine.token, conversationId: session.conversationId });
  });

  locate.addEventListener('click', function () {
    navigator.geolocation.getCurrentPosition(function (position) {
      say({ text: strings().locationShared, value: { location: { lat: position.coords.latitude, lon: position.coords.longitude } } });
      locate.hidden = true;
    });
  });

  // Embedded in a city's site: Escape closes the panel (the embedding page cannot hear it).
  if (window.parent !== window) {
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') window.parent.postMessage('civicline:close', '*');
    });
  }

  // The page is served in the default language; the header follows the conversation's.
  function renderHeader() {
    document.querySelector('header h1').textContent = strings().title;
    document.title = strings().title;
    document.getElementById('languages').setAttribute('aria-label', strings().languageLabel);
  }

  var languages = document.getElementById('languages');
  function renderLanguages() {
    languages.replaceChildren();
    Object.keys(config.strings).forEach(function (code) {
      var button = document.createElement('button');
      button.type = 'button';
      button.lang = code;
      button.textContent = config.strings[code].name;
      button.setAttribute('aria-pressed', String(code === locale));
      button.addEventListener('click', function () {
        say({ text: config.strings[code].name });
      });
      languages.appendChild(button);
    });
  }
  renderLanguages();

  function render() {
    window.WebChat.renderWebChat(
      {
        directLine: directLine,
        locale: locale,
        userID: 'resident',
        styleOptions: {
          accent: config.accent,
          bubbleFromUserBackground: config.accent,
          bubbleFromUserTextColor: '#ffffff',
          uploadAccept: 'image/jpeg,image/png,image/webp,image/gif',
          suggestedActionLayout: 'flow',
          botAvatarInitials: config.initials,
        },
      },
      document.getElementById('webchat'),
    );
  }
  render();
})();
