/*! admin.js: the audience-meter operator page. MIT licence. */
// Plain script, no build step, no dependency. Every string from the daemon (names, pages, users, user
// agents) is untrusted: it is only ever put in the page with textContent, never parsed as HTML.
(function () {
  'use strict';

  var TOKEN_KEY = 'audience-meter-admin-token';
  var POLL_MS = 2000;
  var FEED_MAX = 200;
  var HOUR_MS = 3600 * 1000;
  var selected = null; // the namespace shown in the chart, the connections and the attendance
  var series = []; // [{ t: ms, v: members }] of the selected namespace, oldest first
  var feedRetry = null;

  function $(id) { return document.getElementById(id); }
  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (cell) { tr.appendChild(cell instanceof Node ? cell : el('td', cell)); });
    return tr;
  }

  /** "1 earlier sample", "3 earlier samples". */
  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many || one + 's');
  }

  /**
   * Connection ids are {node}-{worker}-{worker start}-{counter}: the node's first characters, the worker and
   * the counter tell two rows apart; the whole id is in the cell's tooltip.
   */
  function shortId(id) {
    var parts = String(id).split('-');
    return parts.length === 4 ? parts[0].slice(0, 4) + '-' + parts[1] + '-' + parts[3] : String(id).slice(0, 12);
  }

  function cell(text, title, className) {
    var td = el('td', text, className);
    if (title) td.title = title;
    return td;
  }

  function status(text, live) {
    $('status').textContent = text;
    $('status').className = live ? 'live' : 'down';
  }

  // Every API call carries the token when there is one; a 401 asks for it (again).
  function api(path, init) {
    init = init || {};
    init.headers = Object.assign({}, init.headers || {});
    if (token()) init.headers.Authorization = 'Bearer ' + token();
    return fetch(path, init).then(function (res) {
      if (res.status === 401) { askForToken(); throw new Error('the admin token is needed'); }
      return res;
    });
  }

  function json(path) {
    return api(path).then(function (res) {
      if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
      return res.json();
    });
  }

  function askForToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token-form').hidden = false;
    $('app').hidden = true;
    status('admin token needed', false);
  }

  $('token-form').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
    $('token-input').value = '';
    $('token-form').hidden = true;
    $('app').hidden = false;
    refresh();
    startFeed();
  });

  // --- namespaces, polled: counts change many times a second in a big audience, a poll is enough here.
  function refreshNamespaces() {
    return json('/api/namespaces').then(function (body) {
      var tbody = $('namespaces').tBodies[0];
      tbody.textContent = '';
      body.namespaces.forEach(function (ns) {
        var members = el('td', ns.members, 'num members');
        var button = el('button', 'Message all');
        button.type = 'button';
        button.className = 'send-ns';
        button.addEventListener('click', function (e) {
          e.stopPropagation();
          openDialog({ path: '/api/namespaces/' + encodeURIComponent(ns.name) + '/messages', label: 'everyone watching ' + ns.name });
        });
        var actions = el('td');
        actions.appendChild(button);
        var tr = row([el('td', ns.name, 'name'), members, el('td', ns.users, 'num'), el('td', ns.connections, 'num'), actions]);
        tr.dataset.ns = ns.name;
        if (ns.name === selected) tr.className = 'selected';
        tr.addEventListener('click', function () { select(ns.name, ns.members); });
        tbody.appendChild(tr);
        if (ns.name === selected) addPoint(Date.now(), ns.members);
      });
      $('namespaces-empty').hidden = body.namespaces.length > 0;
      if (selected === null && body.namespaces.length > 0) select(body.namespaces[0].name, body.namespaces[0].members);
      status('live', true);
    });
  }

  function select(ns, members) {
    selected = ns;
    series = [{ t: Date.now(), v: members }];
    $('chart-ns').textContent = ns;
    $('connections-ns').textContent = 'in ' + ns;
    $('attendance-ns').textContent = ns;
    Array.prototype.forEach.call($('namespaces').tBodies[0].rows, function (tr) {
      tr.className = tr.dataset.ns === ns ? 'selected' : '';
    });
    loadHistory(ns);
    refreshConnections();
    loadAttendance(ns);
  }

  // --- the chart: stored samples (attendance log) or the daemon's memory, then the live polls on top.
  function loadHistory(ns) {
    var from = new Date(Date.now() - HOUR_MS).toISOString();
    json('/api/namespaces/' + encodeURIComponent(ns) + '/history?from=' + encodeURIComponent(from)).then(function (body) {
      if (ns !== selected) return;
      var stored = body.samples.map(function (s) { return { t: Date.parse(s.at), v: s.members }; });
      series = stored.concat(series).sort(function (a, b) { return a.t - b.t; });
      $('chart-note').textContent = (stored.length === 0 ? 'No earlier sample' : plural(stored.length, 'earlier sample'))
        + ', then live counts every ' + POLL_MS / 1000 + ' s';
      draw();
    }).catch(function (err) { $('chart-note').textContent = 'history: ' + err.message; });
  }

  function addPoint(t, v) {
    series.push({ t: t, v: v });
    while (series.length > 0 && series[0].t < t - HOUR_MS) series.shift();
    draw();
  }

  function draw() {
    window.adminChart.draw($('chart'), series, HOUR_MS);
  }

  // --- connected viewers, refreshed on feed events and on a timer.
  var connectionsTimer = null;
  function refreshConnectionsSoon() {
    clearTimeout(connectionsTimer);
    connectionsTimer = setTimeout(refreshConnections, 200);
  }

  function refreshConnections() {
    var query = '?limit=200' + (selected !== null ? '&ns=' + encodeURIComponent(selected) : '');
    return json('/api/connections' + query).then(function (body) {
      var tbody = $('connections').tBodies[0];
      tbody.textContent = '';
      body.connections.forEach(function (c) {
        var button = el('button', 'Send message', 'send');
        button.type = 'button';
        button.addEventListener('click', function () {
          openDialog({ path: '/api/connections/' + encodeURIComponent(c.id) + '/messages', label: 'connection ' + c.id + (c.user ? ' (' + c.user + ')' : '') });
        });
        var actions = el('td');
        actions.appendChild(button);
        var device = [c.device, c.os, c.browser].filter(Boolean).join(' / ');
        var tr = row([cell(shortId(c.id), c.id, 'id'), c.ns, c.name || c.user || 'anonymous', c.page || '', c.transport,
          cell(device, c.userAgent || 'no User-Agent sent', 'device'), cell(c.address || '', c.address ? '' : 'not stored (--ip-storage none)', 'address'),
          c.country || '', new Date(c.since).toLocaleTimeString(), actions]);
        tr.dataset.id = c.id;
        tbody.appendChild(tr);
      });
      $('connections-empty').hidden = body.connections.length > 0;
      $('connections-more').hidden = body.next === null;
      $('connections-more').textContent = 'Showing the first 200: GET /api/connections?after=' + body.next + ' for more.';
    });
  }

  // --- the live feed: fetch() rather than EventSource, which cannot send the Authorization header.
  function startFeed() {
    clearTimeout(feedRetry);
    api('/api/events').then(function (res) {
      if (!res.ok || !res.body) throw new Error('feed: HTTP ' + res.status);
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buffer = '';
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) throw new Error('feed ended');
          buffer += decoder.decode(chunk.value, { stream: true });
          var end;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            onFeedBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      if ($('app').hidden) return; // waiting for the token: the form restarts the feed
      status('reconnecting… (' + err.message + ')', false);
      feedRetry = setTimeout(startFeed, 2000);
    });
  }

  function onFeedBlock(block) {
    var kind = 'message', data = [];
    block.split('\n').forEach(function (line) {
      if (line.indexOf('event: ') === 0) kind = line.slice(7);
      else if (line.indexOf('data: ') === 0) data.push(line.slice(6));
    });
    if (data.length === 0) return; // a keep-alive comment
    var event = JSON.parse(data.join('\n'));
    if (kind === 'snapshot') {
      addFeedLine('now', event.total + ' connected', 'page');
      return;
    }
    var who = event.name || event.user || 'anonymous';
    var where = event.ns + (event.page ? ' ' + event.page : '');
    addFeedLine(kind, who + ' · ' + where + ' · ' + event.transport + (event.country ? ' · ' + event.country : ''), kind);
    refreshConnectionsSoon();
  }

  function addFeedLine(kind, text, className) {
    var item = el('li');
    item.appendChild(el('span', new Date().toLocaleTimeString() + ' ', 'dim'));
    item.appendChild(el('span', kind, 'kind ' + className));
    item.appendChild(el('span', ' ' + text));
    var feed = $('feed');
    feed.insertBefore(item, feed.firstChild);
    if (kind !== 'now') $('feed-empty').hidden = true; // the snapshot line is no event
    while (feed.children.length > FEED_MAX) feed.removeChild(feed.lastChild);
  }

  // --- attendance: the log's report, or a line saying why there is none (the log is off: 404).
  var csvUrl = null;
  function attendanceEmpty(text) {
    $('attendance-empty').textContent = text;
    $('attendance-empty').hidden = !text;
    $('attendance-csv').hidden = Boolean(text);
  }
  function loadAttendance(ns) {
    var path = '/api/attendance/' + encodeURIComponent(ns);
    api(path).then(function (res) {
      if (ns !== selected) return;
      if (res.status === 404) {
        $('attendance').tBodies[0].textContent = '';
        attendanceEmpty('The attendance log is off (--attendance off): nobody\'s presence is recorded.');
        return;
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json().then(function (body) {
        var tbody = $('attendance').tBodies[0];
        tbody.textContent = '';
        body.users.forEach(function (u) {
          tbody.appendChild(row([u.user, u.name || '', el('td', u.sessions, 'num'), el('td', Math.round(u.seconds_attended / 60), 'num'), u.devices.join('; ')]));
        });
        // Anonymous viewers are counted but not named: only a signed token (?token=, --auth-secret) makes a user.
        attendanceEmpty(body.users.length > 0 ? '' : 'No identified viewer in ' + ns + ' yet: attendance lists viewers whose page passes a signed token (?token=).');
        if (body.users.length === 0) return;
        // A plain link cannot carry the token: fetch the CSV and offer it as a file.
        return api(path + '?format=csv').then(function (r) { return r.blob(); }).then(function (blob) {
          if (csvUrl) URL.revokeObjectURL(csvUrl);
          csvUrl = URL.createObjectURL(blob);
          $('attendance-csv').href = csvUrl;
          $('attendance-csv').download = 'attendance-' + ns + '.csv';
        });
      });
    }).catch(function (err) { attendanceEmpty('Attendance unavailable: ' + err.message); });
  }

  // --- the "Send message" dialog, for one connection or a whole namespace.
  var target = null;
  function openDialog(to) {
    target = to;
    $('send-target').textContent = 'To ' + to.label;
    $('send-result').textContent = '';
    $('send-dialog').showModal();
  }
  $('send-close').addEventListener('click', function () { $('send-dialog').close(); });
  $('send-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var result = $('send-result');
    result.className = 'small';
    result.textContent = 'sending…';
    api(target.path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ event: $('send-event').value, data: $('send-data').value }),
    }).then(function (res) {
      return res.text().then(function (text) {
        if (!res.ok) throw new Error(text.trim() || 'HTTP ' + res.status);
        // Done: the dialog closes and the feed keeps the record of what was sent to whom.
        $('send-dialog').close();
        addFeedLine('sent', '"' + $('send-event').value + '" to ' + target.label + ': delivered to ' + plural(JSON.parse(text).delivered, 'connection'), 'sent');
      });
    }).catch(function (err) {
      result.className = 'small error';
      result.textContent = err.message;
    });
  });

  function refresh() {
    refreshNamespaces().catch(function (err) { if (!$('app').hidden) status(err.message, false); });
  }

  refresh();
  startFeed();
  setInterval(function () { if (!$('app').hidden) refresh(); }, POLL_MS);
  setInterval(function () { if (!$('app').hidden) refreshConnections().catch(function () {}); }, 5000);
  window.addEventListener('resize', draw);
})();
