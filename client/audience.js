/*! audience.js: browser client for audience-meter. MIT licence. */
/*
 * var handle = audience('https://meter.example.com/my-event', { transport: 'auto' });
 * handle.on('count', function (n) { ... })
 *       .on('message', function (m) { ... m.event, m.data ... })
 *       .on('expelled', function (reason) { ... });
 * handle.page('/cars/tesla'); // a single-page app navigated (WebSocket only)
 *
 * transport: 'sse' (EventSource), 'ws' (WebSocket), or 'auto' (the default):
 * EventSource where the browser has it, else WebSocket. SSE comes first
 * because it costs the daemon least; ask for 'ws' to report page changes.
 * Both reconnect until close() or 'expelled', whatever stood in between.
 *
 * token: a function returning a token (or a promise of one) for ?token=,
 * called before every connection and reconnection, so tokens can be short:
 *   audience(url, { token: function () {
 *     return fetch('/meter-token').then(function (r) { return r.text(); });
 *   } });
 *
 * No dependencies and no build step: this file is served as-is to every
 * viewer, so it stays plain ES5 and small.
 */
(function (root) {
  'use strict';

  // Types the client produces itself. Any other name given to on() is a named
  // SSE event ("event: NAME") that the daemon may send.
  var BUILTIN = /^(count|message|error|open)$/;

  // A count event is a decimal integer alone; anything else is a notification.
  var COUNT = /^\d+$/;

  function audience(url, options) {
    options = options || {};
    var transport = options.transport || 'auto';
    var ws = transport == 'ws' || (transport == 'auto' && !root.EventSource);
    var fresh = options.token; // function () -> token or promise of one
    var source = null;
    // Prototype-less maps, so that a name like "constructor" is just a name.
    var listeners = Object.create(null);  // type -> [fn]
    var subscribed = Object.create(null); // named SSE events hooked on each source
    var closed = false;
    var page = null;  // the last page(), sent again on reconnection
    var lastId = '';  // the SSE session id, for a stream this client reopens
    var delay = 1000; // reconnection delay, doubled up to 30 s, reset once open
    var timer;

    var handle = {
      count: null,
      // Exposed for what this wrapper doesn't cover (readyState, raw events):
      // the current EventSource or WebSocket, a new one after a reconnection
      // ('open' fires on each); null until the first token has come.
      source: null,
      transport: ws ? 'ws' : 'sse',
      on: on,
      page: sendPage,
      close: close
    };

    function emit(type, arg) {
      // Copy, so that a listener adding listeners doesn't change this round.
      var fns = (listeners[type] || []).slice();
      for (var i = 0; i < fns.length; i++) {
        try {
          fns[i].call(handle, arg);
        } catch (err) {
          // One faulty listener must not starve the others, nor hide its error.
          setTimeout(function () { throw err; }, 0);
        }
      }
    }

    function setCount(n) {
      handle.count = n;
      emit('count', n);
    }

    function named(name, data) {
      // A 2.x notification without "=" comes over WebSocket as event "message".
      if (name != 'message') emit(name, data);
      emit('message', { event: name, data: data });
      // Expelled means "not here": stop before reconnecting, or two devices
      // over a limit would keep expelling each other.
      if (name == 'expelled') close();
    }

    // Hooks a named SSE event on the current source. EventSource can't listen
    // to "every named event", so names are subscribed when a page asks for
    // them (and again on each new source), and the events are delivered both
    // to their own listeners and to 'message' ones.
    function listen(name) {
      source.addEventListener(name, function (e) { named(name, e.data); });
    }

    function subscribe(name) {
      if (ws || subscribed[name]) return;
      subscribed[name] = 1;
      if (source) listen(name);
    }

    // The one backoff of both transports: doubling, with up to half again of
    // jitter so that viewers cut off together don't come back together.
    function retry() {
      if (closed) return;
      timer = setTimeout(connect, delay * (1 + Math.random() / 2));
      delay = Math.min(delay * 2, 30000);
    }

    // Each (re)connection asks the site for a fresh token first, so tokens
    // may live minutes rather than outlast the event.
    function connect() {
      if (!fresh) return open();
      new Promise(function (resolve) { resolve(fresh()); }).then(function (token) {
        if (!closed) open(token);
      }, function (err) {
        emit('error', err);
        retry();
      });
    }

    function open(token) {
      var href = url;
      if (ws || token != null || lastId) {
        var u = new URL(url, root.location && root.location.href);
        if (token != null) u.searchParams.set('token', token);
        // What EventSource sends as Last-Event-ID when it reconnects by
        // itself: a session the daemon expelled is refused (204), not reopened.
        if (lastId) u.searchParams.set('last-event-id', lastId);
        if (ws) {
          // The page the viewer is on goes with the upgrade (browsers send no
          // Referer with it), unless the url names one already.
          u.protocol = u.protocol.replace('http', 'ws');
          if (root.location && !u.searchParams.has('page')) u.searchParams.set('page', root.location.pathname + root.location.search);
        }
        href = u.href;
      }
      var socket = handle.source = source = ws
        ? new WebSocket(href)
        : new EventSource(href, { withCredentials: !!options.withCredentials });
      socket.addEventListener('open', function (e) {
        delay = 1000;
        if (ws && page) socket.send(page);
        emit('open', e);
      });
      socket.addEventListener('error', function (e) {
        emit('error', e);
        // EventSource reconnects by itself (after the daemon's "retry:") but
        // gives up for good on an answer other than 200, such as a proxy's
        // 502 while the daemon restarts; and with a token it would re-send
        // one that may have expired. Then this client takes over.
        if (!ws && !closed && (fresh || socket.readyState == 2)) {
          socket.close();
          retry();
        }
      });
      if (ws) {
        socket.onmessage = function (e) {
          var m;
          try { m = JSON.parse(e.data); } catch (err) { return; }
          if (m.type == 'count') setCount(m.members);
          else if (m.type == 'message') named(m.event, m.data);
          else if (m.type == 'expelled') named('expelled', m.reason);
        };
        // WebSocket, unlike EventSource, does not reconnect by itself.
        socket.onclose = retry;
        return;
      }
      // Unnamed events: the 2.x protocol, "123" or "service=message".
      socket.addEventListener('message', function (e) {
        var data = e.data;
        if (e.lastEventId) lastId = e.lastEventId;
        if (COUNT.test(data)) return setCount(+data);
        // The message itself may contain "=": only the first one separates.
        var eq = data.indexOf('=');
        emit('message', eq < 0
          ? { event: 'message', data: data }
          : { event: data.slice(0, eq), data: data.slice(eq + 1) });
      });
      for (var name in subscribed) listen(name);
    }

    // Events the daemon is known to send, so that 'message' listeners see
    // them even if the page never asked for them by name.
    for (var i = 0; i < audience.events.length; i++) subscribe(audience.events[i]);
    connect();

    function on(type, fn) {
      if (!BUILTIN.test(type)) subscribe(type);
      (listeners[type] = listeners[type] || []).push(fn);
      return handle;
    }

    // Reports a page change (a single-page app navigated). Only WebSocket can
    // send anything to the daemon, so over SSE this does nothing and returns
    // false; the daemon takes the page of an SSE stream from ?page= or the
    // Referer when it opens. The daemon closes a connection that sends more
    // than 10 pages a second.
    function sendPage(path) {
      if (!ws || closed) return false;
      page = JSON.stringify({ type: 'page', page: String(path) });
      if (source && source.readyState == 1) source.send(page);
      return true;
    }

    function close() {
      // Once closed, neither transport reconnects nor fires again.
      closed = true;
      if (timer) clearTimeout(timer);
      if (source) source.close();
      listeners = Object.create(null);
    }

    return handle;
  }

  // Named events subscribed on every SSE connection; a page may add names to
  // this list before connecting.
  audience.events = ['expelled'];

  root.audience = audience;
})(typeof window !== 'undefined' ? window : this);
