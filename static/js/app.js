// Behaviour the templates used to put in inline handlers, which the Content-Security-Policy
// forbids: select a read-only value (a URL or a secret shown once) when focused, and ask before
// submitting a form that carries data-confirm.
document.addEventListener("focusin", (event) => {
  if (event.target.matches("input[data-select-on-focus]")) event.target.select();
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
