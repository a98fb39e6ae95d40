// Quiet shoppers: when the server's sweep says the shopper of one of my chats has been silent
// for N minutes (`chat.inactive`, to my devices only), the conversation shows a prompt with a
// one-click check-in message, sent through the normal reply path.
import { t } from './util.js';

function prompt(inbox, conv, minutes) {
  conv.el.querySelector('.inactivity-prompt')?.remove();
  const box = document.createElement('div');
  box.className = 'inactivity-prompt';
  box.setAttribute('role', 'status');
  const text = document.createElement('span');
  text.textContent = t('inactive_prompt', { minutes });
  const send = document.createElement('button');
  send.type = 'button';
  send.className = 'btn-primary';
  send.textContent = t('inactive_checkin');
  send.addEventListener('click', async () => {
    send.disabled = true;
    conv.textarea.value = t('inactive_checkin_text');
    if (await conv.send()) box.remove();
    else send.disabled = false;
  });
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'toast-close';
  close.textContent = '×';
  close.setAttribute('aria-label', t('dismiss'));
  close.addEventListener('click', () => box.remove());
  box.append(text, ' ', send, close);
  conv.form.before(box);
}

function onInactive(inbox, { ticket_id: ticketId, minutes, contact_name: name }) {
  const conv = inbox.conversations.get(ticketId);
  if (conv) {
    prompt(inbox, conv, minutes);
    return;
  }
  inbox.toast(t('inactive_toast', { name, minutes }), 'info', {
    label: t('open'),
    run: async () => {
      await inbox.openTicket(ticketId);
      const opened = inbox.conversations.get(ticketId);
      if (opened) prompt(inbox, opened, minutes);
    },
  });
}

if (window.inbox) {
  window.inbox.socket.on('chat.inactive', (data) => onInactive(window.inbox, data));
  // A message from the shopper (or my check-in) makes the prompt moot.
  window.inbox.socket.on('message.created', ({ message }) => {
    if (message.kind !== 'message') return;
    window.inbox.conversations.get(message.ticket_id)?.el.querySelector('.inactivity-prompt')?.remove();
  });
}
