/*! audience.js: browser client for audience-meter. MIT licence. */
/*
 * var handle = audience('https://meter.example.com/my-event');
 * handle.on('count', function (n) { ... })
 *       .on('message', function (m) { ... m.event, m.data ... })
 *       .on('expelled', function (reason) { ... });
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
    // The browser reconnects on its own (honouring the daemon's "retry:"), so
    // there is no reconnection logic here.
    var source = new EventSource(url, {
      withCredentials: !!(options && options.withCredentials)
    });
    // Prototype-less maps, so that a name like "constructor" is just a name.
    var listeners = Object.create(null);  // type -> [fn]
    var subscribed = Object.create(null); // named SSE events hooked on source

    var handle = {
      count: null,
      // Exposed for what this wrapper doesn't cover (readyState, raw events).
      source: source,
      on: on,
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

    // Hooks a named SSE event once. EventSource can't listen to "every named
    // event", so names are subscribed when a page asks for them, and the
    // events are delivered both to their own listeners and to 'message' ones.
    function subscribe(name) {
      if (subscribed[name]) return;
      subscribed[name] = 1;
      source.addEventListener(name, function (e) {
        emit(name, e.data);
        emit('message', { event: name, data: e.data });
        // Expelled means "not here": stop before the browser reconnects, or
        // two devices over a limit would keep expelling each other.
        if (name === 'expelled') close();
      });
    }

    // Unnamed events: the 2.x protocol, "123" or "service=message".
    source.addEventListener('message', function (e) {
      var data = e.data;
      if (COUNT.test(data)) {
        handle.count = +data;
        emit('count', handle.count);
        return;
      }
      // The message itself may contain "=": only the first one separates.
      var eq = data.indexOf('=');
      emit('message', eq < 0
        ? { event: 'message', data: data }
        : { event: data.slice(0, eq), data: data.slice(eq + 1) });
    });
    source.addEventListener('error', function (e) { emit('error', e); });
    source.addEventListener('open', function (e) { emit('open', e); });

    // Events the daemon is known to send, so that 'message' listeners see
    // them even if the page never asked for them by name.
    for (var i = 0; i < audience.events.length; i++) subscribe(audience.events[i]);

    function on(type, fn) {
      if (!BUILTIN.test(type)) subscribe(type);
      (listeners[type] = listeners[type] || []).push(fn);
      return handle;
    }

    function close() {
      // Once closed, EventSource never reconnects nor fires again.
      source.close();
      listeners = Object.create(null);
    }

    return handle;
  }

  // Named events subscribed on every connection; a page may add names to this
  // list before connecting.
  audience.events = ['expelled'];

  root.audience = audience;
})(typeof window !== 'undefined' ? window : this);
