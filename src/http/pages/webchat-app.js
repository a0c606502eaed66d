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

  var saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(KEY));
  } catch (e) {
    saved = null;
  }
  var session = saved && saved.token ? await post('/tokens/refresh', saved.token) : null;
  var resuming = Boolean(session);
  if (!session) session = await post('/tokens/generate');
  localStorage.setItem(KEY, JSON.stringify({ token: session.token, conversationId: session.conversationId }));

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
        renderLanguages();
      }
    }
    // Keep the newest token: the page may be reloaded any time.
    if (directLine.token) localStorage.setItem(KEY, JSON.stringify({ token: directLine.token, conversationId: session.conversationId }));
  });

  locate.addEventListener('click', function () {
    navigator.geolocation.getCurrentPosition(function (position) {
      say({ text: strings().locationShared, value: { location: { lat: position.coords.latitude, lon: position.coords.longitude } } });
      locate.hidden = true;
    });
  });

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
})();
