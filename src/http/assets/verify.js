/* global document */
/**
 * The verification page's "check your file" form: the chosen file's SHA-256 is computed here, in the browser, with
 * WebCrypto, and compared with the signed PDF hash the page carries (`data-expected-sha256`). The file never leaves
 * the browser. Messages come from the form's `data-msg-*` attributes, in the page's language.
 */
(() => {
  const form = document.getElementById('file-check');
  if (form === null) return;
  const input = form.querySelector('input[type="file"]');
  const output = form.querySelector('output');
  const computed = form.querySelector('.computed');
  const computedHash = document.getElementById('file-check-sha256');
  const expected = form.dataset.expectedSha256;
  const subtle = globalThis.crypto === undefined ? undefined : globalThis.crypto.subtle;
  let latest = 0;

  const say = (message, state, hash) => {
    output.textContent = form.dataset[message] || '';
    output.className = state;
    computedHash.textContent = hash || '';
    computed.hidden = !hash;
  };

  const hex = (buffer) =>
    Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');

  form.addEventListener('submit', (event) => {
    event.preventDefault();
  });

  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    // A second choice made while the first is still being read wins.
    const run = ++latest;
    if (!file) {
      say('', '', '');
      return;
    }
    if (subtle === undefined) {
      say('msgUnsupported', 'warn', '');
      return;
    }
    say('msgReading', 'pending', '');
    try {
      const hash = hex(await subtle.digest('SHA-256', await file.arrayBuffer()));
      if (run !== latest) return;
      if (hash === expected) say('msgMatch', 'ok', hash);
      else say('msgMismatch', 'bad', hash);
    } catch {
      if (run === latest) say('msgFailed', 'bad', '');
    }
  });
})();
