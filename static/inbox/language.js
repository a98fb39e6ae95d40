// The agent's inbox language (Agent.locale): saved through the API, then the page reloads,
// because every string of the inbox is rendered on the server in that language.
import { api } from './util.js';

/** Wire the language <select> (templates/inbox/index.html); ``onError`` shows a failure. */
export function bindLanguage(select, onError) {
  if (!select) return;
  const saved = select.value;
  select.addEventListener('change', async () => {
    try {
      await api.put('/api/v1/agents/me/language', { language: select.value });
      window.location.reload();
    } catch (err) {
      select.value = saved;
      onError(err);
    }
  });
}
