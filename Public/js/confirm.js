// Destructive actions ask first; without JavaScript they still work, and each is reversible or confirmed by POST.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // A button with consequences inside a larger form (sending a campaign).
  document.querySelectorAll("button[data-confirm-click]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirmClick)) event.preventDefault();
    });
  });
});
