/**
 * The staff map, drawn with Leaflet (served from this server, like this file):
 *
 * - On /admin/map (`#report-map`): the pins of `GET /admin/api/reports/map` for the filter
 *   form's values, in clusters (leaflet.markercluster), each pin's popup linking to its report.
 *   Changing the filter reloads the pins without reloading the page (and keeps the URL in step,
 *   so a reload or a shared link shows the same). When the answer was cut (too many reports),
 *   moving the map asks again for the part in view, so zooming in shows every report there.
 * - On a report's page (`.report-pin-map`): a small map with the report's pin.
 *
 * Tiles come from `<meta name="civicline-map-tiles">` when the city configured them; without
 * them the pins are drawn on a plain background with a scale. Nothing the server sends becomes
 * markup: labels are set with textContent, links are built from the reference with
 * encodeURIComponent, and the tiles' credit is escaped before Leaflet (which writes it as HTML)
 * sees it.
 */
(function () {
  'use strict';
  var L = window.L;
  if (!L) return;

  var GROUPS = { open: 'Open', fixed: 'Fixed', closed: 'Closed' };
  var tilesUrl = meta('civicline-map-tiles');
  var attribution = meta('civicline-map-attribution');
  var timeZone = meta('civicline-time-zone');

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute('content') || '' : '';
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"'`]/g, function (c) {
      return '&#' + c.charCodeAt(0) + ';';
    });
  }

  function humanize(id) {
    var words = String(id).replace(/[_-]+/g, ' ').trim();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return '';
    try {
      return date.toLocaleString('en-US', { timeZone: timeZone || undefined, dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) {
      return date.toISOString();
    }
  }

  /** A map with the city's tiles (or none) and a scale. maxZoom is set on the map itself: without tiles no layer sets one, and clusters need it. */
  function baseMap(element, options) {
    var map = L.map(element, Object.assign({ maxZoom: 19, minZoom: 1, worldCopyJump: true }, options || {}));
    if (tilesUrl) {
      L.tileLayer(tilesUrl, { maxZoom: 19, attribution: escapeHtml(attribution) }).addTo(map);
    }
    L.control.scale().addTo(map);
    return map;
  }

  /** A pin: a dot coloured by status group, centred on the point, drawn in CSS (no image to fetch). */
  function pinIcon(group) {
    var known = Object.prototype.hasOwnProperty.call(GROUPS, group) ? group : 'open';
    return L.divIcon({ className: 'map-pin ' + known, html: '<span></span>', iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -9] });
  }

  function popupFor(report) {
    var box = document.createElement('div');
    box.className = 'map-popup';
    var link = document.createElement('a');
    link.href = '/admin/reports/' + encodeURIComponent(report.ref);
    link.textContent = report.ref;
    box.appendChild(link);
    var what = document.createElement('div');
    what.textContent = humanize(report.category) + ' · ' + humanize(report.status);
    box.appendChild(what);
    var when = document.createElement('div');
    when.className = 'muted';
    when.textContent = formatTime(report.createdAt);
    box.appendChild(when);
    return box;
  }

  function finite(value, limit) {
    return typeof value === 'number' && isFinite(value) && Math.abs(value) <= limit;
  }

  // --- The map of reports --------------------------------------------------------------------
  var canvas = document.getElementById('report-map');
  if (canvas) {
    var api = canvas.getAttribute('data-api');
    var form = document.getElementById('map-filters');
    var status = document.getElementById('map-status');
    var map = baseMap(canvas).setView([20, 0], 2);
    var clusters = L.markerClusterGroup ? L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false }) : L.layerGroup();
    clusters.addTo(map);
    var truncated = false;
    var fitting = false;
    var generation = 0;

    var filterQuery = function () {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (typeof value === 'string' && value.trim() !== '') params.append(key, value.trim());
      });
      return params;
    };

    /** The map's view as the API's bbox: longitudes folded into -180..180 (a box may cross the antimeridian); none when the whole world is in view. */
    var viewBox = function () {
      var bounds = map.getBounds();
      var west = bounds.getWest();
      var east = bounds.getEast();
      if (east - west >= 360) return null;
      var fold = function (lon) {
        return ((((lon + 180) % 360) + 360) % 360) - 180;
      };
      var clamp = function (lat) {
        return Math.max(-90, Math.min(90, lat));
      };
      return [fold(west), clamp(bounds.getSouth()), fold(east), clamp(bounds.getNorth())]
        .map(function (n) {
          return n.toFixed(6);
        })
        .join(',');
    };

    var load = function (withBox) {
      var params = filterQuery();
      var box = withBox ? viewBox() : null;
      if (box) params.set('bbox', box);
      var mine = ++generation;
      status.textContent = 'Loading the reports…';
      fetch(api + '?' + params.toString(), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) {
          if (!response.ok) throw new Error('status ' + response.status);
          return response.json();
        })
        .then(function (answer) {
          // A slower answer to an older filter must not replace a newer one.
          if (mine !== generation) return;
          show(answer, !withBox);
        })
        .catch(function () {
          if (mine === generation) status.textContent = 'The reports could not be loaded. Reload the page to try again.';
        });
    };

    var show = function (answer, fit) {
      clusters.clearLayers();
      var markers = [];
      (answer.reports || []).forEach(function (report) {
        if (!finite(report.lat, 90) || !finite(report.lon, 180) || typeof report.ref !== 'string') return;
        var marker = L.marker([report.lat, report.lon], { icon: pinIcon(report.statusGroup), title: report.ref, alt: report.ref, riseOnHover: true });
        marker.bindPopup(popupFor(report));
        markers.push(marker);
      });
      truncated = Boolean(answer.truncated);
      // The view first, then the pins: clustered once at the zoom staff will see, not re-clustered in an animation.
      if (fit && markers.length > 0) {
        fitting = true;
        var bounds = L.latLngBounds(
          markers.map(function (marker) {
            return marker.getLatLng();
          }),
        );
        map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16, animate: false });
        fitting = false;
      }
      if (clusters.addLayers) clusters.addLayers(markers);
      else
        markers.forEach(function (marker) {
          clusters.addLayer(marker);
        });
      var words =
        markers.length === 0 ? 'No reports with a GPS point match.' : markers.length + (markers.length === 1 ? ' report' : ' reports') + ' on the map.';
      if (answer.withoutPoint > 0)
        words +=
          ' ' +
          answer.withoutPoint +
          ' more matching ' +
          (answer.withoutPoint === 1 ? 'has a text place only and is' : 'have a text place only and are') +
          ' not shown.';
      if (truncated) words += ' Only the newest ' + answer.limit + ' are shown: zoom in or narrow the filter to see the rest.';
      status.textContent = words;
    };

    map.on('moveend', function () {
      // Only a cut answer has more to show in a smaller view; our own fitting is not a move by staff.
      if (truncated && !fitting) load(true);
    });

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var query = filterQuery().toString();
      history.replaceState(null, '', '/admin/map' + (query ? '?' + query : ''));
      var list = document.getElementById('map-list-link');
      if (list) list.setAttribute('href', '/admin/reports' + (query ? '?' + query : ''));
      load(false);
    });

    load(false);
  }

  // --- A report's pin ----------------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll('.report-pin-map'), function (element) {
    var lat = Number(element.getAttribute('data-lat'));
    var lon = Number(element.getAttribute('data-lon'));
    if (!finite(lat, 90) || !finite(lon, 180)) return;
    var pinMap = baseMap(element, { scrollWheelZoom: false }).setView([lat, lon], 16);
    L.marker([lat, lon], { icon: pinIcon(element.getAttribute('data-group')), title: 'The report', alt: 'The report', keyboard: false }).addTo(pinMap);
  });
})();
