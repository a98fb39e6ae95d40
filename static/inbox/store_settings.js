// The store settings page works without this script (plain forms). It only adds the copy
// button for the install tag; without the Clipboard API it selects the tag instead.
const button = document.getElementById('ss-copy');
const status = document.getElementById('ss-copy-status');

function selectSnippet(code) {
  const range = document.createRange();
  range.selectNodeContents(code);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

if (button && status) {
  const code = document.getElementById(button.dataset.copy);
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      status.textContent = status.dataset.done;
    } catch (e) {
      selectSnippet(code);
      status.textContent = status.dataset.failed;
    }
  });
}
