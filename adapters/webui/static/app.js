// Lujing web workspace: every action is a fetch to the JSON API under /api/v1 with the
// session cookie and the page's CSRF token; the critical-value inbox follows the live stream.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var lang = (document.querySelector('meta[name="lang"]') || {}).content || 'zh';
  var words = lang === 'en'
    ? { saved: '✓ Saved', failed: '⚠ Failed', signedOut: 'Signed out: reload the page to sign in again.' }
    : { saved: '✓ 已保存', failed: '⚠ 操作失败', signedOut: '登录已失效，请刷新页面重新登录。' };

  function bodyFor(form, shape) {
    var f = form.elements;
    switch (shape) {
      case 'ack': return { receiver: f.receiver.value.trim(), read_back: f.read_back.value.trim() };
      case 'handle': return { physician: f.physician.value.trim(), action: f.action.value.trim() };
      case 'variance': return { reason: f.reason.value.trim(), source: f.source.value, direction: f.direction.value, controllable: f.controllable.checked };
      case 'withdraw': return { reason: f.reason.value.trim() };
      case 'followup':
        var reached = f.reached.checked;
        var b = { by: f.by.value.trim(), method: f.method.value, reached: reached };
        if (reached) {
          var status = form.querySelector('input[name="outcome"]:checked').value;
          b.outcome = { status: status };
          if (status === 'died' && f.died_on.value) { b.outcome.died_on = f.died_on.value; }
        }
        if (f.note.value.trim()) { b.note = f.note.value.trim(); }
        return b;
    }
    return null;
  }

  // problemText turns an API error (RFC 9457 problem or FHIR OperationOutcome) into lines.
  function problemText(status, data) {
    var lines = [];
    if (data && data.detail) { lines.push(data.detail); }
    if (data && data.errors) { data.errors.forEach(function (e) { if (e.reason && lines.indexOf(e.reason) < 0) { lines.push((e.field ? e.field + ': ' : '') + e.reason); } }); }
    if (data && data.issue) { data.issue.forEach(function (i) { if (i.diagnostics) { lines.push(i.diagnostics); } }); }
    if (status === 401) { lines.push(words.signedOut); }
    if (!lines.length) { lines.push('HTTP ' + status); }
    return lines;
  }

  function show(result, ok, lines) {
    if (!result) { return; }
    result.textContent = '';
    result.classList.toggle('error', !ok);
    result.classList.toggle('ok', ok);
    var head = document.createElement('strong');
    head.textContent = ok ? words.saved : words.failed;
    result.appendChild(head);
    (lines || []).forEach(function (l) {
      var p = document.createElement('div');
      p.textContent = l;
      result.appendChild(p);
    });
  }

  function api(method, url, body, contentType) {
    var headers = { 'X-CSRF-Token': csrf, 'Accept': 'application/json' };
    var opts = { method: method, headers: headers, credentials: 'same-origin' };
    if (body !== null && body !== undefined) {
      headers['Content-Type'] = contentType || 'application/json';
      opts.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      return res.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        return { ok: res.ok, status: res.status, data: data };
      });
    });
  }

  function submit(form) {
    var shape = form.getAttribute('data-shape');
    var result = form.querySelector('.result');
    var button = form.querySelector('button[type="submit"]');
    var done = function (r) {
      if (button) { button.disabled = false; }
      if (r.ok) {
        show(result, true, []);
        if (document.getElementById('cv-list')) { refreshList(false); } else { setTimeout(function () { location.reload(); }, 400); }
      } else {
        show(result, false, problemText(r.status, r.data));
        var rb = form.querySelector('.readback');
        if (rb) { rb.setAttribute('aria-invalid', 'true'); rb.focus(); rb.select(); } // retyping replaces the wrong read-back
      }
    };
    if (button) { button.disabled = true; }
    if (shape === 'upload') {
      var file = form.elements.file.files[0];
      var url = form.elements.kind.value + encodeURIComponent(form.elements.id.value.trim());
      file.text().then(function (text) { return api('PUT', url, text, 'application/yaml'); }).then(done, function (e) { done({ ok: false, status: 0, data: { detail: String(e) } }); });
      return;
    }
    api('POST', form.getAttribute('data-api'), bodyFor(form, shape)).then(done, function (e) { done({ ok: false, status: 0, data: { detail: String(e) } }); });
  }

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains('action')) { return; }
    ev.preventDefault();
    submit(form);
  });

  // --- the live critical-value inbox ---------------------------------------------------------
  var list = document.getElementById('cv-list');
  var live = document.body.getAttribute('data-live');
  var sound = document.getElementById('sound');
  if (sound) {
    sound.checked = localStorage.getItem('lujing.sound') === 'on';
    sound.addEventListener('change', function () { localStorage.setItem('lujing.sound', sound.checked ? 'on' : 'off'); });
  }

  function ids(root) {
    var el = root.querySelector('[data-ids]');
    var v = el ? el.getAttribute('data-ids') : '';
    return v ? v.split(' ') : [];
  }

  function beep() {
    if (!sound || !sound.checked) { return; }
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      var o = ctx.createOscillator();
      var g = ctx.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.2;
      o.connect(g); g.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.6);
    } catch (e) { /* no audio: the visible alert stays */ }
  }

  function alertNew(newIDs) {
    var banner = document.getElementById('cv-alert');
    if (!banner || !newIDs.length) { return; }
    var names = newIDs.map(function (id) {
      var h = document.querySelector('#cv-' + CSS.escape(id) + ' h2');
      return h ? h.textContent.replace(/\s+/g, ' ').trim() : id;
    });
    banner.textContent = '⚠ ' + banner.getAttribute('data-text') + ' ' + names.join('；');
    banner.hidden = false;
    document.title = '(!) ' + document.title.replace(/^\(!\) /, '');
    beep();
  }

  var pending = null;
  function refreshList(alerting) {
    if (!list) { return; }
    var before = ids(list);
    var url = location.pathname + '?fragment=' + list.getAttribute('data-fragment');
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } }).then(function (res) {
      if (!res.ok) { throw new Error('HTTP ' + res.status); }
      return res.text();
    }).then(function (html) {
      // Keep what the user is typing (a read-back) and where the focus is.
      var values = {};
      list.querySelectorAll('input[id]').forEach(function (i) { if (i.type !== 'checkbox' && i.value !== i.defaultValue) { values[i.id] = i.value; } });
      var focused = document.activeElement && document.activeElement.id;
      list.innerHTML = html;
      Object.keys(values).forEach(function (id) { var i = document.getElementById(id); if (i) { i.value = values[id]; } });
      if (focused) { var f = document.getElementById(focused); if (f) { f.focus(); } }
      if (alerting) {
        var after = ids(list);
        alertNew(after.filter(function (id) { return before.indexOf(id) < 0; }));
      }
    }).catch(function () { /* the next event or reconnect tries again */ });
  }

  if (live && list && window.EventSource) {
    var state = document.getElementById('live-state');
    var es = new EventSource('/api/v1/events?events=' + encodeURIComponent(live));
    var names = ['detected', 'notified', 'escalated', 'updated', 'recalled', 'unreachable', 'acknowledged', 'handled', 'closed'];
    var onEvent = function () {
      clearTimeout(pending);
      pending = setTimeout(function () { refreshList(true); }, 100);
    };
    names.forEach(function (n) { es.addEventListener(live + n, onEvent); });
    es.onmessage = onEvent;
    es.onopen = function () {
      if (state) { state.textContent = '● ' + state.getAttribute('data-text-live'); state.className = 'on'; }
      refreshList(true); // anything missed while disconnected
    };
    es.onerror = function () { if (state) { state.textContent = '○ ' + state.getAttribute('data-text-offline'); state.className = 'off'; } };
  }
})();
