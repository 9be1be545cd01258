// The kiosk screen and the tester panel. No build step: plain DOM.
// The server holds the kiosk's state; this page draws it, sends the
// resident's choices, and runs the idle and "take your card" timers.
'use strict';

let M = null;          // message table (GET /api/messages)
let S = null;          // current kiosk state
let kioskId = null;    // this tab's kiosk (sessionStorage: one tab = one kiosk)
let lang = 'ja';
let pin = '';
let draft = {};        // choices on the screen before "next"
let resetFirst = null; // 暗証番号の再設定: the new PIN as first entered, until confirmed
let idleTimer = null, warnTimer = null, countdownTimer = null, pollTimer = null;
const IDLE_SCREENS = new Set(['insert', 'pin', 'pin-reset', 'menu', 'options', 'copies', 'confirm',
                              'payment', 'result', 'error']);

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function fill(template, vars = {}) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`));
}
function t(key, vars) {
  const entry = M.ui[key];
  return entry ? fill(entry[lang] || entry.ja, vars) : key;
}
function num(n) { return Number(n).toLocaleString(lang === 'ja' ? 'ja-JP' : 'en-US'); }
function yen(n) { return t('yen', {n: num(n)}); }
function when(iso) {
  try {
    return new Intl.DateTimeFormat(lang === 'ja' ? 'ja-JP' : 'en-GB', {
      timeZone: 'Asia/Tokyo', year: 'numeric', month: 'short', day: 'numeric',
      weekday: 'short', hour: '2-digit', minute: '2-digit'}).format(new Date(iso));
  } catch (e) { return iso; }
}

// A problem (or a menu item's reason) as the lines the resident reads.
function problemLines(p) {
  const lines = [];
  const code = p.code || '';
  const known = M.problems[code];
  if (known) lines.push(fill(known[lang], {remaining: p.remaining ?? ''}));
  const reason = p.reason && (M.reasons[p.reason] || M.problems[p.reason]);
  if (reason) lines.push(reason[lang]);
  // The center's words, only for what the table does not know (a new reason):
  // a known code already says it in the resident's language.
  else if (p.message && (p.reason || !known)) lines.push(p.message);
  if (!lines.length) lines.push(M.generic[lang]);
  if (p.opens_at) lines.push(t('opens_at', {opens_at: when(p.opens_at)}));
  return lines;
}
function itemReason(item) {
  const r = item.reason;
  const known = r && (M.reasons[r] || M.problems[r]);
  const lines = [known ? known[lang] : (item.message || M.generic[lang])];
  if (item.opens_at) lines.push(t('opens_at', {opens_at: when(item.opens_at)}));
  return lines.join(' ');
}

async function call(method, path, body) {
  const init = {method, headers: {}};
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.detail || data.code), {problem: data});
  return data;
}

let busy = false;      // an action is on its way: a second touch is not a new action
let typedAhead = [];   // keys pressed while the card is being read, for the PIN pad

async function act(action, body = {}) {
  // Coins are each a real insertion, however fast they come; the rest is one touch.
  const gated = action !== 'money' && action !== 'reset';
  if (busy && gated) return;
  if (gated) busy = true;
  try {
    render(await call('POST', `/api/kiosks/${kioskId}/${action}`, body));
  } catch (e) {
    if (e.problem && e.problem.code === 'not-found') return newKiosk();
    if (e.problem && e.problem.code === 'conflict') {
      // The screen moved on (a touch that arrived late): show where the kiosk is.
      return render(await call('GET', `/api/kiosks/${kioskId}`).catch(() => S));
    }
    showNotice({code: e.problem?.code || 'network-error'}, true);
  } finally {
    if (gated) {
      busy = false;
      replayTypedAhead();
    }
  }
}

// Digits typed while the card is read belong to the PIN pad that comes next, as
// on a real terminal; anything else typed then is dropped, never sent.
function replayTypedAhead() {
  const keys = typedAhead;
  typedAhead = [];
  if (!S || S.screen !== 'pin') return;
  for (const key of keys) {
    if (key === 'Enter') pinKey('ok');
    else if (key === 'Backspace') pinKey('back');
    else pinKey(key);
  }
}

async function newKiosk() {
  const state = await call('POST', '/api/kiosks', {});
  kioskId = state.kiosk_id;
  sessionStorage.setItem('kiosk_id', kioskId);
  render(state);
  await loadTester();
}

// ---- the screens ----------------------------------------------------------------
function noticeNode(n) {
  if (!n) return null;
  let text;
  if (n.code === 'idle-reset') {
    text = t('idle_reset') + (n.yen ? ' ' + t('money_returned', {n: num(n.yen)}) : '');
  } else if (n.code === 'money-returned') text = t('money_returned', {n: num(n.yen)});
  else if (n.code === 'use-registered') text = t('use_registered', {name: n.name});
  else if (n.code === 'use-pending') text = t('use_pending', {name: n.name});
  else if (n.code === 'pin-reset-done') text = t('pin_reset_done');
  else if (n.code === 'pin-mismatch') text = t('pin_mismatch');
  else text = problemLines(n).join(' ');
  const bad = !['idle-reset', 'money-returned', 'use-registered', 'use-pending',
                'pin-reset-done']
    .includes(n.code);
  return el('p', {class: bad ? 'notice bad' : 'notice', role: bad ? 'alert' : 'status'}, text);
}
function showNotice(n, bad) {
  const node = noticeNode(n);
  if (!node) return;
  if (bad) node.className = 'notice bad';
  const screen = $('screen');
  screen.querySelector('.notice')?.remove();
  screen.prepend(node);
}
function btn(label, onclick, cls = '', attrs = {}) {
  return el('button', {type: 'button', class: `btn ${cls}`, onclick, ...attrs}, label);
}
function actions(...buttons) { return el('div', {class: 'actions'}, ...buttons); }

const SCREENS = {
  start(s) {
    return [noticeNode(s.notice),
      el('div', {class: 'center'},
        el('h1', {}, t('title')), el('p', {class: 'lead'}, t('subtitle')),
        btn(t('start'), () => act('begin', {language: lang}), 'primary huge', {id: 'start'}))];
  },
  insert(s) {
    return [el('h1', {}, t('insert_title')), el('p', {class: 'lead'}, t('insert_or_phone')),
      noticeNode(s.notice),
      el('div', {class: 'center'},
        btn(t('place_card'), () => reading('card'), 'primary huge'),
        btn(t('hold_phone'), () => reading('smartphone'), 'huge')),
      actions(btn(t('back'), () => act('cancel')))];
  },
  pin(s) {
    const boxes = [0, 1, 2, 3].map((i) => el('span', {class: 'pin-box', 'aria-hidden': 'true'},
                                             i < pin.length ? '●' : ''));
    const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(
      (d) => btn(d, () => pinKey(d), '', {'data-digit': d}));
    keys.push(btn(t('clear'), () => pinKey('clear'), 'danger'));
    keys.push(btn('0', () => pinKey('0'), '', {'data-digit': '0'}));
    keys.push(btn(t('ok'), () => pinKey('ok'), 'primary', {disabled: pin.length !== 4,
                                                          id: 'pin-ok'}));
    const warn = s.notice ? noticeNode(s.notice)
      : (s.pin_remaining ? el('p', {class: 'notice bad', role: 'alert'},
                                t('remaining_attempts', {remaining: s.pin_remaining})) : null);
    return [el('h1', {}, t('pin_title')), el('p', {}, t('pin_hint')), warn,
      el('div', {class: 'pin-display', role: 'img', id: 'pin-display',
                 'aria-label': t('pin_digits', {n: pin.length})}, boxes),
      el('div', {class: 'keypad'}, keys),
      actions(btn(t('cancel'), () => act('finish'), 'danger'))];
  },
  'pin-reset'(s) {
    // A new PIN twice, on the same pad; the card takes it only if both agree.
    const boxes = [0, 1, 2, 3].map((i) => el('span', {class: 'pin-box', 'aria-hidden': 'true'},
                                             i < pin.length ? '●' : ''));
    const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(
      (d) => btn(d, () => pinKey(d), '', {'data-digit': d}));
    keys.push(btn(t('clear'), () => pinKey('clear'), 'danger'));
    keys.push(btn('0', () => pinKey('0'), '', {'data-digit': '0'}));
    keys.push(btn(t('ok'), () => pinKey('ok'), 'primary', {disabled: pin.length !== 4,
                                                          id: 'pin-ok'}));
    return [el('h1', {}, t('pin_reset_title')),
      el('p', {}, resetFirst === null ? t('pin_reset_new') : t('pin_reset_again')),
      noticeNode(s.notice),
      el('div', {class: 'pin-display', role: 'img', id: 'pin-display',
                 'aria-label': t('pin_digits', {n: pin.length})}, boxes),
      el('div', {class: 'keypad'}, keys),
      actions(btn(t('cancel'), () => act('finish'), 'danger'))];
  },
  menu(s) {
    const own = s.municipality?.code;
    const items = s.items.map((item) => {
      const issuer = item.municipality && item.municipality.code !== own
        ? el('span', {class: 'why'}, t('issued_by', {name: item.municipality.name})) : null;
      const extraKey = item.municipality?.code || '';
      return el('button', {
        type: 'button', class: 'item', 'aria-disabled': item.available ? null : 'true',
        'data-type': item.type,
        onclick: () => item.available &&
          act('select', {type: item.type, ...(extraKey ? {municipality_code: extraKey} : {})}),
      }, el('span', {class: 'label'}, item.label),
      el('span', {class: 'fee'}, `${yen(item.fee_yen)} / ${t('per_copy')}`), issuer,
      item.available ? null : el('span', {class: 'why'},
                                 `${t('unavailable')}: ${itemReason(item)}`));
    });
    // 本籍地の利用登録: one button per municipality the greyed items point to.
    const places = new Map(s.items.filter((item) => item.register_with)
      .map((item) => [item.register_with.code, item.register_with]));
    const registers = [...places.values()].map((place) => btn(
      t('register_with', {name: place.name}),
      () => act('register-use', {municipality_code: place.code}), 'primary',
      {'data-register': place.code}));
    return [el('h1', {}, t('menu_title')), noticeNode(s.notice),
      el('div', {class: 'body'}, el('div', {class: 'menu'}, items)),
      actions(btn(t('cancel'), () => act('finish'), 'danger'), ...registers)];
  },
  options(s) {
    draft = JSON.parse(JSON.stringify(s.options));
    const spec = s.spec;
    const parts = [];
    if (spec.kind === 'juminhyo') {
      const radio = (value, label) => el('label', {}, el('input', {
        type: 'radio', name: 'members-mode', value,
        checked: (value === 'household') === (draft.members === 'household'),
        onchange: () => { draft.members = value === 'household' ? 'household'
          : spec.household.filter((m) => m.self).map((m) => m.member_id); redrawMembers(); }}),
        label);
      const who = el('div', {id: 'members'});
      const redrawMembers = () => {
        who.replaceChildren(...spec.household.map((m) => el('label', {}, el('input', {
          type: 'checkbox', value: m.member_id, disabled: draft.members === 'household',
          checked: draft.members === 'household' || draft.members.includes(m.member_id),
          onchange: (e) => {
            const set = new Set(draft.members);
            if (e.target.checked) set.add(m.member_id); else set.delete(m.member_id);
            draft.members = spec.household.map((x) => x.member_id).filter((id) => set.has(id));
          }}), `${m.name} ${m.relationship ? '(' + m.relationship + ')' : ''}`,
          m.self ? t('self_mark') : '')));
      };
      redrawMembers();
      parts.push(el('fieldset', {class: 'choice'}, el('legend', {}, t('members')),
        radio('household', t('household')), radio('chosen', t('chosen')), who));
      for (const flag of spec.flags) {
        const yesNo = (value, label) => el('label', {}, el('input', {
          type: 'radio', name: flag, checked: draft[flag] === value,
          onchange: () => { draft[flag] = value; }}), label);
        parts.push(el('fieldset', {class: 'choice'}, el('legend', {}, t(flag)),
          yesNo(true, t('include')), yesNo(false, t('omit'))));
      }
    } else if (spec.kind === 'fiscal_year') {
      parts.push(el('fieldset', {class: 'choice'}, el('legend', {}, t('fiscal_year')),
        spec.fiscal_years.map((y) => el('label', {}, el('input', {
          type: 'radio', name: 'fy', checked: draft.fiscal_year === y,
          onchange: () => { draft.fiscal_year = y; }}), t('fiscal_year_n', {n: y})))));
    } else if (spec.kind === 'disaster') {
      parts.push(el('fieldset', {class: 'choice'}, el('legend', {}, t('disaster')),
        spec.disasters.map((d) => el('label', {}, el('input', {
          type: 'radio', name: 'disaster', checked: draft.disaster_id === d.disaster_id,
          onchange: () => { draft.disaster_id = d.disaster_id; }}),
          `${d.name} (${d.occurred_on})`))));
    } else if (spec.kind === 'person') {
      // 戸籍個人事項 / 附票: the holder or another person of the same 戸籍.
      parts.push(el('fieldset', {class: 'choice'}, el('legend', {}, t('person')),
        spec.persons.map((p) => el('label', {}, el('input', {
          type: 'radio', name: 'person', value: p.person_id, checked: draft.person === p.person_id,
          onchange: () => { draft.person = p.person_id; }}),
          p.name, p.self ? t('self_mark') : ''))));
    }
    const next = () => {
      if (Array.isArray(draft.members) && !draft.members.length) {
        return showNotice({reason: 'no-member-chosen'}, true);
      }
      act('options', {options: draft});
    };
    return [el('h1', {}, `${s.item.label} — ${t('options_title')}`), noticeNode(s.notice),
      el('div', {class: 'body'}, parts),
      actions(btn(t('back'), () => act('back')), btn(t('next'), next, 'primary'))];
  },
  copies(s) {
    let n = s.copies;
    const out = el('output', {id: 'copies', 'aria-live': 'polite'}, t('copies_n', {n}));
    const total = el('p', {class: 'total'}, `${t('total')}: ${yen(n * s.item.fee_yen)}`);
    const set = (v) => {
      n = Math.min(s.max_copies, Math.max(1, v));
      out.textContent = t('copies_n', {n});
      total.textContent = `${t('total')}: ${yen(n * s.item.fee_yen)}`;
      minus.disabled = n <= 1; plus.disabled = n >= s.max_copies;
    };
    const minus = btn('−', () => set(n - 1), '', {'aria-label': '−1'});
    const plus = btn('+', () => set(n + 1), '', {'aria-label': '+1'});
    set(n);
    return [el('h1', {}, t('copies_title')), el('p', {class: 'lead'},
      `${s.item.label} — ${yen(s.item.fee_yen)} / ${t('per_copy')}`),
      el('div', {class: 'center'}, el('div', {class: 'counter'}, minus, out, plus), total),
      actions(btn(t('back'), () => act('back')),
              btn(t('next'), () => act('copies', {copies: n}), 'primary'))];
  },
  confirm(s) {
    const rows = [[t('certificate'), s.item.label]];
    const sum = s.summary || {};
    if (sum.members) {
      rows.push([t('members'), sum.members === 'household' ? t('household')
                                                           : sum.members.join('、')]);
    }
    for (const flag of ['relationship', 'domicile', 'nationality']) {
      if (flag in sum) rows.push([t(flag), sum[flag] ? t('include') : t('omit')]);
    }
    if (sum.person_name) rows.push([t('person'), sum.person_name]);
    if (sum.fiscal_year) rows.push([t('fiscal_year'), t('fiscal_year_n', {n: sum.fiscal_year})]);
    rows.push([t('copies'), t('copies_n', {n: s.copies})]);
    rows.push([t('fee'), `${yen(s.item.fee_yen)} × ${s.copies}`]);
    rows.push([t('total'), el('span', {class: 'total', id: 'total'}, yen(s.total_yen))]);
    return [el('h1', {}, t('confirm_title')),
      el('div', {class: 'body'}, el('table', {class: 'summary'},
        rows.map(([k, v]) => el('tr', {}, el('th', {scope: 'row'}, k), el('td', {}, v))))),
      actions(btn(t('back'), () => act('back')),
              btn(t('pay'), () => act('confirm'), 'primary'))];
  },
  payment(s) {
    const done = s.paid_yen >= s.total_yen;
    const cash = (n, coin) => btn(yen(n), () => act('money', {yen: n}), coin ? 'coin' : '',
                                  {disabled: done, 'data-yen': n});
    return [el('h1', {}, t('payment_title')),
      el('div', {class: 'money body'},
        el('div', {class: 'amounts', role: 'status'},
          el('div', {}, el('span', {}, t('total')), el('b', {}, yen(s.total_yen))),
          el('div', {}, el('span', {}, t('inserted')), el('b', {id: 'paid'}, yen(s.paid_yen))),
          el('div', {}, el('span', {}, t('remaining')), el('b', {}, yen(s.due_yen))),
          el('div', {}, el('span', {}, t('change')), el('b', {id: 'change'},
                                                         yen(s.change_yen)))),
        el('div', {class: 'cash'}, el('h2', {}, t('coins')), s.coins.map((n) => cash(n, true)),
           el('h2', {}, t('notes')), s.notes.map((n) => cash(n, false)))),
      actions(btn(t('cancel_payment'), () => act('cancel-payment'), 'danger'),
              btn(t('print'), () => act('print'), 'primary', {disabled: !done, id: 'print'}))];
  },
  printing(s) {
    const p = s.progress;
    return [el('div', {class: 'center', role: 'status'},
      el('h1', {}, t('printing_title')),
      el('progress', {max: p.total, value: p.done}),
      el('p', {class: 'lead'}, t('printing_progress', {done: p.done, total: p.total})),
      el('p', {}, t('printing_wait')))];
  },
  result(s) {
    const r = s.result;
    const title = r.failed === 0 ? t('result_title')
      : (r.printed ? t('result_partial') : t('result_none'));
    const copies = r.copies.map((c) => el('div', {class: c.status === 'printed' ? 'copy'
                                                                             : 'copy failed'},
      el('p', {}, el('b', {}, `${c.number}. ${c.status === 'printed' ? t('printed')
                                                                      : t('failed')}`),
        ` ${c.certificate_number}`,
        c.status === 'printed' ? '' : ` — ${problemLines({reason: c.reason}).join(' ')}`),
      c.pages.length ? el('div', {class: 'sheets'}, c.pages.map((src, i) => el('figure', {},
        el('img', {src, alt: `${c.number}. ${i === 0 ? t('front') : t('back_side')}`}),
        el('figcaption', {}, i === 0 ? t('front') : t('back_side'))))) : null,
      c.pdf_url ? el('a', {class: 'btn', href: c.pdf_url, download: ''}, t('download_pdf'))
        : null));
    return [el('h1', {}, title),
      el('div', {class: 'money-result', role: 'status'},
        el('span', {}, `${t('paid')}: `, el('b', {}, yen(r.paid_yen))),
        el('span', {}, `${t('charged')}: `, el('b', {id: 'charged'}, yen(r.charged_yen))),
        el('span', {}, `${t('refunded')}: `, el('b', {id: 'refunded'}, yen(r.refunded_yen))),
        el('span', {}, `${t('change')}: `, el('b', {id: 'change'}, yen(r.change_yen)))),
      r.report_pending ? el('p', {class: 'notice'}, t('report_pending')) : null,
      el('div', {class: 'body copies'}, copies),
      actions(el('span'), btn(t('finish'), () => act('finish'), 'primary'))];
  },
  error(s) {
    const lines = problemLines(s.error);
    return [el('h1', {}, t('error_title')),
      el('div', {class: 'body', role: 'alert'},
        lines.map((line, i) => el('p', {class: i ? '' : 'lead'}, line)),
        s.refund_yen ? el('p', {class: 'notice'}, t('money_returned', {n: num(s.refund_yen)}))
          : null),
      actions(el('span'), btn(t('finish'), () => act('finish'), 'primary'))];
  },
  'take-card'(s) {
    let left = s.settings.take_card_seconds;
    const count = el('p', {class: 'lead', id: 'countdown'}, t('countdown', {n: left}));
    countdownTimer = setInterval(() => {
      left -= 1;
      count.textContent = t('countdown', {n: Math.max(0, left)});
      if (left <= 0) { clearInterval(countdownTimer); act('take-card'); }
    }, 1000);
    return [el('div', {class: 'center'}, el('h1', {}, t('take_card_title')),
      el('p', {}, t('take_card_receipt')),
      btn(t('take_card'), () => act('take-card'), 'primary huge'), count)];
  },
};

function reading(reader) {
  $('screen').querySelector('.notice')?.remove();
  typedAhead = [];
  act('insert', {reader});
}

function pinKey(key) {
  if (!S || (S.screen !== 'pin' && S.screen !== 'pin-reset')) return;
  if (key === 'clear') pin = '';
  else if (key === 'back') pin = pin.slice(0, -1);
  else if (key === 'ok') {
    if (pin.length !== 4) return;
    const entered = pin;
    pin = '';
    if (S.screen === 'pin-reset') {
      if (resetFirst === null) { resetFirst = entered; S.notice = null; return render(S); }
      const first = resetFirst;
      resetFirst = null;
      return act('pin-reset', {pin: first, confirm: entered});
    }
    return act('pin', {pin: entered});
  } else if (/^[0-9]$/.test(key) && pin.length < 4) pin += key;
  drawPin();
}
function drawPin() {
  const boxes = document.querySelectorAll('#pin-display .pin-box');
  boxes.forEach((b, i) => { b.textContent = i < pin.length ? '●' : ''; });
  $('pin-display').setAttribute('aria-label', t('pin_digits', {n: pin.length}));
  $('pin-ok').disabled = pin.length !== 4;
}

function render(state) {
  const previous = S?.screen;
  S = state;
  lang = state.language || lang;
  document.documentElement.lang = lang;
  clearInterval(countdownTimer);
  clearTimeout(pollTimer);
  if (state.screen !== 'pin' && state.screen !== 'pin-reset') pin = '';
  if (state.screen !== 'pin-reset') resetFirst = null;
  for (const b of document.querySelectorAll('button.lang')) {
    b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
  }
  $('brand').textContent = t('title');
  const store = state.settings.store;
  $('store-name').textContent = `${store.chain_name} ${store.store_id} (${store.terminal_id})`;
  const screen = $('screen');
  // Rebuilt from nothing on every screen: what the last resident saw is gone.
  screen.replaceChildren(...SCREENS[state.screen](state).filter(Boolean));
  screen.dataset.screen = state.screen;
  if (previous !== state.screen) {
    const first = screen.querySelector('.btn.primary:not(:disabled), .item:not([aria-disabled]),'
                                       + ' .btn:not(:disabled)');
    (first || screen).focus();
  }
  if (state.screen === 'printing') pollTimer = setTimeout(poll, 400);
  armIdle();
  syncTesterKiosk();
}

async function poll() {
  try { render(await call('GET', `/api/kiosks/${kioskId}`)); }
  catch (e) { pollTimer = setTimeout(poll, 1000); }
}

// ---- idle: back to the start, nothing of the resident left on the page ------
function armIdle() {
  clearTimeout(idleTimer); clearTimeout(warnTimer);
  $('idle-warning').hidden = true;
  if (!S || !IDLE_SCREENS.has(S.screen)) return;
  const seconds = S.settings.idle_seconds;
  const warnAt = Math.max(0, seconds - Math.min(10, seconds / 3));
  warnTimer = setTimeout(() => {
    $('idle-warning').textContent = t('idle_warning');
    $('idle-warning').hidden = false;
  }, warnAt * 1000);
  idleTimer = setTimeout(idleReset, seconds * 1000);
}
async function idleReset() {
  pin = ''; draft = {};
  $('screen').replaceChildren();
  await act('reset');
}

// ---- the tester panel ------------------------------------------------------------
// The center's dev faults per municipality: [field, the panel's title, short name].
// Wrong person and foreign page need the municipal server started with --dev too.
const MUNICIPAL_FAULTS = [
  ['municipalities_down', 'Municipal server down', 'down'],
  ['municipalities_slow', 'Municipal server slow (times out)', 'slow'],
  ['municipalities_wrong_person', 'Municipal server prints the wrong person', 'wrong person'],
  ['municipalities_foreign_page', 'Municipal server mixes in a foreign page 2', 'foreign page'],
];
let tester = null;
function status(text) { $('tester-status').textContent = text || ''; }

async function loadTester() {
  try { tester = await call('GET', '/api/tester'); } catch (e) { return status('tester API failed'); }
  const cards = $('t-card');
  cards.replaceChildren(el('option', {value: ''}, '— none —'), ...tester.cards.map((c) =>
    el('option', {value: c.key}, `${c.key} (${c.credential}${c.locked ? ', PIN locked' : ''})`)));
  $('t-store').replaceChildren(...tester.stores.map((s) => el('option', {value: s.terminal_id},
    `${s.chain_name} / ${s.chain} ${s.store_id} (${s.terminal_id})`)));
  const codes = [...new Set(tester.cards.map((c) => c.municipality_code).filter(Boolean))].sort();
  $('t-municipal').replaceChildren(...MUNICIPAL_FAULTS.map(([field, title]) => {
    const on = new Set(tester.faults?.[field] || []);
    return el('div', {role: 'group', 'aria-label': title, 'data-fault': field},
      el('b', {}, title), ...codes.map((code) => el('label', {}, el('input', {
        type: 'checkbox', value: code, checked: on.has(code), disabled: !tester.faults,
        onchange: setMunicipalFaults}), code)));
  }));
  showClock(tester.clock);
  syncTesterKiosk();
}
function syncTesterKiosk() {
  if (!S || !tester) return;
  const s = S.settings;
  $('t-card').value = s.card || '';
  $('t-store').value = s.store.terminal_id;
  $('t-jam').value = s.paper_jam ? String(s.paper_jam) : '';
  $('t-network').value = s.network;
  if (document.activeElement !== $('t-idle')) $('t-idle').value = s.idle_seconds;
}
function showClock(clock) {
  $('t-clock').textContent = clock ? when(clock.now) + (clock.offset_seconds ? ' (moved)' : '')
    : 'center not in --dev: clock fixed to real time';
  for (const b of document.querySelectorAll('[data-clock], #t-clock-set')) b.disabled = !clock;
}
async function settings(body) {
  try { render(await call('PUT', `/api/kiosks/${kioskId}/settings`, body)); status(''); }
  catch (e) { status(e.problem?.detail || e.message); syncTesterKiosk(); }
}
async function setClock(now) {
  try { showClock(await call('PUT', '/api/tester/clock', {now})); status(''); }
  catch (e) { status(e.problem?.detail || e.message); }
}
async function setMunicipalFaults() {
  const body = {};
  for (const [field] of MUNICIPAL_FAULTS) {
    body[field] = [...document.querySelectorAll(`[data-fault="${field}"] input:checked`)]
      .map((i) => i.value);
  }
  try {
    const faults = await call('PUT', '/api/tester/faults', body);
    tester.faults = faults;
    status(MUNICIPAL_FAULTS.filter(([field]) => faults[field]?.length)
      .map(([field, , short]) => `${short}: ${faults[field].join(', ')}`).join('; '));
  } catch (e) { status(e.problem?.detail || e.message); }
}
function tokyoDate(iso) {  // YYYY-MM-DD of an instant in Asia/Tokyo
  return new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Tokyo'}).format(new Date(iso));
}

function wireTester() {
  $('t-card').addEventListener('change', (e) => settings({card: e.target.value || null}));
  $('t-store').addEventListener('change', (e) => settings({terminal_id: e.target.value}));
  $('t-jam').addEventListener('change', (e) => settings({
    paper_jam: e.target.value ? Number(e.target.value) : null}));
  $('t-network').addEventListener('change', (e) => settings({network: e.target.value}));
  $('t-idle-set').addEventListener('click', () => settings({idle_seconds: Number($('t-idle').value)}));
  for (const b of document.querySelectorAll('[data-clock]')) {
    b.addEventListener('click', async () => {
      const which = b.dataset.clock;
      if (which === 'real') return setClock(null);
      const now = (await call('GET', '/api/tester')).clock;
      const day = tokyoDate(now.now);
      if (which === '12-30') return setClock(`${day.slice(0, 4)}-12-30T10:00:00+09:00`);
      return setClock(`${day}T${which}:00+09:00`);
    });
  }
  $('t-pin-reset').addEventListener('click', async () => {
    const card = $('t-card').value;
    if (!card) return status('choose the card in hand first');
    try {
      const r = await call('POST', '/api/tester/pin-reset-reservations',
                           {card, signature_pin: $('t-signature-pin').value});
      $('t-signature-pin').value = '';
      status(`PIN reset reserved until ${when(r.reserved_until)} (Seven-Eleven)`);
    } catch (e) { status(e.problem?.message || e.problem?.detail || e.message); }
  });
  $('t-clock-set').addEventListener('click', () => {
    const v = $('t-clock-at').value;
    if (v) setClock(`${v.length === 16 ? v + ':00' : v}+09:00`);
  });
}

// ---- keyboard: digits on the PIN pad, Enter, Escape, Backspace ------------------
document.addEventListener('keydown', (e) => {
  if (e.target.closest && e.target.closest('#tester')) return;
  armIdle();
  if (!S) return;
  if (busy) {
    // A request is on its way: Enter must not press the focused button again.
    if (S.screen === 'insert' && (/^[0-9]$/.test(e.key) || e.key === 'Backspace'
                                  || e.key === 'Enter')) typedAhead.push(e.key);
    if (e.key === 'Enter' || e.key === ' ' || e.key === 'Escape') e.preventDefault();
    return;
  }
  if (S.screen === 'pin' || S.screen === 'pin-reset') {
    if (/^[0-9]$/.test(e.key)) { pinKey(e.key); e.preventDefault(); }
    else if (e.key === 'Backspace') { pinKey('back'); e.preventDefault(); }
    else if (e.key === 'Enter' && pin.length === 4) { pinKey('ok'); e.preventDefault(); }
    else if (e.key === 'Escape') act('finish');
    return;
  }
  if (e.key === 'Escape') {
    if (['options', 'copies', 'confirm'].includes(S.screen)) act('back');
    else if (S.screen === 'menu') act('finish');  // 中止: the card comes out
    else if (S.screen === 'insert') act('cancel');
    else if (S.screen === 'payment') act('cancel-payment');
  }
});
document.addEventListener('pointerdown', (e) => {
  if (!(e.target.closest && e.target.closest('#tester'))) armIdle();
});

async function boot() {
  M = await call('GET', '/api/messages');
  wireTester();
  for (const b of document.querySelectorAll('button.lang')) {
    b.addEventListener('click', () => {
      lang = b.dataset.lang;
      if (S) { S.language = lang; render(S); }
      if (kioskId) call('POST', `/api/kiosks/${kioskId}/language`, {language: lang}).catch(() => {});
    });
  }
  kioskId = sessionStorage.getItem('kiosk_id');
  if (kioskId) {
    try {
      render(await call('GET', `/api/kiosks/${kioskId}`));
      return loadTester();
    } catch (e) { /* the kiosk was forgotten: a new one */ }
  }
  await newKiosk();
}
boot();
