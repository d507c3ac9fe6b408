// Behaviour the templates used to put in inline handlers, which the Content-Security-Policy
// forbids: select a read-only value (a URL or a secret shown once) when focused, ask before
// submitting a form that carries data-confirm, and open the main navigation on a phone.
// Without JavaScript the navigation simply stays open (the "js" class is never set).
document.documentElement.classList.add("js");
document.addEventListener("focusin", (event) => {
  if (event.target.matches("input[data-select-on-focus]")) event.target.select();
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  const toggle = event.target.closest(".menu-toggle");
  if (!toggle) return;
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  document.getElementById(toggle.getAttribute("aria-controls")).classList.toggle("open", open);
});
