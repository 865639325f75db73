/** Page-wide bits of the chat page: the banner, the connection status and a user's status dot. */
import { $, el } from '../dom.js';

let bannerTimer;

export function banner(text, kind = 'info', hideAfterMs = 0) {
  clearTimeout(bannerTimer);
  $('banner').hidden = false;
  $('banner').dataset.kind = kind;
  $('banner-text').textContent = text;
  if (hideAfterMs > 0) bannerTimer = setTimeout(() => ($('banner').hidden = true), hideAfterMs);
}

export function connStatus(state, text) {
  $('conn').dataset.state = state;
  $('conn').textContent = text;
}

export function statusDot(status) {
  return el('span', { class: 'dot', 'data-status': status ?? 'offline', title: status ?? 'offline' });
}
