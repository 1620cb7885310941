/*! jquery.audience.js: Audience Meter 2.x jQuery API on top of audience.js. MIT licence. */
/*
 * Pages written for 2.x keep working unchanged:
 *
 *   <script src="jquery.js"></script>
 *   <script src="/client/jquery.audience.js"></script>
 *   <script>
 *     $.audience('http://meter.example.com/my-event').progress(function (line) {
 *       // line is a data line exactly as 2.x gave it: "123" or "service=message"
 *     });
 *   </script>
 *
 * If audience.js isn't on the page yet, it is loaded from the folder this file
 * was loaded from.
 */
(function ($, window, document) {
  'use strict';

  // document.currentScript is only set while this file runs, so the folder is
  // worked out now. Without it (very old browsers) the script being run is the
  // last one in the document.
  var self = document.currentScript || (function () {
    var scripts = document.getElementsByTagName('script');
    return scripts[scripts.length - 1];
  })();
  var folder = self && self.src
    ? self.src.replace(/[^\/?#]*([?#].*)?$/, '') // drop file name and query
    : '/client/';

  var loading = null; // promise of audience.js, shared by every $.audience()

  function loadAudience() {
    if (window.audience) return $.Deferred().resolve().promise();
    if (loading) return loading;
    var deferred = $.Deferred();
    // A plain <script> rather than $.getScript, which would add a cache-busting
    // query string and fetch the file again on every page view.
    var script = document.createElement('script');
    script.src = folder + 'audience.js';
    script.onload = function () {
      if (window.audience) deferred.resolve();
      else deferred.reject(new Error(script.src + ' did not define audience()'));
    };
    script.onerror = function () {
      loading = null; // the next $.audience() call tries again
      deferred.reject(new Error('could not load ' + script.src));
    };
    (document.head || document.getElementsByTagName('head')[0]).appendChild(script);
    return (loading = deferred.promise());
  }

  // Returns a promise that is notified of every data line the daemon sends,
  // resolved by close(), and rejected only if audience.js can't be loaded.
  // Named events (e.g. "expelled") are not passed on: 2.x pages don't expect
  // them; use audience.js directly for those.
  $.audience = function (url, options) {
    var deferred = $.Deferred();
    var promise = deferred.promise();
    var handle = null;
    var closed = false;

    loadAudience().done(function () {
      if (closed) return; // close() was called while audience.js was loading
      // Always SSE: the raw lines below are the 2.x protocol's.
      handle = window.audience(url, $.extend({}, options, { transport: 'sse' }));
      // The raw line, not the parsed count: 2.x gave strings, and pages may
      // compare or display them as such. audience.js opens a new source when
      // it reconnects by itself, so each new one is hooked as it opens.
      var hooked = null;
      function hook() {
        if (!handle.source || handle.source === hooked) return;
        hooked = handle.source;
        hooked.addEventListener('message', function (e) {
          deferred.notify(e.data);
        });
      }
      handle.on('open', hook);
      hook();
    }).fail(deferred.reject);

    promise.close = function () {
      closed = true;
      if (handle) handle.close();
      deferred.resolve(); // as 2.x did: done() callbacks run on close
    };
    return promise;
  };
})(jQuery, window, document);
